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
 * <p>Two ratios are given. "wall" is JMH's score (wall-clock time per op, the goal's measure);
 * its error is the first-order propagation of the two scores' JMH errors (99.9% confidence
 * half-widths), and a verdict whose interval straddles the goal says "within error". "cpu" is the
 * ratio of {@link CpuTimeProfiler}'s process CPU time per op, which other processes on the machine
 * disturb far less; when the machine was loaded, trust it over "wall".
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
            new Ratio("mbuf+2K 1T  smpnet-cached / netty-plain-thr", "smpnetCached1T", "nettyPlainThreads1T", NO_GOAL),
            new Ratio("mbuf+2K 2T  smpnet-cached / netty-plain-thr", "smpnetCached2T", "nettyPlainThreads2T", NO_GOAL),
            new Ratio("mtx 1T  witness-off / ReentrantLock", "mtxWitnessOff", "reentrantLock", 1.2),
            new Ratio("mtx 1T  witness-on / ReentrantLock", "mtxWitnessOn", "reentrantLock", NO_GOAL),
            new Ratio("mtx 1T  witness-on+held / ReentrantLock", "mtxWitnessOnHeld", "reentrantLock", NO_GOAL),
            new Ratio("mtx 2T contended  witness-off / ReentrantLock", "mtxWitnessOffContended", "reentrantLockContended", NO_GOAL),
            new Ratio("mtx 2T contended  witness-on / ReentrantLock", "mtxWitnessOnContended", "reentrantLockContended", NO_GOAL),
            new Ratio("udp 64B send+recv 1T  smpnet epair / kernel loopback", "smpnetSendRecv", "kernelSendRecv", NO_GOAL),
            new Ratio("udp 64B mmsg x32 1T  smpnet epair / kernel loopback", "smpnetSendRecvBatch", "kernelSendRecv", NO_GOAL),
            new Ratio("counter 1T  smpnet Counter / AtomicLong", "counter1T", "atomicLong1T", NO_GOAL),
            new Ratio("counter 1T  smpnet Counter / LongAdder", "counter1T", "longAdder1T", NO_GOAL),
            new Ratio("counter 1T  smpnet Counter / under a mutex", "counter1T", "locked1T", NO_GOAL),
            new Ratio("counter 2T  smpnet Counter / AtomicLong", "counter2T", "atomicLong2T", NO_GOAL),
            new Ratio("counter 2T  smpnet Counter / LongAdder", "counter2T", "longAdder2T", NO_GOAL),
            new Ratio("counter 2T  smpnet Counter / under a mutex", "counter2T", "locked2T", NO_GOAL));

    record Score(String benchmark, int threads, double score, double error, String unit, double cpu, double allocBytes) {}

    static void print(PrintStream out, String target, Collection<RunResult> results, List<String> env, Path json) {
        Map<String, Score> scores = new LinkedHashMap<>();
        for (RunResult r : results) {
            String full = r.getParams().getBenchmark();
            String method = full.substring(full.lastIndexOf('.') + 1);
            Result<?> p = r.getPrimaryResult();
            scores.put(method, new Score(full.substring(full.lastIndexOf('.', full.lastIndexOf('.') - 1) + 1),
                    r.getParams().getThreads(), p.getScore(), p.getScoreError(), p.getScoreUnit(),
                    secondary(r, CpuTimeProfiler.NAME), secondary(r, "gc.alloc.rate.norm")));
        }
        boolean alloc = scores.values().stream().anyMatch(s -> !Double.isNaN(s.allocBytes));
        out.println();
        out.println("==== smpnet benchmarks: " + target + " (JSON: " + json + ")");
        env.forEach(l -> out.println("  " + l));
        out.printf(Locale.ROOT, "%-38s %3s %10s %9s %-6s %9s%s%n", "benchmark", "thr", "wall", "± error", "unit",
                "cpu ns/op", alloc ? "     B/op" : "");
        for (Score s : scores.values()) {
            out.printf(Locale.ROOT, "%-38s %3d %10.2f %9s %-6s %9s%s%n", s.benchmark, s.threads, s.score,
                    fmt(s.error, 2), s.unit, fmt(s.cpu, 2), alloc ? String.format(Locale.ROOT, " %8s", fmt(s.allocBytes, 1)) : "");
        }
        out.println();
        out.printf(Locale.ROOT, "%-46s %6s %7s %6s  %s%n", "ratio (same run)", "wall", "± error", "cpu", "goal: verdict on wall / on cpu");
        int pass = 0;
        int miss = 0;
        for (Ratio ratio : RATIOS) {
            Score n = scores.get(ratio.num);
            Score d = scores.get(ratio.den);
            if (n == null || d == null) {
                continue;
            }
            double v = n.score / d.score;
            double e = v * Math.hypot(n.error / n.score, d.error / d.score);
            double c = n.cpu / d.cpu;
            String verdict;
            if (Double.isNaN(ratio.goal)) {
                verdict = "(information)";
            } else {
                boolean ok = v <= ratio.goal;
                if (ok) {
                    pass++;
                } else {
                    miss++;
                }
                verdict = String.format(Locale.ROOT, "<= %.2f: %s%s / %s", ratio.goal, ok ? "PASS" : "MISS",
                        (v - e <= ratio.goal) != (v + e <= ratio.goal) ? " (within error)" : "",
                        Double.isNaN(c) ? "n/a" : c <= ratio.goal ? "PASS" : "MISS");
            }
            out.printf(Locale.ROOT, "%-46s %6.3f %7s %6s  %s%n", ratio.label, v, fmt(e, 3), fmt(c, 3), verdict);
        }
        out.printf(Locale.ROOT, "goals on wall time: %d PASS, %d MISS%n", pass, miss);
    }

    private static double secondary(RunResult r, String name) {
        Result<?> x = r.getSecondaryResults().get(name);
        return x == null ? Double.NaN : x.getScore();
    }

    private static String fmt(double x, int decimals) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%." + decimals + "f", x);
    }
}
