package io.ferry;

import io.ferry.internal.AsyncCall;
import io.ferry.internal.EngineCore;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * An op that takes a 64-bit argument and a byte array and returns a 64-bit result (registered with
 * {@link Op#IN_BYTES} and without {@link Op#OUT_BYTES}; with {@link Op#TEXT} the bytes are UTF-8 text),
 * for example a plug-in's checksum of the bytes; get one with {@link Engine#bytesToLongOp(String)}.
 * Contexts and outcomes are as for {@link LongOp}.
 */
public final class BytesToLongOp extends OpBase implements Op {
    BytesToLongOp(Engine engine, EngineCore core, int id, int flags, String name) {
        super(engine, core, id, flags, name);
    }

    /**
     * Calls the op and waits for its result.
     *
     * @param a the 64-bit argument
     * @param input the input bytes (copied)
     * @return the op's result
     */
    public long call(long a, byte[] input) {
        return callLong(current(), a, 0, input);
    }

    /**
     * Calls the op in {@code ctx} and waits for its result.
     *
     * @param ctx the context the call runs in
     * @param a the 64-bit argument
     * @param input the input bytes (copied)
     * @return the op's result
     */
    public long call(ExecutionContext ctx, long a, byte[] input) {
        return callLong(in(ctx), a, 0, input);
    }

    /**
     * Calls the op, giving up after the timeout: the engine then skips the call if it had not started it.
     *
     * @param a the 64-bit argument
     * @param input the input bytes (copied)
     * @param timeout how long to wait for a slot and the result
     * @return the op's result
     * @throws TimeoutException if no result came in time
     */
    public long call(long a, byte[] input, Duration timeout) throws TimeoutException {
        return call(engine.context(), a, input, timeout);
    }

    /**
     * Calls the op in {@code ctx}, giving up after the timeout (see {@link #call(long, byte[], Duration)}).
     *
     * @param ctx the context the call runs in
     * @param a the 64-bit argument
     * @param input the input bytes (copied)
     * @param timeout how long to wait for a slot and the result
     * @return the op's result
     * @throws TimeoutException if no result came in time
     */
    public long call(ExecutionContext ctx, long a, byte[] input, Duration timeout) throws TimeoutException {
        return syncTimed(in(ctx), a, 0, Objects.requireNonNull(input, "input"), nanos(timeout));
    }

    /**
     * Calls the op if a slot of the ring is free now; when every slot holds a queued call, sends nothing and
     * returns {@code ifRejected} at once instead of waiting for one.
     *
     * @param a the 64-bit argument
     * @param input the input bytes (copied)
     * @param ifRejected what to return if the ring is full
     * @return the op's result, or {@code ifRejected}
     */
    public long tryCall(long a, byte[] input, long ifRejected) {
        return tryCall(engine.context(), a, input, ifRejected);
    }

    /**
     * {@link #tryCall(long, byte[], long)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param a the 64-bit argument
     * @param input the input bytes (copied)
     * @param ifRejected what to return if the ring is full
     * @return the op's result, or {@code ifRejected}
     */
    public long tryCall(ExecutionContext ctx, long a, byte[] input, long ifRejected) {
        return core.tryCallLong(this, in(ctx), a, 0, Objects.requireNonNull(input, "input"), ifRejected);
    }

    /**
     * Submits a call and returns at once; see {@link LongOp#callAsync(long, long)}.
     *
     * @param a the 64-bit argument
     * @param input the input bytes (copied before this returns)
     * @return the future result
     */
    public CompletableFuture<Long> callAsync(long a, byte[] input) {
        return callAsync(engine.context(), a, input);
    }

    /**
     * {@link #callAsync(long, byte[])} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param a the 64-bit argument
     * @param input the input bytes (copied before this returns)
     * @return the future result
     */
    public CompletableFuture<Long> callAsync(ExecutionContext ctx, long a, byte[] input) {
        return core.callAsync(this, in(ctx), a, 0, Objects.requireNonNull(input, "input"), AsyncCall.KIND_LONG);
    }
}
