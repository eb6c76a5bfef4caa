package io.ferry.child;

import io.ferry.Engine;
import io.ferry.TestEngines;

/** Points -Dferry.library.path at args[0] (before Ferry loads), then tries an engine and prints the outcome. */
public final class LibraryPathProbe {
    public static void main(String[] args) {
        System.setProperty("ferry.library.path", args[0]);
        try (Engine engine = TestEngines.builder().start()) {
            ChildJvm.mark("add=" + engine.longOp("add").call(2, 3));
        } catch (RuntimeException e) {
            ChildJvm.mark("start failed: " + e);
        }
    }
}
