package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.ExecutionContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A batch is one call and one transaction: all of it, or none of it. */
class SqliteBatchTest {
    private static List<Long> ids(Sqlite db, ExecutionContext ctx) {
        return db.query(ctx, "SELECT id FROM t ORDER BY id").stream().map(r -> r.getLong(0)).toList();
    }

    @Test
    void aBatchWhoseThirdStatementFailsLeavesNothingAndNamesTheStatement() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext ctx = db.engine().systemContext().child().create();
            db.execute(ctx, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
            db.execute(ctx, "INSERT INTO t VALUES(100, 'taken')");

            SqliteException e = assertThrows(SqliteException.class, () -> db.batch(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(?, ?)", 1, "one"),
                    Statement.of("UPDATE t SET v = 'changed' WHERE id = 100"),
                    Statement.of("INSERT INTO t VALUES(?, ?)", 3, "one"), // UNIQUE(v) fails
                    Statement.of("INSERT INTO t VALUES(4, 'four')"))));
            assertEquals(2067, e.extendedCode(), e::getMessage);
            // The failing statement's index (0-based: the third is 2), out of how many, and the rollback.
            assertTrue(e.getMessage().contains("statement 3 of 4"), e::getMessage);
            assertTrue(e.getMessage().contains("rolled back"), e::getMessage);
            assertTrue(e.getMessage().contains("UNIQUE constraint failed: t.v"), e::getMessage);

            // Neither the first insert nor the update remains, for this context or any other.
            assertEquals(List.of(100L), ids(db, ctx));
            assertEquals("taken", db.query(ctx, "SELECT v FROM t WHERE id = 100").get(0).getString(0));
            assertEquals(List.of(100L), ids(db, db.engine().systemContext()));

            // A failure in the first statement names index 0; a syntax error fails the batch the same way.
            SqliteException first = assertThrows(SqliteException.class, () -> db.batch(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(100, 'dup')"), Statement.of("INSERT INTO t VALUES(5, 'five')"))));
            assertTrue(first.getMessage().contains("statement 1 of 2"), first::getMessage);
            SqliteException syntax = assertThrows(SqliteException.class, () -> db.batch(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(6, 'six')"), Statement.of("INSERT INTO t VALUS(7, 'seven')"))));
            assertEquals(1, syntax.extendedCode());
            assertTrue(syntax.getMessage().contains("statement 2 of 2"), syntax::getMessage);
            // An unbound parameter in a later statement rolls the batch back too.
            assertThrows(SqliteException.class, () -> db.batch(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(8, 'eight')"), Statement.of("INSERT INTO t VALUES(9, :nine)"))));
            assertEquals(List.of(100L), ids(db, ctx));

            // The context (and its connection) is not left inside a transaction: a later batch commits.
            assertArrayEquals(new long[] {1}, db.batch(ctx, List.of(Statement.of("INSERT INTO t VALUES(5, 'five')"))));
            assertEquals(List.of(5L, 100L), ids(db, db.engine().systemContext().child().create()));
        }
    }

    @Test
    void aGoodBatchReturnsEachStatementsChanges() throws Exception {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext ctx = db.engine().systemContext().child().create();
            ctx.set("base", 10L);
            db.execute(ctx, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)");
            long[] changes = db.batch(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(1, 1), (2, 2), (3, 3)"),
                    Statement.of("INSERT INTO t VALUES(?, ?)", 4, 4),
                    Statement.of("INSERT INTO t VALUES(:id, :base)", Map.of("id", 5)), // :base from the scope
                    Statement.of("UPDATE t SET v = v * 10 WHERE id <= 2"),
                    Statement.of("UPDATE t SET v = 0 WHERE id > 1000"),
                    Statement.of("DELETE FROM t WHERE id IN (3, 4, 5)")));
            assertArrayEquals(new long[] {3, 1, 1, 2, 0, 3}, changes);
            assertEquals(List.of(1L, 2L), ids(db, ctx));
            assertEquals(30L, db.query(ctx, "SELECT sum(v) FROM t").get(0).getLong(0));

            // Async, and an empty batch.
            assertArrayEquals(new long[] {2, 2}, db.batchAsync(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(6, 6), (7, 7)"), Statement.of("DELETE FROM t WHERE id > 5")))
                    .get(10, TimeUnit.SECONDS));
            assertArrayEquals(new long[0], db.batch(ctx, List.of()));
            // A batch in the thread's current context.
            try (var s = ctx.open()) {
                assertArrayEquals(new long[] {1}, db.batch(List.of(Statement.of("INSERT INTO t VALUES(:base, 0)"))));
            }
            assertEquals(List.of(1L, 2L, 10L), ids(db, ctx));
        }
    }

    @Test
    void aBatchInsideATransactionTheUserBeganIsASavepointOfIt() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext ctx = db.engine().systemContext().child().engineFlags(Sqlite.PRIVATE_DATABASE).create();
            db.execute(ctx, "CREATE TABLE t(id INTEGER PRIMARY KEY)");

            // A good batch inside BEGIN .. ROLLBACK: it did not commit on its own, the user's rollback undoes it.
            db.execute(ctx, "BEGIN");
            db.execute(ctx, "INSERT INTO t VALUES(1)");
            assertArrayEquals(new long[] {1, 1}, db.batch(ctx, List.of(Statement.of("INSERT INTO t VALUES(2)"),
                    Statement.of("INSERT INTO t VALUES(3)"))));
            assertEquals(List.of(1L, 2L, 3L), ids(db, ctx));
            db.execute(ctx, "ROLLBACK");
            assertEquals(List.of(), ids(db, ctx));

            // A failing batch inside BEGIN .. COMMIT: only the batch is undone; the user's transaction goes on.
            db.execute(ctx, "BEGIN");
            db.execute(ctx, "INSERT INTO t VALUES(1)");
            SqliteException e = assertThrows(SqliteException.class, () -> db.batch(ctx, List.of(
                    Statement.of("INSERT INTO t VALUES(2)"), Statement.of("INSERT INTO t VALUES(1)"))));
            assertEquals(1555, e.extendedCode(), e::getMessage);
            assertEquals(List.of(1L), ids(db, ctx));
            assertArrayEquals(new long[] {1}, db.batch(ctx, List.of(Statement.of("INSERT INTO t VALUES(4)"))));
            db.execute(ctx, "COMMIT");
            assertEquals(List.of(1L, 4L), ids(db, ctx));
            assertEquals(List.of(1L, 4L), ids(db, ctx.child().create()));
        }
    }

    /**
     * Library bug: Rows.changes() and a batch's per-statement changes are sqlite3_changes64(), which only
     * INSERT, UPDATE and DELETE set: any other statement reports the count of the last DML statement on
     * that connection. ferry_sqlite.c fs_run reads sqlite3_changes64 after every statement.
     */
    @Test
    void statementsThatChangeNoRowsReportZeroChanges() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
            assertEquals(3, db.execute("INSERT INTO t VALUES(1, 1), (2, 2), (3, 3)"));
            assertEquals(0, db.query("SELECT count(*) FROM t").changes(), "a SELECT changed rows");
            assertEquals(0, db.execute("CREATE INDEX t_v ON t(v)"), "CREATE INDEX changed rows");
            assertArrayEquals(new long[] {2, 0, 0, 0}, db.batch(List.of(
                    Statement.of("INSERT INTO t VALUES(4, 4), (5, 5)"),
                    Statement.of("SELECT * FROM t"),
                    Statement.of("CREATE TABLE u(x)"),
                    Statement.of("UPDATE t SET v = 0 WHERE id > 100"))));
        }
    }

    /**
     * Library bug (design): every context's connection lives on the one engine thread, so a context whose
     * write is blocked by another context's open write transaction can never get the lock by waiting; yet
     * its busy handler (sqlite3_busy_timeout, ferry_sqlite.c fs_ctx_open) sleeps the whole busy timeout on
     * the engine thread, stalling every caller of the engine, before failing with SQLITE_BUSY anyway.
     */
    @Test
    void aWriteBlockedByAnotherContextsTransactionFailsWithoutStallingTheEngine() throws Exception {
        Duration busy = Duration.ofSeconds(2);
        try (Sqlite db = Sqlite.builder().busyTimeout(busy).start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(id INTEGER PRIMARY KEY)");
            ExecutionContext holder = sys.child().name("holder").create();
            ExecutionContext writer = sys.child().name("writer").create();
            ExecutionContext bystander = sys.child().name("bystander").engineFlags(Sqlite.PRIVATE_DATABASE).create();
            db.execute(holder, "BEGIN IMMEDIATE");
            db.execute(holder, "INSERT INTO t VALUES(1)");
            try {
                long t0 = System.nanoTime();
                CompletableFuture<Rows> blocked = db.runAsync(writer, Statement.of("INSERT INTO t VALUES(2)"));
                // A call in a context on another database, queued behind the blocked write.
                long bystanderStart = System.nanoTime();
                assertEquals(1L, db.query(bystander, "SELECT 1").get(0).getLong(0));
                long bystanderMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bystanderStart);
                SqliteException e = assertThrows(SqliteException.class, () -> {
                    try {
                        blocked.join();
                    } catch (java.util.concurrent.CompletionException ce) {
                        throw ce.getCause();
                    }
                });
                long blockedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(5, e.primaryCode(), e::getMessage); // SQLITE_BUSY
                assertTrue(blockedMs < busy.toMillis() / 4 && bystanderMs < busy.toMillis() / 4,
                        "the blocked write failed after " + blockedMs + " ms and held up an unrelated query for "
                                + bystanderMs + " ms (busy timeout " + busy.toMillis() + " ms): the engine thread "
                                + "slept in the busy handler waiting for a lock only it could release");
            } finally {
                db.execute(holder, "COMMIT");
            }
            assertEquals(List.of(1L), ids(db, writer));
        }
    }

    @Test
    void theRowsFormRunsOneStatementPerRowAllOrNothing() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext ctx = db.engine().systemContext().child().create();
            db.execute(ctx, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE, d BLOB, f REAL)");
            List<Object[]> rows = new java.util.ArrayList<>();
            for (int i = 1; i <= 1000; i++) {
                rows.add(new Object[] {i, "v" + i, i % 2 == 0 ? new byte[] {(byte) i} : null, i / 2.0});
            }
            long[] changes = db.batch(ctx, "INSERT INTO t VALUES(?, ?, ?, ?)", rows);
            assertEquals(1000, changes.length);
            assertTrue(java.util.Arrays.stream(changes).allMatch(c -> c == 1));
            Row r = db.query(ctx, "SELECT v, d, f FROM t WHERE id = 8").get(0);
            assertEquals("v8", r.getString(0));
            assertArrayEquals(new byte[] {8}, r.getBytes(1));
            assertEquals(4.0, r.getDouble(2));
            // Numbered parameters take the row's values by number.
            assertArrayEquals(new long[] {1, 0}, db.batch(ctx, "UPDATE t SET v = ?2 WHERE id = ?1",
                    List.of(new Object[] {1L, "one"}, new Object[] {5000L, "none"})));
            assertEquals("one", db.query(ctx, "SELECT v FROM t WHERE id = 1").get(0).getString(0));

            // A failing row names its index and leaves nothing of the batch.
            SqliteException e = assertThrows(SqliteException.class, () -> db.batch(ctx,
                    "INSERT INTO t(id, v) VALUES(?, ?)",
                    List.of(new Object[] {2001, "new"}, new Object[] {2002, "v5"}, new Object[] {2003, "x"})));
            assertEquals(2067, e.extendedCode(), e::getMessage);
            assertTrue(e.getMessage().contains("statement 2 of 3"), e::getMessage);
            assertEquals(0L, db.query(ctx, "SELECT count(*) FROM t WHERE id > 2000").get(0).getLong(0));

            // Rows of different lengths and values that cannot be bound fail before anything is sent.
            assertThrows(IllegalArgumentException.class, () -> db.batch(ctx, "INSERT INTO t(id) VALUES(?)",
                    List.of(new Object[] {3001}, new Object[] {3002, "extra"})));
            assertThrows(IllegalArgumentException.class, () -> db.batch(ctx, "INSERT INTO t(id) VALUES(?)",
                    List.<Object[]>of(new Object[] {new Object()})));
            assertEquals(1000L, db.query(ctx, "SELECT count(*) FROM t").get(0).getLong(0));
            // No rows, and a statement without parameters.
            assertArrayEquals(new long[0], db.batch(ctx, "INSERT INTO t(id) VALUES(?)", List.of()));
            assertArrayEquals(new long[] {1000}, db.batch(ctx, "DELETE FROM t", List.<Object[]>of(new Object[0])));
        }
    }

    @Test
    void rowsOfAStatementWithoutParametersAreBoundedWithAClearErrorAndNothingRemains() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext ctx = db.engine().systemContext();
            db.execute(ctx, "CREATE TABLE d(id INTEGER PRIMARY KEY)");
            // Such rows cost no input: their number alone decides the engine's work and the result's size.
            long[] changes = db.batch(ctx, "INSERT INTO d DEFAULT VALUES", java.util.Collections.nCopies(65_536, new Object[0]));
            assertEquals(65_536, changes.length);
            SqliteException e = assertThrows(SqliteException.class, () -> db.batch(ctx, "INSERT INTO d DEFAULT VALUES",
                    java.util.Collections.nCopies(65_537, new Object[0])));
            assertTrue(e.getMessage().contains("65537 rows of a statement without parameters; at most 65536"), e::getMessage);
            assertEquals(18, e.primaryCode(), "SQLITE_TOOBIG");
            assertEquals(65_536L, db.query(ctx, "SELECT count(*) FROM d").get(0).getLong(0), "the refused batch left nothing");
        }
    }
}
