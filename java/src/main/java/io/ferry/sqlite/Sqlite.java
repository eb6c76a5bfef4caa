package io.ferry.sqlite;

import io.ferry.BytesOp;
import io.ferry.BytesToLongOp;
import io.ferry.Engine;
import io.ferry.ExecutionContext;
import io.ferry.LongOp;
import io.ferry.spi.EngineOps;
import java.lang.foreign.Arena;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

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
 * timeout passes it and its result through native memory the engine reads and writes in place. How
 * queries share read transactions, and the WAL defaults, are in the README ("SQLite on the engine
 * thread") and {@link SqliteBuilder}.
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

    private final Engine engine;
    private final BytesToLongOp function;
    private final Functions functions;
    private final StatementCalls calls;
    private final Cleaner.Cleanable cleanable;

    /** For {@link SqliteBuilder#start()}: the facade over a started engine; its channels live in {@code arena}. */
    Sqlite(Engine engine, Functions functions, Arena arena) {
        this.engine = engine;
        this.functions = functions;
        // The binding's plumbing: internal ops (FERRY_OP_INTERNAL), which Engine.op refuses.
        this.function = EngineOps.internal(engine, "sqlite.function", BytesToLongOp.class);
        Channels channels = new Channels(engine.systemContext(),
                EngineOps.internal(engine, "sqlite.channel", LongOp.class), arena);
        this.calls = new StatementCalls(engine, engine.bytesOp("sqlite.exec"),
                EngineOps.internal(engine, StatementCalls.RUN, LongOp.class),
                EngineOps.internal(engine, "sqlite.spill", BytesOp.class), engine.bytesOp("sqlite.batch"), channels);
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

    /**
     * A builder with the defaults: an in-memory database, a busy timeout of 5 s, 64 cached statements
     * per context.
     *
     * @return a new builder
     */
    public static SqliteBuilder builder() {
        return new SqliteBuilder();
    }

    /**
     * The engine SQLite runs on: its contexts, its close, its ops.
     *
     * @return the engine
     */
    public Engine engine() {
        return engine;
    }

    // ---- statements ------------------------------------------------------------------------------

    /**
     * Runs a statement in the current context with positional parameters.
     *
     * @param sql the statement
     * @param params the values of its {@code ?} parameters, in order
     * @return the rows it changed
     */
    public long execute(String sql, Object... params) {
        return call(engine.context(), sql, params, null).changes();
    }

    /**
     * Runs a statement in {@code ctx} with positional parameters.
     *
     * @param ctx the context it runs in
     * @param sql the statement
     * @param params the values of its {@code ?} parameters, in order
     * @return the rows it changed
     */
    public long execute(ExecutionContext ctx, String sql, Object... params) {
        return call(ctx, sql, params, null).changes();
    }

    /**
     * Runs a statement in {@code ctx} with named parameters.
     *
     * @param ctx the context it runs in
     * @param sql the statement
     * @param params the values of its {@code :name} parameters, by name without the colon
     * @return the rows it changed
     */
    public long execute(ExecutionContext ctx, String sql, Map<String, ?> params) {
        return call(ctx, sql, null, Objects.requireNonNull(params, "params")).changes();
    }

    /**
     * Runs a statement in the current context with named parameters.
     *
     * @param sql the statement
     * @param params the values of its {@code :name} parameters, by name without the colon
     * @return the rows it changed
     */
    public long execute(String sql, Map<String, ?> params) {
        return execute(engine.context(), sql, params);
    }

    /**
     * Runs a query in the current context with named parameters.
     *
     * @param sql the query
     * @param params the values of its {@code :name} parameters, by name without the colon
     * @return its rows
     */
    public Rows query(String sql, Map<String, ?> params) {
        return query(engine.context(), sql, params);
    }

    /**
     * Runs a query in the current context with positional parameters.
     *
     * @param sql the query
     * @param params the values of its {@code ?} parameters, in order
     * @return its rows
     */
    public Rows query(String sql, Object... params) {
        return call(engine.context(), sql, params, null);
    }

    /**
     * Runs a query in {@code ctx} with positional parameters. The statement is prepared once per context
     * and kept in the context's statement cache ({@link SqliteBuilder#statementCache(int)}), so calling
     * this again with the same SQL text only binds and steps it.
     *
     * @param ctx the context it runs in
     * @param sql the query
     * @param params the values of its {@code ?} parameters, in order
     * @return its rows
     */
    public Rows query(ExecutionContext ctx, String sql, Object... params) {
        return call(ctx, sql, params, null);
    }

    /**
     * Runs a query in {@code ctx} with named parameters.
     *
     * @param ctx the context it runs in
     * @param sql the query
     * @param params the values of its {@code :name} parameters, by name without the colon
     * @return its rows
     */
    public Rows query(ExecutionContext ctx, String sql, Map<String, ?> params) {
        return call(ctx, sql, null, Objects.requireNonNull(params, "params"));
    }

    /**
     * Runs one statement in {@code ctx}.
     *
     * @param ctx the context it runs in
     * @param statement the statement and its parameters
     * @return its rows (for a statement that is no query, none, and the rows it changed)
     */
    public Rows run(ExecutionContext ctx, Statement statement) {
        return call(ctx, statement.sql(), statement.positional().toArray(), statement.named());
    }

    /**
     * Runs one statement in {@code ctx}, giving up after the timeout: the engine interrupts the statement
     * if it is running and skips it if it has not started.
     *
     * @param ctx the context it runs in
     * @param statement the statement and its parameters
     * @param timeout the longest wait for its result
     * @return its rows
     * @throws TimeoutException if the timeout passed first
     */
    public Rows run(ExecutionContext ctx, Statement statement, Duration timeout) throws TimeoutException {
        checkEngine(ctx);
        return calls.call(ctx, statement, timeout);
    }

    /**
     * Runs one statement in {@code ctx} without waiting; cancelling the future interrupts the statement.
     *
     * @param ctx the context it runs in
     * @param statement the statement and its parameters
     * @return a future of its rows, failed with a {@link SqliteException} if SQLite refused it
     */
    public CompletableFuture<Rows> runAsync(ExecutionContext ctx, Statement statement) {
        checkEngine(ctx);
        return calls.callAsync(ctx, statement);
    }

    /**
     * Async {@link #query(String, Object...)} in the current context.
     *
     * @param sql the query
     * @param params the values of its {@code ?} parameters, in order
     * @return a future of its rows, failed with a {@link SqliteException} if SQLite refused it
     */
    public CompletableFuture<Rows> queryAsync(String sql, Object... params) {
        return runAsync(engine.context(), Statement.of(sql, params));
    }

    /** One statement in ctx, waiting without a deadline (see {@link StatementCalls#call}). */
    private Rows call(ExecutionContext ctx, String sqlText, Object[] positional, Map<String, ?> named) {
        checkEngine(ctx);
        return calls.call(ctx, sqlText, positional, named);
    }

    // ---- batches ---------------------------------------------------------------------------------

    /**
     * Runs several statements as one call, in one engine turn and one transaction: all or nothing.
     *
     * @param ctx the context they run in
     * @param statements the statements, in order
     * @return the rows each changed
     * @throws SqliteException naming the statement that failed; nothing of the batch remains
     */
    public long[] batch(ExecutionContext ctx, List<Statement> statements) {
        checkEngine(ctx);
        return calls.batch(ctx, statements);
    }

    /**
     * {@link #batch(ExecutionContext, List)} in the current context.
     *
     * @param statements the statements, in order
     * @return the rows each changed
     * @throws SqliteException naming the statement that failed; nothing of the batch remains
     */
    public long[] batch(List<Statement> statements) {
        return batch(engine.context(), statements);
    }

    /**
     * Runs one statement once per row of positional values ({@code ?} or {@code ?1}, {@code ?2} .. in the
     * row's order), all as one call in one transaction: the bulk insert. The SQL travels and is looked up
     * once, not once per row.
     *
     * @param ctx the context it runs in
     * @param sql the statement
     * @param rows every row has the same number of values (Long, Integer, Double, String, byte[],
     *        Boolean or null); at most 2^24 rows, and 65,536 when the statement has no parameters
     * @return the rows each run changed
     * @throws SqliteException naming the row that failed; nothing of the batch remains
     */
    public long[] batch(ExecutionContext ctx, String sql, List<Object[]> rows) {
        checkEngine(ctx);
        return calls.batch(ctx, sql, rows);
    }

    /**
     * {@link #batch(ExecutionContext, String, List)} in the current context.
     *
     * @param sql the statement
     * @param rows the rows of positional values, as for {@link #batch(ExecutionContext, String, List)}
     * @return the rows each run changed
     * @throws SqliteException naming the row that failed; nothing of the batch remains
     */
    public long[] batch(String sql, List<Object[]> rows) {
        return batch(engine.context(), sql, rows);
    }

    /**
     * Async {@link #batch(ExecutionContext, List)}.
     *
     * @param ctx the context they run in
     * @param statements the statements, in order
     * @return a future of the rows each changed, failed with a {@link SqliteException} naming the
     *         statement that failed
     */
    public CompletableFuture<long[]> batchAsync(ExecutionContext ctx, List<Statement> statements) {
        checkEngine(ctx);
        return calls.batchAsync(ctx, statements);
    }

    // ---- functions -------------------------------------------------------------------------------

    /**
     * Registers a scalar SQL function implemented in Java on every connection of this engine, present
     * and future. SQLite calls it on the engine thread.
     *
     * @param name the function's SQL name, 1 to 255 bytes of UTF-8
     * @param nArgs the number of arguments, or -1 for any
     * @param deterministic whether it always gives the same result for the same arguments (lets SQLite
     *        use it in indexes and optimise it)
     * @param fn the function
     * @throws IllegalArgumentException if the name or the argument count is out of range
     * @throws SqliteException if SQLite refused the function
     */
    public void createFunction(String name, int nArgs, boolean deterministic, SqlFunction fn) {
        functions.create(function, engine.systemContext(), name, nArgs, deterministic, fn);
    }

    /**
     * {@link #createFunction(String, int, boolean, SqlFunction)}, not deterministic.
     *
     * @param name the function's SQL name, 1 to 255 bytes of UTF-8
     * @param nArgs the number of arguments, or -1 for any
     * @param fn the function
     * @throws IllegalArgumentException if the name or the argument count is out of range
     * @throws SqliteException if SQLite refused the function
     */
    public void createFunction(String name, int nArgs, SqlFunction fn) {
        createFunction(name, nArgs, false, fn);
    }

    // ---- diagnostics -----------------------------------------------------------------------------

    /**
     * SQLite connections open in this process, across all SQLite engines (each context holds one).
     *
     * @return the number of open connections
     */
    public static long openConnections() {
        return SqliteLibrary.read(SqliteLibrary.CONNECTIONS);
    }

    /**
     * Prepared statements alive in this process, across all SQLite engines (the per-context caches).
     *
     * @return the number of prepared statements
     */
    public static long openStatements() {
        return SqliteLibrary.read(SqliteLibrary.STATEMENTS);
    }

    // ---- lifecycle -------------------------------------------------------------------------------

    /**
     * Closes the engine ({@link Engine#close()}: the calls in flight are given up, a running statement
     * is interrupted), then finalises every statement and closes every connection. Idempotent.
     */
    @Override
    public void close() {
        cleanable.clean();
    }

    private void checkEngine(ExecutionContext ctx) {
        Objects.requireNonNull(ctx, "ctx");
        if (ctx.engine() != engine) {
            throw new IllegalArgumentException("context '" + ctx.name() + "' belongs to engine '"
                    + ctx.engine().name() + "', not to this SQLite engine '" + engine.name() + "'");
        }
    }

    @Override
    public String toString() {
        return "Sqlite[" + engine + "]";
    }
}
