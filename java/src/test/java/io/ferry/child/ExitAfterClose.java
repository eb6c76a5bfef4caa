package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.TestEngines;
import io.ferry.LongOp;
import java.util.ArrayList;
import java.util.List;

/** Starts an engine, calls it from platform and virtual threads, closes it, and returns from main. */
public final class ExitAfterClose {
    public static void main(String[] args) throws Exception {
        Engine engine = TestEngines.builder().name("exit-after-close").start();
        mark("engine started");
        LongOp add = engine.longOp("add");
        long sum = 0;
        for (int i = 0; i < 1000; i++) {
            sum += add.call(i, 1);
        }
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread.Builder b = t % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual();
            threads.add(b.start(() -> {
                for (int i = 0; i < 1000; i++) {
                    add.call(i, 1);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        long async = add.callAsync(40, 2).get();
        mark("calls made sum=" + sum + " async=" + async);
        engine.close();
        mark("engine closed isClosed=" + engine.isClosed());
        mark("main returns");
    }
}
