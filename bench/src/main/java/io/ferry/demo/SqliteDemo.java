package io.ferry.demo;

import io.ferry.EngineStats;
import io.ferry.ExecutionContext;
import io.ferry.LatencyHistogram;
import java.nio.file.Files;
import java.nio.file.Path;
import io.ferry.sqlite.Rows;
import io.ferry.sqlite.Sqlite;
import io.ferry.sqlite.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Ferry's main job (make demo): SQLite embedded on the engine thread, driven by 8 platform threads and
 * 1,000 virtual threads at once through user contexts with frozen variables; every result is checked.
 *
 * <p>The systemic context creates the tables and sets two variables; eight user contexts are made from
 * it, freezing {@code bonus}; then the systemic {@code bonus} changes, and every query in the user
 * contexts must still see the frozen value, bound as the {@code :bonus} parameter by the engine.
 */
public final class SqliteDemo {
    static final int ACCOUNTS = 10_000;
    static final int CONTEXTS = 8;
    static final int PLATFORM = 8, PLATFORM_CALLS = 25_000;
    static final int VIRTUAL = 1_000, VIRTUAL_CALLS = 200;

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        // Ferry's own latency histograms on (the callers' wait, the engine's time per call): the picture at the end.
        Sqlite db = Sqlite.builder().engine(b -> b.histograms(true)).start();
        ExecutionContext sys = db.engine().systemContext();
        String version = db.query(sys, "SELECT sqlite_version()").get(0).getString(0);
        db.execute(sys, "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL)");
        db.execute(sys, "CREATE TABLE events(worker INTEGER NOT NULL, seq INTEGER NOT NULL, account INTEGER NOT NULL, "
                + "PRIMARY KEY(worker, seq))");
        List<Statement> load = new ArrayList<>();
        for (int id = 1; id <= ACCOUNTS; id++) {
            load.add(Statement.of("INSERT INTO accounts VALUES(?, ?, ?)", id, "owner-" + (id % 97), id * 10L));
        }
        db.batch(sys, load);
        sys.set("bonus", 5);
        List<ExecutionContext> contexts = new ArrayList<>();
        for (int i = 0; i < CONTEXTS; i++) {
            contexts.add(sys.child().name("tenant-" + i).freeze("bonus").create());
        }
        sys.set("bonus", 1_000_000); // the user contexts keep the 5 they froze

        Recorder latencies = new Recorder(3);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicLong queries = new AtomicLong(), inserts = new AtomicLong();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        int workers = PLATFORM + VIRTUAL;
        for (int w = 0; w < workers; w++) {
            int worker = w;
            int calls = w < PLATFORM ? PLATFORM_CALLS : VIRTUAL_CALLS;
            ExecutionContext ctx = contexts.get(w % CONTEXTS);
            Runnable body = () -> {
                try (var scope = ctx.open()) {
                    go.await();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    int seq = 0;
                    for (int i = 0; i < calls; i++) {
                        long start = System.nanoTime();
                        if (i % 4 == 3) {
                            int account = 1 + random.nextInt(ACCOUNTS);
                            long changed = db.execute("INSERT INTO events VALUES(?, ?, ?)", worker, ++seq, account);
                            latencies.recordValue(System.nanoTime() - start);
                            inserts.incrementAndGet();
                            if (changed != 1) {
                                wrong.add("insert by worker " + worker + " changed " + changed + " rows");
                            }
                        } else {
                            int id = 1 + random.nextInt(ACCOUNTS);
                            Rows rows = db.query("SELECT owner, balance + :bonus FROM accounts WHERE id = ?", id);
                            latencies.recordValue(System.nanoTime() - start);
                            queries.incrementAndGet();
                            if (rows.size() != 1 || !rows.get(0).getString(0).equals("owner-" + (id % 97))
                                    || rows.get(0).getLong(1) != id * 10L + 5) {
                                wrong.add("account " + id + " in " + ctx.name() + ": " + rows);
                            }
                        }
                    }
                } catch (Throwable t) {
                    wrong.add("worker " + worker + ": " + t);
                }
            };
            threads.add(w < PLATFORM ? Thread.ofPlatform().name("platform-" + w).unstarted(body)
                    : Thread.ofVirtual().name("virtual-" + w).unstarted(body));
        }
        threads.forEach(Thread::start);
        LatencyHistogram wait0 = db.engine().waitLatency(), engine0 = db.engine().engineLatency();
        long start = System.nanoTime();
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Histogram h = latencies.getIntervalHistogram();
        LatencyHistogram wait = db.engine().waitLatency().since(wait0);
        LatencyHistogram engineTime = db.engine().engineLatency().since(engine0);

        // Check the inserts as a whole: every worker's events are all there, numbered 1..n.
        long expectedInserts = (long) PLATFORM * (PLATFORM_CALLS / 4) + (long) VIRTUAL * (VIRTUAL_CALLS / 4);
        Rows total = db.query(sys, "SELECT count(*), count(DISTINCT worker), sum(seq) FROM events");
        long perWorkerSum = (long) PLATFORM * tri(PLATFORM_CALLS / 4) + (long) VIRTUAL * tri(VIRTUAL_CALLS / 4);
        if (total.get(0).getLong(0) != expectedInserts || total.get(0).getLong(1) != workers
                || total.get(0).getLong(2) != perWorkerSum) {
            wrong.add("events table: " + total + ", expected " + expectedInserts + " rows from " + workers + " workers");
        }
        long closeStart = System.nanoTime();
        db.close();
        double closeMs = (System.nanoTime() - closeStart) / 1e6;
        EngineStats stats = db.engine().stats(); // the final figures, after close
        long calls = queries.get() + inserts.get();

        System.out.printf("Ferry demo: SQLite %s on the engine thread; a table of %,d accounts made in the systemic "
                + "context, %d user contexts with the variable bonus frozen into them, then %d platform threads x %,d "
                + "and %,d virtual threads x %,d calls (3 point selects binding :bonus from the context, 1 insert), "
                + "every result checked.%n", version, ACCOUNTS, CONTEXTS, PLATFORM, PLATFORM_CALLS, VIRTUAL,
                VIRTUAL_CALLS);
        System.out.printf("  calls       %,d (%,d selects + %,d inserts) in %.2f s = %,.0f calls/s%n", calls,
                queries.get(), inserts.get(), seconds, calls / seconds);
        System.out.printf("  latency     p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us%n",
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
        System.out.printf("  checked     %,d results, %d wrong; events table holds all %,d inserts%n", calls, wrong.size(),
                expectedInserts);
        System.out.printf("  close()     %.1f ms; SQLite connections open %d, statements %d (startup %.1f s)%n", closeMs,
                Sqlite.openConnections(), Sqlite.openStatements(), (start - t0) / 1e9);
        System.out.printf("%nWhat the engine did (Engine.stats(), after close):%n%s", stats);
        System.out.printf("Latency of the run (Ferry's histograms, EngineBuilder.histograms(true)):%n  wait    %s%n"
                + "  engine  %s%n", wait, engineTime);
        Path svg = Path.of(System.getProperty("ferry.demo.out", "build/demo")).resolve("sqlite-latency.svg");
        Files.createDirectories(svg.getParent());
        Files.writeString(svg, LatencyChart.svg("Ferry demo: latency per call, SQLite on the engine thread",
                String.format(java.util.Locale.ROOT, "%d platform + %,d virtual threads, %,d calls in %.2f s (%,.0f/s); "
                        + "%s.", PLATFORM, VIRTUAL, calls, seconds, calls / seconds, java.time.LocalDate.now()),
                wait, engineTime));
        System.out.println("  picture " + svg);
        if (!wrong.isEmpty() || Sqlite.openConnections() != 0 || Sqlite.openStatements() != 0) {
            wrong.stream().limit(10).forEach(w -> System.out.println("  WRONG: " + w));
            System.out.println("FAILED");
            System.exit(1);
        }
        System.out.println("OK");
    }

    private static long tri(long n) {
        return n * (n + 1) / 2;
    }

    private SqliteDemo() {
    }
}
