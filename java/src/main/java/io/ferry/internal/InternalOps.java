package io.ferry.internal;

import io.ferry.Engine;
import io.ferry.Op;
import java.util.function.BiFunction;

/**
 * The bridge from io.ferry.spi.EngineOps (an engine binding's own lookup) to Engine's lookup of ops flagged
 * {@link Layout#OP_INTERNAL}, which the public {@link Engine#op(String)} refuses. A defence in depth, not a
 * boundary: no op, internal or not, takes a code or heap address from its caller.
 */
public final class InternalOps {
    private static volatile BiFunction<Engine, String, Op> lookup;

    private InternalOps() {
    }

    /** Engine installs its internal lookup once, when the class initialises. */
    public static void install(BiFunction<Engine, String, Op> engineLookup) {
        if (lookup != null) {
            throw new IllegalStateException("the internal op lookup is installed already");
        }
        lookup = engineLookup;
    }

    /** Looks an op up by name, internal ones included; unknown names throw IllegalArgumentException. */
    public static Op op(Engine engine, String name) {
        return lookup.apply(engine, name);
    }
}
