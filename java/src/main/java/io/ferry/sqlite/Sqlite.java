package io.ferry.sqlite;

import io.ferry.CallFailedException;
import io.ferry.Engine;
import io.ferry.EngineBuilder;
import io.ferry.EngineClosedException;
import io.ferry.ExecutionContext;
import io.ferry.FerryException;
import io.ferry.BytesOp;
import io.ferry.BytesToLongOp;
import io.ferry.LongOp;
import io.ferry.spi.EngineLibraries;
import io.ferry.spi.EngineOps;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
import java.util.function.Consumer;

/**
 * SQLite on Ferry's engine thread: every SQLite handle lives on that one thread, each execution context
 * has its own connection, and any number of Java threads run statements through the ring.
 *
 * <pre>{@code
 * try (Sqlite db = Sqlite.builder().start()) {                       // in memory; or .file(path).wal(true)
 *     db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
 *     db.execute("INSERT INTO t VALUES(?, ?)", 1, "one");
 *     ExecutionContext ctx = db.engine().systemContext().child().create();
 *     ctx.set("id", 1);                                               // scope variables bind :id
 *     Rows rows = db.query(ctx, "SELECT name FROM t WHERE id = :id");
 *     String one = rows.get(0).getString("name");
 * }
 * }</pre>
 *
 * <p>Statements run in the context given, or in the calling thread's current context of this engine
 * ({@link Engine#context()}). A user context shares its parent's database unless made with
 * {@link #PRIVATE_DATABASE}; a read-only context's connection is opened read-only, so SQLite itself
 * refuses writes. Named parameters ({@code :name}) bind the value given with the call, else the context
 * variable of that name. Errors are {@link SqliteException}s with SQLite's extended code, message and
 * error offset. A call that times out or whose future is cancelled interrupts its own statement.
 *
 * <p>Performance: a statement is prepared once per context and cached by its SQL text; a call without a
 * timeout passes it and its result through native memory the engine reads and writes in place. Queries
 * on an in-memory database share a read transaction until anything else runs (nothing else can write
 * to it meanwhile, so each still sees every earlier write). On a WAL file an extra connection holds a
 * read transaction while queries keep coming, so that theirs need no system call for the WAL's read
 * lock; it lets go before any write and after a millisecond without a query, so another process's
 * checkpoint waits no longer than behind any reader. WAL connections run {@code synchronous=NORMAL}
 * unless {@link Builder#synchronous(Synchronous)} says otherwise, and SQLite's allocation statistics
 * are turned off when this engine is the first to initialise SQLite in the process (they cost a
 * process-wide mutex per allocation).
 *
 * <p>Close it: a Java function that captures this object keeps it reachable from the engine, so then
 * only {@link #close()} (or, at the latest, the JVM's shutdown hook) stops the engine.
 */
public final class Sqlite implements AutoCloseable {
    /** Engine flag for {@code ExecutionContext.child().engineFlags(...)}: a private in-memory database. */
    public static final int PRIVATE_DATABASE = 0x100;
    /** System property naming libferry_sqlite.so to use instead of the bundled one. */
    public static final String LIBRARY_PROPERTY = "ferry.sqlite.library.path";

    private static final Cleaner CLEANER = Cleaner.create(Thread.ofPlatform().daemon().name("ferry-sqlite-cleaner").factory());
    private static final String RUN = "sqlite.run";

    private final Engine engine;
    private final BytesOp exec;
    private final LongOp run;
    private final BytesOp spill;
    private final BytesOp batch;
    private final BytesToLongOp function;
    private final Functions functions;
    private final Channels channels;
    private final SqlCache sql = new SqlCache();
    private final Cleaner.Cleanable cleanable;

    private Sqlite(Engine engine, Functions functions, Arena arena) {
        this.engine = engine;
        this.functions = functions;
        this.exec = engine.bytesOp("sqlite.exec");
        // The binding's plumbing: internal ops (FERRY_OP_INTERNAL), which Engine.op refuses.
        this.run = EngineOps.internal(engine, RUN, LongOp.class);
        this.spill = EngineOps.internal(engine, "sqlite.spill", BytesOp.class);
        this.batch = engine.bytesOp("sqlite.batch");
        this.function = EngineOps.internal(engine, "sqlite.function", BytesToLongOp.class);
        this.channels = new Channels(engine.systemContext(), EngineOps.internal(engine, "sqlite.channel", LongOp.class),
                arena);
        // Closes the engine (joining its thread) before the arena that holds the channels.
        this.cleanable = CLEANER.register(this, () -> {
            engine.close();
            // The engine may write into the channels, and call the functions, until its thread has stopped.
            // If close gave up on a stuck thread, both stay (a leak, never a write into freed memory).
            if (engine.isStopped()) {
                arena.close();
                functions.clear();
            }
        });
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The engine SQLite runs on: its contexts, its close, its ops. */
    public Engine engine() {
        return engine;
    }

    // ---- statements ------------------------------------------------------------------------------

    /** Runs a statement in the current context with positional parameters; returns the rows it changed. */
    public long execute(String sql, Object... params) {
        return call(engine.context(), sql, params, null).changes();
    }

    /** Runs a statement in {@code ctx} with positional parameters; returns the rows it changed. */
    public long execute(ExecutionContext ctx, String sql, Object... params) {
        return call(ctx, sql, params, null).changes();
    }

    /** Runs a statement in {@code ctx} with named parameters; returns the rows it changed. */
    public long execute(ExecutionContext ctx, String sql, Map<String, ?> params) {
        return call(ctx, sql, null, Objects.requireNonNull(params, "params")).changes();
    }

    /** Runs a statement in the current context with named parameters; returns the rows it changed. */
    public long execute(String sql, Map<String, ?> params) {
        return execute(engine.context(), sql, params);
    }

    /** Runs a query in the current context with named parameters ({@code :name} without the colon). */
    public Rows query(String sql, Map<String, ?> params) {
        return query(engine.context(), sql, params);
    }

    /** Runs a query in the current context with positional parameters. */
    public Rows query(String sql, Object... params) {
        return call(engine.context(), sql, params, null);
    }

    /**
     * Runs a query in {@code ctx} with positional parameters. The statement is prepared once per context
     * and kept in the context's statement cache ({@link Builder#statementCache(int)}), so calling this
     * again with the same SQL text only binds and steps it.
     */
    public Rows query(ExecutionContext ctx, String sql, Object... params) {
        return call(ctx, sql, params, null);
    }

    /** Runs a query in {@code ctx} with named parameters ({@code :name} without the colon). */
    public Rows query(ExecutionContext ctx, String sql, Map<String, ?> params) {
        return call(ctx, sql, null, Objects.requireNonNull(params, "params"));
    }

    /** Runs one statement in {@code ctx}. */
    public Rows run(ExecutionContext ctx, Statement statement) {
        return call(ctx, statement.sql(), statement.positional().toArray(), statement.named());
    }

    /**
     * Runs one statement in {@code ctx}, giving up after the timeout: the engine interrupts the statement
     * if it is running and skips it if it has not started.
     */
    public Rows run(ExecutionContext ctx, Statement statement, Duration timeout) throws TimeoutException {
        checkEngine(ctx);
        SqlCache.Entry text = sql.get(statement.sql());
        try {
            return decode(exec.call(ctx, Wire.encode(List.of(statement), false, sql), timeout), text);
        } catch (CallFailedException e) {
            throw sqlite(e);
        }
    }

    /** Runs one statement in {@code ctx} without waiting; cancelling the future interrupts the statement. */
    public CompletableFuture<Rows> runAsync(ExecutionContext ctx, Statement statement) {
        checkEngine(ctx);
        SqlCache.Entry text = sql.get(statement.sql());
        return forward(exec.callAsync(ctx, Wire.encode(List.of(statement), false, sql)), b -> decode(b, text));
    }

    /**
     * One statement, waiting without a deadline: through a channel (the statement written into native
     * memory the engine reads it from and writes the result over, no allocation on either side), or as
     * byte arrays when it does not fit, or when the context may not run {@code sqlite.run}.
     */
    private Rows call(ExecutionContext ctx, String sqlText, Object[] positional, Map<String, ?> named) {
        checkEngine(ctx);
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
                throw sqlite(e);
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

    private Rows callBytes(ExecutionContext ctx, SqlCache.Entry text, Object[] positional, Map<String, ?> named) {
        byte[] in = Wire.encode(List.of(new Statement(text.sql, positional == null ? null : Arrays.asList(positional),
                named)), false, sql);
        try {
            return decode(exec.call(ctx, in), text);
        } catch (CallFailedException e) {
            throw sqlite(e);
        }
    }

    /** A result too large for its channel: the engine kept it for ctx (only ctx may take it); take it as an array. */
    private Rows spilled(ExecutionContext ctx, Channels.Channel ch, SqlCache.Entry text) {
        try {
            return decode(spill.call(ctx, ch.idBytes), text);
        } catch (CallFailedException e) {
            throw sqlite(e);
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

    /** Async {@link #query(String, Object...)} in the current context. */
    public CompletableFuture<Rows> queryAsync(String sql, Object... params) {
        return runAsync(engine.context(), Statement.of(sql, params));
    }

    /**
     * Runs several statements as one call, in one engine turn and one transaction: all or nothing.
     * Returns the rows each changed.
     *
     * @throws SqliteException naming the statement that failed; nothing of the batch remains
     */
    public long[] batch(ExecutionContext ctx, List<Statement> statements) {
        checkEngine(ctx);
        try {
            return Wire.batchChanges(batch.call(ctx, Wire.encode(statements, true, sql)));
        } catch (CallFailedException e) {
            throw sqlite(e);
        }
    }

    /** {@link #batch(ExecutionContext, List)} in the current context. */
    public long[] batch(List<Statement> statements) {
        return batch(engine.context(), statements);
    }

    /**
     * Runs one statement once per row of positional values ({@code ?} or {@code ?1}, {@code ?2} .. in the
     * row's order), all as one call in one transaction: the bulk insert. The SQL travels and is looked up
     * once, not once per row. Returns the rows each run changed.
     *
     * @param rows every row has the same number of values (Long, Integer, Double, String, byte[],
     *        Boolean or null); at most 2^24 rows, and 65,536 when the statement has no parameters
     * @throws SqliteException naming the row that failed; nothing of the batch remains
     */
    public long[] batch(ExecutionContext ctx, String sql, List<Object[]> rows) {
        checkEngine(ctx);
        Objects.requireNonNull(rows, "rows");
        if (rows.size() > Wire.MAX_BATCH_ROWS) {
            throw new IllegalArgumentException("rows.size()=" + rows.size() + ": at most " + Wire.MAX_BATCH_ROWS
                    + " rows per batch");
        }
        try {
            return Wire.batchChanges(batch.call(ctx, Wire.batchRows(this.sql.get(sql).utf8, rows)));
        } catch (CallFailedException e) {
            throw sqlite(e);
        }
    }

    /** {@link #batch(ExecutionContext, String, List)} in the current context. */
    public long[] batch(String sql, List<Object[]> rows) {
        return batch(engine.context(), sql, rows);
    }

    /** Async {@link #batch(ExecutionContext, List)}. */
    public CompletableFuture<long[]> batchAsync(ExecutionContext ctx, List<Statement> statements) {
        checkEngine(ctx);
        return forward(batch.callAsync(ctx, Wire.encode(statements, true, sql)), Wire::batchChanges);
    }

    // ---- functions -------------------------------------------------------------------------------

    /**
     * Registers a scalar SQL function implemented in Java on every connection of this engine, present
     * and future. SQLite calls it on the engine thread.
     *
     * @param nArgs the number of arguments, or -1 for any
     * @param deterministic whether it always gives the same result for the same arguments (lets SQLite
     *        use it in indexes and optimise it)
     */
    public void createFunction(String name, int nArgs, boolean deterministic, SqlFunction fn) {
        Objects.requireNonNull(fn, "fn");
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > 255 || nArgs < -1 || nArgs > 127) {
            throw new IllegalArgumentException("name=" + name + ", nArgs=" + nArgs + ": a name of 1..255 bytes and "
                    + "-1..127 arguments");
        }
        int id = functions.add(fn);
        byte[] in = ByteBuffer.allocate(8 + n.length).order(ByteOrder.LITTLE_ENDIAN).putInt(id)
                .putInt(deterministic ? 1 : 0).put(n).array();
        try {
            function.call(engine.systemContext(), nArgs, in);
        } catch (CallFailedException e) {
            throw sqlite(e);
        }
    }

    /** {@link #createFunction(String, int, boolean, SqlFunction)}, not deterministic. */
    public void createFunction(String name, int nArgs, SqlFunction fn) {
        createFunction(name, nArgs, false, fn);
    }

    // ---- diagnostics -----------------------------------------------------------------------------

    /** SQLite connections open in this process, across all SQLite engines (each context holds one). */
    public static long openConnections() {
        return Counters.read(Counters.CONNECTIONS);
    }

    /** Prepared statements alive in this process, across all SQLite engines (the per-context caches). */
    public static long openStatements() {
        return Counters.read(Counters.STATEMENTS);
    }

    /** Functions of libferry_sqlite.so itself (not ops): the leak counters, the channels' free, the dispatcher. */
    static final class Counters {
        static final MethodHandle CONNECTIONS = find("ferry_sqlite_open_connections", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle STATEMENTS = find("ferry_sqlite_open_statements", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle FREE = find("ferry_sqlite_free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        static final MethodHandle SET_DISPATCHER = find("ferry_sqlite_set_dispatcher",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

        @SuppressWarnings("restricted")
        private static MethodHandle find(String symbol, FunctionDescriptor descriptor) {
            try {
                var lookup = EngineLibraries.lookup(Sqlite.class, "libferry_sqlite.so", LIBRARY_PROPERTY);
                return Linker.nativeLinker().downcallHandle(lookup.find(symbol).orElseThrow(), descriptor);
            } catch (IOException e) {
                throw new FerryException("cannot find Ferry's SQLite engine: " + e.getMessage(), e);
            }
        }

        static long read(MethodHandle h) {
            try {
                return (long) h.invokeExact();
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        /** Frees a channel (ferry_sqlite_free); only once its engine has stopped. */
        static void free(MemorySegment channel) {
            try {
                FREE.invokeExact(channel);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
    }

    // ---- lifecycle -------------------------------------------------------------------------------

    /** Closes the engine: runs every accepted call, finalises every statement, closes every connection. */
    @Override
    public void close() {
        cleanable.clean();
    }

    // ---- encoding --------------------------------------------------------------------------------

    private void checkEngine(ExecutionContext ctx) {
        Objects.requireNonNull(ctx, "ctx");
        if (ctx.engine() != engine) {
            throw new IllegalArgumentException("context '" + ctx.name() + "' belongs to engine '"
                    + ctx.engine().name() + "', not to this SQLite engine '" + engine.name() + "'");
        }
    }

    private static SqliteException sqlite(CallFailedException e) {
        return e instanceof SqliteException s ? s : new SqliteException(e);
    }

    private static Throwable sqliteCause(Throwable t) {
        Throwable c = t instanceof CompletionException || t instanceof ExecutionException ? t.getCause() : t;
        return c instanceof CallFailedException e ? sqlite(e) : c;
    }

    private static Rows decode(byte[] result, SqlCache.Entry text) {
        return Wire.rows(MemorySegment.ofArray(result), result.length, text);
    }

    /** A future of the decoded result whose cancel (and timed-out get) gives up the engine call too. */
    private static <T> CompletableFuture<T> forward(CompletableFuture<byte[]> source,
            java.util.function.Function<byte[], T> decode) {
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

    /**
     * {@code PRAGMA synchronous}: how often SQLite waits for the disk. With WAL, {@link #NORMAL} syncs at
     * checkpoints only: the database never corrupts, and a power loss (not a crash of the process) can
     * undo the last commits. {@link #FULL} syncs the WAL at every commit as well.
     */
    public enum Synchronous {
        /** No syncs: a power loss can corrupt the database. */
        OFF,
        /** Syncs at critical moments; with WAL, at checkpoints: durable up to the last checkpoint. */
        NORMAL,
        /** Syncs at every commit (SQLite's default). */
        FULL,
        /** FULL, and the directory after a rollback journal is deleted. */
        EXTRA
    }

    /** Configures and starts a SQLite engine. */
    public static final class Builder {
        private Path file;
        private boolean wal;
        private Synchronous synchronous;
        private Duration busyTimeout = Duration.ofSeconds(5);
        private int statementCache = 64;
        private Consumer<EngineBuilder> engineConfig = b -> { };

        private Builder() {
        }

        /** An in-memory database (the default), shared by the contexts that do not ask for a private one. */
        public Builder memory() {
            this.file = null;
            return this;
        }

        /** A database file. */
        public Builder file(Path path) {
            this.file = Objects.requireNonNull(path, "path").toAbsolutePath();
            return this;
        }

        /**
         * journal_mode=WAL for a file database. Unless {@link #synchronous(Synchronous)} says otherwise,
         * WAL connections run with {@code synchronous=NORMAL}, the setting SQLite recommends for WAL.
         */
        public Builder wal(boolean wal) {
            this.wal = wal;
            return this;
        }

        /**
         * {@code PRAGMA synchronous} for every connection. Default: {@link Synchronous#NORMAL} with
         * {@link #wal(boolean) WAL}, SQLite's default ({@link Synchronous#FULL}) otherwise.
         */
        public Builder synchronous(Synchronous mode) {
            this.synchronous = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** sqlite3_busy_timeout for every connection. Default 5 s. */
        public Builder busyTimeout(Duration timeout) {
            this.busyTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Prepared statements cached per context (least recently used go first). Default 64. */
        public Builder statementCache(int statements) {
            if (statements < 1 || statements > 100_000) {
                throw new IllegalArgumentException("statementCache=" + statements + ": must be 1..100000");
            }
            this.statementCache = statements;
            return this;
        }

        /** Configures the underlying engine (capacity, wait preset, name, ...). */
        public Builder engine(Consumer<EngineBuilder> config) {
            this.engineConfig = Objects.requireNonNull(config, "config");
            return this;
        }

        public Sqlite start() {
            Path library;
            try {
                library = EngineLibraries.locate(Sqlite.class, "libferry_sqlite.so", LIBRARY_PROPERTY);
            } catch (IOException e) {
                throw new FerryException("cannot find Ferry's SQLite engine: " + e.getMessage(), e);
            }
            Synchronous sync = synchronous != null ? synchronous : wal && file != null ? Synchronous.NORMAL : null;
            String config = (file == null ? "path=:memory:" : "path=" + file) + "\nwal=" + (wal ? 1 : 0)
                    + "\nbusy_timeout=" + busyTimeout.toMillis() + "\ncache=" + statementCache
                    + (sync == null ? "" : "\nsynchronous=" + sync.ordinal());
            if (file != null && file.toString().contains("\n")) {
                throw new IllegalArgumentException("file=" + file + ": a path with a line break");
            }
            EngineBuilder b = Engine.builder().name("sqlite");
            engineConfig.accept(b);
            Engine engine = b.library(library, "ferry_sqlite_init", config).start();
            Arena arena = Arena.ofShared();
            try {
                Functions functions = new Functions();
                return new Sqlite(engine, functions, arena);
            } catch (RuntimeException | Error e) {
                engine.close();
                arena.close();
                throw e;
            }
        }
    }

    @Override
    public String toString() {
        return "Sqlite[" + engine + "]";
    }
}
