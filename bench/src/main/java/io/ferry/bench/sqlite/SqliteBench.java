package io.ferry.bench.sqlite;

import io.ferry.Engine;
import io.ferry.EngineStartException;
import io.ferry.WaitPolicy;
import io.ferry.sqlite.SqliteException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * SQLite from many Java threads: Ferry against sqlite-jdbc (xerial) and a direct, locked FFM call.
 *
 * <p>Workloads: a point select by primary key and a single-row autocommit insert, each from 1 and 8
 * platform threads and from 64 virtual threads, and a 1,000-row batch insert in one transaction from one
 * thread; on an in-memory database and on a file in WAL mode. Each configuration ({@link Config}) has
 * its own database, loaded the same way.
 *
 * <p>Method: not JMH, because the comparison has to be interleaved and JMH's {@code @Threads} cannot make
 * virtual threads. For each cell (workload, threads, database) every configuration runs one untimed
 * warm-up slice, then {@code rounds} rounds in which every configuration runs one timed slice, the
 * order rotated each round. A slice starts N caller threads (platform, or virtual for 64), releases them
 * together, lets each run operations back to back until a stop flag is set after {@code slice} seconds,
 * and divides the operations all threads completed by the time from the release until the last thread
 * finished its last operation. Every select checks the row it got; every insert checks it changed one
 * row, and after each slice the rows in {@code log} must have grown by exactly the inserts counted.
 * Ratios are medians over rounds of the per-round ratio, so each compares slices run seconds apart.
 *
 * <p>Pinning: after the timed cells of each database, a JFR recording with {@code jdk.VirtualThreadPinned}
 * at threshold 0 runs while each configuration does selects and inserts from 64 virtual threads; the
 * events are counted per configuration.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar io.ferry.bench.sqlite.SqliteBench \
 *       [--quick] [--md FILE] [--json FILE] [--dir DBDIR] [--jfr-dir DIR] [--command TEXT]
 *       [--rounds N] [--slice SECONDS] [--warmup SECONDS] [--pin SECONDS] [--only SUBSTRING]
 *       [--configs ferry,ferry_ctx,ferry_spin,ferry_lowcpu,jdbc_shared,jdbc_thread,ffm_lock]
 *       [--wait-quiet SECONDS] [--quiet-limit CPUS] [--max-reruns N]
 * </pre>
 */
public final class SqliteBench {
    static final int MAX_THREADS = 64;
    static final int BATCH_ROWS = 1_000;

    enum Kind {
        MEMORY("memory"), WAL("file WAL");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    enum Workload {
        SELECT("point select"), INSERT("insert"), BATCH("batch insert 1,000 rows");

        final String label;

        Workload(String label) {
            this.label = label;
        }
    }

    /** The engine thread's nice value in the 'ferry nice' configuration. */
    static final int NICE = -10;

    enum Config {
        FERRY("ferry", "Ferry, every thread in the systemic context (one connection on the engine thread)"),
        FERRY_NICE("ferry nice", "Ferry as 'ferry' with the engine thread at nice " + NICE
                + " (`EngineBuilder.engineNice(" + NICE + ")`: the scheduler favours the engine thread over the "
                + "callers; lowering a nice value needs CAP_SYS_NICE or a matching RLIMIT_NICE)"),
        FERRY_CTX("ferry ctx", "Ferry, a child context per thread (a connection each, all on the engine thread)"),
        JDBC_SHARED("jdbc shared", "sqlite-jdbc, one connection shared by all threads under synchronized"),
        JDBC_THREAD("jdbc per-thread", "sqlite-jdbc, one connection per thread (WAL + busy_timeout=5000 on "
                + "file; a named shared-cache in-memory database in memory)"),
        FERRY_SPIN("ferry spin", "Ferry as 'ferry' with WaitPolicy.LOWEST_LATENCY (callers spin up to 10 ms)"),
        FERRY_LOWCPU("ferry lowcpu", "Ferry as 'ferry' with WaitPolicy.LOWEST_CPU (callers park after 1 us)"),
        FFM_LOCK("ffm + lock", "floor: the libsqlite3 calls made directly through FFM on the caller's thread, "
                + "one NOMUTEX connection under a ReentrantLock");

        final String label;
        final String description;

        Config(String label, String description) {
            this.label = label;
            this.description = description;
        }

        SqlTarget open(Path file) throws Throwable {
            return switch (this) {
                case FERRY -> new FerryTarget(false, file, WaitPolicy.BALANCED, null);
                case FERRY_NICE -> new FerryTarget(false, file, WaitPolicy.BALANCED, NICE);
                case FERRY_CTX -> new FerryTarget(true, file, WaitPolicy.BALANCED, null);
                case FERRY_SPIN -> new FerryTarget(false, file, WaitPolicy.LOWEST_LATENCY, null);
                case FERRY_LOWCPU -> new FerryTarget(false, file, WaitPolicy.LOWEST_CPU, null);
                case JDBC_SHARED -> new JdbcTarget(true, file);
                case JDBC_THREAD -> new JdbcTarget(false, file);
                case FFM_LOCK -> new FfmTarget(file);
            };
        }
    }

    record Cell(Workload workload, int threads, Kind kind) {
        boolean virtual() {
            return threads == MAX_THREADS;
        }

        String threadsLabel() {
            return threads + (virtual() ? " virtual" : " platform");
        }

        String label() {
            return workload.label + ", " + threadsLabel() + ", " + kind.label;
        }
    }

    record Sample(Cell cell, Config config, int round, long ops, long errors, double seconds, double steal,
            double others, boolean disturbed) {
        double opsPerSec() {
            return ops / seconds;
        }
    }

    record Pinning(Kind kind, Config config, long ops, long events, Map<String, Long> topFrames) {
    }

    // ---- options -----------------------------------------------------------------------------------

    private boolean quick;
    private int rounds = -1;
    private double slice = -1, warmup = -1, pin = -1;
    private Path md, json;
    private Path dir = Path.of("target/sqlite-db");
    private Path jfrDir = Path.of("target/sqlite-jfr");
    private String command = "";
    private String only;
    private Config[] configs = {Config.FERRY, Config.FERRY_NICE, Config.FERRY_CTX, Config.JDBC_SHARED,
        Config.JDBC_THREAD, Config.FFM_LOCK};
    /** Why the 'ferry nice' configuration did not run, or null. */
    private String niceSkipped;

    private final List<Sample> samples = new ArrayList<>();
    private final List<Pinning> pinnings = new ArrayList<>();
    private final Map<String, String> pragmas = new LinkedHashMap<>();
    private final Map<String, String> urls = new LinkedHashMap<>();
    private long seq;
    private double quietLimit = 0.10;
    private int waitQuiet = 120;
    private String quietNote = "";
    private int rerunRounds, disturbedKept;
    private int maxReruns = -1;

    /**
     * CPU time in ticks: the machine's busy (user, nice, system) and total time from /proc/stat, its steal,
     * and each process's utime + stime from /proc/PID/stat (this process under {@link #SELF}).
     */
    record Ticks(long busy, long total, long steal, Map<Long, Long> processes) {
    }

    private static final long SELF = ProcessHandle.current().pid();

    private static Ticks ticks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]);
            long total = 0;
            for (int i = 1; i <= 8; i++) {
                total += Long.parseLong(f[i]);
            }
            Map<Long, Long> processes = new java.util.HashMap<>();
            try (var dirs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
                for (Path d : dirs) {
                    try {
                        String stat = Files.readString(d.resolve("stat"));
                        String[] g = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        processes.put(Long.parseLong(d.getFileName().toString()),
                                Long.parseLong(g[11]) + Long.parseLong(g[12])); // utime, stime (fields 14, 15)
                    } catch (IOException | RuntimeException gone) {
                        // the process ended meanwhile
                    }
                }
            }
            return new Ticks(busy, total, Long.parseLong(f[8]), processes);
        } catch (IOException | RuntimeException e) {
            return new Ticks(0, 0, 0, Map.of());
        }
    }

    /**
     * CPUs' worth of time other processes used between two {@link #ticks()}: what the processes other than
     * this one used (all of it for one that started meanwhile), plus the machine's busy time that no live
     * process accounts for (processes that ended meanwhile) beyond 0.15 CPUs. The machine-wide and the
     * per-process counts disagree by up to ~0.15 CPUs while this process wakes threads at a high rate, so
     * the difference alone would count some of our own work as someone else's.
     */
    private static double others(Ticks a, Ticks b) {
        double perCpu = (double) (b.total() - a.total()) / CPUS;
        if (perCpu <= 0) {
            return 0;
        }
        long others = 0, all = 0;
        for (Map.Entry<Long, Long> e : b.processes().entrySet()) {
            long d = e.getValue() - a.processes().getOrDefault(e.getKey(), 0L);
            all += d;
            if (e.getKey() != SELF) {
                others += Math.max(0, d);
            }
        }
        double unaccounted = (b.busy() - a.busy() - all) / perCpu;
        return others / perCpu + Math.max(0, unaccounted - 0.15);
    }

    private static double stealOf(Ticks a, Ticks b) {
        long total = b.total() - a.total();
        return total <= 0 ? 0 : (double) (b.steal() - a.steal()) / total;
    }

    private static final int CPUS = Runtime.getRuntime().availableProcessors();

    /**
     * Waits until other processes use less than quietLimit CPUs for 3 s in a row, at most maxSeconds;
     * returns false if they did not.
     */
    private boolean waitQuiet(int maxSeconds) throws InterruptedException {
        long start = System.nanoTime();
        int quietSeconds = 0;
        double last = 0;
        while (quietSeconds < 3) {
            if (System.nanoTime() - start > maxSeconds * 1_000_000_000L) {
                System.out.printf("  the machine did not quieten down within %d s (other processes used %.2f CPUs)%n",
                        maxSeconds, last);
                return false;
            }
            Ticks a = ticks();
            Thread.sleep(1000);
            last = others(a, ticks());
            quietSeconds = last < quietLimit ? quietSeconds + 1 : 0;
        }
        System.out.printf("  machine quiet after %.0f s%n", (System.nanoTime() - start) / 1e9);
        return true;
    }

    public static void main(String[] args) throws Throwable {
        SqliteBench b = new SqliteBench();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> b.quick = true;
                case "--md" -> b.md = Path.of(args[++i]);
                case "--json" -> b.json = Path.of(args[++i]);
                case "--dir" -> b.dir = Path.of(args[++i]);
                case "--jfr-dir" -> b.jfrDir = Path.of(args[++i]);
                case "--command" -> b.command = args[++i];
                case "--rounds" -> b.rounds = Integer.parseInt(args[++i]);
                case "--slice" -> b.slice = Double.parseDouble(args[++i]);
                case "--warmup" -> b.warmup = Double.parseDouble(args[++i]);
                case "--pin" -> b.pin = Double.parseDouble(args[++i]);
                case "--only" -> b.only = args[++i];
                case "--wait-quiet" -> b.waitQuiet = Integer.parseInt(args[++i]);
                case "--max-reruns" -> b.maxReruns = Integer.parseInt(args[++i]);
                case "--quiet-limit" -> b.quietLimit = Double.parseDouble(args[++i]);
                case "--configs" -> b.configs = Arrays.stream(args[++i].split(","))
                        .map(c -> Config.valueOf(c.trim().toUpperCase(Locale.ROOT))).toArray(Config[]::new);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (b.maxReruns < 0) {
            b.maxReruns = b.quick ? 1 : 2;
        }
        if (b.rounds < 0) {
            b.rounds = b.quick ? 3 : 5;
        }
        if (b.slice < 0) {
            b.slice = b.quick ? 0.25 : 1.0;
        }
        if (b.warmup < 0) {
            b.warmup = b.quick ? 0.15 : 0.5;
        }
        if (b.pin < 0) {
            b.pin = b.quick ? 0.25 : 1.0;
        }
        b.run();
    }

    private void run() throws Throwable {
        long t0 = System.nanoTime();
        if (Arrays.asList(configs).contains(Config.FERRY_NICE)) {
            try {
                Engine.builder().engineNice(NICE).start().close(); // refused here if the privilege is missing
            } catch (EngineStartException e) {
                niceSkipped = e.getMessage();
                configs = Arrays.stream(configs).filter(c -> c != Config.FERRY_NICE).toArray(Config[]::new);
                System.out.println("sqlite-bench: skipping 'ferry nice': " + niceSkipped);
            }
        }
        String load0 = loadavg();
        Ticks cpu0 = ticks();
        Files.createDirectories(dir);
        Files.createDirectories(jfrDir);
        try (var old = Files.newDirectoryStream(jfrDir, "pinned-*.jfr")) {
            for (Path f : old) {
                Files.delete(f);
            }
        }
        if (!waitQuiet(waitQuiet)) {
            quietNote = "The machine was not quiet at the start (waited " + waitQuiet + " s); the run went ahead anyway.";
        }
        for (Kind kind : Kind.values()) {
            runKind(kind);
        }
        Ticks cpu1 = ticks();
        double wall = (System.nanoTime() - t0) / 1e9;
        String report = report(wall, load0, loadavg(), stealOf(cpu0, cpu1), others(cpu0, cpu1));
        System.out.println();
        System.out.println(report);
        if (md != null) {
            Files.writeString(md, report);
            System.out.println("wrote " + md);
        }
        if (json != null) {
            Files.writeString(json, json(wall));
            System.out.println("wrote " + json);
        }
    }

    private void runKind(Kind kind) throws Throwable {
        List<Cell> cells = new ArrayList<>();
        for (Workload w : Workload.values()) {
            for (int threads : w == Workload.BATCH ? new int[] {1} : new int[] {1, 8, MAX_THREADS}) {
                Cell c = new Cell(w, threads, kind);
                if (only == null || c.label().contains(only)) {
                    cells.add(c);
                }
            }
        }
        if (cells.isEmpty()) {
            return;
        }
        Map<Config, SqlTarget> targets = new LinkedHashMap<>();
        try {
            for (Config c : configs) {
                Path file = null;
                if (kind == Kind.WAL) {
                    file = dir.resolve(c.name().toLowerCase(Locale.ROOT) + ".db").toAbsolutePath();
                    for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
                        Files.deleteIfExists(Path.of(file + suffix));
                    }
                }
                SqlTarget t = c.open(file);
                targets.put(c, t);
                pragmas.put(kind.label + " / " + c.label, t.pragmas());
                if (t instanceof JdbcTarget j) {
                    urls.put(kind.label + " / " + c.label, j.url());
                }
            }
            System.out.printf("%n== %s: %s%n", kind.label, pragmas.entrySet().stream()
                    .filter(e -> e.getKey().startsWith(kind.label)).map(e -> e.getKey().substring(kind.label.length() + 3)
                            + ": " + e.getValue()).toList());
            // JIT warm-up of every path before any timed slice.
            for (Config c : configs) {
                for (Workload w : Workload.values()) {
                    slice(targets.get(c), new Cell(w, 1, kind), warmup);
                }
                slice(targets.get(c), new Cell(Workload.SELECT, 8, kind), warmup);
            }
            for (Cell cell : cells) {
                for (Config c : configs) {
                    slice(targets.get(c), cell, warmup);
                }
                Config[] all = configs;
                int reruns = 0;
                for (int r = 0; r < rounds; r++) {
                    List<Sample> round = new ArrayList<>();
                    boolean disturbed = false;
                    for (int i = 0; i < all.length; i++) {
                        Config c = all[(i + r) % all.length];
                        Ticks t0 = ticks();
                        long[] res = slice(targets.get(c), cell, slice);
                        Ticks t1 = ticks();
                        double others = others(t0, t1);
                        disturbed |= others >= quietLimit;
                        round.add(new Sample(cell, c, r, res[0], res[1], res[2] / 1e9, stealOf(t0, t1), others,
                                others >= quietLimit));
                    }
                    if (disturbed && reruns < maxReruns) {
                        // Another process took CPU during this round: run the round again (at most maxReruns times
                        // per row group); the ratios compare configurations only within a round.
                        reruns++;
                        rerunRounds++;
                        System.out.printf("  round %d disturbed by other processes (%s); running it again%n", r,
                                round.stream().map(x -> String.format("%.2f", x.others())).toList());
                        waitQuiet(quick ? 15 : 60);
                        r--;
                        continue;
                    }
                    if (disturbed) {
                        disturbedKept++;
                        // Kept after maxReruns: every sample of the round is marked, and the table counts them.
                        round.replaceAll(x -> new Sample(x.cell(), x.config(), x.round(), x.ops(), x.errors(), x.seconds(),
                                x.steal(), x.others(), true));
                    }
                    samples.addAll(round);
                }
                StringBuilder line = new StringBuilder(String.format("%-48s", cell.label()));
                for (Config c : configs) {
                    line.append(String.format("  %s %s", c.label, fmt(median(opsPerSec(cell, c)))));
                }
                System.out.println(line);
            }
            if (cells.stream().anyMatch(Cell::virtual)) {
                for (Config c : configs) {
                    pinnings.add(pinning(kind, c, targets.get(c)));
                }
            }
        } finally {
            for (SqlTarget t : targets.values()) {
                t.close();
            }
        }
    }

    // ---- one slice ---------------------------------------------------------------------------------

    private static final class Stop {
        volatile boolean stop;
    }

    /** Runs {@code cell} on {@code target} for {@code seconds}; returns {ops, errors, nanos}. */
    private long[] slice(SqlTarget target, Cell cell, double seconds) throws Throwable {
        int n = cell.threads();
        SqlTarget.Worker[] workers = new SqlTarget.Worker[n];
        for (int t = 0; t < n; t++) {
            workers[t] = target.worker(t);
        }
        boolean writes = cell.workload() != Workload.SELECT;
        long before = writes ? target.logRows() : 0;
        Stop stop = new Stop();
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        long[] ops = new long[n], errors = new long[n], ends = new long[n];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[n];
        long seqBase = seq;
        seq += 1L << 32;
        for (int t = 0; t < n; t++) {
            final int tid = t;
            Runnable body = () -> {
                SqlTarget.Worker w = workers[tid];
                SplittableRandom rnd = new SplittableRandom(seqBase + tid);
                long done = 0, failed = 0, s = seqBase + ((long) tid << 24);
                ready.countDown();
                try {
                    go.await();
                    while (!stop.stop) {
                        try {
                            switch (cell.workload()) {
                                case SELECT -> w.select(1 + rnd.nextInt(SqlTarget.ROWS));
                                case INSERT -> w.insert(tid, s++);
                                case BATCH -> {
                                    w.batch(tid, s, BATCH_ROWS);
                                    s += BATCH_ROWS;
                                }
                            }
                            done++;
                        } catch (SQLException | SqliteException e) {
                            // SQLITE_BUSY / SQLITE_LOCKED and the like: counted, reported, not an operation.
                            if (failed++ == 0) {
                                System.err.println("  " + cell.label() + ": " + e);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    stop.stop = true;
                }
                ops[tid] = done;
                errors[tid] = failed;
                ends[tid] = System.nanoTime();
            };
            threads[t] = cell.virtual() ? Thread.ofVirtual().name("bench-v" + t).unstarted(body)
                    : Thread.ofPlatform().daemon().name("bench-p" + t).unstarted(body);
            threads[t].start();
        }
        ready.await();
        long start = System.nanoTime();
        go.countDown();
        Thread.sleep(Duration.ofNanos((long) (seconds * 1e9)));
        stop.stop = true;
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException(cell.label() + " on " + target.getClass().getSimpleName() + " failed",
                    failure.get());
        }
        long total = Arrays.stream(ops).sum();
        long end = Arrays.stream(ends).max().orElseThrow();
        if (writes) {
            long expected = total * (cell.workload() == Workload.BATCH ? BATCH_ROWS : 1);
            long grown = target.logRows() - before;
            if (grown != expected) {
                throw new AssertionError(cell.label() + ": log grew by " + grown + " rows, " + expected + " counted");
            }
        }
        return new long[] {total, Arrays.stream(errors).sum(), end - start};
    }

    private Pinning pinning(Kind kind, Config c, SqlTarget target) throws Throwable {
        Path file = jfrDir.resolve("pinned-" + (kind == Kind.MEMORY ? "memory" : "wal") + "-"
                + c.name().toLowerCase(Locale.ROOT) + ".jfr");
        long ops = 0;
        try (Recording rec = new Recording()) {
            rec.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
            rec.start();
            ops += slice(target, new Cell(Workload.SELECT, MAX_THREADS, kind), pin)[0];
            ops += slice(target, new Cell(Workload.INSERT, MAX_THREADS, kind), pin)[0];
            rec.stop();
            rec.dump(file);
        }
        long events = 0;
        Map<String, Long> frames = new LinkedHashMap<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            if (!e.getEventType().getName().equals("jdk.VirtualThreadPinned")) {
                continue;
            }
            events++;
            String top = "?";
            if (e.getStackTrace() != null) {
                for (RecordedFrame f : e.getStackTrace().getFrames()) {
                    String m = f.getMethod().getType().getName() + "." + f.getMethod().getName();
                    if (!m.startsWith("java.") && !m.startsWith("jdk.")) {
                        top = m;
                        break;
                    }
                }
            }
            frames.merge(top, 1L, Long::sum);
        }
        System.out.printf("  pinning %s / %s: %d jdk.VirtualThreadPinned events in %,d operations (%s)%n",
                kind.label, c.label, events, ops, file);
        return new Pinning(kind, c, ops, events, frames);
    }

    // ---- statistics --------------------------------------------------------------------------------

    private List<Sample> of(Cell cell, Config c) {
        return samples.stream().filter(s -> s.cell().equals(cell) && s.config() == c).toList();
    }

    private double[] opsPerSec(Cell cell, Config c) {
        return of(cell, c).stream().mapToDouble(Sample::opsPerSec).toArray();
    }

    /** The median over rounds of this round's {@code c} over this round's {@code base}. */
    private double ratio(Cell cell, Config c, Config base) {
        List<Sample> a = of(cell, c), b = of(cell, base);
        double[] r = new double[Math.min(a.size(), b.size())];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).opsPerSec() / b.get(i).opsPerSec();
        }
        return median(r);
    }

    /** A ratio for the targets table: "2.05x", or "n/a" when a configuration did not run. */
    private static String times(double ratio) {
        return Double.isNaN(ratio) ? "n/a" : String.format(Locale.ROOT, "%.2fx", ratio);
    }

    /** Per round: c over the better of the two sqlite-jdbc configurations in that round; the median. */
    private double ratioBestJdbc(Cell cell, Config c) {
        List<Sample> a = of(cell, c), s = of(cell, Config.JDBC_SHARED), t = of(cell, Config.JDBC_THREAD);
        double[] r = new double[Math.min(a.size(), Math.min(s.size(), t.size()))];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).opsPerSec() / Math.max(s.get(i).opsPerSec(), t.get(i).opsPerSec());
        }
        return median(r);
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    // ---- report ------------------------------------------------------------------------------------

    private List<Cell> cells() {
        List<Cell> out = new ArrayList<>();
        for (Sample s : samples) {
            if (!out.contains(s.cell())) {
                out.add(s.cell());
            }
        }
        return out;
    }

    private String report(double wall, String load0, String load1, double steal, double others) throws Throwable {
        StringBuilder o = new StringBuilder();
        o.append("# SQLite from many Java threads: Ferry against sqlite-jdbc\n\n");
        o.append("Date: ").append(LocalDate.now()).append(". Mode: ").append(quick ? "quick" : "full").append(". ")
                .append(String.format("Run time %.0f s; load average %s at the start, %s at the end; CPU steal %.1f%%; "
                        + "other processes used %.2f CPUs on average.", wall, load0, load1, steal * 100, others));
        o.append(String.format(" Rounds disturbed by other processes (>= %.2f CPUs during a slice): %d run again, %d kept. "
                + "%s%n%n", quietLimit, rerunRounds, disturbedKept, quietNote));
        o.append("- JDK: ").append(System.getProperty("java.vm.vendor")).append(' ')
                .append(System.getProperty("java.vm.name")).append(' ').append(Runtime.version()).append(" (")
                .append(System.getProperty("java.home")).append(")\n");
        o.append("- Machine: ").append(Runtime.getRuntime().availableProcessors()).append(" vCPUs, ").append(cpuModel())
                .append('\n');
        o.append("- SQLite: Ferry and the FFM floor use the system libsqlite3 ").append(FfmTarget.libVersion())
                .append("; sqlite-jdbc ").append(jdbcDriverVersion()).append(" bundles SQLite ")
                .append(JdbcTarget.version()).append('\n');
        o.append("- Command: `").append(command.isEmpty() ? "java ... io.ferry.bench.sqlite.SqliteBench" : command)
                .append("`\n");
        o.append(String.format("- Method: for each row group, every configuration runs one %.1f s warm-up slice, then "
                + "%d rounds of one %.1f s timed slice each, the order rotated every round. ops/s is the median over "
                + "rounds; the ratios are medians of the per-round ratios (slices seconds apart). Caller threads run "
                + "operations back to back; 64 threads are virtual threads, 1 and 8 are platform threads. Every select "
                + "checks its row; every insert checks it changed one row and the table is recounted after each slice. "
                + "Own harness (io.ferry.bench.sqlite.SqliteBench), not JMH: JMH cannot interleave the configurations "
                + "or make virtual threads.%n", warmup, rounds, slice));
        o.append("- Data: `kv(id INTEGER PRIMARY KEY, name TEXT, val INTEGER)` with ").append(String.format("%,d", SqlTarget.ROWS))
                .append(" rows, select `").append(SqlTarget.SELECT).append("` with a random id; insert `")
                .append(SqlTarget.INSERT).append("` in autocommit; batch: 1,000 of those inserts in one transaction "
                        + "(Ferry `db.batch(ctx, sql, rows)`, JDBC `addBatch`/`executeBatch`/`commit`, FFM `BEGIN` .. `COMMIT`). Each "
                        + "configuration has its own database; the file databases are in `bench/target/sqlite-db/`.\n\n");
        o.append("Configurations:\n\n");
        for (Config c : configs) {
            o.append("- **").append(c.label).append("**: ").append(c.description).append('\n');
        }
        o.append("\nsqlite-jdbc prepares each statement once per connection and reuses it. The file databases run in WAL "
                + "mode with `synchronous=NORMAL` in every configuration: Ferry's default with WAL (the setting SQLite "
                + "recommends for WAL), set the same way on the sqlite-jdbc connections (`SQLiteConfig.setSynchronous`) "
                + "and the FFM one, so commits are equally durable everywhere. Connection settings as the connections "
                + "report them:\n\n");
        for (Map.Entry<String, String> e : pragmas.entrySet()) {
            o.append("- ").append(e.getKey()).append(": ").append(e.getValue());
            if (urls.containsKey(e.getKey())) {
                o.append(" (`").append(urls.get(e.getKey())).append("`)");
            }
            o.append('\n');
        }

        o.append("\n## Targets\n\n");
        o.append("Ferry's point-select throughput over sqlite-jdbc's, both measured in the same round; the median over "
                + "rounds. A target is met when Ferry (every thread in the systemic context) reaches it against both "
                + "sqlite-jdbc configurations, i.e. against the better of the two in each round. 'ferry' is Ferry "
                + "as it comes; 'ferry nice' is the same with the one opt-in setting `EngineBuilder.engineNice("
                + NICE + ")`, which needs the privilege to lower a nice value"
                + (niceSkipped == null ? " (this run had it)" : " (this run did not: " + niceSkipped + ")")
                + ". The met column says which of the two reached the target.\n\n");
        o.append("| target | db | ferry / jdbc shared | ferry / jdbc per-thread | ferry / better jdbc "
                + "| ferry nice / better jdbc | ferry ctx / better jdbc | met |\n|---|---|---:|---:|---:|---:|---:|---|\n");
        for (Kind kind : Kind.values()) {
            for (int threads : new int[] {1, 8, MAX_THREADS}) {
                Cell cell = new Cell(Workload.SELECT, threads, kind);
                if (of(cell, Config.FERRY).isEmpty()) {
                    continue;
                }
                double goal = threads == 1 ? 1.0 : 2.0;
                double f = ratioBestJdbc(cell, Config.FERRY), fc = ratioBestJdbc(cell, Config.FERRY_CTX);
                double fn = ratioBestJdbc(cell, Config.FERRY_NICE);
                String met = f >= goal ? "yes"
                        : fn >= goal ? String.format(Locale.ROOT, "with engine nice %d (as it comes: %.0f%% short)", NICE,
                                (1 - f / goal) * 100)
                        : fc >= goal ? "with ctx only"
                        : String.format(Locale.ROOT, "no: %.0f%% short", (1 - f / goal) * 100)
                                + (Double.isNaN(fn) ? "" : String.format(Locale.ROOT, ", with engine nice %d %.0f%% short",
                                        NICE, (1 - fn / goal) * 100));
                o.append(String.format(Locale.ROOT, "| point select, %s: >= %.0fx | %s | %s | %s | %s | %s | %s | %s |%n",
                        cell.threadsLabel(), goal, kind.label, times(ratio(cell, Config.FERRY, Config.JDBC_SHARED)),
                        times(ratio(cell, Config.FERRY, Config.JDBC_THREAD)), times(f), times(fn), times(fc), met));
            }
        }
        o.append("\n## Results\n\n");
        o.append("ops/s: operations per second over all threads (batch: batches of 1,000 rows per second), median of "
                + rounds + " rounds, [min, max]. x jdbc: the median of the per-round ratios. errors: failed operations "
                + "(SQLITE_BUSY, SQLITE_LOCKED), not counted as operations. noisy: rounds kept although other processes "
                + "used CPU during them (after " + maxReruns + " re-runs).\n\n");
        o.append("| workload | threads | db | config | ops/s | range | x jdbc shared | x jdbc per-thread | errors | noisy |\n");
        o.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (Cell cell : cells()) {
            for (Config c : Config.values()) {
                double[] v = opsPerSec(cell, c);
                if (v.length == 0) {
                    continue;
                }
                long errors = of(cell, c).stream().mapToLong(Sample::errors).sum();
                long noisy = of(cell, c).stream().filter(Sample::disturbed).count();
                o.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s - %s | %.2f | %.2f | %s | %s |%n",
                        cell.workload().label,
                        cell.threadsLabel(), cell.kind().label, c.label, fmt(median(v)),
                        fmt(Arrays.stream(v).min().orElse(0)), fmt(Arrays.stream(v).max().orElse(0)),
                        ratio(cell, c, Config.JDBC_SHARED), ratio(cell, c, Config.JDBC_THREAD),
                        errors == 0 ? "" : String.valueOf(errors), noisy == 0 ? "" : String.valueOf(noisy)));
            }
        }
        if (!pinnings.isEmpty()) {
            o.append("\n## Virtual-thread pinning\n\n");
            o.append(String.format(Locale.ROOT, "JFR `jdk.VirtualThreadPinned` (threshold 0, so every event) recorded while 64 virtual "
                    + "threads ran %.2f s of point selects then %.2f s of inserts; one recording per configuration, kept "
                    + "as `bench/target/sqlite-jfr/pinned-<db>-<config>.jfr` (`jfr print --events "
                    + "jdk.VirtualThreadPinned FILE`).%n%n", pin, pin));
            o.append("| db | config | operations | pinned events | where (first non-JDK frame) |\n|---|---|---:|---:|---|\n");
            for (Pinning p : pinnings) {
                o.append(String.format("| %s | %s | %,d | %d | %s |%n", p.kind().label, p.config().label, p.ops(),
                        p.events(), p.topFrames().isEmpty() ? "" : p.topFrames().toString()));
            }
        }
        o.append(WHY);
        return o.toString();
    }

    /** What the profiles showed; dated, since it describes the call path as it was then. */
    private static final String WHY = """

            ## Where the time goes (profiled 2026-11-21, same VM)

            `perf record` of the JVM (with `-XX:+DumpPerfMapAtExit`), a C microbenchmark of the same select on \
            the system libsqlite3 (CPU time per select), `strace -c`, and the quick runs of this harness.

            What a point select cost before the changes of 2026-11-21, and what was done about it:

            - **Per call, on both sides: allocations and copies.** The caller built a `Statement` (copied \
            lists), encoded it through a `ByteArrayOutputStream` (the SQL re-encoded each time), copied it \
            into `malloc`'d native memory; the engine `calloc`'d the parameters, `malloc`'d and grew the \
            result, freed the input (allocated on another thread: glibc takes an arena lock); the caller \
            copied the result into a `byte[]`, freed it natively and decoded it with new column-name \
            Strings. Now a call without a timeout writes the statement into a pooled *channel* (native \
            memory the engine made and reads in place, `sqlite.run`), the engine writes the result over \
            it, and the caller decodes it from there: no native allocation on either side, two numbers \
            through the ring. The SQL's UTF-8 bytes and the column names are cached per SQL text; the \
            engine finds the prepared statement by a hash and binds plain `?`s by index.
            - **SQLite's own overhead in Debian's build.** libsqlite3 3.40.1 is built with `OMIT_LOOKASIDE` \
            and with allocation statistics on, so a select makes several `malloc`s each under a \
            process-wide mutex (`pragma compile_options`; sqlite-jdbc's build has `DEFAULT_MEMSTATUS=0` \
            and lookaside). The engine turns the statistics off before SQLite initialises: ~40 of ~500 ns \
            per select in the C microbenchmark. Lookaside cannot be turned on at run time.
            - **A transaction per select.** An autocommit select locks and unlocks the database around \
            itself: 505 ns per select in memory against 316 ns inside one transaction (C microbenchmark). \
            On an in-memory database, which only the engine's connections can reach, a connection's \
            consecutive queries now share one read transaction, committed before anything else runs on any \
            connection (each query still sees every earlier write).
            - **WAL: two `fcntl` per select.** In WAL mode every read transaction takes and drops a POSIX lock \
            on a read mark of the WAL index (`strace -c`: 2 `fcntl` per select; 1,991 ns per select against \
            542 ns when another connection of the process holds that lock, which SQLite counts and then \
            skips the system call for). sqlite-jdbc's per-thread connections overlap their reads and so \
            mostly skip it; Ferry ran its connections' reads one after another. Now an *anchor* connection \
            holds a read transaction while queries keep coming (renewed every millisecond, let go before any \
            write and after a millisecond without a query); each query still opens its own transaction and \
            sees every commit before it.
            - **Batches** carried the SQL text, a parameter list and a statement record per row; \
            `db.batch(ctx, sql, rows)` sends the SQL once and a row of values per insert.

            What is left, from the profiles of the new code:

            - **1 thread.** A point select takes ~0.7 us end to end in memory: ~0.5 us of engine work (~0.33 \
            libsqlite3, ~0.07 the engine's op, the rest the ring and libc), ~0.07 us of Java work, and two \
            cache-line hand-offs between the vCPUs. The FFM floor does the select in ~0.5 us on one thread.
            - **8 platform threads.** The engine is idle ~60% of its time, waiting for calls, while the callers \
            spend ~80% of theirs spinning in `EngineCore` for results (their own encode and decode: ~5%). \
            Eight callers share the one vCPU the engine leaves them; a spinning caller keeps the caller that \
            would submit the next call off it. Yielding sooner (a quick experiment: `Thread.yield` from the \
            first clock check, after 64 polls, instead of after 5 us) made it worse, 1.1-1.4M down to \
            ~0.73M: each yield is a system call and a context switch. \
            So the engine, which could do ~2M selects/s, gets ~1.2M.
            - **64 virtual threads.** Until 2026-11-21 a virtual thread spun 2 us and then polled between \
            `Thread.yield`s up to its 20 us budget: both carrier threads stayed busy polling on both vCPUs, \
            so the engine thread got about a third of the machine (0.52 CPUs, 0.74 us of engine CPU per \
            select; carriers 1.3 CPUs, ~1.8 us per select). Now a virtual thread parks at once when more \
            than two calls ahead of its own have not started (stats.started), spins ~0.5 us per call ahead \
            + 1 us otherwise, and keeps the old wait only when the engine's calls are long (stats.call_ns, \
            the engine's CPU time per call, >= 5 us: WAL inserts, where parking at once cost ~20%: idle \
            carriers fall asleep and each wake upcall then pays a futex wake). Quick A/Bs against the old \
            wait: 64 virtual threads in memory 0.69-0.74M -> 0.77-0.86M selects/s (1 s slices; single \
            rounds from 0.4M to 1.6M), on the WAL file 0.34-0.50M -> 0.63-0.89M; inserts in memory \
            0.34-0.35M -> 0.46-0.63M (one run in five at the old 0.33M), on the WAL file about the same, \
            89-97k -> 90-106k; 1 and 8 platform threads unchanged. What still holds it back is the second carrier: each carrier that runs out of \
            virtual threads parks (~20k times/s), the engine's next wake upcall wakes it with a futex \
            (`ForkJoinPool.signalWork`), and the woken carrier preempts the engine (the engine's \
            involuntary context switches match the carriers' sleeps one for one); the rounds split into \
            good ones (engine ~0.95 CPUs, ~1.2-1.6M) and bad ones (engine ~0.6 CPUs, ~0.6-0.8M) by where \
            the scheduler puts the carriers. With `-Djdk.virtualThreadScheduler.parallelism=1` (one carrier, \
            leaving the engine a vCPU) the same code does 1.46-1.50M in every round (the old wait: \
            ~1.0-1.1M); pinning the engine thread alone to a vCPU does not help. Ferry cannot set the \
            scheduler's parallelism for its users, and the engine's wake path (upcall, unpark, \
            `submitRunContinuation`) is ~15% of its CPU time when it keeps up.
            - **64 virtual threads, what works: favour the engine thread.** Reniced from outside while the \
            quick run went (64 virtual threads, in memory, medians of 5 one-second rounds): nice -5 1.13M, \
            -10 1.35-1.50M, -19 1.49M selects/s, against 0.40-0.76M at nice 0 in the runs between them; \
            on the WAL file -10 gave 0.86-1.01M. The scheduler then leaves the engine its vCPU and the two \
            carriers share the other, as with one carrier. This is the opt-in \
            `EngineBuilder.engineNice(int)` ('ferry nice' above). Ferry does not do it by default: lowering \
            a nice value needs CAP_SYS_NICE, and it is the user's call to favour one thread over the rest. \
            Tried and not kept: a virtual thread that parks instead of spinning while virtual threads the \
            engine woke still wait for a carrier (a profile showed carriers spinning ~35% of their time on \
            calls at the head of the queue meanwhile). Their spinning fell to ~2%, but 4 alternating quick \
            runs each did not move beyond the noise.
            - **8 and 64 threads on the WAL file** are held to the one engine thread: sqlite-jdbc's \
            per-thread connections read in parallel on both vCPUs (WAL readers never wait for each other), \
            ~1.4-1.6M selects/s. One engine thread tops out near ~1.2M.
            - **The ring's wake-up policy (core, not SQLite).** Core commit d4d2528 (undone by 5c1230e) made \
            the engine yield its CPU once after every batch of calls in which it woke a parked caller. With 64 \
            virtual threads most calls park, so the engine yielded on nearly every batch and lost its vCPU to \
            the carriers. Quick runs of the same SQLite code on the core without and with it (same VM, \
            minutes apart): 64 virtual threads in memory 691k and 123k selects/s, on the WAL file 367k and \
            115k; 8 platform threads 1.36M and 0.63M, and 1.02M and 0.53M. The run above is on the core \
            without it.
            - **Neighbours.** With another CPU-bound process on this VM, Ferry's 1-thread select falls to \
            tens of thousands per second (the caller ends up parking and being woken for every call) while \
            sqlite-jdbc, which runs SQLite on the caller's own thread, loses far less. Hence the wait for a \
            quiet machine and the re-run of disturbed rounds.

            File inserts: every configuration runs WAL with `synchronous=NORMAL` (Ferry's default with WAL, \
            set the same on the others), so a commit writes the WAL without an fsync. No configuration pinned a \
            carrier on JDK 25 (where `synchronized` no longer pins a virtual thread).
            """;

    private static String jdbcDriverVersion() {
        try {
            return new org.sqlite.JDBC().getMajorVersion() + "." + new org.sqlite.JDBC().getMinorVersion() + " ("
                    + org.sqlite.SQLiteJDBCLoader.getVersion() + ")";
        } catch (Throwable t) {
            return "?";
        }
    }

    private String json(double wall) throws Throwable {
        StringBuilder o = new StringBuilder("{\n");
        o.append("  \"date\": \"").append(LocalDate.now()).append("\",\n");
        o.append("  \"mode\": \"").append(quick ? "quick" : "full").append("\",\n");
        o.append("  \"jdk\": \"").append(esc(System.getProperty("java.vm.name") + " " + Runtime.version())).append("\",\n");
        o.append("  \"command\": \"").append(esc(command)).append("\",\n");
        o.append("  \"sqliteSystem\": \"").append(FfmTarget.libVersion()).append("\",\n");
        o.append("  \"sqliteJdbc\": \"").append(esc(jdbcDriverVersion())).append("\",\n");
        o.append("  \"sqliteJdbcBundled\": \"").append(JdbcTarget.version()).append("\",\n");
        o.append(String.format(Locale.ROOT, "  \"rounds\": %d, \"sliceSeconds\": %.3f, \"warmupSeconds\": %.3f, "
                + "\"pinSeconds\": %.3f, \"wallSeconds\": %.1f,%n", rounds, slice, warmup, pin, wall));
        o.append("  \"pragmas\": {");
        o.append(String.join(", ", pragmas.entrySet().stream()
                .map(e -> "\"" + esc(e.getKey()) + "\": \"" + esc(e.getValue()) + "\"").toList()));
        o.append("},\n  \"samples\": [\n");
        List<String> rows = new ArrayList<>();
        for (Sample s : samples) {
            rows.add(String.format(Locale.ROOT, "    {\"workload\": \"%s\", \"threads\": %d, \"virtual\": %b, \"db\": \"%s\", "
                    + "\"config\": \"%s\", \"round\": %d, \"ops\": %d, \"errors\": %d, \"seconds\": %.6f, "
                    + "\"opsPerSec\": %.1f, \"steal\": %.4f, \"otherCpus\": %.3f, \"disturbed\": %b}",
                    s.cell().workload().name().toLowerCase(Locale.ROOT), s.cell().threads(), s.cell().virtual(),
                    s.cell().kind().name().toLowerCase(Locale.ROOT), s.config().label, s.round(), s.ops(), s.errors(),
                    s.seconds(), s.opsPerSec(), s.steal(), s.others(), s.disturbed()));
        }
        o.append(String.join(",\n", rows)).append("\n  ],\n  \"summary\": [\n");
        rows.clear();
        for (Cell cell : cells()) {
            for (Config c : Config.values()) {
                if (of(cell, c).isEmpty()) {
                    continue;
                }
                rows.add(String.format(Locale.ROOT, "    {\"workload\": \"%s\", \"threads\": %d, \"db\": \"%s\", "
                        + "\"config\": \"%s\", \"opsPerSec\": %.1f, \"xJdbcShared\": %.4f, \"xJdbcPerThread\": %.4f}",
                        cell.workload().name().toLowerCase(Locale.ROOT), cell.threads(),
                        cell.kind().name().toLowerCase(Locale.ROOT), c.label, median(opsPerSec(cell, c)),
                        ratio(cell, c, Config.JDBC_SHARED), ratio(cell, c, Config.JDBC_THREAD)));
            }
        }
        o.append(String.join(",\n", rows)).append("\n  ],\n  \"pinning\": [\n");
        rows.clear();
        for (Pinning p : pinnings) {
            rows.add(String.format(Locale.ROOT, "    {\"db\": \"%s\", \"config\": \"%s\", \"ops\": %d, \"events\": %d}",
                    p.kind().name().toLowerCase(Locale.ROOT), p.config().label, p.ops(), p.events()));
        }
        o.append(String.join(",\n", rows)).append("\n  ]\n}\n");
        return o.toString();
    }

    private static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    // ---- the machine -------------------------------------------------------------------------------

    private static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
        } catch (IOException e) {
            return "?";
        }
    }
}
