package io.ferry.bench.sqlite;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.sqlite.SQLiteConfig;

/**
 * sqlite-jdbc (xerial) set up the two ways its users run it from many threads:
 *
 * <ul>
 *   <li><b>shared</b>: one {@link Connection} for the whole process, each use (bind, execute, read the
 *       result) inside {@code synchronized (connection)};
 *   <li><b>per thread</b>: a connection for each caller thread (virtual ones included), no lock. A file
 *       database runs in WAL mode with {@code busy_timeout=5000}, so writers wait for each other inside
 *       SQLite; an in-memory database is one named shared-cache database,
 *       {@code jdbc:sqlite:file:jdbcmemN?mode=memory&cache=shared}, which every connection opens.
 * </ul>
 *
 * Each connection prepares each statement once and reuses the {@link PreparedStatement} (sqlite-jdbc has
 * no statement cache of its own; preparing on every call, as much code does, would only make it slower).
 */
final class JdbcTarget implements SqlTarget {
    private static final AtomicInteger MEMORY_DBS = new AtomicInteger();

    private final boolean shared;
    private final String url;
    private final Properties props;
    /** Opened first; holds a shared-cache in-memory database alive; the shared config's only connection. */
    private final Conn anchor;
    private final Conn[] perThread = new Conn[SqliteBench.MAX_THREADS];

    /** {@code file} null: in memory. */
    JdbcTarget(boolean shared, Path file) throws SQLException {
        this.shared = shared;
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(5000);
        if (file != null) {
            config.setJournalMode(SQLiteConfig.JournalMode.WAL);
            // As Ferry's WAL default: commits as durable as Ferry's (see SQLITE.md).
            config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
            url = "jdbc:sqlite:" + file;
        } else if (shared) {
            url = "jdbc:sqlite::memory:";
        } else {
            config.setSharedCache(true);
            url = "jdbc:sqlite:file:jdbcmem" + MEMORY_DBS.incrementAndGet() + "?mode=memory&cache=shared";
        }
        props = config.toProperties();
        anchor = new Conn(DriverManager.getConnection(url, props));
        try (Statement s = anchor.connection.createStatement()) {
            s.executeUpdate(SCHEMA_KV);
            s.executeUpdate(SCHEMA_LOG);
        }
        anchor.connection.setAutoCommit(false);
        try (PreparedStatement p = anchor.connection.prepareStatement(LOAD_KV)) {
            for (int id = 1; id <= ROWS; id++) {
                p.setLong(1, id);
                p.setString(2, NAMES[id]);
                p.setLong(3, SqlTarget.val(id));
                p.addBatch();
            }
            p.executeBatch();
        }
        anchor.connection.commit();
        anchor.connection.setAutoCommit(true);
        anchor.prepare();
    }

    static String version() throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite::memory:");
             ResultSet rs = c.createStatement().executeQuery("SELECT sqlite_version()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    String url() {
        return url;
    }

    @Override
    public Worker worker(int t) throws SQLException {
        if (shared) {
            return anchor;
        }
        if (perThread[t] == null) {
            perThread[t] = new Conn(DriverManager.getConnection(url, props));
            perThread[t].prepare();
        }
        return perThread[t];
    }

    /** One connection with its statements; the shared config locks it on every use. */
    private final class Conn implements Worker {
        final Connection connection;
        PreparedStatement select;
        PreparedStatement insert;

        Conn(Connection connection) {
            this.connection = connection;
        }

        void prepare() throws SQLException {
            select = connection.prepareStatement(SELECT);
            insert = connection.prepareStatement(INSERT);
        }

        @Override
        public void select(long id) throws SQLException {
            if (shared) {
                synchronized (connection) {
                    selectUnlocked(id);
                }
            } else {
                selectUnlocked(id);
            }
        }

        private void selectUnlocked(long id) throws SQLException {
            select.setLong(1, id);
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    throw new AssertionError("SELECT id=" + id + " returned no row");
                }
                long val = rs.getLong(1);
                String name = rs.getString(2);
                if (rs.next()) {
                    throw new AssertionError("SELECT id=" + id + " returned more than one row");
                }
                SqlTarget.check(id, val, name);
            }
        }

        @Override
        public void insert(long tid, long seq) throws SQLException {
            if (shared) {
                synchronized (connection) {
                    insertUnlocked(tid, seq);
                }
            } else {
                insertUnlocked(tid, seq);
            }
        }

        private void insertUnlocked(long tid, long seq) throws SQLException {
            insert.setLong(1, tid);
            insert.setLong(2, seq);
            SqlTarget.checkChanges("INSERT", insert.executeUpdate(), 1);
        }

        @Override
        public void batch(long tid, long seq0, int n) throws SQLException {
            if (shared) {
                synchronized (connection) {
                    batchUnlocked(tid, seq0, n);
                }
            } else {
                batchUnlocked(tid, seq0, n);
            }
        }

        /** The usual JDBC bulk insert: autocommit off, addBatch n times, executeBatch, commit. */
        private void batchUnlocked(long tid, long seq0, int n) throws SQLException {
            connection.setAutoCommit(false);
            try {
                for (int i = 0; i < n; i++) {
                    insert.setLong(1, tid);
                    insert.setLong(2, seq0 + i);
                    insert.addBatch();
                }
                int[] changes = insert.executeBatch();
                SqlTarget.checkChanges("batch", changes.length, n);
                for (int c : changes) {
                    SqlTarget.checkChanges("batch INSERT", c, 1);
                }
                connection.commit();
            } catch (SQLException | RuntimeException | Error e) {
                insert.clearBatch();
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        }
    }

    @Override
    public long logRows() throws SQLException {
        synchronized (anchor.connection) {
            try (Statement s = anchor.connection.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM log")) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Override
    public String pragmas() throws SQLException {
        synchronized (anchor.connection) {
            try (Statement s = anchor.connection.createStatement()) {
                String jm;
                try (ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
                    rs.next();
                    jm = rs.getString(1);
                }
                try (ResultSet rs = s.executeQuery("PRAGMA synchronous")) {
                    rs.next();
                    return "journal_mode=" + jm + ", synchronous=" + rs.getLong(1);
                }
            }
        }
    }

    @Override
    public void close() throws SQLException {
        for (Conn c : perThread) {
            if (c != null) {
                c.connection.close();
            }
        }
        anchor.connection.close();
    }
}
