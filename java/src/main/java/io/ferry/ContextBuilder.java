package io.ferry;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Configures a child context; {@link #create()} makes it on the engine. Get one with
 * {@link ExecutionContext#child()}.
 *
 * <pre>{@code
 * try (ExecutionContext reader = engine.systemContext().child()
 *         .name("reader").readOnly().freeze("tenant").create()) {
 *     ...
 * }
 * }</pre>
 */
public final class ContextBuilder {
    private static final int CTX_READ_ONLY = 0x1;

    private final ExecutionContext parent;
    private String name;
    private final List<String> freeze = new ArrayList<>();
    private boolean readOnly;
    private List<Op> ops; // null: every op
    private int openFlags;

    ContextBuilder(ExecutionContext parent) {
        this.parent = parent;
    }

    /**
     * A name for messages. Default: "ctx-N".
     *
     * @param name the context's name
     * @return this builder
     */
    public ContextBuilder name(String name) {
        this.name = Objects.requireNonNull(name, "name");
        return this;
    }

    /**
     * Snapshots these variables of the parent into the new context ({@code freeze_vars=[...]}): later
     * changes in the parent are not seen, and the child cannot change them. A name the parent does
     * not have fails {@link #create()} with an exception naming it.
     *
     * @param names the parent's variables to snapshot
     * @return this builder
     */
    public ContextBuilder freeze(String... names) {
        for (String n : names) {
            freeze.add(Objects.requireNonNull(n, "name"));
        }
        return this;
    }

    /**
     * The new context refuses ops that change engine state (flagged mutating).
     *
     * @return this builder
     */
    public ContextBuilder readOnly() {
        this.readOnly = true;
        return this;
    }

    /**
     * The new context may run only these ops (and Ferry's own scope and context operations).
     *
     * @param allowed the ops it may run
     * @return this builder
     * @throws IllegalArgumentException if an op belongs to another engine
     */
    public ContextBuilder allowOps(Op... allowed) {
        for (Op op : allowed) {
            if (OpBase.base(op).engine != parent.engine) {
                throw new IllegalArgumentException("op '" + op.name() + "' belongs to another engine");
            }
        }
        this.ops = List.of(allowed);
        return this;
    }

    /**
     * Engine-defined flags passed to the engine's context open hook (ferry.h FERRY_CTX_OPEN_*).
     *
     * @param flags the engine's flags; the low 8 bits are Ferry's own and must be 0
     * @return this builder
     * @throws IllegalArgumentException if any of the low 8 bits is set
     */
    public ContextBuilder engineFlags(int flags) {
        if ((flags & 0xff) != 0) {
            throw new IllegalArgumentException("engineFlags=0x" + Integer.toHexString(flags)
                    + ": the low 8 bits are Ferry's own");
        }
        this.openFlags = flags;
        return this;
    }

    /**
     * Makes the context on the engine thread.
     *
     * @return the new context, open
     * @throws CallFailedException if a frozen name does not exist in the parent (the message names
     *         it) or the engine refused the context
     */
    public ExecutionContext create() {
        Engine engine = parent.engine;
        String n = name != null ? name : engine.nextContextName();
        long newId = engine.systemOp("ferry.ctx_create", BytesToLongOp.class).call(parent,
                (readOnly ? CTX_READ_ONLY : 0) | openFlags, ContextWire.createRequest(n, freeze, ops));
        // The engine makes a child of a read-only parent read-only, and narrows its op set to the parent's.
        List<String> names = ContextWire.narrow(ops, parent.allowedOpNames());
        parent.core().counters.context(n, newId, true); // jfr: io.ferry.ContextOpen
        return new ExecutionContext(engine, parent.core(), newId, n, readOnly || parent.isReadOnly(), names);
    }
}
