package io.ferry.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Closes engines the user forgot before the JVM exits: one shutdown hook for all of them. Each close is
 * bounded, and they run in parallel, so the JVM exits promptly even with a stuck engine.
 */
final class Lifecycle {
    /** How long the shutdown hook lets each engine drain. */
    static final long SHUTDOWN_CLOSE_NS = 3_000_000_000L;
    private static final Set<EngineCore> OPEN = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean HOOKED = new AtomicBoolean();

    private Lifecycle() {
    }

    static void register(EngineCore core) {
        OPEN.add(core);
        if (HOOKED.compareAndSet(false, true)) {
            try {
                Runtime.getRuntime().addShutdownHook(
                        Thread.ofPlatform().name("ferry-shutdown").unstarted(Lifecycle::closeAll));
            } catch (IllegalStateException shutdownInProgress) {
                // The JVM is already exiting; closeAll is not needed for an engine started this late.
            }
        }
    }

    static void unregister(EngineCore core) {
        OPEN.remove(core);
    }

    private static void closeAll() {
        List<Thread> closers = new ArrayList<>();
        for (EngineCore core : OPEN) {
            closers.add(Thread.ofPlatform().daemon().name("ferry-shutdown-" + core.name())
                    .start(() -> core.close(SHUTDOWN_CLOSE_NS)));
        }
        long deadline = System.nanoTime() + SHUTDOWN_CLOSE_NS + 1_000_000_000L;
        for (Thread t : closers) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                t.join(java.time.Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
