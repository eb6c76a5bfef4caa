package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.ExecutionContext;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Parameters bind by SQLite's own numbering, and binding stays linear in what is given. */
class SqliteParameterTest {

    @Test
    void aBareQuestionMarkTakesOneMoreThanTheLargestNumberBeforeIt() {
        try (Sqlite db = Sqlite.builder().start()) {
            // SQLite numbers "SELECT ?2, ?" as ?2 and ?3 (parameter 1 is a gap).
            Row r = db.query("SELECT ?2, ?", "first", "second", "third").get(0);
            assertEquals(List.of("second", "third"), List.of(r.getString(0), r.getString(1)));

            Row inOrder = db.query("SELECT ?, ?2, ?1", "a", "b").get(0);
            assertEquals(List.of("a", "b", "a"), List.of(inOrder.getString(0), inOrder.getString(1), inOrder.getString(2)));

            SqliteException e = assertThrows(SqliteException.class, () -> db.query("SELECT ?2, ?", "first", "second"));
            assertTrue(e.getMessage().contains("no value for positional parameter 3"), e::getMessage);
        }
    }

    @Test
    void aPositionalValueWhereTheStatementHasANamedParameterIsRefused() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            sys.set("a", 5);
            // ":a" binds the scope's 5; a positional value has nowhere to go and must not vanish.
            SqliteException e = assertThrows(SqliteException.class, () -> db.query(sys, "SELECT :a", 9L));
            assertTrue(e.getMessage().contains("no positional parameter ?1"), e::getMessage);
            // Named parameters take SQLite numbers too, but positional values count only the others.
            Row r = db.query(sys, "SELECT :a, ?, :a, ?", 10L, 20L).get(0);
            assertEquals(List.of(5L, 10L, 5L, 20L), List.of(r.getLong(0), r.getLong(1), r.getLong(2), r.getLong(3)));
        }
    }

    @Test
    void tensOfThousandsOfNamedParametersBindWellWithinACallersTimeout() throws TimeoutException {
        int n = 32_766; // SQLite's default SQLITE_MAX_VARIABLE_NUMBER
        StringBuilder sql = new StringBuilder("SELECT count(*), sum(column1) FROM (VALUES ");
        Map<String, Object> values = new LinkedHashMap<>();
        long sum = 0;
        for (int i = 0; i < n; i++) {
            sql.append(i == 0 ? "" : ",").append("(:p").append(i).append(')');
            values.put("p" + i, (long) i);
            sum += i;
        }
        sql.append(')');
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            Statement statement = Statement.of(sql.toString(), values);
            // Prepares and caches the statement and its parameter names (SQLite's own lookups are quadratic):
            // only binding and running remain.
            db.run(sys, statement);
            // Matching every parameter against every value took 5.7 s here (2.8 s of engine CPU with the
            // map alone, asking SQLite for each name per call); a name map and cached names take ~6 ms.
            Row r = db.run(sys, statement, Duration.ofSeconds(3)).get(0);
            assertEquals(n, r.getLong(0));
            assertEquals(sum, r.getLong(1));
            // A million values no parameter takes, on top: matching each parameter against each value held
            // the engine 43.6 s; one pass over a map refuses the call, naming a value, well within 3 s.
            Map<String, Object> extra = new LinkedHashMap<>(values);
            for (int i = 0; i < 1_000_000; i++) {
                extra.put("unused" + i, (long) i);
            }
            Statement overfull = Statement.of(sql.toString(), extra);
            SqliteException e = assertThrows(SqliteException.class, () -> db.run(sys, overfull, Duration.ofSeconds(3)));
            assertTrue(e.getMessage().contains("no parameter :unused"), e::getMessage);
        }
    }

    /**
     * Reading and binding stop once the caller gives up: both look at the call's cancel flag every 1,024
     * values. A call with two million values no parameter takes costs the engine several hundred ms of CPU
     * to refuse, about 40% of it reading the values and the rest filing and binding them. The same call
     * cancelled early (while its values are read) and late (60% of the way through, while they are bound)
     * must each cost the engine well under a quarter of that after the cancel. Without the check in the
     * reader, the early cancel cost 385 ms of 748 (CI, 2026-12-05); without the binding's, the cancelled call
     * cost as much as the full one: 600 to 980 ms against 570 to 990 ms.
     */
    @Test
    void aCallerThatGivesUpStopsItsReadingAndBinding() throws Exception {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("a", 1L);
        for (int i = 0; i < 2_000_000; i++) {
            values.put("unused" + i, (long) i);
        }
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            Statement statement = Statement.of("SELECT :a", values);
            Statement next = Statement.of("SELECT 1");
            // The full call twice: the first also pays for the engine's first touch of its memory.
            long least = Long.MAX_VALUE;
            for (int i = 0; i < 2; i++) {
                long c0 = db.engine().engineCpuNanos();
                assertThrows(SqliteException.class, () -> db.run(sys, statement, Duration.ofSeconds(30)));
                least = Math.min(least, db.engine().engineCpuNanos() - c0);
            }
            long full = least;
            for (long delay : new long[] {50_000_000L, full * 6 / 10}) {
                CompletableFuture<Rows> cancelled = db.runAsync(sys, statement);
                Thread.sleep(delay / 1_000_000);
                long c1 = db.engine().engineCpuNanos();
                assertTrue(cancelled.cancel(true), "the call ended before its cancel, "
                        + delay / 1_000_000 + " ms in: the full call cost " + full / 1_000_000 + " ms");
                db.run(sys, next, Duration.ofSeconds(30)); // queued behind the cancelled call: it has ended
                long after = db.engine().engineCpuNanos() - c1;
                assertTrue(after < full / 4, () -> "cancelled " + delay / 1_000_000 + " ms in, the call still cost the "
                        + "engine " + after / 1_000_000 + " ms of CPU, the full one " + full / 1_000_000
                        + " ms: it did not stop");
            }
        }
    }

    @Test
    void aValueGivenTwiceOrForNoParameterFailsNamingIt() {
        try (Sqlite db = Sqlite.builder().start()) {
            SqliteException e = assertThrows(SqliteException.class, () -> db.query("SELECT :a", Map.of("a", 1, "b", 2)));
            assertTrue(e.getMessage().contains("no parameter :b"), e::getMessage);
            SqliteException f = assertThrows(SqliteException.class, () -> db.query("SELECT ?", 1, 2));
            assertTrue(f.getMessage().contains("no parameter ?2"), f::getMessage);
        }
    }

    @Test
    void sqlWithANulByteIsRefusedRatherThanCutThere() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(x)");
            // SQLite stops reading at a NUL: the DELETE after it would be silently dropped.
            SqliteException e = assertThrows(SqliteException.class,
                    () -> db.execute("INSERT INTO t VALUES(1)\u0000; DELETE FROM t"));
            assertTrue(e.getMessage().contains("NUL byte at offset 23"), e::getMessage);
            assertEquals(0L, db.query("SELECT count(*) FROM t").get(0).getLong(0), "nothing of it ran");
        }
    }
}
