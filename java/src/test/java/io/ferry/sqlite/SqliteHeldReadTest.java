package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.ExecutionContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The read transactions the engine keeps open across queries on an in-memory database, and the WAL
 * anchor of a file: invisible to callers. Every write, in any context, sees no lock of them; every
 * query sees every write made before it, by this engine or another; a caller's own BEGIN, COMMIT and
 * batches behave as without them; an attached file is never read from a held transaction; another
 * engine's checkpoint completes once this one has been quiet for a few milliseconds.
 */
class SqliteHeldReadTest {
    @Test
    void queriesInOneContextSeeWritesFromAnother() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext a = sys.child().name("a").create();
            ExecutionContext b = sys.child().name("b").create();
            ExecutionContext ro = sys.child().name("ro").readOnly().create();
            db.execute(sys, "CREATE TABLE t(x INTEGER)");
            for (int i = 1; i <= 50; i++) {
                assertEquals(i - 1, db.query(a, "SELECT count(*) FROM t").get(0).getLong(0));
                assertEquals(i - 1, db.query(ro, "SELECT count(*) FROM t").get(0).getLong(0));
                // b writes while a and ro would hold read transactions: no SQLITE_BUSY.
                assertEquals(1, db.execute(i % 2 == 0 ? b : sys, "INSERT INTO t VALUES(?)", i));
                assertEquals(i, db.query(a, "SELECT count(*) FROM t").get(0).getLong(0));
            }
            assertEquals(50, db.batch(b, List.of(Statement.of("DELETE FROM t"))) [0]);
            assertEquals(0L, db.query(ro, "SELECT count(*) FROM t").get(0).getLong(0));
            // Schema changes too.
            db.query(a, "SELECT count(*) FROM t");
            db.execute(b, "CREATE TABLE u(y)");
            assertEquals(0L, db.query(a, "SELECT count(*) FROM u").get(0).getLong(0));
        }
    }

    @Test
    void aCallersOwnTransactionsBehaveAsWithoutHeldReads() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext a = sys.child().name("a").create();
            db.execute(sys, "CREATE TABLE t(x INTEGER)");
            db.query(a, "SELECT count(*) FROM t");
            // No transaction of the caller's is open: COMMIT fails as in autocommit mode.
            SqliteException e = assertThrows(SqliteException.class, () -> db.execute(a, "COMMIT"));
            assertTrue(e.getMessage().contains("no transaction is active"), e::getMessage);
            db.query(a, "SELECT count(*) FROM t");
            db.execute(a, "BEGIN");
            db.execute(a, "INSERT INTO t VALUES(1)");
            assertEquals(1L, db.query(a, "SELECT count(*) FROM t").get(0).getLong(0));
            db.execute(a, "ROLLBACK");
            assertEquals(0L, db.query(a, "SELECT count(*) FROM t").get(0).getLong(0));
            assertEquals(0L, db.query(sys, "SELECT count(*) FROM t").get(0).getLong(0));
            // A savepoint after queries, then a batch.
            db.execute(a, "SAVEPOINT s");
            db.execute(a, "INSERT INTO t VALUES(2)");
            db.execute(a, "RELEASE s");
            assertEquals(1L, db.query(sys, "SELECT count(*) FROM t").get(0).getLong(0));
            db.query(a, "SELECT count(*) FROM t");
            assertEquals(1, db.batch(a, List.of(Statement.of("INSERT INTO t VALUES(3)")))[0]);
            assertEquals(2L, db.query(sys, "SELECT count(*) FROM t").get(0).getLong(0));
        }
    }

    @Test
    void aWalReaderSeesAnotherEnginesCommitsAndLetsItsCheckpointsThrough() throws Exception {
        Path dir = Files.createTempDirectory("ferry-wal-anchor");
        Path file = dir.resolve("shared.db");
        try (Sqlite writer = Sqlite.builder().file(file).wal(true).start();
             Sqlite reader = Sqlite.builder().file(file).wal(true).start()) {
            writer.execute("CREATE TABLE t(x INTEGER)");
            ExecutionContext ro = reader.engine().systemContext().child().readOnly().create();
            for (int i = 0; i < 200; i++) {
                assertEquals(i, reader.query("SELECT count(*) FROM t").get(0).getLong(0));
                assertEquals(i, reader.query(ro, "SELECT count(*) FROM t").get(0).getLong(0));
                writer.execute("INSERT INTO t VALUES(?)", i);
            }
            // The reader's own checkpoint, right after its queries.
            reader.query("SELECT count(*) FROM t");
            assertEquals(0L, reader.query("PRAGMA wal_checkpoint(TRUNCATE)").get(0).getLong(0), "busy");
            // The writer's, once the reader has been quiet for a little while.
            writer.execute("INSERT INTO t VALUES(-1)");
            assertEquals(201L, reader.query("SELECT count(*) FROM t").get(0).getLong(0));
            long busy = 1;
            for (int tries = 0; tries < 200 && busy != 0; tries++) {
                Thread.sleep(5);
                busy = writer.query("PRAGMA wal_checkpoint(TRUNCATE)").get(0).getLong(0);
            }
            assertEquals(0L, busy, "the writer's checkpoint after the reader went quiet");
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void anAttachedFileIsNeverReadFromAHeldTransaction() throws Exception {
        Path dir = Files.createTempDirectory("ferry-held-read");
        Path file = dir.resolve("other.db");
        try (Sqlite writer = Sqlite.builder().file(file).wal(true).start();
             Sqlite db = Sqlite.builder().start()) {
            writer.execute("CREATE TABLE f(x INTEGER)");
            ExecutionContext sys = db.engine().systemContext();
            // The connection's default VFS is the in-memory one: name the file system's.
            db.execute(sys, "ATTACH DATABASE ? AS other", "file:" + file + "?vfs=unix");
            for (int i = 0; i < 5; i++) {
                assertEquals(i, db.query(sys, "SELECT count(*) FROM other.f").get(0).getLong(0));
                // Another engine (as good as another process) commits to the file.
                writer.execute("INSERT INTO f VALUES(?)", i);
                assertEquals(i + 1, db.query(sys, "SELECT count(*) FROM other.f").get(0).getLong(0));
            }
            db.execute(sys, "DETACH DATABASE other");
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }
}
