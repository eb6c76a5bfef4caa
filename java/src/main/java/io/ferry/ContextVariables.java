package io.ferry;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The variables of a context's scope, which live on the engine thread: the part of
 * {@link ExecutionContext} that sets, reads and removes them through Ferry's variable ops
 * ({@code ferry.var_set}, {@code ferry.var_get}, {@code ferry.var_unset}). Not public: its methods are
 * documented, and called, as {@link ExecutionContext}'s.
 */
abstract sealed class ContextVariables permits ExecutionContext {
    ContextVariables() {
    }

    private ExecutionContext self() {
        return (ExecutionContext) this;
    }

    /**
     * Sets a 64-bit integer variable in this context's scope.
     *
     * @param name the variable's name
     * @param value its value
     */
    public void set(String name, long value) {
        setVar(name, ContextWire.VAR_I64, value, null);
    }

    /**
     * Sets a double variable in this context's scope.
     *
     * @param name the variable's name
     * @param value its value
     */
    public void set(String name, double value) {
        setVar(name, ContextWire.VAR_F64, Double.doubleToRawLongBits(value), null);
    }

    /**
     * Sets a text variable in this context's scope.
     *
     * @param name the variable's name
     * @param value its value
     */
    public void set(String name, String value) {
        setVar(name, ContextWire.VAR_STRING, 0, value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Sets a byte-array variable in this context's scope (the bytes are copied).
     *
     * @param name the variable's name
     * @param value its value
     */
    public void set(String name, byte[] value) {
        setVar(name, ContextWire.VAR_BYTES, 0, Objects.requireNonNull(value, "value"));
    }

    private void setVar(String var, int type, long scalar, byte[] value) {
        ExecutionContext ctx = self();
        OpBase.base(ctx.engine.systemOp("ferry.var_set"))
                .callLong(ctx.callId(), type, scalar, ContextWire.varSetRequest(var, value));
    }

    /** ferry.var_get's answer for a variable: its type, frozen flag and value (see ContextWire). */
    private byte[] varGet(String var) {
        ExecutionContext ctx = self();
        return ctx.engine.systemOp("ferry.var_get", BytesOp.class).call(ctx, var.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A variable's value.
     *
     * @param name the variable's name
     * @return a Long, Double, String or byte[]
     * @throws CallFailedException with the engine's code and message if the context has no such variable
     */
    public Object get(String name) {
        return ContextWire.value(name, varGet(name));
    }

    /**
     * Whether a variable was frozen into this context from its parent.
     *
     * @param name the variable's name
     * @return true if it was frozen in from the parent
     * @throws CallFailedException if the context has no such variable
     */
    public boolean isFrozen(String name) {
        return ContextWire.frozen(varGet(name));
    }

    /**
     * A 64-bit integer variable's value.
     *
     * @param name the variable's name
     * @return its value
     * @throws IllegalArgumentException if the variable is of another type
     * @throws CallFailedException if the context has no such variable
     */
    public long getLong(String name) {
        return typed(name, Long.class);
    }

    /**
     * A double variable's value.
     *
     * @param name the variable's name
     * @return its value
     * @throws IllegalArgumentException if the variable is of another type
     * @throws CallFailedException if the context has no such variable
     */
    public double getDouble(String name) {
        return typed(name, Double.class);
    }

    /**
     * A text variable's value.
     *
     * @param name the variable's name
     * @return its value
     * @throws IllegalArgumentException if the variable is of another type
     * @throws CallFailedException if the context has no such variable
     */
    public String getString(String name) {
        return typed(name, String.class);
    }

    /**
     * A byte-array variable's value.
     *
     * @param name the variable's name
     * @return a copy of its bytes
     * @throws IllegalArgumentException if the variable is of another type
     * @throws CallFailedException if the context has no such variable
     */
    public byte[] getBytes(String name) {
        return typed(name, byte[].class);
    }

    private <T> T typed(String var, Class<T> type) {
        Object v = get(var);
        if (!type.isInstance(v)) {
            throw new IllegalArgumentException("variable '" + var + "' of context '" + self().name() + "' is a "
                    + v.getClass().getSimpleName() + ", not a " + type.getSimpleName());
        }
        return type.cast(v);
    }

    /**
     * Removes a variable. A frozen variable cannot be removed.
     *
     * @param name the variable's name
     * @return whether it existed
     */
    public boolean unset(String name) {
        ExecutionContext ctx = self();
        return ctx.engine.systemOp("ferry.var_unset", BytesToLongOp.class)
                .call(ctx, 0, name.getBytes(StandardCharsets.UTF_8)) != 0;
    }
}
