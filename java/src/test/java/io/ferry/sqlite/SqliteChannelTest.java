package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.CallFailedException;
import io.ferry.EngineClosedException;
import io.ferry.ExecutionContext;
import io.ferry.BytesOp;
import io.ferry.BytesToLongOp;
import io.ferry.LongOp;
import io.ferry.Op;
import io.ferry.spi.EngineOps;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * The channel path of a single statement (Channels, sqlite.run): results and statements larger than a
 * channel, contexts whose op set leaves it out, column names that change under the same SQL text, many
 * threads sharing the pool, and a closed engine.
 */
class SqliteChannelTest {
    private static final int FERRY_E_DENIED = -11;

    /**
     * Issue 14 item 5: a result too large for its channel waits on the engine for sqlite.spill; only the
     * context whose sqlite.run left it may take it (it was any caller allowed sqlite.spill, naming the
     * channel's id, which its first 4 bytes show).
     */
    @Test
    @SuppressWarnings("restricted")
    void anotherContextCannotTakeASpilledResult() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            ExecutionContext owner = sys.child().name("owner").create();
            ExecutionContext thief = sys.child().name("thief").create();
            LongOp channel = EngineOps.internal(db.engine(), "sqlite.channel", LongOp.class);
            LongOp run = EngineOps.internal(db.engine(), "sqlite.run", LongOp.class);
            BytesOp spill = EngineOps.internal(db.engine(), "sqlite.spill", BytesOp.class);
            LongOp close = EngineOps.internal(db.engine(), "sqlite.channel_close", LongOp.class);
            MemorySegment ch = MemorySegment.ofAddress(channel.call(sys, 256)).reinterpret(256);
            int id = ch.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0);
            byte[] idBytes = {(byte) id, (byte) (id >>> 8), (byte) (id >>> 16), (byte) (id >>> 24)};
            long len = Wire.statement(ch, 0, "SELECT zeroblob(4000)".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    null, null);
            assertEquals(-1, run.call(owner, id, len), "the result should not fit a 256-byte channel");
            CallFailedException stolen = assertThrows(CallFailedException.class, () -> spill.call(thief, idBytes),
                    "context 'thief' took context 'owner''s spilled result");
            assertTrue(stolen.engineMessage().contains("holds no result of context 'thief'"), stolen::getMessage);
            assertThrows(CallFailedException.class, () -> spill.call(sys, idBytes));
            byte[] mine = spill.call(owner, idBytes);
            assertTrue(mine.length > 4000, "the owner's result: " + mine.length + " bytes");
            close.call(sys, id);
        }
    }

    /**
     * Issue 14 item 1: sqlite.channel made channels that were never freed, so 65,536 calls used the limit
     * up for good. Closed channels give their ids back.
     */
    @Test
    @SuppressWarnings("restricted")
    void seventyThousandChannelCyclesNeverExhaustTheLimit() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            LongOp channel = EngineOps.internal(db.engine(), "sqlite.channel", LongOp.class);
            LongOp close = EngineOps.internal(db.engine(), "sqlite.channel_close", LongOp.class);
            for (int i = 0; i < 70_000; i++) {
                long address = channel.call(sys, 64);
                // Its id, as the engine knows it, is in its first 4 bytes.
                int id = MemorySegment.ofAddress(address).reinterpret(4)
                        .get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0);
                close.call(sys, id);
            }
            assertEquals(7L, db.query("SELECT 3 + 4").get(0).getLong(0));
        }
    }

    @Test
    void aResultLargerThanAChannelComesBackWhole() {
        try (Sqlite db = Sqlite.builder().start()) {
            db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
            List<Statement> load = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                load.add(Statement.of("INSERT INTO t VALUES(?, ?)", i, "value-" + i));
            }
            db.batch(load);
            Rows rows = db.query("SELECT id, v FROM t ORDER BY id");
            assertEquals(5_000, rows.size());
            for (int i = 0; i < rows.size(); i++) {
                assertEquals(i, rows.get(i).getLong(0));
                assertEquals("value-" + i, rows.get(i).getString("v"));
            }
            byte[] big = db.query("SELECT zeroblob(?)", Channels.BYTES * 3).get(0).getBytes(0);
            assertEquals(Channels.BYTES * 3, big.length);
            // The channel the large result went through serves the next call as usual.
            assertEquals(7L, db.query("SELECT 3 + ?", 4).get(0).getLong(0));
        }
    }

    @Test
    void aStatementLargerThanAChannelRunsAsAnArray() {
        try (Sqlite db = Sqlite.builder().start()) {
            char[] text = new char[Channels.BYTES * 2];
            Arrays.fill(text, 'é');
            String s = new String(text);
            assertEquals(s, db.query("SELECT ?", s).get(0).getString(0));
            byte[] blob = new byte[Channels.BYTES + 1];
            blob[blob.length - 1] = 42;
            assertArrayEquals(blob, db.query("SELECT :b", Map.of("b", blob)).get(0).getBytes(0));
        }
    }

    @Test
    void aContextWhoseOpSetLeavesOutTheChannelOpStillRunsStatements() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(x)");
            ExecutionContext execOnly = sys.child().allowOps(db.engine().op("sqlite.exec")).create();
            assertEquals(1, db.execute(execOnly, "INSERT INTO t VALUES(?)", 1));
            assertEquals(1L, db.query(execOnly, "SELECT count(*) FROM t").get(0).getLong(0));
            ExecutionContext none = sys.child().allowOps(db.engine().op("sqlite.batch")).create();
            CallFailedException e = assertThrows(CallFailedException.class, () -> db.query(none, "SELECT 1"));
            assertEquals(FERRY_E_DENIED, e.code());
        }
    }

    @Test
    void columnNamesFollowTheSchemaNotTheSqlText() {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(a INTEGER)");
            db.execute(sys, "INSERT INTO t VALUES(1)");
            assertEquals(List.of("a"), db.query(sys, "SELECT * FROM t").columns());
            db.execute(sys, "ALTER TABLE t ADD COLUMN b TEXT");
            assertEquals(List.of("a", "b"), db.query(sys, "SELECT * FROM t").columns());
            db.execute(sys, "ALTER TABLE t RENAME COLUMN a TO c");
            Rows renamed = db.query(sys, "SELECT * FROM t");
            assertEquals(List.of("c", "b"), renamed.columns());
            assertEquals(1L, renamed.get(0).getLong("c"));
            // The same text in two private databases with different tables named t.
            ExecutionContext p1 = sys.child().engineFlags(Sqlite.PRIVATE_DATABASE).create();
            ExecutionContext p2 = sys.child().engineFlags(Sqlite.PRIVATE_DATABASE).create();
            db.execute(p1, "CREATE TABLE t(one)");
            db.execute(p2, "CREATE TABLE t(two, three)");
            for (int i = 0; i < 3; i++) {
                assertEquals(List.of("one"), db.query(p1, "SELECT * FROM t").columns());
                assertEquals(List.of("two", "three"), db.query(p2, "SELECT * FROM t").columns());
            }
        }
    }

    @Test
    void threadsSharingThePoolEachGetTheirOwnResults() throws Exception {
        try (Sqlite db = Sqlite.builder().start()) {
            ExecutionContext sys = db.engine().systemContext();
            int platform = 8, virtual = 100, calls = 300;
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch done = new CountDownLatch(platform + virtual);
            for (int t = 0; t < platform + virtual; t++) {
                final long me = t;
                Runnable body = () -> {
                    try {
                        for (int i = 0; i < calls; i++) {
                            String text = "thread-" + me + "-" + i;
                            Row row = db.query(sys, "SELECT ?, ? * 2, ?", me, (long) i, text).get(0);
                            if (row.getLong(0) != me || row.getLong(1) != 2L * i || !text.equals(row.getString(2))) {
                                throw new AssertionError("thread " + me + " call " + i + " got " + row);
                            }
                        }
                    } catch (Throwable x) {
                        failures.add(x);
                    } finally {
                        done.countDown();
                    }
                };
                if (t < platform) {
                    Thread.ofPlatform().start(body);
                } else {
                    Thread.ofVirtual().start(body);
                }
            }
            done.await();
            assertTrue(failures.isEmpty(), () -> failures.size() + " failures, the first: " + failures.peek());
        }
    }

    @Test
    void aClosedEngineRefusesStatementsAfterCheckingTheirValues() {
        Sqlite db = Sqlite.builder().start();
        ExecutionContext sys = db.engine().systemContext();
        assertEquals(1L, db.query(sys, "SELECT 1").get(0).getLong(0));
        db.close();
        assertThrows(EngineClosedException.class, () -> db.query(sys, "SELECT ?", 1));
        assertThrows(IllegalArgumentException.class, () -> db.query(sys, "SELECT ?", new Object()));
    }
}
