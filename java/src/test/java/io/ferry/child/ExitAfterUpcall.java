package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.LongOp;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;

/**
 * Loads the example engine, has the engine thread run a Java upcall (example.callback with an FFM
 * upcall stub of signature long(long)), and returns from main without closing the engine. The engine
 * thread is now attached to the JVM; it must still not keep the JVM alive.
 *
 * <p>Args: the path of libferry_example.so.
 */
public final class ExitAfterUpcall {
    static Engine engine;
    static volatile boolean ranOnEngineThread;

    /** The upcall target: never throws (an exception escaping an upcall kills the VM). */
    static long timesTenPlusOne(long x) {
        try {
            ranOnEngineThread = engine.isEngineThread();
            return x * 10 + 1;
        } catch (Throwable t) {
            return Long.MIN_VALUE;
        }
    }

    @SuppressWarnings("restricted")
    public static void main(String[] args) throws Exception {
        engine = Engine.builder().name("exit-after-upcall").library(Path.of(args[0]), "example_engine_init").start();
        mark("engine started");
        LongOp callback = engine.longOp("example.callback");
        MemorySegment stub = Linker.nativeLinker().upcallStub(
                MethodHandles.lookup().findStatic(ExitAfterUpcall.class, "timesTenPlusOne",
                        MethodType.methodType(long.class, long.class)),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Arena.global());
        long r = callback.call(stub.address(), 4);
        long r2 = engine.longOp("example.mul").call(r, 2);
        mark("calls made callback=" + r + " onEngineThread=" + ranOnEngineThread + " mul=" + r2);
        ShutdownObserver.watch(engine);
        mark("main returns");
    }
}
