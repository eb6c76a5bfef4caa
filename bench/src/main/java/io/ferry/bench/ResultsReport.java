package io.ferry.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the JMH JSON of one run of Ferry's benchmarks into RESULTS.md (Markdown on stdout) and the chart
 * (results.svg).
 *
 * <pre>java -cp benchmarks.jar io.ferry.bench.ResultsReport results/full.json "command" "load before" jmh-seconds results.svg</pre>
 *
 * <p>Every latency figure comes with the Java ping-pong floor measured in the same cycles
 * ({@link PairedBenchmark}) and their ratio, the median over cycles. Percentiles and allocation come from
 * {@link LatencyBenchmark} (SampleTime) and calls/s from {@link ThroughputBenchmark}; those ran in their
 * own trials, so their absolute values move with the host. Rows are marked where the floor moved
 * during the trial or where other processes used the CPUs ({@link MachineProfiler}).
 */
public final class ResultsReport {
    private ResultsReport() {
    }

    /** Per-iteration floor medians spread wider than this (max / min) mark a trial "floor moved". */
    static final double FLOOR_MOVED = 1.5;
    /** Iterations where other processes used more than this many CPUs mark a trial "busy". */
    static final double BUSY_CPUS = 0.2;
    /** JMH's gc profiler attributes the harness's own background allocation to the ops; below this is 0. */
    static final double ZERO_BYTES = 0.5;

    /** Everything known about one path (one row). */
    static final class Row {
        final String key;
        final String path;
        final boolean virtual;
        String spec;
        double ns = Double.NaN;
        double floorNs = Double.NaN;
        double ratio = Double.NaN;
        double ratioLo = Double.NaN;
        double ratioHi = Double.NaN;
        double cycles;
        double p50 = Double.NaN, p99 = Double.NaN, p999 = Double.NaN, sampleMean = Double.NaN;
        double callsPerSec = Double.NaN;
        boolean callsPerSecMeasured;
        double bytes = Double.NaN;
        String bytesFrom;
        /** Whether the trial the bytes come from ran while other processes were busy. */
        boolean bytesBusy;
        /**
         * Spaced paths, per kept iteration of their paired trial: median ns and number of the calls with
         * fast and with slow wake-ups (see {@link CallPath#SLOW_WAKE_NS}); empty for other paths.
         */
        List<Double> fastNs = List.of(), fastCalls = List.of(), slowNs = List.of(), slowCalls = List.of();
        final List<String> marks = new ArrayList<>();

        Row(String path, boolean virtual) {
            this.path = path;
            this.virtual = virtual;
            this.key = key(path, virtual);
        }

        String label() {
            return virtual ? path + " (virtual thread)" : path;
        }

        boolean ferry() {
            return path.startsWith("ferry_");
        }

        boolean floor() {
            return path.endsWith("_floor") || path.startsWith("ffm_");
        }
    }

    static String key(String path, boolean virtual) {
        return virtual ? path + "@vt" : path;
    }

    /** A head-to-head ratio from one paired trial: median over cycles of b's time per call / a's. */
    record HeadToHead(String spec, String a, String b, double bOverA, double lo, double hi, double cycles) {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: ResultsReport <jmh.json> <command> [load before] [JMH run seconds] [chart.svg]");
            System.exit(2);
        }
        List<?> runs = (List<?>) new Json(Files.readString(Path.of(args[0]))).value();
        String loadBefore = args.length > 2 ? args[2] : null;
        long jmhSeconds = args.length > 3 && !args[3].isEmpty() ? Long.parseLong(args[3]) : -1;
        Path svg = args.length > 4 ? Path.of(args[4]) : null;

        Map<String, Row> rows = new LinkedHashMap<>();
        List<HeadToHead> h2h = new ArrayList<>();
        List<Double> allFloors = new ArrayList<>();
        for (Object o : runs) {
            Map<?, ?> run = (Map<?, ?>) o;
            String bench = bench(run);
            Map<?, ?> params = (Map<?, ?>) run.get("params");
            Map<?, ?> sec = (Map<?, ?>) run.get("secondaryMetrics");
            if (bench.startsWith("PairedBenchmark.")) {
                boolean virtual = bench.endsWith(".virtual");
                String spec = String.valueOf(params.get(virtual ? "vspec" : "spec"));
                String[] names = spec.split("\\+");
                // Iterations during which other processes were busy are left out when enough remain.
                List<Double> busy = raw(sec, "machine.otherCpus");
                boolean[] keep = keep(busy, raw(sec, "floorMedNs").size());
                int kept = count(keep);
                List<Double> floors = pick(raw(sec, "floorMedNs"), keep);
                if (!virtual) {
                    allFloors.addAll(floors);
                }
                for (int i = 0; i < names.length; i++) {
                    char x = (char) ('a' + i);
                    Row r = rows.computeIfAbsent(key(names[i], virtual), k -> new Row(k.replace("@vt", ""), k.endsWith("@vt")));
                    if (r.spec != null) {
                        continue; // measured in an earlier trial of this run already
                    }
                    List<Double> ratios = pick(raw(sec, x + "MedFloor"), keep);
                    r.spec = spec;
                    r.ns = median(pick(raw(sec, x + "MedNs"), keep));
                    r.floorNs = median(floors);
                    r.ratio = median(ratios);
                    r.ratioLo = min(ratios);
                    r.ratioHi = max(ratios);
                    r.cycles = sum(pick(raw(sec, "cycles"), keep));
                    r.fastNs = pick(raw(sec, x + "FastNs"), keep);
                    r.fastCalls = pick(raw(sec, x + "FastCalls"), keep);
                    r.slowNs = pick(raw(sec, x + "SlowNs"), keep);
                    r.slowCalls = pick(raw(sec, x + "SlowCalls"), keep);
                    wakeMarks(r);
                    marks(r.marks, floors, pick(busy, keep));
                    modes(r.marks, ratios, pick(raw(sec, x + "MedNs"), keep));
                    if (kept < keep.length) {
                        r.marks.add(String.format(Locale.ROOT, "%d of %d iterations left out: other processes used over %.1f CPUs",
                                keep.length - kept, keep.length, BUSY_CPUS));
                    }
                    for (int j = 0; j < i; j++) {
                        List<Double> vs = pick(raw(sec, x + "Med" + (char) ('A' + j)), keep);
                        h2h.add(new HeadToHead(spec, names[j], names[i], median(vs), min(vs), max(vs), r.cycles));
                    }
                }
            } else if (bench.startsWith("LatencyBenchmark.")) {
                boolean virtual = bench.endsWith(".virtual");
                String path = String.valueOf(params.get(bench.endsWith(".spaced") ? "spath" : virtual ? "vpath" : "path"));
                Row r = rows.computeIfAbsent(key(path, virtual), k -> new Row(path, virtual));
                Map<?, ?> pm = (Map<?, ?>) run.get("primaryMetric");
                Map<?, ?> pct = (Map<?, ?>) pm.get("scorePercentiles");
                r.sampleMean = num(pm.get("score"));
                r.p50 = num(pct.get("50.0"));
                r.p99 = num(pct.get("99.0"));
                r.p999 = num(pct.get("99.9"));
                double b = bytesPerCall(sec);
                double busy = max(raw(sec, "machine.otherCpus"));
                if (!Double.isNaN(b) && !"Throughput".equals(r.bytesFrom)) {
                    r.bytes = b;
                    r.bytesFrom = "SampleTime";
                    r.bytesBusy = busy > BUSY_CPUS;
                }
                if (busy > BUSY_CPUS) {
                    r.marks.add(String.format(Locale.ROOT, "percentiles measured while other processes used up to %.1f CPUs", busy));
                }
            } else if (bench.startsWith("ThroughputBenchmark.")) {
                boolean virtual = bench.endsWith(".virtual");
                boolean spaced = bench.endsWith(".spaced");
                String path = bench.endsWith(".pipelined") ? String.valueOf(params.get("pipe"))
                        : bench.endsWith(".sync") ? String.valueOf(params.get("sync"))
                        : virtual ? String.valueOf(params.get("vsync"))
                        : spaced ? String.valueOf(params.get("spath"))
                        : "ferry_p" + bench.substring(bench.lastIndexOf("producers") + "producers".length());
                Row r = rows.computeIfAbsent(key(path, virtual), k -> new Row(path, virtual));
                if (!spaced) { // a spaced trial's calls/s counts its idle gaps; it is there for the bytes
                    r.callsPerSec = num(((Map<?, ?>) run.get("primaryMetric")).get("score"));
                    r.callsPerSecMeasured = true;
                }
                double b = bytesPerCall(sec);
                double busy = max(raw(sec, "machine.otherCpus"));
                if (!Double.isNaN(b)) {
                    r.bytes = b;
                    r.bytesFrom = "Throughput";
                    r.bytesBusy = busy > BUSY_CPUS;
                }
                if (busy > BUSY_CPUS) {
                    r.marks.add(String.format(Locale.ROOT, "calls/s measured while other processes used up to %.1f CPUs", busy));
                }
            }
        }
        // The Java floor's own row: every floor burst of every platform trial.
        Row floor = rows.computeIfAbsent("java_floor", k -> new Row("java_floor", false));
        if (!allFloors.isEmpty()) {
            floor.ns = median(allFloors);
            floor.floorNs = floor.ns;
            floor.ratio = 1;
            floor.ratioLo = min(allFloors) / floor.ns;
            floor.ratioHi = max(allFloors) / floor.ns;
            floor.spec = "every trial";
            floor.marks.add(String.format(Locale.ROOT, "floor medians over the run's iterations: %s to %s ns",
                    ns(min(allFloors)), ns(max(allFloors))));
        }
        for (Row r : rows.values()) {
            if (!r.callsPerSecMeasured && r.ns > 0) {
                r.callsPerSec = 1e9 / r.ns;
            }
        }

        StringBuilder out = new StringBuilder();
        header(out, runs, args[0], args[1], loadBefore, jmhSeconds);
        targets(out, rows, h2h);
        List<String> single = List.of("java_floor", "c_floor", "ffm_direct", "ffm_critical", "ferry_spin", "ferry_default",
                "ferry_spin@vt", "ferry_default@vt", "ferry_parked", "ferry_nospin", "ferry_async", "jctools",
                "disruptor_spin", "disruptor_block", "executor", "cf_supply", "park_unpark");
        List<String> pipelined = List.of("ferry_batch", "ferry_async_pipelined", "jctools_pipelined");
        List<String> producers = List.of("ferry_p1", "ferry_p2", "ferry_p4", "ferry_p8", "ferry_p64");
        table(out, "One call at a time", "One caller thread makes a call and waits for its result before the next.",
                rows, single);
        table(out, "Pipelined: one producer, " + CallPath.DEPTH + " calls in flight", "Time and allocation are per call.", rows,
                pipelined);
        table(out, "Many producers at once (default preset, 2 vCPUs)", "ns/call is wall time divided by the calls of "
                + "all producers together; calls/s is JMH Throughput with that many benchmark threads.", rows, producers);
        List<String> other = new ArrayList<>(rows.keySet());
        other.removeAll(single);
        other.removeAll(pipelined);
        other.removeAll(producers);
        if (!other.isEmpty()) {
            table(out, "Other paths", "", rows, other);
        }
        headToHead(out, h2h);
        out.append(ContentionReport.section(runs));
        method(out);
        if (svg != null) {
            Files.writeString(svg, ResultsChart.svg(rows, date()));
            out.append("\n## Chart\n\n![Ferry and its peers: cost per call as a multiple of the floor measured at the same time]("
                    + svg.getFileName() + ")\n");
        }
        System.out.print(out);
    }

    // ---- sections -----------------------------------------------------------------------------------

    private static void header(StringBuilder out, List<?> runs, String json, String command, String loadBefore,
            long jmhSeconds) {
        Map<?, ?> first = (Map<?, ?>) runs.get(0);
        out.append("# Ferry benchmark results\n\n");
        out.append("- Date: ").append(date()).append('\n');
        out.append("- JDK: ").append(first.get("jdkVersion")).append(" (").append(first.get("vmName")).append(' ')
                .append(first.get("vmVersion")).append("), JMH ").append(first.get("jmhVersion")).append('\n');
        out.append("- Machine: ").append(cpu()).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" vCPUs; load average before the run ").append(loadBefore == null ? "?" : loadBefore)
                .append(", after ").append(load()).append('\n');
        out.append("- Command: `").append(command).append("`\n");
        if (jmhSeconds > 0) {
            long s = jmhSeconds;
            out.append(String.format(Locale.ROOT, "- Wall time of the JMH run: %d min %02d s (%d trials)%n", s / 60, s % 60,
                    runs.size()));
        }
        out.append("- JVM args: `").append(String.join(" ", strings(first.get("jvmArgs")))).append("`\n");
        out.append("- Raw JMH JSON: `").append(Path.of(json).getFileName()).append("` in bench/results/\n");
    }

    private static void targets(StringBuilder out, Map<String, Row> rows, List<HeadToHead> h2h) {
        out.append("\n## Targets\n\nEvery ratio below is from this run, between paths measured in the same cycles "
                + "(median over cycles; the range is the lowest and highest iteration median).\n\n");
        out.append("| what | target | measured | verdict | note |\n|---|---|---|---|---|\n");
        Row spin = rows.get("ferry_spin");
        HeadToHead spinVsJc = find(h2h, "ferry_spin", "jctools");
        if (spin != null) {
            target(out, "sync round trip, spinning preset (`ferry_spin`)", "<= 1.5x the Java ping-pong floor",
                    spin.ratio, spin.ratioLo, spin.ratioHi, "x floor", spin.ratio <= 1.5, 1.5, false);
        }
        if (spinVsJc != null) {
            target(out, "", "<= 1.0x the JCTools round trip", 1 / spinVsJc.bOverA, 1 / spinVsJc.hi, 1 / spinVsJc.lo,
                    "x JCTools", 1 / spinVsJc.bOverA <= 1.0, 1.0, false);
        }
        HeadToHead exec = find(h2h, "ferry_default", "executor");
        if (exec != null) {
            String note = bimodal(rows, "ferry_default", "executor");
            Row exRow = rows.get("executor"), cFloor = rows.get("c_floor");
            if (exec.bOverA < 100 && exRow != null && !Double.isNaN(exRow.ns)) {
                // What 100x would take, next to the floors of the same run: no two-thread hand-off beats them.
                String floors = String.format(Locale.ROOT, "the Java floor in those cycles is %s ns", ns(exRow.floorNs));
                if (cFloor != null && !Double.isNaN(cFloor.ns)) {
                    floors += String.format(Locale.ROOT, ", the C floor %s ns", ns(cFloor.ns));
                }
                note = (note.isEmpty() ? "" : note + "; ") + String.format(Locale.ROOT, "a hot executor hands off in "
                        + "%s ns, so 100x would be a %s ns round trip; %s: no call between two threads gets there on this "
                        + "machine", ns(exRow.ns), ns(exRow.ns / 100), floors);
            }
            target(out, "sync round trip, default preset, engine awake (`ferry_default`)",
                    ">= 100x faster than `ExecutorService.submit().get()`", exec.bOverA, exec.lo, exec.hi, "x faster",
                    exec.bOverA >= 100, 100, true, note);
        }
        Row fd = rows.get("ferry_default"), ex = rows.get("executor");
        if (fd != null && ex != null && !Double.isNaN(fd.p50) && !Double.isNaN(ex.p50)) {
            // The bursts above keep the executor's worker and its vCPU hot (~4 µs a hand-off); a call on its
            // own finds them asleep (~45 µs), which is what a service with gaps between requests pays.
            double r = ex.p50 / fd.p50;
            out.append(String.format(Locale.ROOT, "|  | the same, single calls sampled (p50 over p50; separate trials of "
                    + "this run, not interleaved) | **%.2fx faster** (p50 %s ns vs %s ns) | %s | the executor's worker "
                    + "sleeps between sampled calls, as between a service's requests |%n", r, ns(ex.p50), ns(fd.p50),
                    verdict(r >= 100, r, 100, true)));
        }
        HeadToHead parked = find(h2h, "ferry_parked", "park_unpark");
        if (parked != null) {
            parkedTarget(out, "round trip once the caller has parked, preset LOWEST_CPU (`ferry_parked`)",
                    rows.get("ferry_parked"), rows.get("park_unpark"), 1 / parked.bOverA, 1 / parked.hi, 1 / parked.lo);
        }
        HeadToHead nospin = find(h2h, "park_unpark", "ferry_nospin");
        if (nospin != null) {
            parkedTarget(out, "the same with WaitPolicy.Backoff(0, 0) (`ferry_nospin`)", rows.get("ferry_nospin"),
                    rows.get("park_unpark"), nospin.bOverA, nospin.lo, nospin.hi);
        }
        HeadToHead pipe = find(h2h, "ferry_batch", "jctools_pipelined");
        if (pipe != null) {
            // b / a is JCTools' time per call over Ferry's: Ferry's throughput relative to JCTools'.
            target(out, "pipelined throughput, one producer (`ferry_batch`)", ">= 1.0x JCTools MPSC pipelined",
                    pipe.bOverA, pipe.lo, pipe.hi, "x JCTools", pipe.bOverA >= 1.0, 1.0, true);
        }
        HeadToHead async = find(h2h, "ferry_async", "executor");
        if (async != null) {
            // b / a is the executor's time per call over Ferry's async one: above 1, the async call is cheaper.
            target(out, "async call joined at once (`ferry_async`)", "<= 1x `ExecutorService.submit().get()`",
                    1 / async.bOverA, 1 / async.hi, 1 / async.lo, "x the executor", 1 / async.bOverA <= 1.0, 1.0, false);
        }
        HeadToHead asyncPipe = find(h2h, "jctools_pipelined", "ferry_async_pipelined");
        if (asyncPipe != null) {
            // b / a is Ferry's time per call over JCTools': its inverse is Ferry's share of JCTools' throughput.
            target(out, "async throughput, " + CallPath.DEPTH + " futures in flight (`ferry_async_pipelined`)",
                    ">= 0.5x JCTools MPSC pipelined", 1 / asyncPipe.bOverA, 1 / asyncPipe.hi, 1 / asyncPipe.lo,
                    "x JCTools", 1 / asyncPipe.bOverA >= 0.5, 0.5, true);
        }
        allocation(out, rows, "allocation per sync call, caller spinning", List.of("ferry_spin", "ferry_default",
                "ferry_spin@vt", "ferry_default@vt", "ferry_p1", "ferry_p8", "ferry_batch"));
        allocation(out, rows, "allocation per sync call that parks", List.of("ferry_parked", "ferry_nospin"));
        HeadToHead p8 = find(h2h, "ferry_p1", "ferry_p8");
        if (p8 != null) {
            Row t1 = rows.get("ferry_p1"), t8 = rows.get("ferry_p8");
            String jmh = t1 != null && t8 != null && t1.callsPerSecMeasured && t8.callsPerSecMeasured
                    ? String.format(Locale.ROOT, "; JMH Throughput: %.2fx (%s vs %s calls/s)", t8.callsPerSec / t1.callsPerSec,
                            count(t8.callsPerSec), count(t1.callsPerSec))
                    : "";
            double rel = 1 / p8.bOverA;
            // Both measures must hold: the paired bursts (same cycles as one producer) and JMH's eight
            // threads calling without pause, which is where a descheduled producer shows.
            double worst = t1 != null && t8 != null && t1.callsPerSecMeasured && t8.callsPerSecMeasured
                    ? Math.min(rel, t8.callsPerSec / t1.callsPerSec) : rel;
            out.append(String.format(Locale.ROOT, "| 8 producers on 2 cores (`ferry_p8`) | total calls/s >= 0.5x one producer's "
                    + "| **%.2fx** (%.2f to %.2f)%s | %s | %s |%n", rel, 1 / p8.hi, 1 / p8.lo, jmh,
                    verdict(worst >= 0.5, worst, 0.5, true), bimodal(rows, "ferry_p1", "ferry_p8")));
        }
        Row t1 = rows.get("ferry_p1"), t64 = rows.get("ferry_p64");
        if (t1 != null && t64 != null && t1.callsPerSecMeasured && t64.callsPerSecMeasured) {
            double rel = t64.callsPerSec / t1.callsPerSec;
            out.append(String.format(Locale.ROOT, "| 64 virtual threads (`ferry_p64`) | total calls/s >= 0.8x one platform "
                    + "producer's | **%.2fx** (%s vs %s calls/s; JMH Throughput, separate trials of this run) | %s |  |%n",
                    rel, count(t64.callsPerSec), count(t1.callsPerSec), verdict(rel >= 0.8, rel, 0.8, true)));
        }
    }

    /**
     * A parked round trip against park/unpark, compared within each wake-up mode: the host wakes a thread
     * fast or slowly depending on where the scheduler placed it, per path and for seconds at a time, so
     * the ratio over all calls follows each path's share of slow wakes rather than its own cost. Per mode,
     * the ratio is the median over iterations in which both paths made at least {@link #MODE_CALLS} calls
     * of that mode; the target is met when it holds in every mode both paths were seen in.
     */
    private static void parkedTarget(StringBuilder out, String what, Row ferry, Row park, double all, double allLo,
            double allHi) {
        List<String> measured = new ArrayList<>();
        double worst = Double.NaN;
        for (boolean slow : new boolean[] {false, true}) {
            List<Double> ratios = new ArrayList<>(), fns = new ArrayList<>(), pns = new ArrayList<>();
            List<Double> fn = slow ? ferry.slowNs : ferry.fastNs, fc = slow ? ferry.slowCalls : ferry.fastCalls;
            List<Double> pn = slow ? park.slowNs : park.fastNs, pc = slow ? park.slowCalls : park.fastCalls;
            for (int i = 0; i < Math.min(fn.size(), pn.size()); i++) {
                if (fc.get(i) >= MODE_CALLS && pc.get(i) >= MODE_CALLS) {
                    ratios.add(fn.get(i) / pn.get(i));
                    fns.add(fn.get(i));
                    pns.add(pn.get(i));
                }
            }
            if (ratios.isEmpty()) {
                continue;
            }
            double r = median(ratios);
            worst = Double.isNaN(worst) ? r : Math.max(worst, r);
            measured.add(String.format(Locale.ROOT, "**%.2fx** with %s wakes (%.2f to %.2f; %s vs %s ns; %d iterations)", r,
                    slow ? "slow" : "fast", min(ratios), max(ratios), ns(median(fns)), ns(median(pns)), ratios.size()));
        }
        String share = String.format(Locale.ROOT, "calls with slow wakes: `%s` %.0f%%, `%s` %.0f%%; over all calls %.2fx "
                + "(%.2f to %.2f), which follows those shares", ferry.path, 100 * slowShare(ferry), park.path,
                100 * slowShare(park), all, allLo, allHi);
        if (measured.isEmpty()) {
            target(out, what, "<= 1.1x the plain park/unpark hand-off", all, allLo, allHi, "x park/unpark", all <= 1.1, 1.1,
                    false, "no wake-up mode was seen by both paths in one iteration; " + share);
            return;
        }
        out.append(String.format(Locale.ROOT, "| %s | <= 1.1x the plain park/unpark hand-off, in the same wake-up mode | %s | %s "
                + "| %s |%n", what, String.join("; ", measured), verdict(worst <= 1.1, worst, 1.1, false), share));
    }

    /** Iterations with fewer calls than this of a wake-up mode do not count for that mode. */
    static final int MODE_CALLS = 20;

    static double slowShare(Row r) {
        double slow = sum(r.slowCalls), all = slow + sum(r.fastCalls);
        return all > 0 ? slow / all : Double.NaN;
    }

    /** A spaced path's row note: its calls with fast and slow wake-ups. */
    static void wakeMarks(Row r) {
        double fast = sum(r.fastCalls), slow = sum(r.slowCalls);
        if (fast + slow == 0) {
            return;
        }
        List<Double> fns = new ArrayList<>(), sns = new ArrayList<>();
        for (int i = 0; i < r.fastNs.size(); i++) {
            if (r.fastCalls.get(i) >= MODE_CALLS) {
                fns.add(r.fastNs.get(i));
            }
            if (r.slowCalls.get(i) >= MODE_CALLS) {
                sns.add(r.slowNs.get(i));
            }
        }
        r.marks.add(String.format(Locale.ROOT, "wake-ups: %.0f%% of calls fast (median %s ns), %.0f%% slow (median %s ns), "
                + "split at %s ns", 100 * fast / (fast + slow), fns.isEmpty() ? "-" : ns(median(fns)),
                100 * slow / (fast + slow), sns.isEmpty() ? "-" : ns(median(sns)), ns(CallPath.SLOW_WAKE_NS)));
    }

    private static void allocation(StringBuilder out, Map<String, Row> rows, String what, List<String> keys) {
        Row control = keys.contains("ferry_parked") ? rows.get("park_unpark") : null;
        String note = control != null && !Double.isNaN(control.bytes) ? String.format(Locale.ROOT,
                "control: `park_unpark`, measured the same way, with no Ferry in it: %.2f B/call", control.bytes) : "";
        List<String> alloc = new ArrayList<>();
        double worst = 0;
        for (String k : keys) {
            Row r = rows.get(k);
            if (r != null && !Double.isNaN(r.bytes)) {
                alloc.add(String.format(Locale.ROOT, "`%s` %.2f%s", r.label(), r.bytes,
                        r.bytesBusy ? " (trial disturbed by other processes)" : ""));
                worst = Math.max(worst, r.bytes);
            }
        }
        if (alloc.isEmpty()) {
            return;
        }
        boolean vtAllocates = keys.stream().filter(k -> k.endsWith("@vt")).map(rows::get)
                .anyMatch(r -> r != null && r.bytes >= ZERO_BYTES);
        if (vtAllocates) {
            note = "on a virtual thread: the JDK's `StackChunk` copy each time a call waits past its short spin and the "
                    + "thread yields or parks (JFR allocation profile), not Ferry's code: `CallTest` checks that a spinning "
                    + "call from a virtual thread allocates nothing in its best of 10 chunks";
        }
        String verdict;
        if (control != null && !Double.isNaN(control.bytes)) {
            // A path with few calls carries more of JMH's per-iteration background per call; the control,
            // measured the same way, carries the same, so what Ferry adds is the difference.
            double excess = worst - control.bytes;
            verdict = excess < ZERO_BYTES
                    ? String.format(Locale.ROOT, "**met**: at most %.2f B/call above the control (below %s: background)",
                            Math.max(0, excess), ZERO_BYTES)
                    : String.format(Locale.ROOT, "**missed**: up to %.1f B/call above the control", excess);
        } else {
            verdict = worst < ZERO_BYTES ? "**met** (below " + ZERO_BYTES + " B/call: JMH's own background)"
                    : String.format(Locale.ROOT, "**missed**: up to %.1f B/call", worst);
        }
        out.append("| ").append(what).append(" | 0 B | ").append(String.join("; ", alloc)).append(" B/call | ")
                .append(verdict).append(" | ").append(note).append(" |\n");
    }

    private static void target(StringBuilder out, String what, String target, double v, double lo, double hi, String unit,
            boolean met, double goal, boolean higherIsBetter) {
        target(out, what, target, v, lo, hi, unit, met, goal, higherIsBetter, "");
    }

    private static void target(StringBuilder out, String what, String target, double v, double lo, double hi, String unit,
            boolean met, double goal, boolean higherIsBetter, String note) {
        out.append(String.format(Locale.ROOT, "| %s | %s | **%.2f%s** (%.2f to %.2f) | %s | %s |%n", what, target, v, unit, lo,
                hi, verdict(met, v, goal, higherIsBetter), note));
    }

    /** A note for a target row whose paths were bimodal in this run. */
    private static String bimodal(Map<String, Row> rows, String... keys) {
        List<String> which = new ArrayList<>();
        for (String k : keys) {
            Row r = rows.get(k);
            if (r != null && r.marks.stream().anyMatch(m -> m.startsWith("**bimodal**"))) {
                which.add("`" + k + "`");
            }
        }
        return which.isEmpty() ? "" : "bimodal in this run: " + String.join(", ", which) + " (see their rows)";
    }

    private static String verdict(boolean met, double v, double goal, boolean higherIsBetter) {
        if (Double.isNaN(v)) {
            return "not measured";
        }
        if (met) {
            return "**met**";
        }
        double by = higherIsBetter ? goal / v : v / goal;
        return String.format(Locale.ROOT, "**missed** by %.2fx", by);
    }

    private static HeadToHead find(List<HeadToHead> h2h, String a, String b) {
        for (HeadToHead h : h2h) {
            if (h.a.equals(a) && h.b.equals(b)) {
                return h;
            }
        }
        return null;
    }

    private static void table(StringBuilder out, String title, String intro, Map<String, Row> rows, List<String> keys) {
        out.append("\n## ").append(title).append("\n\n").append(intro).append(" **x floor** is the median over cycles of "
                + "(this path's burst / the Java floor's burst in the same cycle); the floor column is the floor in those "
                + "cycles. p50/p99/p99.9 are single calls sampled by JMH in a separate trial.\n\n");
        out.append("| path | what it measures | ns/call | floor ns | **x floor** | p50 ns | p99 ns | p99.9 ns | calls/s | B/call | notes |\n");
        out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for (String k : keys) {
            Row r = rows.get(k);
            if (r == null) {
                continue;
            }
            String what = CallPath.DESCRIPTIONS.getOrDefault(r.path, "");
            if (r.virtual) {
                what = "The same, called from a virtual thread";
            }
            List<String> notes = new ArrayList<>(r.marks);
            if (r.spec != null && !r.path.equals("java_floor")) {
                notes.add(0, String.format(Locale.ROOT, "x floor per iteration %.2f to %.2f over %,.0f cycles of `%s`",
                        r.ratioLo, r.ratioHi, r.cycles, r.spec));
            }
            out.append(String.format(Locale.ROOT, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s%s | %s | %s |%n",
                    r.label(), what, ns(r.ns), ns(r.floorNs), Double.isNaN(r.ratio) ? "" : "**" + ratio(r.ratio) + "**", ns(r.p50), ns(r.p99), ns(r.p999),
                    r.callsPerSecMeasured || Double.isNaN(r.callsPerSec) ? "" : "~", count(r.callsPerSec), bytes(r.bytes),
                    String.join("; ", notes)));
        }
    }

    private static void headToHead(StringBuilder out, List<HeadToHead> h2h) {
        out.append("\n## Head to head, in the same cycles\n\nFor each trial that measured several paths, the median over "
                + "cycles of (one path's time per call / another's), and the range of iteration medians.\n\n");
        out.append("| trial | path | time per call relative to another path of the trial |\n|---|---|--:|\n");
        for (HeadToHead h : h2h) {
            out.append(String.format(Locale.ROOT, "| `%s` | `%s` | %.2fx `%s` (%.2f to %.2f) |%n", h.spec, h.b, h.bOverA, h.a,
                    h.lo, h.hi));
        }
    }

    private static void method(StringBuilder out) {
        out.append("\n## How these were measured\n\n");
        out.append("- **Paired cycles** (`PairedBenchmark`): the host moves this VM's two vCPUs, and the floor jumps between "
                + "~40, ~100 and ~400 ns for seconds at a time. So one JMH invocation is a cycle: a burst of the Java ping-pong "
                + "floor, then a burst of each path of the trial, each after its own untimed warm-up calls and after every "
                + "other path has gone quiet (echo and consumer threads parked, engine threads asleep), so each burst has the "
                + "two vCPUs to itself. Bursts last 0.1 to a few ms. Ratios are taken per cycle and the median over the cycles "
                + "of an iteration is kept, so a cycle hit by another process cannot move it.\n");
        out.append("- **Marks**: *floor moved* when the floor's iteration medians in a trial span more than ")
                .append(FLOOR_MOVED).append("x; *other processes* when another process used more than ").append(BUSY_CPUS)
                .append(" CPUs during an iteration (`MachineProfiler`, from /proc/stat). On two vCPUs a third busy thread "
                        + "turns a spinning hand-off into a time-slice switch, so paired iterations measured while other "
                        + "processes were busy are left out of the medians whenever at least 3 quiet ones remain (the "
                        + "notes say how many); if fewer remain, all are used and the row is marked.\n");
        out.append("- **Percentiles** (`LatencyBenchmark`, JMH SampleTime): one call per invocation, each path alone in "
                + "its fork; they include JMH's timer (~20-30 ns) and move with the host. The mean of SampleTime is not "
                + "shown: millisecond preemptions by the host dominate it.\n");
        out.append("- **calls/s**: measured by JMH Throughput (`ThroughputBenchmark`) where it ran (sync Ferry calls, "
                + "pipelined and multi-producer rows); `~` marks 1e9 / (ns per call) from the paired cycles.\n");
        out.append("- **B/call**: JMH's `gc.alloc.rate.norm` (`-prof gc`), the median over iterations (JMH counts the "
                + "trial's teardown, closing the engine, in the last one), from the path's Throughput trial where it has "
                + "one (spaced and virtual-thread paths included), else from its SampleTime trial, whose own bookkeeping (a "
                + "boxed value per distinct sample) weighs on paths with few calls. Values below ").append(ZERO_BYTES)
                .append(" B are JMH's own background allocation spread over the calls. A virtual thread whose call is not done "
                        + "within its short spin (about 1.5 µs) yields its carrier or parks, and the JDK then copies its stack "
                        + "into a new `StackChunk` (JFR allocation profile, 2026-11-21): that, not Ferry's code, is what a "
                        + "virtual thread's row shows.\n");
        out.append("- Every path checks every result it gets (`x + 1` for `x`).\n");
    }

    /** Iterations spread wider than this (max / min of their medians) are split into two modes. */
    static final double BIMODAL = 3;

    /**
     * Wake-up-bound paths settle, per iteration, either where the woken thread runs on the waker's vCPU
     * (a few µs) or where it has to bring up the other, halted vCPU (~40 µs): say so, with each mode.
     * A path counts as bimodal when its iteration medians spread over {@link #BIMODAL}x in ns and over
     * 2x in ratio to the floor (so that a move of the host, which moves the floor too, is not taken
     * for one), and the iterations are split at the geometric middle of their ns.
     */
    private static void modes(List<String> marks, List<Double> iterationRatios, List<Double> iterationNs) {
        if (iterationNs.size() < 2 || iterationNs.size() != iterationRatios.size()
                || max(iterationNs) / min(iterationNs) <= BIMODAL || max(iterationRatios) / min(iterationRatios) <= 2) {
            return;
        }
        double mid = Math.sqrt(min(iterationNs) * max(iterationNs));
        List<Double> fastR = new ArrayList<>(), slowR = new ArrayList<>(), fastNs = new ArrayList<>(), slowNs = new ArrayList<>();
        for (int i = 0; i < iterationNs.size(); i++) {
            boolean fast = iterationNs.get(i) < mid;
            (fast ? fastR : slowR).add(iterationRatios.get(i));
            (fast ? fastNs : slowNs).add(iterationNs.get(i));
        }
        marks.add(String.format(Locale.ROOT, "**bimodal**: %d of %d iterations at ~%s ns (~%sx floor), the others at "
                + "~%s ns (~%sx)", fastNs.size(), iterationNs.size(), ns(median(fastNs)), ratio(median(fastR)),
                ns(median(slowNs)), ratio(median(slowR))));
    }

    /** Per iteration: whether to use it. Busy iterations go, unless fewer than 3 quiet ones remain. */
    static boolean[] keep(List<Double> busy, int n) {
        boolean[] keep = new boolean[n];
        int quiet = 0;
        for (int i = 0; i < n; i++) {
            keep[i] = i >= busy.size() || busy.get(i) <= BUSY_CPUS;
            quiet += keep[i] ? 1 : 0;
        }
        if (quiet < 3) {
            java.util.Arrays.fill(keep, true);
        }
        return keep;
    }

    static int count(boolean[] keep) {
        int c = 0;
        for (boolean k : keep) {
            c += k ? 1 : 0;
        }
        return c;
    }

    static List<Double> pick(List<Double> values, boolean[] keep) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            if (i >= keep.length || keep[i]) {
                out.add(values.get(i));
            }
        }
        return out;
    }

    private static void marks(List<String> marks, List<Double> floors, List<Double> busy) {
        if (!floors.isEmpty() && max(floors) / min(floors) > FLOOR_MOVED) {
            marks.add(String.format(Locale.ROOT, "**floor moved** %s to %s ns", ns(min(floors)), ns(max(floors))));
        }
        double b = max(busy);
        if (b > BUSY_CPUS) {
            marks.add(String.format(Locale.ROOT, "**other processes** used up to %.1f CPUs", b));
        }
    }

    // ---- formatting -------------------------------------------------------------------------------

    static String ns(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        return v < 1000 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%,.0f", v);
    }

    static String ratio(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        return v < 10 ? String.format(Locale.ROOT, "%.2f", v) : String.format(Locale.ROOT, "%,.0f", v);
    }

    static String count(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.1f M", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1f k", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String bytes(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        return v < ZERO_BYTES ? "0" : String.format(Locale.ROOT, "%.1f", v);
    }

    static String date() {
        return LocalDate.now().toString();
    }

    // ---- JSON access ------------------------------------------------------------------------------

    private static String bench(Map<?, ?> run) {
        String b = (String) run.get("benchmark");
        String[] parts = b.split("\\.");
        return parts[parts.length - 2] + "." + parts[parts.length - 1];
    }

    /** All iterations of all forks of a secondary metric, in order (empty if absent). */
    static List<Double> raw(Map<?, ?> sec, String metric) {
        List<Double> values = new ArrayList<>();
        if (sec == null || !(sec.get(metric) instanceof Map<?, ?> m)) {
            return values;
        }
        for (Object fork : (List<?>) m.get("rawData")) {
            for (Object v : (List<?>) fork) {
                values.add(num(v));
            }
        }
        return values;
    }

    /**
     * Bytes per call: the median over the trial's iterations of {@code gc.alloc.rate.norm}, not JMH's
     * mean. JMH counts the trial's teardown (closing the engine: its first stop and join downcalls link
     * their call sites) in the last iteration, which on a path with few calls, like a spaced one, is
     * tens of B/call in that one iteration.
     */
    private static double bytesPerCall(Map<?, ?> sec) {
        List<Double> v = raw(sec, "gc.alloc.rate.norm");
        return v.isEmpty() ? score(sec, "gc.alloc.rate.norm") : median(v);
    }

    private static double score(Map<?, ?> sec, String metric) {
        if (sec == null || !(sec.get(metric) instanceof Map<?, ?> m)) {
            return Double.NaN;
        }
        return num(m.get("score"));
    }

    static double median(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> v = new ArrayList<>(values);
        Collections.sort(v);
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    static double min(List<Double> values) {
        return values.isEmpty() ? Double.NaN : Collections.min(values);
    }

    static double max(List<Double> values) {
        return values.isEmpty() ? 0 : Collections.max(values);
    }

    static double sum(List<Double> values) {
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s;
    }

    static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN; // JMH writes "NaN" as a string
    }

    private static List<String> strings(Object o) {
        List<String> s = new ArrayList<>();
        if (o instanceof List<?> l) {
            for (Object e : l) {
                s.add(String.valueOf(e));
            }
        }
        return s;
    }

    private static String cpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: leave the model out
        }
        return System.getProperty("os.arch");
    }

    private static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** Just enough JSON for JMH's output: objects, arrays, strings, numbers, true/false/null. */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            skip();
            char c = s.charAt(i);
            switch (c) {
                case '{': {
                    Map<String, Object> m = new LinkedHashMap<>();
                    i++;
                    skip();
                    if (s.charAt(i) == '}') {
                        i++;
                        return m;
                    }
                    for (;;) {
                        skip();
                        String k = string();
                        skip();
                        expect(':');
                        m.put(k, value());
                        skip();
                        if (s.charAt(i++) == '}') {
                            return m;
                        }
                    }
                }
                case '[': {
                    List<Object> l = new ArrayList<>();
                    i++;
                    skip();
                    if (s.charAt(i) == ']') {
                        i++;
                        return l;
                    }
                    for (;;) {
                        l.add(value());
                        skip();
                        if (s.charAt(i++) == ']') {
                            return l;
                        }
                    }
                }
                case '"':
                    return string();
                default:
                    int start = i;
                    while (i < s.length() && ",]}".indexOf(s.charAt(i)) < 0 && !Character.isWhitespace(s.charAt(i))) {
                        i++;
                    }
                    String tok = s.substring(start, i);
                    return switch (tok) {
                        case "true" -> Boolean.TRUE;
                        case "false" -> Boolean.FALSE;
                        case "null" -> null;
                        default -> Double.parseDouble(tok);
                    };
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            for (;;) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case 'b' -> b.append('\b');
                        case 'f' -> b.append('\f');
                        case 'u' -> {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                        }
                        default -> b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }

        private void expect(char c) {
            if (s.charAt(i) != c) {
                throw new IllegalArgumentException("JSON: expected '" + c + "' at " + i + ", found '" + s.charAt(i) + "'");
            }
            i++;
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
