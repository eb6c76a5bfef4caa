package io.ferry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The README's chart, as plain SVG: each path's cost per call as a multiple of the Java ping-pong floor
 * measured in the same cycles, on a log scale, Ferry beside the peers a user would otherwise pick.
 */
final class ResultsChart {
    private ResultsChart() {
    }

    private static final String FERRY = "#1769aa";
    private static final String PEER = "#e07b00";
    private static final String FLOOR = "#9a9a9a";

    private record Section(String title, List<String> keys) {
    }

    /** What the bars are called in the chart (the tables use the path names). */
    private static final Map<String, String> LABELS = Map.ofEntries(
            Map.entry("java_floor", "Java ping-pong (the floor)"),
            Map.entry("c_floor", "C cache-line ping-pong"),
            Map.entry("ffm_direct", "direct FFM downcall, no offload"),
            Map.entry("ffm_critical", "direct downcall, critical(false)"),
            Map.entry("ferry_spin", "Ferry, LOWEST_LATENCY"),
            Map.entry("ferry_spin@vt", "Ferry, LOWEST_LATENCY, virtual thread"),
            Map.entry("ferry_default", "Ferry, default preset"),
            Map.entry("ferry_default@vt", "Ferry, default, virtual thread"),
            Map.entry("ferry_parked", "Ferry, LOWEST_CPU"),
            Map.entry("ferry_nospin", "Ferry, no spinning"),
            Map.entry("ferry_async", "Ferry callAsync(..).join()"),
            Map.entry("ferry_batch", "Ferry callBatch"),
            Map.entry("ferry_async_pipelined", "Ferry callAsync x256, one by one"),
            Map.entry("jctools", "JCTools MPSC queue, spinning"),
            Map.entry("jctools_pipelined", "JCTools MPSC queue"),
            Map.entry("disruptor_spin", "Disruptor 4, busy spin"),
            Map.entry("disruptor_block", "Disruptor 4, blocking"),
            Map.entry("executor", "single-thread executor submit().get()"),
            Map.entry("cf_supply", "CompletableFuture.supplyAsync().join()"),
            Map.entry("park_unpark", "LockSupport park/unpark hand-off"));

    private static final List<Section> SECTIONS = List.of(
            new Section("Floors", List.of("ffm_critical", "ffm_direct", "c_floor", "java_floor")),
            new Section("One call at a time, spinning", List.of("ferry_spin", "ferry_spin@vt", "jctools", "disruptor_spin")),
            new Section("One call at a time, default / blocking", List.of("ferry_default", "ferry_default@vt",
                    "disruptor_block", "executor", "cf_supply", "ferry_async")),
            new Section("Caller parked: two wake-ups per call", List.of("ferry_parked", "ferry_nospin", "park_unpark")),
            new Section("Pipelined, " + CallPath.DEPTH + " in flight (per call)", List.of("ferry_batch", "ferry_async_pipelined",
                    "jctools_pipelined")));

    static String svg(Map<String, ResultsReport.Row> rows, String date) {
        List<Object> lines = new ArrayList<>(); // a String is a section title, a Row a bar
        double lo = Double.MAX_VALUE, hi = 0;
        for (Section s : SECTIONS) {
            List<ResultsReport.Row> bars = new ArrayList<>();
            for (String k : s.keys) {
                ResultsReport.Row r = rows.get(k);
                if (r != null && r.ratio > 0) {
                    bars.add(r);
                    lo = Math.min(lo, r.ratio);
                    hi = Math.max(hi, r.ratio);
                }
            }
            if (!bars.isEmpty()) {
                lines.add(s.title);
                lines.addAll(bars);
            }
        }
        if (hi == 0) {
            lo = 0.1;
            hi = 10;
        }
        double decLo = Math.floor(Math.log10(lo)), decHi = Math.ceil(Math.log10(hi));
        if (decHi <= decLo) {
            decHi = decLo + 1;
        }
        int labelW = 290, plotW = 560, valueW = 70, left = 10;
        int width = left + labelW + plotW + valueW;
        int top = 94, rowH = 22, titleH = 26;
        int height = top;
        for (Object o : lines) {
            height += o instanceof String ? titleH : rowH;
        }
        height += 46;
        int x0 = left + labelW;
        double decades = decHi - decLo;

        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">%n", width, height,
                width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(text(left, 22, "Cost per call, as a multiple of the Java ping-pong floor measured in the same cycles",
                "font-size=\"15\" font-weight=\"bold\""));
        s.append(text(left, 40, "Log scale, lower is better; medians over cycles. " + date + ", 2 vCPUs, make bench.",
                "fill=\"#555\""));
        s.append(text(left, 56, "The host moves this VM's floor between ~40 and ~600 ns; ns per call are in "
                + "bench/RESULTS.md.", "fill=\"#555\""));
        // legend
        int lx = left;
        for (String[] l : new String[][] {{FERRY, "Ferry"}, {PEER, "peers"}, {FLOOR, "floors"}}) {
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"66\" width=\"12\" height=\"12\" fill=\"%s\"/>%n", lx, l[0]));
            s.append(text(lx + 16, 76, l[1], ""));
            lx += 70;
        }
        int plotTop = top - 6, plotBottom = height - 40;
        // grid: every decade, with 1x (the floor) emphasised
        for (int d = (int) decLo; d <= (int) decHi; d++) {
            double x = x0 + plotW * (d - decLo) / decades;
            boolean one = d == 0;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                    + "stroke-width=\"%s\"/>%n", x, plotTop, x, plotBottom, one ? "#333" : "#ddd", one ? "1.5" : "1"));
            s.append(text(x, plotBottom + 16, decadeLabel(d), "text-anchor=\"middle\" fill=\"#333\""));
        }
        s.append(text(x0 + plotW / 2.0, plotBottom + 32, "x the Java floor (1x = two threads ping-ponging a cache line)",
                "text-anchor=\"middle\" fill=\"#333\""));
        int y = top;
        for (Object o : lines) {
            if (o instanceof String title) {
                s.append(text(left, y + 17, title, "font-weight=\"bold\" fill=\"#222\""));
                y += titleH;
                continue;
            }
            ResultsReport.Row r = (ResultsReport.Row) o;
            String color = r.floor() ? FLOOR : r.ferry() ? FERRY : PEER;
            double w = plotW * (Math.log10(r.ratio) - decLo) / decades;
            s.append(text(x0 - 8, y + 15, LABELS.getOrDefault(r.key, r.label()), "text-anchor=\"end\""
                    + (r.ferry() ? " font-weight=\"bold\"" : "")));
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n", x0, y + 4,
                    Math.max(1, w), rowH - 7, color));
            s.append(text(x0 + Math.max(1, w) + 6, y + 15, ResultsReport.ratio(r.ratio) + "x",
                    "fill=\"#222\" paint-order=\"stroke\" stroke=\"white\" stroke-width=\"3\""));
            y += rowH;
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static String decadeLabel(int d) {
        double v = Math.pow(10, d);
        return d >= 0 ? String.format(Locale.ROOT, "%,.0fx", v) : String.format(Locale.ROOT, "%." + (-d) + "fx", v);
    }

    private static String text(double x, double y, String t, String attrs) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" %s>%s</text>%n", x, y, attrs, escape(t));
    }

    private static String escape(String t) {
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
