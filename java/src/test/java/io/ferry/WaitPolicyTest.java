package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Every kind of wait policy serves calls, and a virtual thread behind a long call parks instead of spinning. */
class WaitPolicyTest {

    @Test
    void everyPolicyServesPlatformAndVirtualCallers() throws Exception {
        WaitPolicy[] policies = {WaitPolicy.LOWEST_LATENCY, WaitPolicy.BALANCED, WaitPolicy.LOWEST_CPU,
            new WaitPolicy.Spin(Duration.ofNanos(500), Duration.ofNanos(500)),
            new WaitPolicy.Backoff(Duration.ZERO, Duration.ZERO),
            new WaitPolicy.Adaptive(Duration.ZERO, Duration.ZERO)};
        for (WaitPolicy policy : policies) {
            try (Engine engine = TestEngines.builder().name("policy").waitPolicy(policy).start()) {
                LongOp add = engine.longOp("add");
                for (int i = 0; i < 2_000; i++) {
                    assertEquals(i + 1, add.call(i, 1), policy::toString);
                }
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread[] vts = new Thread[16];
                for (int t = 0; t < vts.length; t++) {
                    long base = (long) t << 32;
                    vts[t] = Thread.ofVirtual().start(() -> {
                        try {
                            for (int i = 0; i < 500; i++) {
                                if (add.call(base + i, 1) != base + i + 1) {
                                    throw new AssertionError("call " + i);
                                }
                            }
                        } catch (Throwable e) {
                            failure.set(e);
                        }
                    });
                }
                for (Thread vt : vts) {
                    vt.join();
                }
                if (failure.get() != null) {
                    throw new AssertionError(policy.toString(), failure.get());
                }
            }
        }
    }

    /**
     * A virtual thread whose call runs 1 s on the engine parks: this JVM's CPU time besides the engine's
     * stays far below the second a carrier spinning (or yielding in a loop) through the call would use.
     */
    @Test
    void aVirtualThreadParksBehindALongCall() throws Exception {
        Object os = Class.forName("java.lang.management.ManagementFactory").getMethod("getOperatingSystemMXBean")
                .invoke(null);
        java.lang.reflect.Method cpu = Class.forName("com.sun.management.OperatingSystemMXBean")
                .getMethod("getProcessCpuTime");
        long longCallNs = TimeUnit.SECONDS.toNanos(1);
        try (Engine engine = TestEngines.builder().name("long-call").waitPolicy(WaitPolicy.LOWEST_LATENCY).start()) {
            LongOp spin = engine.longOp("spin");
            for (int i = 0; i < 1_000; i++) {
                spin.call(20_000); // 20 µs calls back to back: the engine measures stats.call_ns
            }
            AtomicReference<Object> result = new AtomicReference<>();
            long engine0 = engine.engineCpuNanos();
            long process0 = (long) cpu.invoke(os);
            Thread vt = Thread.ofVirtual().start(() -> {
                try {
                    result.set(spin.call(longCallNs));
                } catch (Throwable t) {
                    result.set(t);
                }
            });
            vt.join();
            long others = ((long) cpu.invoke(os) - process0) - (engine.engineCpuNanos() - engine0);
            assertTrue(result.get() instanceof Long, () -> "the call ended with " + result.get());
            assertTrue(others < longCallNs / 3, () -> "besides the engine, the JVM used " + others / 1_000_000
                    + " ms of CPU while a virtual thread waited on a " + longCallNs / 1_000_000 + " ms call");
        }
    }
}
