package io.ferry;

import io.ferry.internal.AsyncCall;
import io.ferry.internal.EngineCore;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * An op whose two arguments and result are doubles (registered with {@link Op#F64}); get one with
 * {@link Engine#doubleOp(String)}. A sync call allocates nothing. Contexts and outcomes are as for
 * {@link LongOp}.
 */
public final class DoubleOp extends OpBase implements Op {
    DoubleOp(Engine engine, EngineCore core, int id, int flags, String name) {
        super(engine, core, id, flags, name);
    }

    private static long bits(double d) {
        return Double.doubleToRawLongBits(d);
    }

    /**
     * Calls the op and waits for its result.
     *
     * @param a the first argument
     * @param b the second argument
     * @return the op's result
     */
    public double call(double a, double b) {
        return Double.longBitsToDouble(sync(current(), bits(a), bits(b)));
    }

    /**
     * Calls the op in {@code ctx} and waits for its result.
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @return the op's result
     */
    public double call(ExecutionContext ctx, double a, double b) {
        return Double.longBitsToDouble(sync(in(ctx), bits(a), bits(b)));
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
    public double call(double a, double b, Duration timeout) throws TimeoutException {
        return Double.longBitsToDouble(syncTimed(current(), bits(a), bits(b), null, nanos(timeout)));
    }

    /**
     * Calls the op in {@code ctx}, giving up after the timeout (see {@link #call(double, double, Duration)}).
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @param timeout how long to wait for a slot and the result
     * @return the op's result
     * @throws TimeoutException if no result came in time
     */
    public double call(ExecutionContext ctx, double a, double b, Duration timeout) throws TimeoutException {
        return Double.longBitsToDouble(syncTimed(in(ctx), bits(a), bits(b), null, nanos(timeout)));
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
    public double tryCall(double a, double b, double ifRejected) {
        return Double.longBitsToDouble(core.tryCallLong(this, current(), bits(a), bits(b), null, bits(ifRejected)));
    }

    /**
     * {@link #tryCall(double, double, double)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @param ifRejected what to return if the ring is full
     * @return the op's result, or {@code ifRejected}
     */
    public double tryCall(ExecutionContext ctx, double a, double b, double ifRejected) {
        return Double.longBitsToDouble(core.tryCallLong(this, in(ctx), bits(a), bits(b), null, bits(ifRejected)));
    }

    /**
     * Submits a call and returns at once; see {@link LongOp#callAsync(long, long)}.
     *
     * @param a the first argument
     * @param b the second argument
     * @return the future result
     */
    public CompletableFuture<Double> callAsync(double a, double b) {
        return core.callAsync(this, current(), bits(a), bits(b), null, AsyncCall.KIND_DOUBLE);
    }

    /**
     * {@link #callAsync(double, double)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param a the first argument
     * @param b the second argument
     * @return the future result
     */
    public CompletableFuture<Double> callAsync(ExecutionContext ctx, double a, double b) {
        return core.callAsync(this, in(ctx), bits(a), bits(b), null, AsyncCall.KIND_DOUBLE);
    }
}
