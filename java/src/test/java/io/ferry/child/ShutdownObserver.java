package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;

/**
 * A shutdown hook that only watches: it runs alongside Ferry's own hook and reports whether the engine
 * was closed while the JVM shut down. It never closes anything itself.
 */
final class ShutdownObserver {
    private ShutdownObserver() {
    }

    static void watch(Engine engine) {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("observer").unstarted(() -> {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!engine.isClosed() && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
            mark(engine.isClosed() ? "observer: engine closed during shutdown" : "observer: engine still open");
        }));
    }
}
