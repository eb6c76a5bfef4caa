package io.ferry.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Markdown section for {@link ContentionBenchmark}: per background load (where, N), the p50 and p99
 * of the default preset, the single-thread executor and a virtual-thread caller, and the two targets of
 * that load: Ferry's p50 and p99 at most the executor's, a virtual-thread caller within 2x a platform one.
 * The paths of one load ran in separate trials of the same run, not interleaved.
 */
final class ContentionReport {
    private ContentionReport() {
    }

    /** p50 and p99 in ns of one path under one load. */
    private record Sample(double p50, double p99) {
    }

    /** The section, or an empty string if the run has no ContentionBenchmark trial. */
    static String section(List<?> runs) {
        Map<String, Map<String, Sample>> byLoad = new TreeMap<>();
        for (Object o : runs) {
            Map<?, ?> run = (Map<?, ?>) o;
            String bench = (String) run.get("benchmark");
            if (!bench.contains(".ContentionBenchmark.")) {
                continue;
            }
            Map<?, ?> params = (Map<?, ?>) run.get("params");
            boolean virtual = bench.endsWith(".virtual");
            String path = String.valueOf(params.get(virtual ? "cvpath" : "cpath")) + (virtual ? "@vt" : "");
            String load = params.get("where") + " " + params.get("busy");
            Map<?, ?> pct = (Map<?, ?>) ((Map<?, ?>) run.get("primaryMetric")).get("scorePercentiles");
            byLoad.computeIfAbsent(load, k -> new TreeMap<>())
                    .put(path, new Sample(ResultsReport.num(pct.get("50.0")), ResultsReport.num(pct.get("99.0"))));
        }
        if (byLoad.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder("\n## Under CPU contention\n\n`ContentionBenchmark`: one call at a time "
                + "while N background spinners keep the cores busy, in this JVM (`jvm`: platform threads) or in other "
                + "processes (`process`: `sh -c 'while :; do :; done'`), on 2 vCPUs. JMH SampleTime, ns per call; the "
                + "paths of one load ran in separate trials of this run. Targets: the default preset's p50 and p99 at most "
                + "the single-thread executor's; a virtual-thread caller's p50 within 2x a platform caller's.\n\n"
                + "| load | ferry_default p50 / p99 | executor p50 / p99 | ferry / executor p50, p99 | verdict | "
                + "virtual thread p50 / p99 | virtual / platform p50 | verdict |\n|---|---|---|---|---|---|---|---|\n");
        for (Map.Entry<String, Map<String, Sample>> e : byLoad.entrySet()) {
            Sample f = e.getValue().get("ferry_default");
            Sample x = e.getValue().get("executor");
            Sample v = e.getValue().get("ferry_default@vt");
            double r50 = f == null || x == null ? Double.NaN : f.p50() / x.p50();
            double r99 = f == null || x == null ? Double.NaN : f.p99() / x.p99();
            double rv = f == null || v == null ? Double.NaN : v.p50() / f.p50();
            out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s, %s | %s | %s | %s | %s |%n", e.getKey(),
                    pair(f), pair(x), times(r50), times(r99),
                    Double.isNaN(r50) ? "not measured" : r50 <= 1 && r99 <= 1 ? "**met**"
                            : String.format(Locale.ROOT, "**missed** by %.2fx", Math.max(r50, r99)),
                    pair(v), times(rv),
                    Double.isNaN(rv) ? "not measured" : rv <= 2 ? "**met**"
                            : String.format(Locale.ROOT, "**missed** by %.2fx", rv / 2)));
        }
        return out.toString();
    }

    private static String times(double r) {
        return Double.isNaN(r) ? "" : ResultsReport.ratio(r) + "x";
    }

    private static String pair(Sample s) {
        return s == null ? "" : ResultsReport.ns(s.p50()) + " / " + ResultsReport.ns(s.p99());
    }
}
