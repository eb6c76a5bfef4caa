package io.ferry.sqlite;

import io.ferry.Engine;
import io.ferry.EngineBuilder;
import io.ferry.FerryException;
import io.ferry.spi.EngineLibraries;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Configures and starts a {@link Sqlite} engine; get one with {@link Sqlite#builder()}. The defaults: an
 * in-memory database, a busy timeout of 5 s, 64 cached statements per context.
 *
 * <pre>{@code
 * Sqlite db = Sqlite.builder().file(Path.of("app.db")).wal(true)
 *         .engine(e -> e.name("app-db").engineNice(-10))
 *         .start();
 * }</pre>
 */
public final class SqliteBuilder {
    private Path file;
    private boolean wal;
    private Synchronous synchronous;
    private Duration busyTimeout = Duration.ofSeconds(5);
    private int statementCache = 64;
    private Consumer<EngineBuilder> engineConfig = b -> { };

    SqliteBuilder() {
    }

    /**
     * An in-memory database (the default), shared by the contexts that do not ask for a private one.
     *
     * @return this builder
     */
    public SqliteBuilder memory() {
        this.file = null;
        return this;
    }

    /**
     * A database file.
     *
     * @param path the file (made absolute here)
     * @return this builder
     */
    public SqliteBuilder file(Path path) {
        this.file = Objects.requireNonNull(path, "path").toAbsolutePath();
        return this;
    }

    /**
     * journal_mode=WAL for a file database. Unless {@link #synchronous(Synchronous)} says
     * otherwise, WAL connections run with {@code synchronous=NORMAL}, the setting SQLite recommends for WAL.
     *
     * @param wal whether to use WAL
     * @return this builder
     */
    public SqliteBuilder wal(boolean wal) {
        this.wal = wal;
        return this;
    }

    /**
     * {@code PRAGMA synchronous} for every connection. Default: {@link Synchronous#NORMAL} with
     * {@link #wal(boolean) WAL}, SQLite's default ({@link Synchronous#FULL}) otherwise.
     *
     * @param mode how often SQLite waits for the disk
     * @return this builder
     */
    public SqliteBuilder synchronous(Synchronous mode) {
        this.synchronous = Objects.requireNonNull(mode, "mode");
        return this;
    }

    /**
     * sqlite3_busy_timeout for every connection. Default 5 s.
     *
     * @param timeout how long a connection waits for a lock another connection holds
     * @return this builder
     */
    public SqliteBuilder busyTimeout(Duration timeout) {
        this.busyTimeout = Objects.requireNonNull(timeout, "timeout");
        return this;
    }

    /**
     * Prepared statements cached per context (least recently used go first). Default 64.
     *
     * @param statements the cache size, 1 to 100000
     * @return this builder
     * @throws IllegalArgumentException if {@code statements} is outside 1..100000
     */
    public SqliteBuilder statementCache(int statements) {
        if (statements < 1 || statements > 100_000) {
            throw new IllegalArgumentException("statementCache=" + statements + ": must be 1..100000");
        }
        this.statementCache = statements;
        return this;
    }

    /**
     * Configures the underlying engine (capacity, wait policy, name, ...). Its library is SQLite's, set
     * after {@code config} ran.
     *
     * @param config what to set on the engine's builder
     * @return this builder
     */
    public SqliteBuilder engine(Consumer<EngineBuilder> config) {
        this.engineConfig = Objects.requireNonNull(config, "config");
        return this;
    }

    /**
     * Starts the engine with SQLite on it.
     *
     * @return the running SQLite engine
     * @throws FerryException if libferry_sqlite.so cannot be found or loaded
     * @throws io.ferry.EngineStartException if the engine or SQLite failed to start (opening the
     *         database, for example)
     * @throws IllegalArgumentException if the file's path contains a line break
     */
    public Sqlite start() {
        Path library;
        try {
            library = EngineLibraries.locate(Sqlite.class, SqliteLibrary.NAME, Sqlite.LIBRARY_PROPERTY);
        } catch (IOException e) {
            throw new FerryException("cannot find Ferry's SQLite engine: " + e.getMessage(), e);
        }
        Synchronous sync = synchronous != null ? synchronous
                : wal && file != null ? Synchronous.NORMAL : null;
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
            return new Sqlite(engine, new Functions(), arena);
        } catch (RuntimeException | Error e) {
            engine.close();
            arena.close();
            throw e;
        }
    }
}
