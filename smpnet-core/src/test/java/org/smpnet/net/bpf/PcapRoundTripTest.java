package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What our writers write, our reader and real tcpdump and tshark read back. */
class PcapRoundTripTest {
    private static final int ETHERNET = 1;
    private static final int RAW = 101;
    private static final int SNAPLEN = 2048;
    private static final ByteOrder[] ORDERS = {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN};

    enum Kind { PCAP_MICROS, PCAP_NANOS, PCAPNG }

    /** Seeded packets: varied lengths (0 to snaplen), some truncated, timestamps of the given grain. */
    static List<PcapRecord> packets(long seed, int n, long grainNanos, boolean pcapng) {
        return packets(seed, n, grainNanos, pcapng, RAW);
    }

    /** As above; pcapng packets go to interface 0 (Ethernet) or 1 ({@code secondLinkType}). */
    static List<PcapRecord> packets(long seed, int n, long grainNanos, boolean pcapng, int secondLinkType) {
        Random rnd = new Random(seed);
        List<PcapRecord> out = new ArrayList<>();
        long ts = 1_700_000_000_000_000_000L;
        for (int i = 0; i < n; i++) {
            ts += (1 + rnd.nextInt(5_000_000)) * grainNanos;
            int caplen = i == 0 ? 0 : rnd.nextInt(SNAPLEN + 1);
            byte[] data = new byte[caplen];
            rnd.nextBytes(data);
            long len = (long) caplen + (rnd.nextInt(4) == 0 ? rnd.nextInt(9000) : 0);
            int itf = pcapng ? rnd.nextInt(2) : 0;
            OptionalInt flags = pcapng && rnd.nextBoolean() ? OptionalInt.of(rnd.nextInt()) : OptionalInt.empty();
            List<String> comments = pcapng && rnd.nextInt(3) == 0
                    ? List.of("packet " + i, "ünïcode " + rnd.nextInt(1000)) : List.of();
            out.add(new PcapRecord(ts, itf == 0 ? ETHERNET : secondLinkType, caplen, len, data, itf, flags, comments));
        }
        return out;
    }

    static byte[] write(Kind kind, ByteOrder order, List<PcapRecord> packets) throws IOException {
        return write(kind, order, packets, RAW);
    }

    static byte[] write(Kind kind, ByteOrder order, List<PcapRecord> packets, int secondLinkType)
            throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PcapWriter w = writer(kind, order, bytes, secondLinkType)) {
            for (PcapRecord r : packets) {
                w.write(r);
            }
        }
        return bytes.toByteArray();
    }

    private static PcapWriter writer(Kind kind, ByteOrder order, ByteArrayOutputStream bytes, int secondLinkType)
            throws IOException {
        return switch (kind) {
            case PCAP_MICROS -> new PcapClassicWriter(bytes, order, ETHERNET, SNAPLEN, false);
            case PCAP_NANOS -> new PcapClassicWriter(bytes, order, ETHERNET, SNAPLEN, true);
            case PCAPNG -> {
                PcapngWriter w = new PcapngWriter(bytes, order);
                w.addInterface(ETHERNET, SNAPLEN, 9, "smp0");
                w.addInterface(secondLinkType, SNAPLEN, 6, "");   // libpcap wants one snaplen too
                yield w;
            }
        };
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    @DisplayName("R-BPF-4: pcap µs, pcap ns and pcapng files we write read back equal, in both byte orders")
    void roundTrip(Kind kind) throws IOException {
        for (ByteOrder order : ORDERS) {
            // Microsecond grain everywhere; nanosecond files and pcapng interface 0 (tsresol 9) get +123 ns.
            List<PcapRecord> packets = packets(42, 300, 1000, kind == Kind.PCAPNG);
            if (kind != Kind.PCAP_MICROS) {
                packets = packets.stream().map(p -> p.interfaceId() == 0
                        ? withTime(p, p.timestampNanos() + 123) : p).toList();
            }
            byte[] file = write(kind, order, packets);
            try (PcapReader r = PcapFiles.open(file)) {
                assertThat(r.byteOrder()).isEqualTo(order);
                assertThat(r.readAll()).isEqualTo(packets);
                assertThat(r.linkTypes()).contains(ETHERNET);
            }
            assertThat(PcapFiles.readAll(file)).isEqualTo(packets);
        }
    }

    private static PcapRecord withTime(PcapRecord p, long ts) {
        return new PcapRecord(ts, p.linkType(), p.capturedLength(), p.originalLength(), p.data(), p.interfaceId(),
                p.flags(), p.comments());
    }

    @Test
    @DisplayName("R-BPF-4: a file written through a Path reads back through a Path, header fields included")
    void pathRoundTrip(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("x.pcapng");
        List<PcapRecord> packets = packets(7, 50, 1, false);
        try (PcapngWriter w = PcapFiles.newPcapngWriter(f)) {
            w.addInterface(ETHERNET, SNAPLEN, 9, "eth0");
            for (PcapRecord p : packets) {
                w.write(p);
            }
        }
        try (PcapngReader r = (PcapngReader) PcapFiles.open(f)) {
            assertThat(r.readAll()).isEqualTo(packets);
            assertThat(r.interfaces()).singleElement().satisfies(i -> {
                assertThat(i.name()).isEqualTo("eth0");
                assertThat(i.tsresol()).isEqualTo(9);
                assertThat(i.snaplen()).isEqualTo(SNAPLEN);
            });
            assertThat(r.sections()).singleElement().satisfies(s -> {
                assertThat(s.sectionLength()).isEqualTo(-1);
                assertThat(s.options()).extracting(PcapngOption::text).containsExactly("smpnet");
            });
        }
        Path p = dir.resolve("x.pcap");
        try (PcapClassicWriter w = PcapFiles.newPcapWriter(p, ETHERNET, SNAPLEN, true)) {
            for (PcapRecord r : packets) {
                w.write(r);
            }
        }
        try (PcapReader r = PcapFiles.open(p)) {
            assertThat(r.format()).isEqualTo(PcapFormat.PCAP_NANOS);
            assertThat(r.versionMajor()).isEqualTo(2);
            assertThat(r.versionMinor()).isEqualTo(4);
            assertThat(r.snaplen()).isEqualTo(SNAPLEN);
            assertThat(r.readAll()).isEqualTo(packets);
        }
    }

    @Test
    @DisplayName("R-BPF-4: each written record is flushed: a reader sees it while the writer is still open")
    void recordsAreFlushed(@TempDir Path dir) throws IOException {
        Path ng = dir.resolve("live.pcapng");
        Path pcap = dir.resolve("live.pcap");
        List<PcapRecord> packets = packets(3, 5, 1000, false);
        try (PcapngWriter w = PcapFiles.newPcapngWriter(ng);
                PcapClassicWriter c = PcapFiles.newPcapWriter(pcap, ETHERNET, SNAPLEN, false)) {
            w.addInterface(ETHERNET, SNAPLEN, 6, "");
            for (int i = 0; i < packets.size(); i++) {
                w.write(packets.get(i));
                c.write(packets.get(i));
                assertThat(PcapFiles.readAll(Files.readAllBytes(ng))).isEqualTo(packets.subList(0, i + 1));
                assertThat(PcapFiles.readAll(Files.readAllBytes(pcap))).isEqualTo(packets.subList(0, i + 1));
            }
        }
    }

    @Test
    @DisplayName("R-BPF-4: writers reject records that do not fit the file, with a message")
    void writersRejectBadRecords() throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PcapClassicWriter w = new PcapClassicWriter(sink, ByteOrder.BIG_ENDIAN, ETHERNET, 64, false);
        assertThatThrownBy(() -> w.write(PcapRecord.of(0, ETHERNET, new byte[65])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("snaplen");
        assertThatThrownBy(() -> w.write(PcapRecord.of(0, RAW, new byte[1])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("link type");
        assertThatThrownBy(() -> w.write(PcapRecord.of(-1, ETHERNET, new byte[1])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("range");
        PcapngWriter ng = new PcapngWriter(sink, ByteOrder.BIG_ENDIAN);
        assertThatThrownBy(() -> ng.write(PcapRecord.of(0, ETHERNET, new byte[1])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("interface 0");
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    @DisplayName("R-BPF-4: real tcpdump and tshark read our files: same packet count and lengths")
    void tcpdumpAndTsharkReadOurFiles(Kind kind, @TempDir Path dir) throws Exception {
        boolean tcpdump = onPath("tcpdump");
        boolean tshark = onPath("tshark");
        assumeTrue(tcpdump || tshark, "neither tcpdump nor tshark is installed: skipped (apt-get install tcpdump tshark)");
        for (ByteOrder order : ORDERS) {
            // libpcap wants one link type per file: both pcapng interfaces are Ethernet (tsresol differs).
            List<PcapRecord> packets = packets(99, 200, 1000, kind == Kind.PCAPNG, ETHERNET);
            Path f = dir.resolve(kind + "-" + order + ".cap");
            Files.write(f, write(kind, order, packets, ETHERNET));
            if (tcpdump) {
                List<String> out = run("tcpdump", "-r", f.toString(), "--count");
                assertThat(out).as("tcpdump --count on %s", f).contains(packets.size() + " packets");
            }
            if (tshark) {
                List<String> out = run("tshark", "-r", f.toString(), "-T", "fields", "-e", "frame.cap_len",
                        "-e", "frame.len");
                List<String> want = packets.stream().map(p -> p.capturedLength() + "\t" + p.originalLength()).toList();
                assertThat(out).as("tshark on %s", f).isEqualTo(want);
            }
        }
        if (tshark && kind == Kind.PCAPNG) {
            List<PcapRecord> packets = packets(5, 100, 1000, true, RAW);
            Path f = dir.resolve("two-link-types.pcapng");
            Files.write(f, write(kind, ByteOrder.LITTLE_ENDIAN, packets, RAW));
            List<String> out = run("tshark", "-r", f.toString(), "-T", "fields", "-e", "frame.cap_len",
                    "-e", "frame.comment", "-E", "occurrence=a", "-E", "aggregator=;");
            List<String> want = packets.stream().map(p -> p.capturedLength() + "\t" + String.join(";", p.comments()))
                    .toList();
            assertThat(out).as("tshark on two link types and comments").isEqualTo(want);
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator, -1)) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a tool; returns its stdout lines, failing on a non-zero exit or a minute's wait. */
    private static List<String> run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", cmd[0]).isTrue();
        assertThat(p.exitValue()).as("%s exit status", String.join(" ", cmd)).isZero();
        return new String(out, StandardCharsets.UTF_8).lines().toList();
    }
}
