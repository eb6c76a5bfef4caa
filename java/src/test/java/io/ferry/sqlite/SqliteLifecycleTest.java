package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.EngineClosedException;
import io.ferry.ExecutionContext;
import io.ferry.child.ChildJvm;
import io.ferry.child.SqliteCloseWhileFunctionRuns;
import io.ferry.child.SqliteExitAfterFunction;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an engine leaves behind: nothing. Sqlite.openConnections() and openStatements() count per process,
 * so every check compares with the values read before the engine started (no other test in this JVM
 * leaves a SQLite engine open). Also: a file database in WAL mode, and a JVM that exits with a SQLite
 * engine still open.
 */
class SqliteLifecycleTest {
    @Test
    void closingTheEngineFinalisesEveryStatementAndClosesEveryConnection() {
        long connections0 = Sqlite.openConnections(), statements0 = Sqlite.openStatements();
        int cache = 8;
        Sqlite db = Sqlite.builder().statementCache(cache).start();
        try {
            ExecutionContext sys = db.engine().systemContext();
            assertEquals(connections0 + 1, Sqlite.openConnections(), "the systemic context's connection");
            db.createFunction("f", 1, a -> a[0]);
            db.execute(sys, "CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
            long sysStatements = 1; // the CREATE TABLE, cached
            assertEquals(statements0 + sysStatements, Sqlite.openStatements());

            // 30 contexts of every kind, each with 5 distinct statements cached.
            List<ExecutionContext> contexts = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                ExecutionContext parent = i % 5 == 4 ? contexts.get(i - 1) : sys;
                var b = parent.child().name("c" + i);
                if (i % 3 == 1) {
                    b.engineFlags(Sqlite.PRIVATE_DATABASE);
                }
                if (i % 7 == 2) {
                    b.readOnly();
                }
                contexts.add(b.create());
            }
            assertEquals(connections0 + 31, Sqlite.openConnections());
            for (int i = 0; i < contexts.size(); i++) {
                ExecutionContext c = contexts.get(i);
                for (int s = 0; s < 5; s++) {
                    db.query(c, "SELECT f(" + s + "), " + i);
                }
            }
            assertEquals(statements0 + sysStatements + 30 * 5, Sqlite.openStatements());

            // The cache is bounded per context: 20 more distinct statements in one context keep 8 of them.
            ExecutionContext busy = contexts.get(0);
            for (int s = 0; s < 20; s++) {
                assertEquals((long) s, db.query(busy, "SELECT " + s).get(0).getLong(0));
            }
            assertEquals(statements0 + sysStatements + 29 * 5 + cache, Sqlite.openStatements());
            // Statements that failed to prepare are not kept.
            for (int s = 0; s < 5; s++) {
                int n = s;
                assertThrows(SqliteException.class, () -> db.query(busy, "SELEC " + n));
            }
            assertEquals(statements0 + sysStatements + 29 * 5 + cache, Sqlite.openStatements());

            // Closing a context finalises its statements and closes its connection.
            contexts.get(5).close();
            contexts.get(6).close();
            assertEquals(connections0 + 29, Sqlite.openConnections());
            assertEquals(statements0 + sysStatements + 27 * 5 + cache, Sqlite.openStatements());

            // Leave things open for the engine's close: a transaction with a pending write, a batch's
            // statements, an interrupted statement.
            ExecutionContext tx = contexts.get(1); // private
            db.execute(tx, "CREATE TABLE p(x)");
            db.execute(tx, "BEGIN");
            db.execute(tx, "INSERT INTO p VALUES(1)");
            db.batch(contexts.get(3), List.of(Statement.of("INSERT INTO t(v) VALUES(1)"), Statement.of("INSERT INTO t(v) VALUES(2)")));
            assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> db.run(contexts.get(8), Statement.of(SqliteCancelTest.FOREVER), Duration.ofMillis(50)));
            assertTrue(Sqlite.openStatements() > statements0);
        } finally {
            db.close();
        }
        assertEquals(connections0, Sqlite.openConnections(), "connections left open by a closed engine");
        assertEquals(statements0, Sqlite.openStatements(), "statements left unfinalised by a closed engine");
        assertThrows(EngineClosedException.class, () -> db.query("SELECT 1"));

        // Many engines, one after another and side by side: still nothing left.
        List<Sqlite> engines = new ArrayList<>();
        for (int e = 0; e < 4; e++) {
            Sqlite s = Sqlite.builder().start();
            engines.add(s);
            for (int i = 0; i < 10; i++) {
                ExecutionContext c = s.engine().systemContext().child().create();
                s.query(c, "SELECT " + i);
            }
        }
        assertEquals(connections0 + 4 * 11, Sqlite.openConnections());
        assertEquals(statements0 + 4 * 10, Sqlite.openStatements());
        engines.forEach(Sqlite::close);
        assertEquals(connections0, Sqlite.openConnections());
        assertEquals(statements0, Sqlite.openStatements());
    }

    @Test
    void aNewEngineStartsWithAnEmptyInMemoryDatabase() {
        for (int i = 0; i < 3; i++) {
            try (Sqlite db = Sqlite.builder().start()) {
                assertEquals(0L, db.query("SELECT count(*) FROM sqlite_schema").get(0).getLong(0), "round " + i);
                db.execute("CREATE TABLE t(x)");
            }
        }
    }

    @Test
    void aFileDatabaseInWalModeKeepsItsDataAcrossCloseAndReopen(@TempDir Path dir) {
        Path file = dir.resolve("ferry.db");
        try (Sqlite db = Sqlite.builder().file(file).wal(true).start()) {
            ExecutionContext sys = db.engine().systemContext();
            assertEquals("wal", db.query(sys, "PRAGMA journal_mode").get(0).getString(0));
            db.execute(sys, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
            db.execute(sys, "INSERT INTO t VALUES(1, 'one')");
            // A user context opens its own connection to the same file: it sees WAL mode and the data,
            // and what it writes is in the file too.
            ExecutionContext user = sys.child().create();
            assertEquals("wal", db.query(user, "PRAGMA journal_mode").get(0).getString(0));
            assertEquals("one", db.query(user, "SELECT v FROM t WHERE id = 1").get(0).getString(0));
            db.batch(user, List.of(Statement.of("INSERT INTO t VALUES(2, 'two')"), Statement.of("INSERT INTO t VALUES(3, 'three')")));
            // A read-only context reads the file and cannot write it.
            ExecutionContext ro = sys.child().readOnly().create();
            assertEquals(3L, db.query(ro, "SELECT count(*) FROM t").get(0).getLong(0));
            assertEquals(8, assertThrows(SqliteException.class, () -> db.execute(ro, "INSERT INTO t VALUES(4, 'x')"))
                    .primaryCode());
            // A private context is in memory, not in the file.
            ExecutionContext priv = sys.child().engineFlags(Sqlite.PRIVATE_DATABASE).create();
            assertThrows(SqliteException.class, () -> db.query(priv, "SELECT * FROM t"));
            db.execute(priv, "CREATE TABLE only_in_memory(x)");
            assertTrue(Files.exists(dir.resolve("ferry.db-wal")), "no -wal file next to the database in WAL mode");
        }
        assertTrue(Files.exists(file));

        // Reopened (WAL persists in the file): everything written before the close is there.
        try (Sqlite db = Sqlite.builder().file(file).start()) {
            assertEquals("wal", db.query("PRAGMA journal_mode").get(0).getString(0));
            assertEquals(List.of("one", "two", "three"),
                    db.query("SELECT v FROM t ORDER BY id").stream().map(r -> r.getString(0)).toList());
            assertEquals(List.of("t"), db.query("SELECT name FROM sqlite_schema WHERE type = 'table'").stream()
                    .map(r -> r.getString(0)).toList());
            db.execute("INSERT INTO t VALUES(4, 'four')");
        }
        try (Sqlite db = Sqlite.builder().file(file).wal(true).start()) {
            assertEquals(4L, db.query("SELECT count(*) FROM t").get(0).getLong(0));
        }
    }

    @Test
    void aJvmWithAnUnclosedSqliteEngineWhoseFunctionRanExitsOnItsOwn() throws Exception {
        ChildJvm.Result r = ChildJvm.run(SqliteExitAfterFunction.class, true, Duration.ofSeconds(10));
        System.out.println(r.describe());
        assertEquals(0, r.exitCode(), r::describe);
        List<String> expected = List.of("engine started",
                "calls made sum=63 onEngineThread=true ctx=41 connections=3", "main returns",
                "observer: engine closed during shutdown");
        List<String> marks = r.marks();
        int from = 0;
        for (String m : expected) {
            int at = marks.subList(from, marks.size()).indexOf(m);
            assertTrue(at >= 0, () -> "missing marker '" + m + "' (in order " + expected + ")\n" + r.describe());
            from += at + 1;
        }
        String all = r.stdout() + r.stderr();
        assertTrue(!all.contains("A fatal error has been detected") && !all.contains("hs_err_pid"), r::describe);
        assertTrue(r.elapsedMillis() < 10_000);
    }

    /**
     * Library bug: Sqlite's cleaner (Sqlite.java, the Cleaner action registered in the constructor) closes
     * the arena holding the function upcall stub right after engine.close(), even when that close gave up
     * on an engine thread that is still running a statement; the statement's next call of a Java function
     * jumps into the freed stub and the JVM dies with SIGSEGV in upcall_stub_load_target.
     *
     * <p>Run with its own launcher (not ChildJvm) so that a crash's hs_err file lands in a temporary
     * directory, not in the build tree.
     */
    @Test
    void closingAnEngineWhoseStatementOutlivesTheCloseTimeoutDoesNotCrashTheJvm(@TempDir Path dir) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:ErrorFile=" + dir.resolve("hs_err_%p.log"), "-cp", System.getProperty("java.class.path"),
                SqliteCloseWhileFunctionRuns.class.getName())
                .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        boolean exited = p.waitFor(20, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8), stderr = Files.readString(err, StandardCharsets.UTF_8);
        String describe = "exit " + (exited ? p.exitValue() : "none (destroyed after 20 s)") + "\n--- stdout ---\n"
                + stdout + "--- stderr ---\n" + stderr;
        assertTrue(exited, describe);
        assertTrue(!stdout.contains("A fatal error has been detected"), "the JVM crashed\n" + describe);
        assertEquals(0, p.exitValue(), describe);
        assertTrue(stdout.contains(ChildJvm.MARK + "close returned engineClosed=true"), describe);
        assertTrue(stdout.contains(ChildJvm.MARK + "slow statement failed: EngineClosedException"), describe);
        assertTrue(stdout.contains(ChildJvm.MARK + "alive after the statement"), describe);
        assertTrue(stdout.contains(ChildJvm.MARK + "main returns"), describe);
    }
}
