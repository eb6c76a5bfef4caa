package io.ferry;

import io.ferry.internal.AsyncCall;
import io.ferry.internal.EngineCore;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * An op that takes up to two 64-bit arguments and returns a 64-bit result (registered without
 * {@link Op#IN_BYTES}, {@link Op#OUT_BYTES} or {@link Op#F64}); get one with {@link Engine#longOp(String)}.
 * A sync call allocates nothing.
 *
 * <p>The methods without an {@link ExecutionContext} run in the calling thread's
 * {@link Engine#context() context}; the others in the one given, which must be open and of this op's
 * engine. Every call ends in its result or an exception: {@link CallFailedException} with the engine's
 * code and message if the op failed, {@link EngineClosedException} once the engine closes, an
 * {@link IllegalStateException} for a closed context, {@link NoContextException} if the engine
 * requires a context and none is open.
 */
public final class LongOp extends OpBase implements Op {
    LongOp(Engine engine, EngineCore core, int id, int flags, String name) {
        super(engine, core, id, flags, name);
    }

    /**
     * Calls the op with no arguments (both are 0).
     *
     * @return the op's result
     */
    public long call() {
        return sync(current(), 0, 0);
    }

    /**
     * Calls the op with one argument (the second is 0).
     *
     * @param a the first argument
     * @return the op's result
     */
    public long call(long a) {
        return sync(current(), a, 0);
    }

    /**
     * Calls the op in {@code ctx} with no arguments (both are 0).
     *
     * @param ctx the context the call runs in
     * @return the op's result
     */
    public long call(ExecutionContext ctx) {
        return sync(in(ctx), 0, 0);
    }

    /**
     * Calls the op in {@code ctx} with one argument (the second is 0).
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @return the op's result
     */
    public long call(ExecutionContext ctx, long a) {
        return sync(in(ctx), a, 0);
    }

    /**
     * Calls the op and waits for its result.
     *
     * @param a the first argument
     * @param b the second argument
     * @return the op's result
     */
    public long call(long a, long b) {
        return sync(current(), a, b);
    }

    /**
     * Calls the op in {@code ctx} and waits for its result.
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @return the op's result
     */
    public long call(ExecutionContext ctx, long a, long b) {
        return sync(in(ctx), a, b);
    }

    /**
     * Calls the op, giving up after the timeout: the engine then skips the call if it had not started it.
     *
     * @param a the first argument
     * @param b the second argument
     * @param timeout how long to wait for a slot and the result
     * @return the op's result
     * @throws TimeoutException if no result came in time
     */
    public long call(long a, long b, Duration timeout) throws TimeoutException {
        return syncTimed(current(), a, b, null, nanos(timeout));
    }

    /**
     * Calls the op in {@code ctx}, giving up after the timeout (see {@link #call(long, long, Duration)}).
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @param timeout how long to wait for a slot and the result
     * @return the op's result
     * @throws TimeoutException if no result came in time
     */
    public long call(ExecutionContext ctx, long a, long b, Duration timeout) throws TimeoutException {
        return syncTimed(in(ctx), a, b, null, nanos(timeout));
    }

    /**
     * Calls the op if a slot of the ring is free now; when every slot holds a queued call, sends nothing and
     * returns {@code ifRejected} at once instead of waiting for one.
     *
     * @param a the first argument
     * @param b the second argument
     * @param ifRejected what to return if the ring is full
     * @return the op's result, or {@code ifRejected}
     */
    public long tryCall(long a, long b, long ifRejected) {
        return core.tryCallLong(this, current(), a, b, null, ifRejected);
    }

    /**
     * {@link #tryCall(long, long, long)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @param ifRejected what to return if the ring is full
     * @return the op's result, or {@code ifRejected}
     */
    public long tryCall(ExecutionContext ctx, long a, long b, long ifRejected) {
        return core.tryCallLong(this, in(ctx), a, b, null, ifRejected);
    }

    /**
     * Submits a call and returns at once. A thread that joins the future ({@code join}, {@code get})
     * completes it itself, so a joined call makes no thread hop; otherwise it completes on the engine's
     * completion executor, never on the engine thread. Cancelling it, or a {@code get(timeout)} that
     * times out, gives the call up.
     *
     * @param a the first argument
     * @param b the second argument
     * @return the future result
     */
    public CompletableFuture<Long> callAsync(long a, long b) {
        return core.callAsync(this, current(), a, b, null, AsyncCall.KIND_LONG);
    }

    /**
     * {@link #callAsync(long, long)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @return the future result
     */
    public CompletableFuture<Long> callAsync(ExecutionContext ctx, long a, long b) {
        return core.callAsync(this, in(ctx), a, b, null, AsyncCall.KIND_LONG);
    }

    /**
     * Calls the op many times, {@code results[i] = op(a[i], b[i])}, with one claim of the ring per group
     * of calls: cheaper per call than one-by-one calls when the calls are independent. Calls run in
     * index order. If calls fail, the first failure is thrown after the rest of its group completed;
     * later groups are not sent.
     *
     * @param a the first arguments, at least {@code results.length} of them
     * @param b the second arguments, or null for zeros
     * @param results receives the results; its length is the number of calls
     */
    public void callBatch(long[] a, long[] b, long[] results) {
        callBatch(engine.context(), a, b, results);
    }

    /**
     * {@link #callBatch(long[], long[], long[])} in {@code ctx}.
     *
     * @param ctx the context the calls run in
     * @param a the first arguments, at least {@code results.length} of them
     * @param b the second arguments, or null for zeros
     * @param results receives the results; its length is the number of calls
     */
    public void callBatch(ExecutionContext ctx, long[] a, long[] b, long[] results) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(results, "results");
        core.callBatch(this, in(ctx), a, b, results);
    }
}
