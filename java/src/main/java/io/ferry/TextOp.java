package io.ferry;

import io.ferry.internal.AsyncCall;
import io.ferry.internal.EngineCore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * An op that takes text and returns text, UTF-8 on the engine side (registered with {@link Op#IN_BYTES},
 * {@link Op#OUT_BYTES} and {@link Op#TEXT}); get one with {@link Engine#textOp(String)}. Contexts and
 * outcomes are as for {@link LongOp}.
 */
public final class TextOp extends OpBase implements Op {
    TextOp(Engine engine, EngineCore core, int id, int flags, String name) {
        super(engine, core, id, flags, name);
    }

    private static byte[] utf8(String input) {
        return Objects.requireNonNull(input, "input").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Calls the op and waits for its result.
     *
     * @param input the input text
     * @return the op's output text
     */
    public String call(String input) {
        return (String) callObject(current(), utf8(input), AsyncCall.KIND_STRING);
    }

    /**
     * Calls the op in {@code ctx} and waits for its result.
     *
     * @param ctx the context the call runs in
     * @param input the input text
     * @return the op's output text
     */
    public String call(ExecutionContext ctx, String input) {
        return (String) callObject(in(ctx), utf8(input), AsyncCall.KIND_STRING);
    }

    /**
     * Calls the op, giving up after the timeout: the engine then skips the call if it had not started it.
     *
     * @param input the input text
     * @param timeout how long to wait for a slot and the result
     * @return the op's output text
     * @throws TimeoutException if no result came in time
     */
    public String call(String input, Duration timeout) throws TimeoutException {
        return call(engine.context(), input, timeout);
    }

    /**
     * Calls the op in {@code ctx}, giving up after the timeout (see {@link #call(String, Duration)}).
     *
     * @param ctx the context the call runs in
     * @param input the input text
     * @param timeout how long to wait for a slot and the result
     * @return the op's output text
     * @throws TimeoutException if no result came in time
     */
    public String call(ExecutionContext ctx, String input, Duration timeout) throws TimeoutException {
        return (String) syncObject(in(ctx), utf8(input), nanos(timeout),
                AsyncCall.KIND_STRING);
    }

    /**
     * Calls the op if a slot of the ring is free now; when every slot holds a queued call, sends nothing and
     * returns {@code ifRejected} at once instead of waiting for one.
     *
     * @param input the input text
     * @param ifRejected what to return if the ring is full; may be null
     * @return the op's output text, or {@code ifRejected}
     */
    public String tryCall(String input, String ifRejected) {
        return tryCall(engine.context(), input, ifRejected);
    }

    /**
     * {@link #tryCall(String, String)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param input the input text
     * @param ifRejected what to return if the ring is full; may be null
     * @return the op's output text, or {@code ifRejected}
     */
    public String tryCall(ExecutionContext ctx, String input, String ifRejected) {
        return (String) core.tryCallObject(this, in(ctx), utf8(input),
                AsyncCall.KIND_STRING, ifRejected);
    }

    /**
     * Submits a call and returns at once; see {@link LongOp#callAsync(long, long)}.
     *
     * @param input the input text
     * @return the future output
     */
    public CompletableFuture<String> callAsync(String input) {
        return callAsync(engine.context(), input);
    }

    /**
     * {@link #callAsync(String)} in {@code ctx}.
     *
     * @param ctx the context the call runs in
     * @param input the input text
     * @return the future output
     */
    public CompletableFuture<String> callAsync(ExecutionContext ctx, String input) {
        return core.callAsync(this, in(ctx), 0, 0, utf8(input), AsyncCall.KIND_STRING);
    }
}
