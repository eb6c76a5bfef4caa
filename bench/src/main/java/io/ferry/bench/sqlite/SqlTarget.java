package io.ferry.bench.sqlite;

/**
 * One way of running SQLite from Java (Ferry, sqlite-jdbc shared or per thread, a locked FFM call) on
 * its own database, loaded the same way: {@code kv} with {@link #ROWS} rows for point selects and an
 * empty {@code log} for inserts. Every operation checks its result and throws if it is wrong.
 */
interface SqlTarget extends AutoCloseable {
    int ROWS = 10_000;
    String SCHEMA_KV = "CREATE TABLE kv(id INTEGER PRIMARY KEY, name TEXT NOT NULL, val INTEGER NOT NULL)";
    String SCHEMA_LOG = "CREATE TABLE log(id INTEGER PRIMARY KEY, tid INTEGER NOT NULL, seq INTEGER NOT NULL)";
    String LOAD_KV = "INSERT INTO kv(id, name, val) VALUES(?, ?, ?)";
    String SELECT = "SELECT val, name FROM kv WHERE id = ?";
    String INSERT = "INSERT INTO log(tid, seq) VALUES(?, ?)";
    String[] NAMES = names();

    /** The row {@code id} of {@code kv}: name {@code NAMES[id]}, val {@code id * 7}. */
    static long val(long id) {
        return id * 7;
    }

    private static String[] names() {
        String[] n = new String[ROWS + 1];
        for (int i = 1; i <= ROWS; i++) {
            n[i] = "name-" + i;
        }
        return n;
    }

    /** Checks one selected row; throws if it is not row {@code id}. */
    static void check(long id, long val, String name) {
        if (val != val(id) || !NAMES[(int) id].equals(name)) {
            throw new AssertionError("SELECT id=" + id + " returned val=" + val + ", name=" + name);
        }
    }

    static void checkChanges(String what, long changes, long expected) {
        if (changes != expected) {
            throw new AssertionError(what + " changed " + changes + " rows, not " + expected);
        }
    }

    /** The worker of caller thread {@code t} (0-based); made before the timed part, reused across runs. */
    Worker worker(int t) throws Exception;

    /** Rows in {@code log} now (inserts are verified by counting them). */
    long logRows() throws Exception;

    /** journal_mode and synchronous as the target's connection reports them. */
    String pragmas() throws Exception;

    @Override
    void close() throws Exception;

    /** The operations of one caller thread. Each verifies its own result. */
    interface Worker {
        /** SELECT val, name FROM kv WHERE id = ?, checked against the loaded row. */
        void select(long id) throws Exception;

        /** One autocommit INSERT INTO log; checks that it changed one row. */
        void insert(long tid, long seq) throws Exception;

        /** {@code n} INSERTs into log in one transaction; checks that each changed one row. */
        void batch(long tid, long seq0, int n) throws Exception;
    }
}
