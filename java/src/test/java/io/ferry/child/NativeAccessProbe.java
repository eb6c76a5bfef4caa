package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;

/**
 * Run without --enable-native-access: reports what Ferry says about availability and what starting an
 * engine does. Exits 0 if start failed as it should, 1 if an engine started.
 */
public final class NativeAccessProbe {
    public static void main(String[] args) {
        mark("available=" + Engine.isAvailable());
        Throwable cause = Engine.unavailabilityCause();
        mark("cause=" + (cause == null ? "null" : cause.getClass().getName() + ": " + cause.getMessage()));
        try (Engine engine = Engine.builder().start()) {
            mark("started " + engine);
            System.exit(1);
        } catch (RuntimeException e) {
            mark("start failed: " + e.getClass().getName() + ": " + e.getMessage());
        }
    }
}
