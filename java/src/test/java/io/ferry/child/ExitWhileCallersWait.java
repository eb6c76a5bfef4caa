package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.TestEngines;
import io.ferry.LongOp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Parks several platform and virtual threads on slow calls (the built-in spin op), then calls
 * System.exit(3) while they wait. The engine is never closed; Ferry's shutdown hook gives it its
 * closeTimeout (3 s here) to drain, so the JVM must exit with 3 soon after.
 *
 * <p>Args: the number of waiting threads, and how long each call spins, in ns.
 */
public final class ExitWhileCallersWait {
    static Engine engine;

    public static void main(String[] args) throws Exception {
        int waiters = Integer.parseInt(args[0]);
        long spinNs = Long.parseLong(args[1]);
        engine = TestEngines.builder().name("exit-while-callers-wait").closeTimeout(Duration.ofSeconds(3)).start();
        mark("engine started");
        LongOp spin = engine.longOp("spin");
        LongOp add = engine.longOp("add");
        mark("calls made add=" + add.call(2, 3));
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < waiters; t++) {
            Thread.Builder b = t % 2 == 0 ? Thread.ofPlatform().name("waiter-" + t) : Thread.ofVirtual().name("waiter-" + t);
            threads.add(b.start(() -> {
                try {
                    spin.call(spinNs, 0);
                } catch (RuntimeException e) {
                    mark(Thread.currentThread().getName() + " released: " + e);
                }
            }));
        }
        // Wait, bounded, until every caller has parked on its call (the one running parks too).
        long deadline = System.nanoTime() + 5_000_000_000L;
        for (Thread t : threads) {
            while (t.getState() != Thread.State.WAITING) {
                if (System.nanoTime() >= deadline) {
                    mark("waiters did not park: " + t + " is " + t.getState());
                    System.exit(4);
                }
                Thread.sleep(1);
            }
        }
        mark("waiters parked: " + waiters);
        mark("calling System.exit(3)");
        System.exit(3);
    }
}
