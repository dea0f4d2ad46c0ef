package org.smpnet.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.smpnet.net.bpf.BpfAsm;
import org.smpnet.net.bpf.BpfFilter;
import org.smpnet.net.bpf.BpfInsn;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.BpfJit;
import org.smpnet.net.bpf.BpfProgram;
import org.smpnet.net.bpf.BpfValidator;
import org.smpnet.net.bpf.FilterCompiler;

/**
 * smpnet's BPF JIT and interpreter over the benchmark's {@link BpfBenchPackets} (issue 3): one op is
 * one packet through the filter ({@code filter(pkt, 64, 64)}), so the score is ns/packet.
 *
 * <p>{@link BpfVsLibpcap} runs this with {@value #DIR_PROPERTY} naming a directory that holds the
 * packet file and {@code programs.txt}, the programs libpcap's {@code pcap_compile} made for each
 * filter (printed by the C harness), so both sides run the very same BPF code on the very same bytes.
 * Without the property (e.g. {@code scripts/bench bpf}) it generates the packets itself and compiles
 * the filters with smpnet's {@link FilterCompiler}; then there is no libpcap baseline to compare with.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
public class BpfFilterBench {
    static final String DIR_PROPERTY = "smpnet.bpfbench.dir";
    static final String PROGRAMS_FILE = "programs.txt";

    /** The filters of issue 3's proof; JMH runs each benchmark once per filter. */
    @Param({"tcp port 80", "udp and dst port 53", "ip and (tcp[tcpflags] & tcp-syn != 0)",
        "host 10.0.0.1 and (tcp port 80 or tcp port 443) and not src net 192.168.0.0/16"})
    public String filter;

    byte[][] packets;
    BpfFilter jit;
    BpfFilter interpreter;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        String dir = System.getProperty(DIR_PROPERTY);
        List<BpfInsn> insns;
        if (dir != null) {
            insns = readPrograms(Path.of(dir).resolve(PROGRAMS_FILE)).get(filter);
            if (insns == null) {
                throw new IllegalStateException("no program for \"" + filter + "\" in " + dir + "/" + PROGRAMS_FILE);
            }
            packets = BpfBenchPackets.read(BpfBenchPackets.ensureFile(Path.of(dir)));
        } else {
            insns = FilterCompiler.compile(filter).insns();
            packets = BpfBenchPackets.generate(BpfBenchPackets.COUNT, BpfBenchPackets.SEED);
        }
        if (packets.length != BpfBenchPackets.COUNT) {
            throw new IllegalStateException(packets.length + " packets, expected " + BpfBenchPackets.COUNT);
        }
        BpfProgram program = BpfValidator.validate(insns);
        jit = BpfJit.compile(program);
        interpreter = new BpfInterpreter(program);
    }

    @Benchmark
    @OperationsPerInvocation(BpfBenchPackets.COUNT)
    public int jit() {
        return accepted(jit, packets);
    }

    @Benchmark
    @OperationsPerInvocation(BpfBenchPackets.COUNT)
    public int interpreter() {
        return accepted(interpreter, packets);
    }

    /** How many of {@code packets} the filter accepts; returned so the work cannot be dropped. */
    static int accepted(BpfFilter f, byte[][] packets) {
        int n = 0;
        for (byte[] p : packets) {
            if (f.filter(p, p.length, p.length) != 0) {
                n++;
            }
        }
        return n;
    }

    /** Filter text to program, from a file {@link #writePrograms} wrote. */
    static Map<String, List<BpfInsn>> readPrograms(Path file) throws IOException {
        Map<String, List<BpfInsn>> programs = new LinkedHashMap<>();
        String name = null;
        StringBuilder text = new StringBuilder();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.startsWith("filter\t")) {
                name = line.substring("filter\t".length());
                text.setLength(0);
            } else if (line.equals("end") && name != null) {
                programs.put(name, BpfAsm.parse(text.toString()));
                name = null;
            } else {
                text.append(line).append('\n');
            }
        }
        return programs;
    }

    /** Writes filter text and programs (tcpdump -ddd form) for {@link #readPrograms}. */
    static void writePrograms(Path file, Map<String, List<BpfInsn>> programs) throws IOException {
        StringBuilder sb = new StringBuilder();
        programs.forEach((name, insns) -> sb.append("filter\t").append(name).append('\n')
                .append(BpfAsm.format(insns, BpfAsm.Format.DECIMAL)).append("end\n"));
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
    }
}
