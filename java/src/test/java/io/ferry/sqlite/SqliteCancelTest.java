package io.ferry.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.ExecutionContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * A caller that gives up interrupts its own statement (through the progress handler reading that call's
 * cancel flag), so the engine is free again at once; other calls, queued behind it, complete normally.
 *
 * <p>The long statement counts to 1e10 in a recursive CTE: hours of work, so a prompt next call proves
 * the statement was stopped, not merely abandoned. Bounds are ratios of the timeout, not absolute times.
 */
class SqliteCancelTest {
    static final String FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) "
            + "SELECT count(*) FROM c";
    private static final Duration TIMEOUT = Duration.ofMillis(100);
    /** How long the whole give-up-and-go-on may take, as a multiple of the timeout. */
    private static final int RATIO = 20;

    /**
     * An engine whose close gives up after 2 s: if a statement is not interrupted, the test fails (every
     * wait below is bounded) instead of hanging on the close.
     */
    private static Sqlite start() {
        return Sqlite.builder().engine(b -> b.closeTimeout(Duration.ofSeconds(2))).start();
    }

    /** A query bounded by the remaining time: a statement that was not interrupted fails it, not hangs it. */
    private static long bounded(Sqlite db, ExecutionContext ctx, String sql, long boundNanos) throws TimeoutException {
        return db.run(ctx, Statement.of(sql), Duration.ofNanos(boundNanos)).get(0).getLong(0);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    @Test
    void aTimedOutQueryIsInterruptedAndTheNextQueryCompletesPromptly() throws Exception {
        try (Sqlite db = start()) {
            ExecutionContext ctx = db.engine().systemContext().child().name("slow").create();
            db.execute(ctx, "CREATE TABLE t(x)");
            db.execute(ctx, "INSERT INTO t VALUES(1), (2), (3)");
            long bound = TIMEOUT.toNanos() * RATIO;

            for (int round = 0; round < 3; round++) { // the same cached statement, interrupted again and again
                long t0 = System.nanoTime();
                assertThrows(TimeoutException.class, () -> db.run(ctx, Statement.of(FOREVER), TIMEOUT));
                long gaveUp = System.nanoTime() - t0;
                assertTrue(gaveUp >= TIMEOUT.toNanos() * 9 / 10, "gave up after only " + ms(gaveUp) + " ms");
                assertEquals(3L, bounded(db, ctx, "SELECT count(*) FROM t", bound));
                long total = System.nanoTime() - t0;
                assertTrue(total < bound, "round " + round + ": timeout plus the next query took " + ms(total)
                        + " ms, more than " + RATIO + "x the " + TIMEOUT.toMillis() + " ms timeout");
            }
            // The interrupted context writes and reads as before.
            assertEquals(1, db.execute(ctx, "INSERT INTO t VALUES(4)"));
            assertEquals(4L, db.query(ctx, "SELECT count(*) FROM t").get(0).getLong(0));
        }
    }

    @Test
    void aCancelledAsyncQueryIsInterruptedAndTheNextQueryCompletesPromptly() throws Exception {
        try (Sqlite db = start()) {
            ExecutionContext ctx = db.engine().systemContext().child().name("async").create();
            long bound = TIMEOUT.toNanos() * RATIO;
            long t0 = System.nanoTime();
            CompletableFuture<Rows> f = db.runAsync(ctx, Statement.of(FOREVER));
            Thread.sleep(TIMEOUT.toMillis()); // let it run
            assertFalse(f.isDone(), "the endless query completed");
            assertTrue(f.cancel(true));
            assertTrue(f.isCancelled());
            assertThrows(CancellationException.class, f::join);
            assertEquals(7L, bounded(db, ctx, "SELECT 3 + 4", bound));
            long total = System.nanoTime() - t0;
            assertTrue(total < bound, "run, cancel and the next query took " + ms(total) + " ms, more than " + RATIO
                    + "x the " + TIMEOUT.toMillis() + " ms it ran before the cancel");

            // A timed get that times out gives the call up as well.
            CompletableFuture<Rows> g = db.runAsync(ctx, Statement.of(FOREVER));
            long t1 = System.nanoTime();
            assertThrows(TimeoutException.class, () -> g.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            assertEquals(8L, db.queryAsync("SELECT 4 + 4").get(bound, TimeUnit.NANOSECONDS).get(0).getLong(0));
            assertTrue(System.nanoTime() - t1 < bound, "a timed-out get did not stop its statement promptly");

            // A cancelled batch is interrupted and rolled back.
            db.execute(ctx, "CREATE TABLE t(x)");
            CompletableFuture<long[]> b = db.batchAsync(ctx, List.of(Statement.of("INSERT INTO t VALUES(1)"),
                    Statement.of(FOREVER)));
            Thread.sleep(TIMEOUT.toMillis());
            assertTrue(b.cancel(true));
            assertEquals(0L, bounded(db, ctx, "SELECT count(*) FROM t", bound));
        }
    }

    @Test
    void onlyTheCallThatGaveUpIsInterruptedAndCallsQueuedBehindItCompleteNormally() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Sqlite db = start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(x)");
            db.execute(sys, "INSERT INTO t VALUES(10), (20), (30)");
            ExecutionContext slow = sys.child().name("slow").create();
            ExecutionContext other = sys.child().name("other").create();
            // 1 s: the setup below (a sleep of a third, three submissions) must fit inside it even on a loaded
            // 2-vCPU machine (at a load average of 6 it once took 330 ms, with 300 ms here).
            Duration timeout = TIMEOUT.multipliedBy(10);
            long bound = timeout.toNanos() * RATIO;

            long t0 = System.nanoTime();
            CompletableFuture<Throwable> slowCall = CompletableFuture.supplyAsync(() -> {
                try {
                    db.run(slow, Statement.of(FOREVER), timeout);
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            }, pool);
            Thread.sleep(timeout.toMillis() / 3); // the slow call is running on the engine thread by now

            // Another context's query, another query in the same context, and an async one: all submitted
            // while the slow statement runs, so all queued behind it on the one engine thread.
            CompletableFuture<Long> otherSum = CompletableFuture.supplyAsync(() -> {
                long v = db.query(other, "SELECT sum(x) FROM t").get(0).getLong(0);
                return System.nanoTime() - t0 >= timeout.toNanos() ? v : -v; // negative: done too early
            }, pool);
            CompletableFuture<Long> sameCtx = CompletableFuture.supplyAsync(
                    () -> db.query(slow, "SELECT count(*) FROM t").get(0).getLong(0), pool);
            long asyncSubmitted = System.nanoTime();
            CompletableFuture<Long> async = db.runAsync(other, Statement.of("SELECT max(x) FROM t"))
                    .thenApply(rows -> System.nanoTime() - t0 >= timeout.toNanos() ? rows.get(0).getLong(0) : -1L);
            assertTrue(asyncSubmitted - t0 < timeout.toNanos(), "setup too slow: the async query was submitted "
                    + ms(asyncSubmitted - t0) + " ms after the slow one, not while it ran");

            // Each completed normally, with its result, and none before the slow call gave up (t0 + timeout
            // at the earliest): they really waited behind it; the slow call timed out.
            assertEquals(60L, otherSum.get(bound, TimeUnit.NANOSECONDS), "the other context's query (negative: "
                    + "it completed before the slow statement could have been stopped)");
            assertEquals(3L, sameCtx.get(bound, TimeUnit.NANOSECONDS));
            assertEquals(30L, async.get(bound, TimeUnit.NANOSECONDS), "the async query (-1: completed too early)");
            Throwable slowOutcome = slowCall.get(bound, TimeUnit.NANOSECONDS);
            assertTrue(slowOutcome instanceof TimeoutException, "the slow call ended with " + slowOutcome);
            assertTrue(System.nanoTime() - t0 < bound, "took " + ms(System.nanoTime() - t0) + " ms");
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Library bug (io.ferry.internal.EngineCore, the parked wait of a timed call: it throws
     * timedOut(PHASE_RUNNING) whatever phase abandonParked found): a call that times out while still queued
     * says "it was already running and its result will be discarded" although the engine skips it. For a
     * write that is the difference between "not applied" and "may have been applied".
     */
    @Test
    void aWriteThatTimesOutWhileQueuedIsSkippedAndSaysSo() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Sqlite db = start()) {
            ExecutionContext sys = db.engine().systemContext();
            db.execute(sys, "CREATE TABLE t(x)");
            ExecutionContext slow = sys.child().name("slow").create();
            ExecutionContext writer = sys.child().name("writer").create();
            Duration slowTimeout = TIMEOUT.multipliedBy(5);
            CompletableFuture<Throwable> slowCall = CompletableFuture.supplyAsync(() -> {
                try {
                    db.run(slow, Statement.of(FOREVER), slowTimeout);
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            }, pool);
            Thread.sleep(TIMEOUT.toMillis()); // the slow statement runs; the insert below queues behind it
            TimeoutException e = assertThrows(TimeoutException.class,
                    () -> db.run(writer, Statement.of("INSERT INTO t VALUES(1)"), TIMEOUT));
            assertTrue(slowCall.get(slowTimeout.toNanos() * RATIO, TimeUnit.NANOSECONDS) instanceof TimeoutException);
            // The engine skipped the insert: it never ran.
            assertEquals(0L, bounded(db, sys, "SELECT count(*) FROM t", slowTimeout.toNanos() * RATIO));
            assertTrue(e.getMessage().contains("skip"), "the message of a call that never ran: " + e.getMessage());
        } finally {
            pool.shutdownNow();
        }
    }
}
