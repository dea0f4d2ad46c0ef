package org.smpnet.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

/**
 * The table printed after a run: each benchmark's score, then each ratio against its baseline
 * from the same run, with PASS/MISS where the requirement sets a goal.
 *
 * <p>A ratio's error is the first-order propagation of the two scores' JMH errors (99.9%
 * confidence half-widths); a verdict whose interval straddles the goal is marked "(within error)".
 */
final class Report {
    private Report() {}

    /** One ratio: numerator and denominator are benchmark method names; goal is NaN when none. */
    record Ratio(String label, String num, String den, double goal) {}

    static final double NO_GOAL = Double.NaN;

    static final List<Ratio> RATIOS = List.of(
            new Ratio("mbuf+2K 1T  smpnet-cached / netty", "smpnetCached1T", "netty1T", 0.25),
            new Ratio("mbuf+2K 1T  smpnet-locked / netty", "smpnetLocked1T", "netty1T", NO_GOAL),
            new Ratio("mbuf+2K 1T  smpnet-cached / smpnet-locked", "smpnetCached1T", "smpnetLocked1T", NO_GOAL),
            new Ratio("mbuf+2K 2T  smpnet-cached / netty", "smpnetCached2T", "netty2T", 0.25),
            new Ratio("mbuf+2K 2T  smpnet-locked / netty", "smpnetLocked2T", "netty2T", NO_GOAL),
            new Ratio("mbuf+2K 2T  smpnet-cached / smpnet-locked", "smpnetCached2T", "smpnetLocked2T", NO_GOAL),
            new Ratio("mtx 1T  witness-off / ReentrantLock", "mtxWitnessOff", "reentrantLock", 1.2),
            new Ratio("mtx 1T  witness-on / ReentrantLock", "mtxWitnessOn", "reentrantLock", NO_GOAL),
            new Ratio("mtx 1T  witness-on+held / ReentrantLock", "mtxWitnessOnHeld", "reentrantLock", NO_GOAL),
            new Ratio("mtx 2T contended  witness-off / ReentrantLock", "mtxWitnessOffContended", "reentrantLockContended", NO_GOAL),
            new Ratio("mtx 2T contended  witness-on / ReentrantLock", "mtxWitnessOnContended", "reentrantLockContended", NO_GOAL));

    record Score(String benchmark, int threads, double score, double error, String unit, double allocBytes) {}

    static void print(PrintStream out, String target, Collection<RunResult> results, List<String> env, Path json) {
        Map<String, Score> scores = new LinkedHashMap<>();
        for (RunResult r : results) {
            String full = r.getParams().getBenchmark();
            String method = full.substring(full.lastIndexOf('.') + 1);
            Result<?> p = r.getPrimaryResult();
            Result<?> alloc = r.getSecondaryResults().get("gc.alloc.rate.norm");
            scores.put(method, new Score(full.substring("org.smpnet.bench.".length()), r.getParams().getThreads(),
                    p.getScore(), p.getScoreError(), p.getScoreUnit(), alloc == null ? Double.NaN : alloc.getScore()));
        }
        out.println();
        out.println("==== smpnet benchmarks: " + target + " (JSON: " + json + ")");
        env.forEach(l -> out.println("  " + l));
        out.printf(Locale.ROOT, "%-44s %3s %12s %10s %-6s%s%n", "benchmark", "thr", "score", "± error", "unit",
                scores.values().stream().anyMatch(s -> !Double.isNaN(s.allocBytes)) ? "    B/op" : "");
        for (Score s : scores.values()) {
            out.printf(Locale.ROOT, "%-44s %3d %12.2f %10s %-6s%s%n", s.benchmark, s.threads, s.score,
                    fmt(s.error), s.unit, Double.isNaN(s.allocBytes) ? "" : String.format(Locale.ROOT, " %7.1f", s.allocBytes));
        }
        out.println();
        out.printf(Locale.ROOT, "%-46s %8s %8s  %s%n", "ratio (same run)", "value", "± error", "goal");
        int pass = 0;
        int miss = 0;
        for (Ratio ratio : RATIOS) {
            Score n = scores.get(ratio.num);
            Score d = scores.get(ratio.den);
            if (n == null || d == null) {
                continue;
            }
            double v = n.score / d.score;
            double e = v * Math.hypot(rel(n), rel(d));
            String verdict;
            if (Double.isNaN(ratio.goal)) {
                verdict = "(information)";
            } else if (v <= ratio.goal) {
                pass++;
                verdict = String.format(Locale.ROOT, "PASS (goal <= %.2f)%s", ratio.goal, v + e > ratio.goal ? " (within error)" : "");
            } else {
                miss++;
                verdict = String.format(Locale.ROOT, "MISS (goal <= %.2f; %.2fx over)%s", ratio.goal, v / ratio.goal,
                        v - e <= ratio.goal ? " (within error)" : "");
            }
            out.printf(Locale.ROOT, "%-46s %8.3f %8s  %s%n", ratio.label, v, fmt(e), verdict);
        }
        out.printf(Locale.ROOT, "goals: %d PASS, %d MISS%n", pass, miss);
    }

    private static double rel(Score s) {
        return s.error / s.score;
    }

    private static String fmt(double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.3f", x);
    }
}
