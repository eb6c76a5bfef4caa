package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.ExecutionContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SQL errors carry SQLite's extended code, its message and the offset of the error in the SQL. */
class SqliteErrorTest {
    /** The byte offset of the first occurrence of token in sql, as SQLite counts (UTF-8 bytes). */
    private static int byteOffset(String sql, String token) {
        int chars = sql.indexOf(token);
        assertTrue(chars >= 0);
        return sql.substring(0, chars).getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void aSyntaxErrorCarriesCodeOneAMessageNamingTheTokenAndItsOffset() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");

            String sql = "SELECT id FROM t WHER id = 1";
            SqliteException e = assertThrows(SqliteException.class, () -> db.query(sql));
            assertEquals(1, e.extendedCode(), e::getMessage);
            assertEquals(1, e.primaryCode());
            assertTrue(e.getMessage().contains("near \"id\": syntax error"), e::getMessage);
            // SQLite reports the token after the misspelt keyword: 'id' at byte 22.
            assertEquals(22, e.offset(), e::getMessage);
            assertEquals(byteOffset(sql, "id = 1"), e.offset());

            // Another token, another place; the offset follows the SQL.
            String sql2 = "SELECT id FROM t WHERE id = = 1";
            SqliteException e2 = assertThrows(SqliteException.class, () -> db.query(sql2));
            assertEquals(1, e2.extendedCode());
            assertTrue(e2.getMessage().contains("near \"=\": syntax error"), e2::getMessage);
            assertEquals(sql2.lastIndexOf('='), e2.offset(), e2::getMessage);

            // An unknown column: code 1, the column named, the offset at it.
            String sql3 = "SELECT id, nosuchcol FROM t";
            SqliteException e3 = assertThrows(SqliteException.class, () -> db.query(sql3));
            assertEquals(1, e3.extendedCode());
            assertTrue(e3.getMessage().contains("no such column: nosuchcol"), e3::getMessage);
            assertEquals(byteOffset(sql3, "nosuchcol"), e3.offset(), e3::getMessage);

            // The offset counts UTF-8 bytes, not Java chars: 'é' and '€' before the error take 2 and 3.
            String sql4 = "SELECT 'é€', name FROM t WHER id = 1";
            SqliteException e4 = assertThrows(SqliteException.class, () -> db.query(sql4));
            assertEquals(byteOffset(sql4, "id = 1"), e4.offset(), e4::getMessage);
            assertEquals(sql4.indexOf("id = 1") + 3, e4.offset());

            // In a user context, in a batch (the offset is within the failing statement's SQL).
            ExecutionContext ctx = db.engine().systemContext().child().create();
            SqliteException e5 = assertThrows(SqliteException.class, () -> db.batch(ctx,
                    List.of(Statement.of("INSERT INTO t VALUES(1, 'a')"), Statement.of(sql))));
            assertEquals(1, e5.extendedCode());
            assertEquals(22, e5.offset(), e5::getMessage);

            // The engine and the statement cache are fine afterwards.
            assertEquals(0L, db.query(ctx, "SELECT count(*) FROM t").get(0).getLong(0));
        }
    }

    @Test
    void aUniqueViolationHasExtendedCode2067() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, email TEXT UNIQUE)");
            db.execute("INSERT INTO t VALUES(?, ?)", 1, "a@example.com");
            SqliteException e = assertThrows(SqliteException.class,
                    () -> db.execute("INSERT INTO t VALUES(?, ?)", 2, "a@example.com"));
            assertEquals(2067, e.extendedCode(), e::getMessage); // SQLITE_CONSTRAINT_UNIQUE
            assertEquals(19, e.primaryCode());                   // SQLITE_CONSTRAINT
            assertTrue(e.getMessage().contains("UNIQUE constraint failed: t.email"), e::getMessage);
            assertTrue(e.getMessage().contains("SQLITE_CONSTRAINT"), e::getMessage);
            assertEquals(1L, db.query("SELECT count(*) FROM t").get(0).getLong(0));

            // The same cached statement runs again with other values.
            assertEquals(1, db.execute("INSERT INTO t VALUES(?, ?)", 2, "b@example.com"));
            // A primary key violation is a different extended code.
            assertEquals(1555, assertThrows(SqliteException.class,
                    () -> db.execute("INSERT INTO t VALUES(?, ?)", 2, "c@example.com")).extendedCode());
        }
    }

    @Test
    void bindingAnUnsupportedJavaTypeFailsBeforeAnythingIsSubmitted() {
        Sqlite db = Sqlite.builder().start();
        ExecutionContext sys = db.engine().systemContext();
        try {
            db.execute("CREATE TABLE t(x)");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> db.query("SELECT ?", new java.util.Date()));
            assertTrue(e.getMessage().contains("java.util.Date"), e::getMessage);
            assertThrows(IllegalArgumentException.class, () -> db.query(sys, "SELECT :v", Map.of("v", new Object())));
            assertThrows(IllegalArgumentException.class, () -> db.runAsync(sys, Statement.of("SELECT ?", List.of(1))));

            // In a batch: the first statement, fine on its own, never ran: the batch was not submitted.
            assertThrows(IllegalArgumentException.class, () -> db.batch(sys, List.of(
                    Statement.of("INSERT INTO t VALUES(1)"), Statement.of("INSERT INTO t VALUES(?)", new StringBuilder("x")))));
            assertEquals(0L, db.query("SELECT count(*) FROM t").get(0).getLong(0));
        } finally {
            db.close();
        }
        // With the engine closed a submitted call would fail with EngineClosedException; binding fails first.
        assertThrows(IllegalArgumentException.class, () -> db.query(sys, "SELECT ?", new Object()));
    }

    @Test
    void moreThanOneStatementIsRefusedAtTheSecondOne() {
        try (Sqlite db = Sqlite.builder().start()) {
            String sql = "SELECT 1; SELECT 2";
            SqliteException e = assertThrows(SqliteException.class, () -> db.query(sql));
            assertEquals(21, e.extendedCode(), e::getMessage); // SQLITE_MISUSE
            assertEquals(sql.indexOf(" SELECT 2"), e.offset(), e::getMessage);
            assertTrue(e.getMessage().contains("batch"), e::getMessage);
            // Trailing semicolons and blanks are one statement.
            assertEquals(1L, db.query("SELECT 1;  ;\n").get(0).getLong(0));
        }
    }

    /**
     * Library bug: ferry_sqlite.c's "more than one statement" check (fs_only_space) counts only blanks and
     * ';' as nothing, so a statement followed by a comment is refused as two statements.
     */
    @Test
    void aTrailingCommentIsNotASecondStatement() {
        try (Sqlite db = Sqlite.builder().start()) {
            assertEquals(1L, db.query("SELECT 1 /* block */").get(0).getLong(0));
            assertEquals(1L, db.query("SELECT 1; -- why this query exists").get(0).getLong(0));
            assertEquals(1L, db.query("SELECT 1 -- trailing\n").get(0).getLong(0));
        }
    }

    /**
     * Library bug: SqliteException.offset() is documented as "-1" when SQLite knows no offset, but errors
     * the engine raises itself (an unbound parameter, a stray named value, an empty statement) leave the
     * call's detail at 0, so offset() claims the error is at the first byte.
     */
    @Test
    void anErrorWithoutAPositionReportsOffsetMinusOne() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(x UNIQUE)");
            db.execute("INSERT INTO t VALUES(1)");
            // From SQLite, without a position: -1.
            assertEquals(-1, assertThrows(SqliteException.class, () -> db.execute("INSERT INTO t VALUES(1)")).offset());
            assertEquals(-1, assertThrows(SqliteException.class, () -> db.query("SELECT * FROM nosuchtable")).offset());
            // From the engine's own checks: also -1, not 0.
            SqliteException unbound = assertThrows(SqliteException.class, () -> db.query("SELECT 1 + :missing"));
            assertEquals(-1, unbound.offset(), unbound::getMessage);
            SqliteException empty = assertThrows(SqliteException.class, () -> db.query("   "));
            assertEquals(-1, empty.offset(), empty::getMessage);
        }
    }
}
