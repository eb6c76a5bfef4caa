package io.ferry.demo;

import io.ferry.LatencyHistogram;
import java.util.Locale;

/**
 * The demo's latency picture: Ferry's own histograms of a run (the callers' wait and the engine's time per
 * call, EngineBuilder.histograms) as an SVG in the style of bench/results.svg: share of calls per bin on a
 * log time axis, with the wait's percentiles marked.
 */
final class LatencyChart {
    private static final String FERRY = "#1769aa", ENGINE = "#e07b00";
    /** Bins: each power of two split in 4 (4 of the histogram's 16 sub-buckets each). */
    private static final int GROUP = 4;

    private LatencyChart() {
    }

    static String svg(String title, String subtitle, LatencyHistogram wait, LatencyHistogram engine) {
        int left = 60, plotW = 800, plotH = 360, top = 96, width = left + plotW + 40, height = top + plotH + 70;
        int bins = LatencyHistogram.BUCKETS / GROUP;
        double[] w = shares(wait, bins), e = shares(engine, bins);
        double maxShare = 0;
        long lo = Long.MAX_VALUE, hi = 0;
        for (int b = 0; b < bins; b++) {
            maxShare = Math.max(maxShare, Math.max(w[b], e[b]));
            if (w[b] > 0 || e[b] > 0) {
                lo = Math.min(lo, LatencyHistogram.lowest(b * GROUP));
                hi = Math.max(hi, LatencyHistogram.highest(b * GROUP + GROUP - 1));
            }
        }
        if (hi == 0) {
            lo = 100;
            hi = 1_000_000;
        }
        double decLo = Math.floor(Math.log10(Math.max(10, lo))), decHi = Math.ceil(Math.log10(hi));
        if (decHi <= decLo) {
            decHi = decLo + 1;
        }
        double yMax = Math.max(0.01, Math.ceil(maxShare * 20) / 20); // to the next 5%
        final double dLo = decLo, dHi = decHi;
        java.util.function.DoubleUnaryOperator x = ns -> left + plotW * (Math.log10(Math.max(1, ns)) - dLo) / (dHi - dLo);
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">%n", width, height,
                width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(text(10, 22, title, "font-size=\"15\" font-weight=\"bold\""));
        s.append(text(10, 40, subtitle, "fill=\"#555\""));
        s.append(text(10, 56, "Log time axis; bars: share of calls per bin (a quarter of a power of two). " + wait.count()
                + " waits, " + engine.count() + " engine times.", "fill=\"#555\""));
        int lx = 10;
        for (String[] l : new String[][] {{FERRY, "caller's wait, submit to result"}, {ENGINE, "engine time per call"}}) {
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"66\" width=\"12\" height=\"12\" fill=\"%s\"/>%n", lx, l[0]));
            s.append(text(lx + 16, 76, l[1], ""));
            lx += 230;
        }
        int bottom = top + plotH;
        for (int d = (int) decLo; d <= (int) decHi; d++) {
            double gx = x.applyAsDouble(Math.pow(10, d));
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\" "
                    + "stroke-width=\"1\"/>%n", gx, top, gx, bottom));
            s.append(text(gx, bottom + 16, nanos(Math.pow(10, d)), "text-anchor=\"middle\" fill=\"#333\""));
        }
        for (int i = 0; i <= 4; i++) {
            double share = yMax * i / 4, gy = bottom - plotH * share / yMax;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
                    + "stroke-width=\"1\"/>%n", left, gy, left + plotW, gy, i == 0 ? "#333" : "#eee"));
            s.append(text(left - 6, gy + 4, String.format(Locale.ROOT, "%.0f%%", share * 100), "text-anchor=\"end\" fill=\"#333\""));
        }
        for (int b = 0; b < bins; b++) {
            double x0 = x.applyAsDouble(LatencyHistogram.lowest(b * GROUP));
            double x1 = x.applyAsDouble(LatencyHistogram.highest(b * GROUP + GROUP - 1) + 1);
            double bw = Math.max(1, (x1 - x0) / 2 - 0.5);
            bar(s, x0, bw, e[b], bottom, plotH, yMax, ENGINE);
            bar(s, x0 + bw, bw, w[b], bottom, plotH, yMax, FERRY);
        }
        double ty = top + 14;
        for (double p : new double[] {50, 99, 99.9}) {
            long v = wait.percentile(p);
            double px = x.applyAsDouble(v);
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" "
                    + "stroke-dasharray=\"4 3\" stroke-width=\"1\"/>%n", px, top, px, bottom));
            s.append(text(px + 4, ty, "wait p" + (p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p)) + " "
                    + nanos(v), "fill=\"#222\" paint-order=\"stroke\" stroke=\"white\" stroke-width=\"3\""));
            ty += 16;
        }
        s.append(text(left + plotW / 2.0, bottom + 34, "time per call (log scale)", "text-anchor=\"middle\" fill=\"#333\""));
        s.append(text(left + plotW / 2.0, bottom + 52, "wait: " + summary(wait) + ";  engine: " + summary(engine),
                "text-anchor=\"middle\" fill=\"#555\""));
        s.append("</svg>\n");
        return s.toString();
    }

    private static void bar(StringBuilder s, double x, double w, double share, int bottom, int plotH, double yMax,
            String color) {
        if (share <= 0) {
            return;
        }
        double h = Math.max(1, plotH * Math.min(share, yMax) / yMax);
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>%n", x,
                bottom - h, w, h, color));
    }

    private static double[] shares(LatencyHistogram h, int bins) {
        double[] out = new double[bins];
        if (h.count() == 0) {
            return out;
        }
        for (int i = 0; i < LatencyHistogram.BUCKETS; i++) {
            out[i / GROUP] += (double) h.count(i) / h.count();
        }
        return out;
    }

    private static String summary(LatencyHistogram h) {
        return "p50 " + nanos(h.percentile(50)) + ", p99 " + nanos(h.percentile(99)) + ", p99.9 "
                + nanos(h.percentile(99.9)) + ", max " + nanos(h.percentile(100));
    }

    static String nanos(double ns) {
        if (ns >= 1e9) {
            return trim(String.format(Locale.ROOT, "%.3g", ns / 1e9)) + " s";
        } else if (ns >= 1e6) {
            return trim(String.format(Locale.ROOT, "%.3g", ns / 1e6)) + " ms";
        } else if (ns >= 1e3) {
            return trim(String.format(Locale.ROOT, "%.3g", ns / 1e3)) + " µs";
        }
        return String.format(Locale.ROOT, "%.0f ns", ns);
    }

    /** 1.00 -> 1, 2.50 -> 2.5, 250 -> 250. */
    private static String trim(String number) {
        return number.contains(".") ? number.replaceAll("\\.?0+$", "") : number;
    }

    private static String text(double x, double y, String t, String attrs) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" %s>%s</text>%n", x, y, attrs,
                t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"));
    }
}
