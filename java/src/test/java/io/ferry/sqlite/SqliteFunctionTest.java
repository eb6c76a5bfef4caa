package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.ExecutionContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Scalar SQL functions implemented in Java, called by SQLite on the engine thread through an upcall. */
class SqliteFunctionTest {
    @Test
    void javaFunctionsReturnIntegersDoublesTextBlobsAndNull() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext early = sys.child().name("early").create();
            List<Boolean> onEngineThread = new CopyOnWriteArrayList<>();

            db.createFunction("add_int", 2, true, a -> {
                onEngineThread.add(db.engine().isEngineThread());
                return (Long) a[0] + (Long) a[1];
            });
            db.createFunction("as_int", 1, a -> Integer.valueOf(((String) a[0]).length())); // widened
            db.createFunction("half", 1, a -> ((Number) a[0]).doubleValue() / 2);
            db.createFunction("greet", 1, a -> "héllo, " + a[0]);
            db.createFunction("rev", 1, a -> {
                byte[] b = ((byte[]) a[0]).clone();
                for (int i = 0; i < b.length / 2; i++) {
                    byte t = b[i];
                    b[i] = b[b.length - 1 - i];
                    b[b.length - 1 - i] = t;
                }
                return b;
            });
            db.createFunction("no_value", 0, a -> null);
            db.createFunction("empty_text", 0, a -> "");
            db.createFunction("empty_blob", 0, a -> new byte[0]);
            db.createFunction("type_of", 1, a -> a[0] == null ? "null" : a[0].getClass().getSimpleName());

            Row r = db.query("SELECT add_int(40, 2), typeof(add_int(1, 1)), as_int('four'), half(5), typeof(half(5)), "
                    + "greet('wörld'), rev(x'010203'), no_value(), typeof(no_value()), empty_text(), typeof(empty_text()), "
                    + "empty_blob(), typeof(empty_blob())").get(0);
            assertEquals(42L, r.get(0));
            assertEquals("integer", r.get(1));
            assertEquals(4L, r.get(2));
            assertEquals(2.5, r.get(3));
            assertEquals("real", r.get(4));
            assertEquals("héllo, wörld", r.get(5));
            assertArrayEquals(new byte[] {3, 2, 1}, r.getBytes(6));
            assertNull(r.get(7));
            assertEquals("null", r.get(8));
            assertEquals("", r.get(9));
            assertEquals("text", r.get(10));
            assertArrayEquals(new byte[0], r.getBytes(11));
            assertEquals("blob", r.get(12));
            assertTrue(!onEngineThread.isEmpty() && onEngineThread.stream().allMatch(b -> b),
                    "the function ran off the engine thread: " + onEngineThread);

            // Arguments arrive as Long, Double, String, byte[] and null.
            Row types = db.query("SELECT type_of(1), type_of(1.5), type_of('s'), type_of(x'00'), type_of(NULL)").get(0);
            assertEquals(List.of("Long", "Double", "String", "byte[]", "null"),
                    List.of(types.get(0), types.get(1), types.get(2), types.get(3), types.get(4)));

            // Large text round-trips through the function.
            String big = "x".repeat(1 << 20);
            assertEquals("héllo, " + big, db.query("SELECT greet(?)", big).get(0).getString(0));

            // Registered on every connection, present (made before) and future (made after), shared or private.
            ExecutionContext late = sys.child().name("late").create();
            ExecutionContext priv = sys.child().engineFlags(Sqlite.PRIVATE_DATABASE).create();
            ExecutionContext ro = sys.child().readOnly().create();
            for (ExecutionContext c : List.of(sys, early, late, priv, ro)) {
                assertEquals(42L, db.query(c, "SELECT add_int(40, 2)").get(0).getLong(0), c.name());
            }
            // Used in a table's rows, over many calls.
            db.execute("CREATE TABLE t(x INTEGER)");
            db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
                    + "INSERT INTO t SELECT add_int(x, 0) FROM c");
            assertEquals(500500L, db.query("SELECT sum(add_int(x, 0)) FROM t").get(0).getLong(0));
        }
    }

    @Test
    void aVarargsFunctionTakesAnyNumberOfArguments() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.createFunction("nargs", -1, a -> a.length);
            db.createFunction("concat_all", -1, true, a -> {
                StringBuilder sb = new StringBuilder();
                for (Object o : a) {
                    sb.append(o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o));
                }
                return sb.toString();
            });
            Row r = db.query("SELECT nargs(), nargs(1), nargs(1, 'two', 3.0, NULL, x'05'), concat_all('a', 1, 2.5, NULL)").get(0);
            assertEquals(List.of(0L, 1L, 5L, "a12.5null"), List.of(r.get(0), r.get(1), r.get(2), r.get(3)));
            Object[] many = new Object[100];
            Arrays.fill(many, 7);
            String placeholders = String.join(", ", java.util.Collections.nCopies(100, "?"));
            assertEquals(100L, db.query("SELECT nargs(" + placeholders + ")", many).get(0).getLong(0));

            // A fixed arity is enforced by SQLite.
            db.createFunction("one_arg", 1, a -> a[0]);
            SqliteException e = assertThrows(SqliteException.class, () -> db.query("SELECT one_arg(1, 2)"));
            assertTrue(e.getMessage().contains("wrong number of arguments to function one_arg"), e::getMessage);
        }
    }

    @Test
    void theDeterministicFlagReachesSqlite() {
        try (Sqlite db = Sqlite.builder().start()) {
            AtomicInteger detCalls = new AtomicInteger();
            db.createFunction("det", 1, true, a -> {
                detCalls.incrementAndGet();
                return (Long) a[0] * 3;
            });
            db.createFunction("nondet", 1, false, a -> (Long) a[0] * 3);
            db.execute("CREATE TABLE t(x INTEGER)");
            db.execute("INSERT INTO t VALUES(1), (2), (3)");

            // SQLite allows only deterministic functions in index expressions and generated columns.
            db.execute("CREATE INDEX t_det ON t(det(x))");
            SqliteException e = assertThrows(SqliteException.class, () -> db.execute("CREATE INDEX t_nondet ON t(nondet(x))"));
            assertTrue(e.getMessage().contains("non-deterministic functions prohibited in index expressions"), e::getMessage);
            db.execute("CREATE TABLE g(x INTEGER, y AS (det(x)))");
            SqliteException g = assertThrows(SqliteException.class, () -> {
                db.execute("CREATE TABLE h(x INTEGER, y AS (nondet(x)))");
                db.execute("INSERT INTO h(x) VALUES(1)");
            });
            assertTrue(g.getMessage().contains("non-deterministic"), g::getMessage);

            // The index on det(x) serves a query (the planner may use it because det is deterministic).
            String plan = db.query("EXPLAIN QUERY PLAN SELECT x FROM t WHERE det(x) = 6").stream()
                    .map(r -> r.getString(3)).reduce("", String::concat);
            assertTrue(plan.contains("t_det"), plan);
            assertEquals(2L, db.query("SELECT x FROM t WHERE det(x) = 6").get(0).getLong(0));
            // A deterministic call with constant arguments is evaluated once per statement, not per row.
            db.execute("WITH RECURSIVE c(i) AS (SELECT 4 UNION ALL SELECT i + 1 FROM c WHERE i < 100) INSERT INTO t SELECT i FROM c");
            detCalls.set(0);
            assertEquals(100L, db.query("SELECT count(*) FROM t WHERE x + det(0) > 0").get(0).getLong(0));
            assertEquals(1, detCalls.get(), "det(0) was not factored out as a constant");
        }
    }

    @Test
    void aFunctionThatThrowsBecomesAnSqlErrorAndTheJvmIsFine() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.createFunction("boom", 1, a -> {
                throw new IllegalStateException("kaboom: " + a[0]);
            });
            db.createFunction("checked", 0, a -> {
                throw new java.io.IOException("disk on fire");
            });
            db.createFunction("npe", 0, a -> ((String) null).length());
            db.createFunction("bad_type", 0, a -> new java.util.Date());
            db.createFunction("deep", 0, a -> deep(0));
            db.createFunction("oom", 0, a -> {
                throw new OutOfMemoryError("pretend");
            });
            db.createFunction("ok", 0, a -> 1);
            db.execute("CREATE TABLE t(x)");
            db.execute("INSERT INTO t VALUES(1), (2)");

            SqliteException e = assertThrows(SqliteException.class, () -> db.query("SELECT boom(x) FROM t"));
            assertEquals(1, e.extendedCode(), e::getMessage);
            assertTrue(e.getMessage().contains("kaboom: 1"), e::getMessage);
            assertTrue(e.getMessage().contains("IllegalStateException"), e::getMessage);
            assertTrue(assertThrows(SqliteException.class, () -> db.query("SELECT checked()")).getMessage()
                    .contains("disk on fire"));
            assertTrue(assertThrows(SqliteException.class, () -> db.query("SELECT npe()")).getMessage()
                    .contains("NullPointerException"));
            assertTrue(assertThrows(SqliteException.class, () -> db.query("SELECT bad_type()")).getMessage()
                    .contains("java.util.Date"));
            assertTrue(assertThrows(SqliteException.class, () -> db.query("SELECT deep()")).getMessage()
                    .contains("StackOverflowError"));
            assertTrue(assertThrows(SqliteException.class, () -> db.query("SELECT oom()")).getMessage()
                    .contains("pretend"));

            // In a write, the statement fails as a whole; in a batch, the batch rolls back.
            assertThrows(SqliteException.class, () -> db.execute("UPDATE t SET x = boom(x)"));
            assertThrows(SqliteException.class, () -> db.batch(List.of(Statement.of("INSERT INTO t VALUES(3)"),
                    Statement.of("INSERT INTO t VALUES(boom(4))"))));
            assertEquals(List.of(1L, 2L), db.query("SELECT x FROM t ORDER BY x").stream().map(r -> r.getLong(0)).toList());

            // The engine, the JVM and the other functions are fine.
            assertEquals(1L, db.query("SELECT ok()").get(0).getLong(0));
            assertEquals(3L, db.query("SELECT sum(x) FROM t").get(0).getLong(0));
            assertTrue(db.engine().engineCpuNanos() >= 0, "the engine thread is gone");
        }
    }

    private static int deep(int n) {
        return deep(n + 1) + 1;
    }

    @Test
    void aFunctionThatCallsItsOwnEngineGetsAnSqlErrorNamingTheEngineThread() throws Exception {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext ctx = db.engine().systemContext().child().create();
            List<Throwable> seen = new ArrayList<>();
            db.createFunction("reenter", 0, a -> {
                try {
                    return db.query("SELECT 1").get(0).get(0);
                } catch (RuntimeException e) {
                    seen.add(e);
                    throw e;
                }
            });
            db.createFunction("reenter_ctx", 0, a -> db.query(ctx, "SELECT 1").get(0).get(0));
            db.createFunction("reenter_async", 0, a -> db.queryAsync("SELECT 1").get(1, TimeUnit.SECONDS).get(0).get(0));
            db.createFunction("reenter_fn", 0, a -> {
                db.createFunction("other", 0, b -> 2);
                return 1;
            });

            for (String sql : List.of("SELECT reenter()", "SELECT reenter_ctx()", "SELECT reenter_async()",
                    "SELECT reenter_fn()")) {
                long t0 = System.nanoTime();
                SqliteException e = assertThrows(SqliteException.class, () -> db.query(ctx, sql), sql);
                assertTrue(e.getMessage().contains("engine thread"), () -> sql + ": " + e.getMessage());
                assertEquals(1, e.extendedCode());
                // Refused at once, not after waiting on itself.
                assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), sql);
            }
            assertEquals(1, seen.size());
            assertTrue(seen.get(0) instanceof IllegalStateException, seen.get(0).toString());
            assertEquals(2L, db.query(ctx, "SELECT 1 + 1").get(0).getLong(0));
        }
    }
}
