package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.ExecutionContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SqliteSmokeTest {
    @Test
    void roundTrip() throws Exception {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)");
            assertEquals(1, db.execute("INSERT INTO t VALUES(?, ?, ?, ?)", 1, "one", 1.5, new byte[] {1, 2}));
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext ctx = sys.child().create();
            ctx.set("id", 1);
            Rows rows = db.query(ctx, "SELECT name, score, data, NULL AS n FROM t WHERE id = :id");
            assertEquals(List.of("name", "score", "data", "n"), rows.columns());
            assertEquals("one", rows.get(0).getString("name"));
            assertEquals(1.5, rows.get(0).getDouble(1));
            db.createFunction("twice", 1, true, args -> (Long) args[0] * 2);
            assertEquals(42L, db.query("SELECT twice(21)").get(0).getLong(0));
            assertEquals(2, db.batch(List.of(Statement.of("INSERT INTO t(id) VALUES(2)"), Statement.of("INSERT INTO t(id) VALUES(3)"))).length);
            assertEquals(3L, db.query(ctx, "SELECT count(*) FROM t", Map.of()).get(0).getLong(0));
            assertEquals("one", db.queryAsync("SELECT name FROM t WHERE id = 1").get().get(0).getString(0));
        }
    }

    @Test
    void walConnectionsSyncNormallyUnlessToldOtherwise() throws Exception {
        Path dir = Files.createTempDirectory("ferry-sqlite-sync");
        try {
            try (Sqlite db = Sqlite.builder().file(dir.resolve("a.db")).wal(true).start()) {
                ExecutionContext child = db.engine().systemContext().child().create();
                assertEquals("wal", db.query("PRAGMA journal_mode").get(0).getString(0));
                assertEquals(1L, db.query("PRAGMA synchronous").get(0).getLong(0), "NORMAL in WAL by default");
                assertEquals(1L, db.query(child, "PRAGMA synchronous").get(0).getLong(0), "on every connection");
            }
            try (Sqlite db = Sqlite.builder().file(dir.resolve("b.db")).wal(true).synchronous(Synchronous.FULL).start()) {
                assertEquals(2L, db.query("PRAGMA synchronous").get(0).getLong(0));
            }
            try (Sqlite db = Sqlite.builder().file(dir.resolve("c.db")).start()) {
                assertEquals(2L, db.query("PRAGMA synchronous").get(0).getLong(0), "SQLite's default without WAL");
            }
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
