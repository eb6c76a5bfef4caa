package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.ExecutionContext;
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
}
