package io.ferry;

import io.ferry.internal.AsyncCall;
import io.ferry.internal.EngineCore;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * An op that takes a byte array and returns one (registered with {@link Op#IN_BYTES} and
 * {@link Op#OUT_BYTES}); get one with {@link Engine#bytesOp(String)}. There is no fixed size limit in
 * either direction (the input is bounded by {@link EngineBuilder#maxInputBytes}). Contexts and
 * outcomes are as for {@link LongOp}.
 */
public final class BytesOp extends OpBase implements Op {
    BytesOp(Engine engine, EngineCore core, int id, int flags, String name) {
        super(engine, core, id, flags, name);
    }

    /**
     * Calls the op and waits for its result.
     *
     * @param input the input bytes (copied)
     * @return the op's output
     */
    public byte[] call(byte[] input) {
        return (byte[]) callObject(current(), input, AsyncCall.KIND_BYTES);
    }

    /**
     * Calls the op in {@code ctx} and waits for its result.
     *
     * @param ctx the context the call runs in
     * @param input the input bytes (copied)
     * @return the op's output
     */
    public byte[] call(ExecutionContext ctx, byte[] input) {
        return (byte[]) callObject(in(ctx), input, AsyncCall.KIND_BYTES);
    }

    /**
     * Calls the op, giving up after the timeout: the engine then skips the call if it had not started it.
     *
     * @param input the input bytes (copied)
     * @param timeout how long to wait for a slot and the result
     * @return the op's output
     * @throws TimeoutException if no result came in time
     */
    public byte[] call(byte[] input, Duration timeout) throws TimeoutException {
        return call(engine.context(), input, timeout);
    }

    /**
     * Calls the op in {@code ctx}, giving up after the timeout (see {@link #call(byte[], Duration)}).
     *
     * @param ctx the context the call runs in
     * @param input the input bytes (copied)
     * @param timeout how long to wait for a slot and the result
     * @return the op's output
     * @throws TimeoutException if no result came in time
     */
    public byte[] call(ExecutionContext ctx, byte[] input, Duration timeout) throws TimeoutException {
        return (byte[]) syncObject(in(ctx), Objects.requireNonNull(input, "input"), nanos(timeout),
                AsyncCall.KIND_BYTES);
    }

    /**
     * Calls the op if a slot of the ring is free now; when every slot holds a queued call, sends nothing and
     * returns {@code ifRejected} at once instead of waiting for one.
     *
     * @param input the input bytes (copied)
     * @param ifRejected what to return if the ring is full; may be null
     * @return the op's output, or {@code ifRejected}
     */
    public byte[] tryCall(byte[] input, byte[] ifRejected) {
        return tryCall(engine.context(), input, ifRejected);
    }

    /**
     * {@link #tryCall(byte[], byte[])} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param input the input bytes (copied)
     * @param ifRejected what to return if the ring is full; may be null
     * @return the op's output, or {@code ifRejected}
     */
    public byte[] tryCall(ExecutionContext ctx, byte[] input, byte[] ifRejected) {
        return (byte[]) core.tryCallObject(this, in(ctx), Objects.requireNonNull(input, "input"),
                AsyncCall.KIND_BYTES, ifRejected);
    }

    /**
     * Submits a call and returns at once; see {@link LongOp#callAsync(long, long)}.
     *
     * @param input the input bytes (copied before this returns)
     * @return the future output
     */
    public CompletableFuture<byte[]> callAsync(byte[] input) {
        return callAsync(engine.context(), input);
    }

    /**
     * {@link #callAsync(byte[])} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param input the input bytes (copied before this returns)
     * @return the future output
     */
    public CompletableFuture<byte[]> callAsync(ExecutionContext ctx, byte[] input) {
        return core.callAsync(this, in(ctx), 0, 0, Objects.requireNonNull(input, "input"), AsyncCall.KIND_BYTES);
    }
}
