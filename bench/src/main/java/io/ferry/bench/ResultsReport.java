package io.ferry.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a JMH JSON result of {@link RoundTripBenchmark} into RESULTS.md (Markdown on stdout).
 *
 * <pre>java -cp benchmarks.jar io.ferry.bench.ResultsReport results/quick.json "the command" ["load before"]</pre>
 *
 * The headline is the interleaved benchmark: Ferry and the ping-pong floor measured in alternating bursts,
 * so their ratio holds even while the host moves the vCPUs. Everything else is listed with its ns/op,
 * error and allocation, and a ratio to the separately run floor that is only indicative.
 */
public final class ResultsReport {
    private ResultsReport() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: ResultsReport <jmh.json> <command> [load average before the run]");
            System.exit(2);
        }
        List<?> runs = (List<?>) new Json(Files.readString(Path.of(args[0]))).value();
        String loadBefore = args.length > 2 ? args[2] : null;
        StringBuilder out = new StringBuilder();
        Map<?, ?> first = (Map<?, ?>) runs.get(0);

        out.append("# Ferry benchmark results\n\n");
        out.append("- Date: ").append(LocalDate.now()).append('\n');
        out.append("- JDK: ").append(first.get("jdkVersion")).append(" (").append(first.get("vmName")).append(' ')
                .append(first.get("vmVersion")).append("), JMH ").append(first.get("jmhVersion")).append('\n');
        out.append("- Machine: ").append(cpu()).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" vCPUs; load average before the run ").append(loadBefore == null ? "?" : loadBefore)
                .append(", after ").append(load()).append('\n');
        out.append("- Command: `").append(args[1]).append("`\n");
        out.append("- JVM args: `").append(String.join(" ", strings(first.get("jvmArgs")))).append("`\n");
        out.append("- Raw JMH JSON: `").append(Path.of(args[0]).getFileName()).append("` in bench/results/\n\n");

        // ---- headline: interleaved bursts ----
        out.append("## Ferry sync call vs the floor, measured at the same time\n\n");
        out.append("One caller thread. Each cycle of `interleaved` waits until the engine thread sleeps, times ")
                .append(RoundTripBenchmark.BURST).append(" round trips of a two-thread Java ping-pong on padded longs ")
                .append("(the floor), parks the echo thread, then times ").append(RoundTripBenchmark.BURST)
                .append(" `engine.call(add, x, 1)` with every result checked. Each burst follows ")
                .append(RoundTripBenchmark.WARM).append(" untimed calls, and each runs with exactly two busy threads ")
                .append("on the two vCPUs. **Per-cycle ratio** is the geometric mean over cycles of (Ferry burst ")
                .append("time / floor burst time), each from two bursts ~0.1 ms apart: the figure to quote. ")
                .append("The ns columns are means over all cycles and move with the host.\n\n");
        out.append("| preset | Ferry ns/call | floor ns/call | **per-cycle ratio** | ratio of the means | ratio per iteration (min / median / max) | cycles |\n");
        out.append("|---|--:|--:|--:|--:|---|--:|\n");
        for (Object o : runs) {
            Map<?, ?> run = (Map<?, ?>) o;
            if (!name(run).equals("interleaved")) {
                continue;
            }
            Map<?, ?> sec = (Map<?, ?>) run.get("secondaryMetrics");
            List<Double> fN = raw(sec, "ferryNanos"), fC = raw(sec, "ferryCalls");
            List<Double> lN = raw(sec, "floorNanos"), lC = raw(sec, "floorCalls");
            double ferry = sum(fN) / sum(fC), floor = sum(lN) / sum(lC);
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < fN.size(); i++) {
                ratios.add((fN.get(i) / fC.get(i)) / (lN.get(i) / lC.get(i)));
            }
            ratios.sort(null);
            double cycles = sum(raw(sec, "cycles"));
            double perCycle = Math.exp(sum(raw(sec, "logRatioSum")) / cycles);
            out.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | **%.2f** | %.2f | %.2f / %.2f / %.2f | %,.0f |\n",
                    preset(run), ferry, floor, perCycle, ferry / floor, ratios.get(0), ratios.get(ratios.size() / 2),
                    ratios.get(ratios.size() - 1), cycles));
        }

        // ---- every benchmark ----
        Double floorScore = null;
        for (Object o : runs) {
            Map<?, ?> run = (Map<?, ?>) o;
            if (name(run).equals("floor")) {
                floorScore = num(((Map<?, ?>) run.get("primaryMetric")).get("score"));
            }
        }
        out.append("\n## Every benchmark (JMH average time, one caller thread)\n\n");
        out.append("| benchmark | preset | score | error (99.9%) | ratio to `floor`* | allocation (gc.alloc.rate.norm) |\n");
        out.append("|---|---|--:|--:|--:|--:|\n");
        for (Object o : runs) {
            Map<?, ?> run = (Map<?, ?>) o;
            Map<?, ?> pm = (Map<?, ?>) run.get("primaryMetric");
            Map<?, ?> sec = (Map<?, ?>) run.get("secondaryMetrics");
            Map<?, ?> alloc = sec == null ? null : (Map<?, ?>) sec.get("gc.alloc.rate.norm");
            boolean cycle = name(run).equals("interleaved");
            double score = num(pm.get("score"));
            double err = num(pm.get("scoreError"));
            String unit = cycle ? "ns/cycle" : String.valueOf(pm.get("scoreUnit"));
            out.append(String.format(Locale.ROOT, "| %s | %s | %,.1f %s | %s | %s | %s |\n", name(run), preset(run),
                    score, unit, Double.isNaN(err) ? "n/a" : String.format(Locale.ROOT, "± %,.1f", err),
                    cycle || floorScore == null ? "—" : String.format(Locale.ROOT, "%.2f", score / floorScore),
                    alloc == null ? "not measured" : String.format(Locale.ROOT, "%.3f B/%s",
                            num(alloc.get("score")), cycle ? "cycle" : "op")));
        }
        out.append("\n\\* Ratio to the `floor` benchmark, which ran in a different fork at a different time: the ")
                .append("floor on this VM drifts between ~40, ~100 and ~400 ns for seconds at a time, so only the ")
                .append("interleaved table above compares like with like. `interleaved`'s own score is the time of a ")
                .append("whole cycle (both bursts, their warm-up calls and the wait for the engine to go idle) and ")
                .append("means nothing on its own; its allocation is per cycle of ")
                .append(2 * (RoundTripBenchmark.BURST + RoundTripBenchmark.WARM)).append(" round trips.\n");
        System.out.print(out);
    }

    private static String name(Map<?, ?> run) {
        String b = (String) run.get("benchmark");
        return b.substring(b.lastIndexOf('.') + 1);
    }

    private static String preset(Map<?, ?> run) {
        Map<?, ?> params = (Map<?, ?>) run.get("params");
        return params == null || params.get("preset") == null ? "—" : String.valueOf(params.get("preset"));
    }

    /** All iterations of all forks of a secondary metric, in order. */
    private static List<Double> raw(Map<?, ?> sec, String metric) {
        List<Double> values = new ArrayList<>();
        for (Object fork : (List<?>) ((Map<?, ?>) sec.get(metric)).get("rawData")) {
            for (Object v : (List<?>) fork) {
                values.add(num(v));
            }
        }
        return values;
    }

    private static double sum(List<Double> values) {
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s;
    }

    private static double num(Object o) {
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
