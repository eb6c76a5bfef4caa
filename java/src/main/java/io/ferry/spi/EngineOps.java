package io.ferry.spi;

import io.ferry.Engine;
import io.ferry.Op;
import io.ferry.internal.InternalOps;

/**
 * The ops an engine binding keeps for its own use: those its C plug-in registered with
 * {@code FERRY_OP_INTERNAL} (io.ferry.sqlite's {@code sqlite.run}, {@code sqlite.channel}, ...), which the
 * public {@link Engine#op(String)} refuses so that application code never calls the binding's plumbing by
 * mistake.
 *
 * <p>This is a convention, not a security boundary: this package is exported, so any code can call it.
 * What keeps an engine safe is that no op, internal or not, takes a code or heap address from its caller;
 * a binding that needs to hand its C side an address does so through a C function called with FFM (which
 * needs native access), never through an op. The one exception, {@code ferry.ffi_prepare} (behind
 * {@link Engine}'s downcall handles), binds a function's address only with a process secret that a C
 * function returns, so it too takes native access.
 */
public final class EngineOps {
    private EngineOps() {
    }

    /**
     * Looks an op up by name, internal ones included (once; keep the handle).
     *
     * @param engine the engine whose op it is
     * @param name the op's name
     * @return the op
     * @throws IllegalArgumentException if the engine has no op of that name
     * @throws NullPointerException if engine or name is null
     */
    public static Op internal(Engine engine, String name) {
        return InternalOps.op(java.util.Objects.requireNonNull(engine, "engine"), name);
    }

    /**
     * Looks an op up by name, internal ones included, and checks its shape.
     *
     * @param <T> the handle type
     * @param engine the engine whose op it is
     * @param name the op's name
     * @param shape the handle type the op must have ({@code LongOp.class}, {@code BytesOp.class}, ...)
     * @return the op's handle
     * @throws IllegalArgumentException if the engine has no op of that name, or it has another shape
     * @throws NullPointerException if engine, name or shape is null
     */
    public static <T extends Op> T internal(Engine engine, String name, Class<T> shape) {
        Op op = internal(engine, name);
        if (!shape.isInstance(op)) {
            throw new IllegalArgumentException("op '" + name + "' of engine '" + engine.name() + "' is a "
                    + op.getClass().getSimpleName() + ", not a " + shape.getSimpleName());
        }
        return shape.cast(op);
    }
}
