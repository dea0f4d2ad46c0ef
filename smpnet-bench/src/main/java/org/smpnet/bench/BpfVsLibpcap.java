package org.smpnet.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.smpnet.net.bpf.BpfAsm;
import org.smpnet.net.bpf.BpfInsn;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.BpfJit;
import org.smpnet.net.bpf.BpfProgram;
import org.smpnet.net.bpf.BpfValidator;

/**
 * Issue 3's BPF proof in one run ({@code scripts/bench-bpf}): libpcap's own {@code bpf_filter}
 * (the C harness {@code bpf_libpcap_bench}, run before and after JMH) against smpnet's
 * {@link BpfJit} and {@link BpfInterpreter} ({@link BpfFilterBench} under JMH) on the same
 * {@link BpfBenchPackets}, running the very programs {@code pcap_compile} produced. Prints, per
 * filter, the accepted-packet counts of all three (a mismatch is a bug and fails the run) and
 * ns/packet with the JIT/libpcap (goal &le; 0.5) and interpreter/libpcap (goal &le; 1.5) ratios on
 * wall-clock and on CPU time.
 *
 * <p>Takes {@link BenchMain}'s options; system properties {@value #HARNESS_PROPERTY} (the harness
 * binary) and {@value BpfFilterBench#DIR_PROPERTY} (its working directory) come from the script.
 */
public final class BpfVsLibpcap {
    static final String HARNESS_PROPERTY = "smpnet.bpfbench.harness";
    static final double JIT_GOAL = 0.5;
    static final double INTERP_GOAL = 1.5;

    private BpfVsLibpcap() {}

    /** What the harness reported for one filter. */
    record Libpcap(List<BpfInsn> program, long accepted, double[] wall, double[] cpu) {
        double medianWall() {
            return median(wall);
        }

        double medianCpu() {
            return median(cpu);
        }
    }

    /** What one harness run reported. */
    record HarnessRun(String version, long packets, Map<String, Libpcap> filters) {}

    public static void main(String[] argv) throws Exception {
        BenchMain.Args a;
        try {
            a = BenchMain.Args.parse(argv);
        } catch (BenchMain.UsageException e) {
            if (e.getMessage() != null) {
                System.err.println("BpfVsLibpcap: " + e.getMessage());
            }
            System.err.print(BenchMain.USAGE.replace("[SUITE|REGEX]", "").replace("BenchMain", "BpfVsLibpcap"));
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        String harness = System.getProperty(HARNESS_PROPERTY);
        String dirName = System.getProperty(BpfFilterBench.DIR_PROPERTY);
        if (harness == null || dirName == null) {
            System.err.println("BpfVsLibpcap: needs -D" + HARNESS_PROPERTY + " and -D" + BpfFilterBench.DIR_PROPERTY
                    + "; run it through scripts/bench-bpf, which builds the libpcap harness");
            System.exit(2);
            return;
        }
        Path dir = Path.of(dirName).toAbsolutePath();
        List<String> filters = filters();
        System.out.println("bpf bench: writing or reusing the packet file in " + dir);
        Path pcap = BpfBenchPackets.ensureFile(dir);
        int rounds = Math.max(5, 2 * a.iterations);
        double loadBefore = loadAverage();
        HarnessRun before = runHarness(harness, pcap, rounds, filters);
        Map<String, List<BpfInsn>> programs = new LinkedHashMap<>();
        before.filters().forEach((f, l) -> programs.put(f, l.program()));
        BpfFilterBench.writePrograms(dir.resolve(BpfFilterBench.PROGRAMS_FILE), programs);

        byte[][] packets = BpfBenchPackets.read(pcap);
        Map<String, long[]> counts = new LinkedHashMap<>();
        for (String f : filters) {
            BpfProgram program = BpfValidator.validate(programs.get(f));
            counts.put(f, new long[] {before.filters().get(f).accepted(),
                BpfFilterBench.accepted(BpfJit.compile(program), packets),
                BpfFilterBench.accepted(new BpfInterpreter(program), packets)});
        }
        packets = null;

        Collection<RunResult> results = runJmh(a, dir);
        HarnessRun after = runHarness(harness, pcap, rounds, filters);
        double loadAfter = loadAverage();
        boolean countsAgree = print(System.out, before, after, results, counts, rounds, loadBefore, loadAfter);
        if (!countsAgree) {
            System.exit(1);
        }
    }

    /** The filters, in the order of {@link BpfFilterBench#filter}'s {@code @Param}. */
    static List<String> filters() throws NoSuchFieldException {
        return List.of(BpfFilterBench.class.getField("filter").getAnnotation(Param.class).value());
    }

    static HarnessRun runHarness(String harness, Path pcap, int rounds, List<String> filters)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(harness, pcap.toString(), Integer.toString(rounds)));
        cmd.addAll(filters);
        System.out.println("bpf bench: libpcap harness, " + rounds + " rounds per filter");
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            lines = r.lines().toList();
        }
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IOException("libpcap harness " + harness + " exited with status " + rc);
        }
        return parseHarness(lines);
    }

    static HarnessRun parseHarness(List<String> lines) {
        String version = "?";
        long packets = -1;
        Map<String, Libpcap> out = new LinkedHashMap<>();
        String filter = null;
        StringBuilder prog = new StringBuilder();
        long accepted = -1;
        List<double[]> rounds = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split("\t");
            switch (f[0]) {
                case "version" -> version = f[1];
                case "packets" -> packets = Long.parseLong(f[1]);
                case "filter" -> {
                    filter = f[1];
                    prog.setLength(0);
                    rounds.clear();
                }
                case "program" -> prog.append(f[1]).append('\n');
                case "accepted" -> accepted = Long.parseLong(f[1]);
                case "round" -> rounds.add(new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2])});
                case "end" -> {
                    out.put(filter, new Libpcap(BpfAsm.parse(prog.toString()), accepted,
                            rounds.stream().mapToDouble(r -> r[0]).toArray(),
                            rounds.stream().mapToDouble(r -> r[1]).toArray()));
                    filter = null;
                }
                default -> prog.append(line).append('\n');
            }
        }
        return new HarnessRun(version, packets, out);
    }

    static Collection<RunResult> runJmh(BenchMain.Args a, Path dir) throws Exception {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Files.createDirectories(a.outDir);
        Path json = a.outDir.resolve("bpf-" + stamp + ".json");
        List<String> jvmArgs = new ArrayList<>(BenchMain.FORK_JVM_ARGS);
        jvmArgs.add("-D" + BpfFilterBench.DIR_PROPERTY + "=" + dir);
        jvmArgs.addAll(a.jvmArgs);
        ChainedOptionsBuilder ob = new OptionsBuilder()
                .include("^" + BpfFilterBench.class.getName().replace(".", "\\.") + "\\.")
                .forks(a.forks)
                .warmupIterations(a.warmupIterations)
                .warmupTime(a.warmupTime)
                .measurementIterations(a.iterations)
                .measurementTime(a.iterationTime)
                .jvmArgs(jvmArgs.toArray(String[]::new))
                .resultFormat(ResultFormatType.JSON)
                .result(json.toString())
                .addProfiler(CpuTimeProfiler.class);
        for (String p : a.profilers) {
            int colon = p.indexOf(':');
            if (colon < 0) {
                ob.addProfiler(p);
            } else {
                ob.addProfiler(p.substring(0, colon), p.substring(colon + 1));
            }
        }
        System.out.println("bpf bench: JMH results go to " + json);
        return new Runner(ob.build()).run();
    }

    /** JMH's score, error and CPU time per op for one benchmark method and filter. */
    record Jmh(double score, double error, double cpu) {}

    /** Prints the tables; returns whether every filter's three accept counts agree. */
    static boolean print(PrintStream out, HarnessRun before, HarnessRun after, Collection<RunResult> results,
            Map<String, long[]> counts, int rounds, double loadBefore, double loadAfter) {
        Map<String, Jmh> jmh = new LinkedHashMap<>();
        for (RunResult r : results) {
            String b = r.getParams().getBenchmark();
            Result<?> p = r.getPrimaryResult();
            Result<?> cpu = r.getSecondaryResults().get(CpuTimeProfiler.NAME);
            jmh.put(b.substring(b.lastIndexOf('.') + 1) + "|" + r.getParams().getParam("filter"),
                    new Jmh(p.getScore(), p.getScoreError(), cpu == null ? Double.NaN : cpu.getScore()));
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        out.println();
        out.printf(Locale.ROOT, "==== BPF: smpnet JIT and interpreter vs %s bpf_filter, %d packets of %d bytes%n",
                before.version(), before.packets(), BpfBenchPackets.SIZE);
        out.printf(Locale.ROOT, "  machine: %d CPUs, load average %.1f before, %.1f after%s%n", cpus, loadBefore, loadAfter,
                Math.max(loadBefore, loadAfter) > cpus
                        ? "  WARNING: other work competed for the CPUs; wall times are inflated and noisy" : "");
        out.printf(Locale.ROOT, "  libpcap: median of %d timed passes, run before and after JMH, the lower (faster) "
                + "of the two; JMH: average over its iterations (± 99.9%% error)%n", rounds);
        List<String> filters = new ArrayList<>(counts.keySet());
        for (int i = 0; i < filters.size(); i++) {
            out.printf(Locale.ROOT, "  F%d = %s  (%d insns)%n", i + 1, filters.get(i),
                    before.filters().get(filters.get(i)).program().size());
        }
        out.println();
        out.println("accepted packets");
        out.printf(Locale.ROOT, "%-4s %10s %10s %10s%n", "", "libpcap", "JIT", "interp");
        boolean agree = true;
        for (int i = 0; i < filters.size(); i++) {
            long[] c = counts.get(filters.get(i));
            long afterCount = after.filters().get(filters.get(i)).accepted();
            boolean ok = c[0] == c[1] && c[0] == c[2] && c[0] == afterCount;
            agree &= ok;
            out.printf(Locale.ROOT, "F%-3d %10d %10d %10d  %s%n", i + 1, c[0], c[1], c[2],
                    ok ? "agree" : "MISMATCH (a bug)");
        }
        for (boolean cpu : new boolean[] {false, true}) {
            out.println();
            out.printf(Locale.ROOT, "%s ns/packet%n", cpu ? "CPU time" : "wall-clock");
            out.printf(Locale.ROOT, "%-4s %8s %8s %7s %8s %7s  %-22s %-22s%n", "", "libpcap", "JIT", cpu ? "" : "± err",
                    "interp", cpu ? "" : "± err", "JIT/libpcap (<= 0.5)", "interp/libpcap (<= 1.5)");
            for (int i = 0; i < filters.size(); i++) {
                String f = filters.get(i);
                Libpcap b = before.filters().get(f);
                Libpcap a = after.filters().get(f);
                double lib = cpu ? Math.min(b.medianCpu(), a.medianCpu()) : Math.min(b.medianWall(), a.medianWall());
                Jmh j = jmh.get("jit|" + f);
                Jmh n = jmh.get("interpreter|" + f);
                double jv = j == null ? Double.NaN : cpu ? j.cpu() : j.score();
                double nv = n == null ? Double.NaN : cpu ? n.cpu() : n.score();
                out.printf(Locale.ROOT, "F%-3d %8.2f %8.2f %7s %8.2f %7s  %-22s %-22s%n", i + 1, lib, jv,
                        cpu || j == null ? "" : fmt(j.error()), nv, cpu || n == null ? "" : fmt(n.error()),
                        verdict(jv / lib, JIT_GOAL), verdict(nv / lib, INTERP_GOAL));
            }
        }
        out.println();
        out.printf(Locale.ROOT, "libpcap rounds (wall ns/pkt), before JMH: %s%n", rounds(before, filters));
        out.printf(Locale.ROOT, "libpcap rounds (wall ns/pkt), after JMH:  %s%n", rounds(after, filters));
        return agree;
    }

    private static String rounds(HarnessRun run, List<String> filters) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < filters.size(); i++) {
            double[] w = run.filters().get(filters.get(i)).wall().clone();
            Arrays.sort(w);
            sb.append(String.format(Locale.ROOT, "F%d min %.2f median %.2f max %.2f  ", i + 1, w[0], median(w),
                    w[w.length - 1]));
        }
        return sb.toString().strip();
    }

    private static String verdict(double ratio, double goal) {
        if (Double.isNaN(ratio)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.3f %s", ratio, ratio <= goal ? "PASS" : "MISS");
    }

    private static String fmt(double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.2f", x);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double loadAverage() {
        double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return l < 0 ? Double.NaN : l;
    }
}
