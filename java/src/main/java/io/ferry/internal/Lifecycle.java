package io.ferry.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Closes engines the user forgot before the JVM exits: one shutdown hook for all of them. Each close is
 * bounded by its engine's closeTimeout, and they run in parallel, so the JVM exits promptly even with a
 * stuck engine.
 */
final class Lifecycle {
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
        if (!OPEN.isEmpty()) {
            EngineCore.LOG.log(System.Logger.Level.DEBUG, () -> "the JVM is exiting: closing " + OPEN.size()
                    + " engine(s) left open");
        }
        List<Thread> closers = new ArrayList<>();
        long longest = 0;
        for (EngineCore core : OPEN) {
            longest = Math.max(longest, core.closeTimeoutNs());
            closers.add(Thread.ofPlatform().daemon().name("ferry-shutdown-" + core.name()).start(core::close));
        }
        // Each close is bounded by its engine's closeTimeout, plus up to a second for callers to take
        // their results before the region is freed.
        long deadline = System.nanoTime() + longest + 1_000_000_000L;
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
