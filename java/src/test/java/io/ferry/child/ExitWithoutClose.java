package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.TestEngines;
import io.ferry.LongOp;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Starts an engine, calls it, and returns from main without closing it. The engine stays strongly
 * reachable (a static field), so only Ferry's shutdown hook can close it, and the JVM must still exit:
 * the engine thread must not keep it alive.
 */
public final class ExitWithoutClose {
    static Engine engine;

    public static void main(String[] args) throws Exception {
        engine = TestEngines.builder().name("exit-without-close").start();
        mark("engine started");
        LongOp add = engine.longOp("add");
        long sum = 0;
        for (int i = 0; i < 1000; i++) {
            sum += add.call(i, 1);
        }
        AtomicLong fromVirtual = new AtomicLong();
        Thread vt = Thread.ofVirtual().start(() -> fromVirtual.set(add.call(20, 22)));
        vt.join();
        long async = add.callAsync(40, 2).get();
        mark("calls made sum=" + sum + " virtual=" + fromVirtual.get() + " async=" + async);
        ShutdownObserver.watch(engine);
        mark("main returns");
    }
}
