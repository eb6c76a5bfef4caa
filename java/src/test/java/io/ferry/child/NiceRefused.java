package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.TestEngines;
import io.ferry.EngineStartException;
import java.io.IOException;

/**
 * Run as a user without CAP_SYS_NICE: asks for an engine at a nice value below this thread's and
 * reports the refusal, then how many engine threads are left (the failed start must have joined its
 * own). Exits 0 if the start was refused, 1 if an engine started.
 */
public final class NiceRefused {
    public static void main(String[] args) throws IOException {
        int below = Math.max(-20, Proc.niceOfThisThread() - 1);
        try (Engine engine = TestEngines.builder().engineNice(below).start()) {
            mark("started at nice " + engine.engineNice());
            System.exit(1);
        } catch (EngineStartException e) {
            mark("refused code=" + e.code() + " message=" + e.getMessage());
        }
        mark("engine threads left=" + Proc.engineThreads());
    }
}
