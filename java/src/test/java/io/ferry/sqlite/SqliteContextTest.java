package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.BytesToLongOp;
import io.ferry.CallFailedException;
import io.ferry.ExecutionContext;
import io.ferry.LongOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Execution contexts as the SQLite engine sees them: which database a context's connection works on,
 * which scope its {@code :name} parameters bind from, what a frozen variable binds, and what a read-only
 * context may do.
 */
class SqliteContextTest {
    private static final int FERRY_E_DENIED = -11;

    private static long count(Sqlite db, ExecutionContext ctx, String table) {
        return db.query(ctx, "SELECT count(*) FROM " + table).get(0).getLong(0);
    }

    private static SqliteException noSuchTable(Sqlite db, ExecutionContext ctx, String table) {
        SqliteException e = assertThrows(SqliteException.class, () -> db.query(ctx, "SELECT count(*) FROM " + table),
                () -> "context '" + ctx.name() + "' should not see table " + table);
        assertEquals(1, e.extendedCode(), e::getMessage);
        assertTrue(e.getMessage().contains("no such table: " + table), e::getMessage);
        return e;
    }

    @Test
    void aUserContextSharesItsParentsDatabaseAndAPrivateContextHasItsOwn() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE shared_t(x)");
            db.execute(sys, "INSERT INTO shared_t VALUES(1), (2)");

            // A user context and its child work on the systemic context's database: they see its rows,
            // and what they write the systemic context sees.
            ExecutionContext user = sys.child().name("user").create();
            ExecutionContext grandchild = user.child().name("grandchild").create();
            assertEquals(2, count(db, user, "shared_t"));
            assertEquals(2, count(db, grandchild, "shared_t"));
            db.execute(grandchild, "INSERT INTO shared_t VALUES(3)");
            assertEquals(3, count(db, sys, "shared_t"));
            assertEquals(3, count(db, user, "shared_t"));

            // A private context has its own database: it does not see the shared table...
            ExecutionContext priv = sys.child().name("priv").engineFlags(Sqlite.PRIVATE_DATABASE).create();
            noSuchTable(db, priv, "shared_t");
            // ...and its own tables are invisible to the others, including another private context.
            db.execute(priv, "CREATE TABLE priv_t(y)");
            db.execute(priv, "INSERT INTO priv_t VALUES('p')");
            assertEquals(1, count(db, priv, "priv_t"));
            noSuchTable(db, sys, "priv_t");
            noSuchTable(db, user, "priv_t");
            ExecutionContext priv2 = sys.child().name("priv2").engineFlags(Sqlite.PRIVATE_DATABASE).create();
            noSuchTable(db, priv2, "priv_t");
            noSuchTable(db, priv2, "shared_t");
            // The same table name in two private databases: two tables.
            db.execute(priv2, "CREATE TABLE priv_t(y)");
            assertEquals(0, count(db, priv2, "priv_t"));
            assertEquals(1, count(db, priv, "priv_t"));

            // A child of a private context shares the private database (the default: its parent's).
            ExecutionContext privChild = priv.child().name("priv-child").create();
            assertEquals(1, count(db, privChild, "priv_t"));
            db.execute(privChild, "INSERT INTO priv_t VALUES('q')");
            assertEquals(2, count(db, priv, "priv_t"));
            noSuchTable(db, privChild, "shared_t");

            // The private database outlives its creator while a child still uses it.
            priv.close();
            assertEquals(2, count(db, privChild, "priv_t"));

            // Nothing leaked into the shared database.
            assertEquals(3, count(db, sys, "shared_t"));
            assertEquals(List.of("shared_t"), db.query(sys, "SELECT name FROM sqlite_schema WHERE type = 'table'")
                    .stream().map(r -> r.getString(0)).toList());
        }
    }

    @Test
    void namedParametersBindTheContextsVariablesAndExplicitValuesTakePrecedence() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext a = sys.child().name("a").create();
            ExecutionContext b = sys.child().name("b").create();
            byte[] blob = {0, 1, (byte) 0xff};
            a.set("n", 5L);
            a.set("d", 2.5);
            a.set("s", "héllo");
            a.set("b", blob);
            b.set("n", 7L);

            // Every variable type binds, with SQLite's matching type; :name, @name and $name all work.
            Row r = db.query(a, "SELECT :n, typeof(:n), @d, typeof(@d), $s, typeof($s), :b, typeof(:b)").get(0);
            assertEquals(5L, r.get(0));
            assertEquals("integer", r.get(1));
            assertEquals(2.5, r.get(2));
            assertEquals("real", r.get(3));
            assertEquals("héllo", r.get(4));
            assertEquals("text", r.get(5));
            assertArrayEquals(blob, r.getBytes(6));
            assertEquals("blob", r.get(7));

            // Each context binds from its own scope.
            assertEquals(5L, db.query(a, "SELECT :n").get(0).get(0));
            assertEquals(7L, db.query(b, "SELECT :n").get(0).get(0));
            a.set("n", 6L);
            assertEquals(6L, db.query(a, "SELECT :n").get(0).get(0));
            assertEquals(7L, db.query(b, "SELECT :n").get(0).get(0));

            // A value given with the call wins over the scope variable of the same name (any prefix in
            // the map key, or none), for this call only.
            assertEquals(99L, db.query(a, "SELECT :n", Map.of("n", 99)).get(0).get(0));
            assertEquals(98L, db.query(a, "SELECT :n", Map.of(":n", 98)).get(0).get(0));
            assertEquals("given", db.query(a, "SELECT $s", Map.of("s", "given")).get(0).get(0));
            assertEquals(6L, db.query(a, "SELECT :n").get(0).get(0));
            // A given value and a scope variable in one statement; a NULL given value still wins.
            Map<String, Object> given = new LinkedHashMap<>();
            given.put("n", null);
            Row mixed = db.query(a, "SELECT :n IS NULL, :d", given).get(0);
            assertEquals(1L, mixed.get(0));
            assertEquals(2.5, mixed.get(1));
            // Scope variables alongside positional values, in either order.
            Row pos = db.query(a, "SELECT :n, ?, @d, ?", 10, 20).get(0);
            assertEquals(List.of(6L, 10L, 2.5, 20L), List.of(pos.get(0), pos.get(1), pos.get(2), pos.get(3)));

            // In a WHERE clause, on a table.
            db.execute(sys, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
            db.execute(sys, "INSERT INTO t VALUES(6, 'six'), (7, 'seven')");
            assertEquals("six", db.query(a, "SELECT name FROM t WHERE id = :n").get(0).getString(0));
            assertEquals("seven", db.query(b, "SELECT name FROM t WHERE id = :n").get(0).getString(0));

            // The thread's current context (ctx.open()) is the one a call that names none binds from.
            try (var scope = b.open()) {
                assertEquals(7L, db.query("SELECT :n").get(0).get(0));
                try (var inner = a.open()) {
                    assertEquals(6L, db.query("SELECT :n").get(0).get(0));
                }
                assertEquals(7L, db.query("SELECT :n").get(0).get(0));
            }
        }
    }

    @Test
    void anUnboundNameFailsWithAMessageNamingIt() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext parent = sys.child().name("parent").create();
            parent.set("only_in_parent", 1L);
            ExecutionContext child = parent.child().name("kid").create();

            SqliteException e = assertThrows(SqliteException.class,
                    () -> db.query(child, "SELECT :only_in_parent + 1"));
            assertTrue(e.getMessage().contains(":only_in_parent"), e::getMessage);
            assertTrue(e.getMessage().contains("kid"), () -> "names the context: " + e.getMessage());
            // Variables are not inherited: only frozen ones reach a child.
            assertEquals(2L, db.query(parent, "SELECT :only_in_parent + 1").get(0).get(0));

            // The unbound one is named, not a bound one beside it.
            SqliteException e2 = assertThrows(SqliteException.class,
                    () -> db.query(parent, "SELECT :only_in_parent, @missing_one"));
            assertTrue(e2.getMessage().contains("@missing_one"), e2::getMessage);

            // A name given with the call but absent from the statement is refused too, naming it.
            SqliteException e3 = assertThrows(SqliteException.class,
                    () -> db.query(parent, "SELECT 1", Map.of("stray", 1)));
            assertTrue(e3.getMessage().contains("stray"), e3::getMessage);

            // The failures left the context usable.
            assertEquals(2L, db.query(parent, "SELECT :only_in_parent + 1").get(0).get(0));
        }
    }

    @Test
    void frozenVariablesBindTheSnapshotTakenWhenTheChildWasMade() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(id INTEGER PRIMARY KEY)");
            db.execute(sys, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) "
                    + "INSERT INTO t SELECT x FROM c");
            ExecutionContext parent = sys.child().name("parent").create();
            parent.set("lim", 10L);
            parent.set("label", "before");
            ExecutionContext frozen = parent.child().name("frozen").freeze("lim", "label").create();

            parent.set("lim", 20L);
            parent.set("label", "after");

            // The child binds the values frozen at its creation; the parent its current ones.
            assertEquals(10L, db.query(frozen, "SELECT count(*) FROM t WHERE id <= :lim").get(0).getLong(0));
            assertEquals("before", db.query(frozen, "SELECT :label").get(0).getString(0));
            assertEquals(20L, db.query(parent, "SELECT count(*) FROM t WHERE id <= :lim").get(0).getLong(0));
            assertEquals("after", db.query(parent, "SELECT :label").get(0).getString(0));

            // Removing the parent's variable does not reach the snapshot either.
            assertTrue(parent.unset("lim"));
            assertEquals(10L, db.query(frozen, "SELECT count(*) FROM t WHERE id <= :lim").get(0).getLong(0));
            assertThrows(SqliteException.class, () -> db.query(parent, "SELECT :lim"));

            // The child cannot change a frozen variable; a value given with the call still wins for that call.
            assertThrows(CallFailedException.class, () -> frozen.set("lim", 40L));
            assertEquals(40L, db.query(frozen, "SELECT count(*) FROM t WHERE id <= :lim", Map.of("lim", 40))
                    .get(0).getLong(0));
            assertEquals(10L, db.query(frozen, "SELECT count(*) FROM t WHERE id <= :lim").get(0).getLong(0));

            // A grandchild that freezes the child's frozen variable gets the same snapshot.
            ExecutionContext grand = frozen.child().freeze("lim").create();
            assertEquals(10L, db.query(grand, "SELECT :lim").get(0).getLong(0));
        }
    }

    @Test
    void aReadOnlyContextCannotWriteButCanRead() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
            db.execute(sys, "INSERT INTO t VALUES(1, 'one')");
            ExecutionContext ro = sys.child().name("ro").readOnly().create();
            assertTrue(ro.isReadOnly());

            assertEquals("one", db.query(ro, "SELECT v FROM t WHERE id = 1").get(0).getString(0));

            // The refusal comes from SQLite (its connection was opened read-only), not from Ferry's
            // permission check: SQLITE_READONLY, through the sqlite.run op (a single statement's).
            for (String write : List.of("INSERT INTO t VALUES(2, 'two')", "UPDATE t SET v = 'x'", "DELETE FROM t",
                    "CREATE TABLE u(x)", "DROP TABLE t")) {
                SqliteException e = assertThrows(SqliteException.class, () -> db.execute(ro, write), write);
                assertEquals(8, e.primaryCode(), () -> write + ": " + e.getMessage());
                assertNotEquals(FERRY_E_DENIED, e.code(), write);
                assertEquals("sqlite.run", e.op());
                assertTrue(e.getMessage().contains("readonly"), e::getMessage);
            }
            // A batch that writes is refused the same way, and leaves nothing behind.
            SqliteException be = assertThrows(SqliteException.class,
                    () -> db.batch(ro, List.of(Statement.of("INSERT INTO t VALUES(3, 'three')"))));
            assertEquals(8, be.primaryCode(), be::getMessage);

            // A child of a read-only context is read-only too.
            ExecutionContext roChild = ro.child().create();
            assertEquals(8, assertThrows(SqliteException.class,
                    () -> db.execute(roChild, "INSERT INTO t VALUES(4, 'four')")).primaryCode());
            assertEquals(1L, db.query(roChild, "SELECT count(*) FROM t").get(0).getLong(0));

            // Nothing was written; the read-only context still reads what others write.
            assertEquals(1L, db.query(sys, "SELECT count(*) FROM t").get(0).getLong(0));
            db.execute(sys, "INSERT INTO t VALUES(5, 'five')");
            assertEquals("five", db.query(ro, "SELECT v FROM t WHERE id = 5").get(0).getString(0));
        }
    }

    /**
     * sqlite.function and sqlite.dispatch change engine-wide state (every connection's functions) but are
     * not flagged FERRY_OP_MUTATES, so a read-only context may run them: it can re-point a function every
     * context uses, or switch off every Java function by installing a NULL dispatcher (or any address).
     */
    @Test
    void aReadOnlyContextCannotReplaceFunctionsOrTheirDispatcher() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.createFunction("twice", 1, true, args -> (Long) args[0] * 2);
            ExecutionContext ro = sys.child().name("ro").readOnly().create();
            assertEquals(42L, db.query(ro, "SELECT twice(21)").get(0).getLong(0));

            // Internal to the engine (issue 14): the public lookup refuses it; the binding's own lookup reaches it.
            IllegalArgumentException internal = assertThrows(IllegalArgumentException.class,
                    () -> db.engine().op("sqlite.function"));
            assertTrue(internal.getMessage().contains("'sqlite.function' is internal to its engine"), internal::getMessage);
            BytesToLongOp function = io.ferry.spi.EngineOps.internal(db.engine(), "sqlite.function", BytesToLongOp.class);
            byte[] name = "twice".getBytes(StandardCharsets.UTF_8);
            byte[] redefine = ByteBuffer.allocate(8 + name.length).order(ByteOrder.LITTLE_ENDIAN).putInt(12345)
                    .putInt(0).put(name).array();
            CallFailedException f = assertThrows(CallFailedException.class, () -> function.call(ro, 1, redefine),
                    "a read-only context re-registered a function for every connection");
            assertEquals(FERRY_E_DENIED, f.code(), f::getMessage);

            // No op installs the dispatcher any more: it is a C call (ferry_sqlite_set_dispatcher) through FFM.
            assertThrows(IllegalArgumentException.class, () -> io.ferry.spi.EngineOps.internal(db.engine(),
                    "sqlite.dispatch"));

            assertEquals(42L, db.query(sys, "SELECT twice(21)").get(0).getLong(0));
        }
    }
}
