package org.smpnet.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Entry point of the benchmark jar: runs a named suite (or a regex) through JMH in forked JVMs
 * set up for Netty's fastest mode, writes JMH's JSON to {@code bench-results/}, and prints every
 * score with its ratio to the baseline measured in the same run ({@link Report}).
 *
 * <pre>
 * java -jar smpnet-benchmarks.jar [--quick] [-f N] [-wi N] [-i N] [-w TIME] [-r TIME]
 *                                 [-prof NAME[:OPTS]]... [--jvm-arg ARG]... [-o DIR] [-l] [SUITE|REGEX]
 * </pre>
 */
public final class BenchMain {
    private BenchMain() {}

    /** Named suites: a regex over benchmark names. */
    static final Map<String, String> SUITES = Map.of(
            "micro", "^org\\.smpnet\\.bench\\.(MbufAllocBench|MtxBench)\\.",
            "mbuf", "^org\\.smpnet\\.bench\\.MbufAllocBench\\.",
            "mtx", "^org\\.smpnet\\.bench\\.MtxBench\\.",
            "mbufparts", "^org\\.smpnet\\.bench\\.MbufPartsBench\\.",
            "bpf", "^org\\.smpnet\\.bench\\.BpfFilterBench\\.",
            "udppath", "^org\\.smpnet\\.bench\\.UdpPathBench\\.",
            "counter", "^org\\.smpnet\\.bench\\.CounterBench\\.");

    /**
     * Arguments of every forked JVM: a fixed heap; what Netty needs on JDK 25 to use Unsafe
     * (without them it silently falls back to slower paths and the baseline would flatter us);
     * smpnet's test-mode checks off, as in production.
     */
    static final List<String> FORK_JVM_ARGS = List.of(
            "-Xms1g", "-Xmx1g",
            "--sun-misc-unsafe-memory-access=allow",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-Dio.netty.leakDetection.level=disabled",
            "-Dsmpnet.witness=0",
            "-Dsmpnet.invariants=0");

    /**
     * Parsed command line. Defaults finish the micro suite in about five minutes on two cores; two
     * forks because JIT decisions differ between JVMs and ten samples narrow JMH's error bars.
     */
    static final class Args {
        String target = "micro";
        int forks = 2;
        int warmupIterations = 4;
        TimeValue warmupTime = TimeValue.seconds(1);
        int iterations = 5;
        TimeValue iterationTime = TimeValue.seconds(1);
        final List<String> profilers = new ArrayList<>();
        final List<String> jvmArgs = new ArrayList<>();
        Path outDir = Path.of("bench-results");
        boolean list;

        static Args parse(String[] argv) {
            Args a = new Args();
            for (int i = 0; i < argv.length; i++) {
                String arg = argv[i];
                switch (arg) {
                    case "--quick" -> {
                        a.forks = 1;
                        a.warmupIterations = 1;
                        a.warmupTime = TimeValue.milliseconds(500);
                        a.iterations = 2;
                        a.iterationTime = TimeValue.milliseconds(500);
                    }
                    case "-f" -> a.forks = intArg(argv, ++i, arg);
                    case "-wi" -> a.warmupIterations = intArg(argv, ++i, arg);
                    case "-i" -> a.iterations = intArg(argv, ++i, arg);
                    case "-w" -> a.warmupTime = timeArg(argv, ++i, arg);
                    case "-r" -> a.iterationTime = timeArg(argv, ++i, arg);
                    case "-prof" -> a.profilers.add(value(argv, ++i, arg));
                    case "--jvm-arg" -> a.jvmArgs.add(value(argv, ++i, arg));
                    case "-o" -> a.outDir = Path.of(value(argv, ++i, arg));
                    case "-l" -> a.list = true;
                    case "-h", "--help" -> throw new UsageException(null);
                    default -> {
                        if (arg.startsWith("-")) {
                            throw new UsageException("unknown option " + arg);
                        }
                        a.target = arg;
                    }
                }
            }
            return a;
        }

        String regex() {
            return SUITES.getOrDefault(target, target);
        }

        private static String value(String[] argv, int i, String opt) {
            if (i >= argv.length) {
                throw new UsageException(opt + " needs a value");
            }
            return argv[i];
        }

        private static int intArg(String[] argv, int i, String opt) {
            String v = value(argv, i, opt);
            try {
                int n = Integer.parseInt(v);
                if (n < 0) {
                    throw new NumberFormatException();
                }
                return n;
            } catch (NumberFormatException e) {
                throw new UsageException(opt + " needs a count >= 0, got \"" + v + "\"");
            }
        }

        private static TimeValue timeArg(String[] argv, int i, String opt) {
            String v = value(argv, i, opt);
            try {
                return TimeValue.fromString(v);
            } catch (IllegalArgumentException e) {
                throw new UsageException(opt + " needs a time such as 1s or 500ms, got \"" + v + "\"");
            }
        }
    }

    /** A bad command line; the message (if any) is printed above the usage text. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static final String USAGE = """
            usage: BenchMain [--quick] [-f FORKS] [-wi N] [-i N] [-w TIME] [-r TIME]
                             [-prof NAME[:OPTS]]... [--jvm-arg ARG]... [-o DIR] [-l] [SUITE|REGEX]
              SUITE      micro (default: the goal benchmarks), mbuf, mtx, mbufparts, udppath, counter; anything else is a JMH regex
              --quick    smoke run: 1 fork, 1 warmup x 500ms, 2 iterations x 500ms
              -f -wi -i -w -r   forks, warmup iterations, iterations, warmup time, iteration time
                         (defaults: 2 forks, 4 x 1s warmup, 5 x 1s measurement)
              -prof      a JMH profiler, e.g. gc or stack:lines=5 (repeatable)
              --jvm-arg  one more argument for every forked JVM (repeatable)
              -o DIR     where the JMH JSON goes (default bench-results)
              -l         list the matching benchmarks and exit
            """;

    public static void main(String[] argv) throws Exception {
        Args a;
        try {
            a = Args.parse(argv);
        } catch (UsageException e) {
            if (e.getMessage() != null) {
                System.err.println("BenchMain: " + e.getMessage());
            }
            System.err.print(USAGE);
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        String name = a.target.replaceAll("[^A-Za-z0-9._-]", "_");
        Files.createDirectories(a.outDir);
        Path json = a.outDir.resolve(name + "-" + stamp + ".json");
        Path env = a.outDir.resolve(name + "-" + stamp + "-env.txt");
        System.setProperty(NettyEnv.ENV_FILE_PROPERTY, env.toAbsolutePath().toString());

        List<String> jvmArgs = new ArrayList<>(FORK_JVM_ARGS);
        jvmArgs.add("-D" + NettyEnv.ENV_FILE_PROPERTY + "=" + env.toAbsolutePath());
        jvmArgs.addAll(a.jvmArgs);
        ChainedOptionsBuilder ob = new OptionsBuilder()
                .include(a.regex())
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
        Runner runner = new Runner(ob.build());
        if (a.list) {
            runner.list();
            return;
        }
        double loadBefore = loadAverage();
        Collection<RunResult> results = runner.run();
        List<String> envLines = new ArrayList<>(readEnv(env));
        double loadAfter = loadAverage();
        int cpus = Runtime.getRuntime().availableProcessors();
        envLines.add(String.format(java.util.Locale.ROOT, "machine: %d CPUs, load average %.1f before, %.1f after%s",
                cpus, loadBefore, loadAfter, Math.max(loadBefore, loadAfter) > cpus
                        ? "  WARNING: other work competed for the CPUs; scores are inflated and noisy" : ""));
        Report.print(System.out, a.target, results, envLines, json);
    }

    /** The one-minute system load average, or NaN where the OS does not report it. */
    private static double loadAverage() {
        double l = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return l < 0 ? Double.NaN : l;
    }

    private static List<String> readEnv(Path env) throws IOException {
        if (!Files.exists(env)) {
            return List.of();
        }
        return Files.readAllLines(env, StandardCharsets.UTF_8).stream().distinct().toList();
    }
}
