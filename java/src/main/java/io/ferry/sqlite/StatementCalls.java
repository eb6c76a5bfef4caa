package io.ferry.sqlite;

import io.ferry.BytesOp;
import io.ferry.CallFailedException;
import io.ferry.Engine;
import io.ferry.EngineClosedException;
import io.ferry.ExecutionContext;
import io.ferry.LongOp;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * How statements travel to the engine and their results come back, for {@link Sqlite}: one statement
 * through a channel (native memory the engine reads the statement from and writes the result over) when
 * it fits, else as byte arrays through {@code sqlite.exec}; batches through {@code sqlite.batch}; and the
 * futures of async calls, whose cancel gives the engine call up too. Op failures become
 * {@link SqliteException}s. The caller has checked that the context belongs to this engine.
 */
final class StatementCalls {
    static final String RUN = "sqlite.run";

    private final Engine engine;
    private final BytesOp exec;
    private final LongOp run;
    private final BytesOp spill;
    private final BytesOp batch;
    private final Channels channels;
    private final SqlCache sql = new SqlCache();

    StatementCalls(Engine engine, BytesOp exec, LongOp run, BytesOp spill, BytesOp batch, Channels channels) {
        this.engine = engine;
        this.exec = exec;
        this.run = run;
        this.spill = spill;
        this.batch = batch;
        this.channels = channels;
    }

    /**
     * One statement, waiting without a deadline: through a channel (no allocation on either side), or as
     * byte arrays when it does not fit, or when the context may not run {@code sqlite.run}.
     */
    Rows call(ExecutionContext ctx, String sqlText, Object[] positional, Map<String, ?> named) {
        SqlCache.Entry text = sql.get(Objects.requireNonNull(sqlText, "sql"));
        Optional<Collection<String>> ops = ctx.allowedOps();
        if ((ops.isPresent() && !ops.get().contains(RUN)) || engine.isClosed()) {
            return callBytes(ctx, text, positional, named);
        }
        Channels.Channel ch = channels.acquire();
        boolean reusable = false;
        try {
            long len;
            try {
                len = Wire.statement(ch.memory, 0, text.utf8, positional, named);
            } catch (IllegalStateException closed) {
                // The engine closed meanwhile, and with it the channels: the byte-array call fails the
                // same way a call to a closed engine does (after checking the values, as it always does).
                return callBytes(ctx, text, positional, named);
            }
            reusable = true;
            if (len < 0) {
                return callBytes(ctx, text, positional, named);
            }
            reusable = false;
            long result;
            try {
                result = run.call(ctx, ch.id, len);
            } catch (CallFailedException e) {
                reusable = true;
                throw SqliteException.from(e);
            }
            Rows rows;
            try {
                rows = result >= 0 ? Wire.rows(ch.memory, result, text, ch.scratch) : spilled(ctx, ch, text);
            } catch (IllegalStateException e) {
                throw engineClosed(e);
            }
            reusable = true;
            return rows;
        } finally {
            // Not after an unexpected failure between the publish and the result: the engine might
            // still be running the call (a close that gave up on it) and writing into the channel.
            if (reusable) {
                channels.release(ch);
            }
        }
    }

    /** One statement as byte arrays, giving up after the timeout (see {@link Sqlite#run}). */
    Rows call(ExecutionContext ctx, Statement statement, Duration timeout) throws TimeoutException {
        SqlCache.Entry text = sql.get(statement.sql());
        try {
            return decode(exec.call(ctx, Wire.encode(List.of(statement), false, sql), timeout), text);
        } catch (CallFailedException e) {
            throw SqliteException.from(e);
        }
    }

    /** One statement as byte arrays, without waiting. */
    CompletableFuture<Rows> callAsync(ExecutionContext ctx, Statement statement) {
        SqlCache.Entry text = sql.get(statement.sql());
        return forward(exec.callAsync(ctx, Wire.encode(List.of(statement), false, sql)), b -> decode(b, text));
    }

    /** Several statements as one call in one transaction; the rows each changed. */
    long[] batch(ExecutionContext ctx, List<Statement> statements) {
        try {
            return Wire.batchChanges(batch.call(ctx, Wire.encode(statements, true, sql)));
        } catch (CallFailedException e) {
            throw SqliteException.from(e);
        }
    }

    /** One statement once per row of positional values, as one call in one transaction. */
    long[] batch(ExecutionContext ctx, String sqlText, List<Object[]> rows) {
        Objects.requireNonNull(rows, "rows");
        if (rows.size() > Wire.MAX_BATCH_ROWS) {
            throw new IllegalArgumentException("rows.size()=" + rows.size() + ": at most " + Wire.MAX_BATCH_ROWS
                    + " rows per batch");
        }
        try {
            return Wire.batchChanges(batch.call(ctx, Wire.batchRows(sql.get(sqlText).utf8, rows)));
        } catch (CallFailedException e) {
            throw SqliteException.from(e);
        }
    }

    /** {@link #batch(ExecutionContext, List)} without waiting. */
    CompletableFuture<long[]> batchAsync(ExecutionContext ctx, List<Statement> statements) {
        return forward(batch.callAsync(ctx, Wire.encode(statements, true, sql)), Wire::batchChanges);
    }

    private Rows callBytes(ExecutionContext ctx, SqlCache.Entry text, Object[] positional, Map<String, ?> named) {
        byte[] in = Wire.encode(List.of(new Statement(text.sql, positional == null ? null : Arrays.asList(positional),
                named)), false, sql);
        try {
            return decode(exec.call(ctx, in), text);
        } catch (CallFailedException e) {
            throw SqliteException.from(e);
        }
    }

    /** A result too large for its channel: the engine kept it for ctx (only ctx may take it); take it as an array. */
    private Rows spilled(ExecutionContext ctx, Channels.Channel ch, SqlCache.Entry text) {
        try {
            return decode(spill.call(ctx, ch.idBytes), text);
        } catch (CallFailedException e) {
            throw SqliteException.from(e);
        }
    }

    private EngineClosedException engineClosed(IllegalStateException e) {
        if (!engine.isClosed()) {
            throw e;
        }
        EngineClosedException closed = new EngineClosedException("engine '" + engine.name() + "' is closed");
        closed.initCause(e);
        return closed;
    }

    private static Rows decode(byte[] result, SqlCache.Entry text) {
        return Wire.rows(MemorySegment.ofArray(result), result.length, text);
    }

    /** A future of the decoded result whose cancel (and timed-out get) gives up the engine call too. */
    private static <T> CompletableFuture<T> forward(CompletableFuture<byte[]> source, Function<byte[], T> decode) {
        CompletableFuture<T> result = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                source.cancel(mayInterruptIfRunning);
                return super.cancel(mayInterruptIfRunning);
            }

            @Override
            public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
                try {
                    return super.get(timeout, unit);
                } catch (TimeoutException e) {
                    cancel(false);
                    throw e;
                }
            }
        };
        source.whenComplete((bytes, failure) -> {
            if (failure != null) {
                Throwable cause = sqliteCause(failure);
                if (cause instanceof CancellationException) {
                    result.cancel(false);
                } else {
                    result.completeExceptionally(cause);
                }
                return;
            }
            try {
                result.complete(decode.apply(bytes));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    private static Throwable sqliteCause(Throwable t) {
        Throwable c = t instanceof CompletionException || t instanceof ExecutionException ? t.getCause() : t;
        return c instanceof CallFailedException e ? SqliteException.from(e) : c;
    }
}
