package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapFormatException;
import org.smpnet.net.bpf.PcapReader;
import org.smpnet.net.bpf.PcapRecord;

class PacketPrinterTest {
    private final PacketPrinter printer = new PacketPrinter(ZoneOffset.UTC, false);

    private String print(int linkType, String hex) {
        byte[] b = TcpdumpCommandTest.hex(hex);
        return printer.summary(PcapRecord.of(0, linkType, b)).substring("00:00:00.000000 ".length());
    }

    private String printCut(int linkType, String hex, int caplen) {
        byte[] whole = TcpdumpCommandTest.hex(hex);
        byte[] cut = Arrays.copyOf(whole, caplen);
        PcapRecord r = new PcapRecord(0, linkType, caplen, whole.length, cut, 0, OptionalInt.empty(), List.of());
        return printer.summary(r).substring("00:00:00.000000 ".length());
    }

    @Test
    @DisplayName("R-BPF-3: unknown ethertypes, raw IP, loopback and 802.3 frames get a fallback line")
    void fallbacks() {
        assertThat(print(1, TcpdumpCommandTest.MACS + "88cc" + "00".repeat(46)))
                .isEqualTo("66:77:88:99:aa:bb > 00:11:22:33:44:55, ethertype LLDP (0x88cc), length 60");
        assertThat(print(1, TcpdumpCommandTest.MACS + "88b5" + "00".repeat(46)))
                .isEqualTo("66:77:88:99:aa:bb > 00:11:22:33:44:55, ethertype Unknown (0x88b5), length 60");
        assertThat(print(1, TcpdumpCommandTest.MACS + "0026" + "00".repeat(46)))
                .isEqualTo("66:77:88:99:aa:bb > 00:11:22:33:44:55, 802.3, length 60");
        assertThat(print(101, TcpdumpCommandTest.SYN))
                .isEqualTo("IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [S], seq 1, win 65535, length 0");
        assertThat(print(0, "02000000" + TcpdumpCommandTest.SYN)).startsWith("IP 10.0.0.1.1234 > 10.0.0.2.80:");
        assertThat(print(0, "00000002" + TcpdumpCommandTest.SYN)).startsWith("IP 10.0.0.1.1234 > 10.0.0.2.80:");
        assertThat(print(0, "07000000")).isEqualTo("AF 7, length 4");
        assertThat(print(147, "00")).isEqualTo("link-type 147, length 1");
        assertThat(print(1, TcpdumpCommandTest.MACS + "0800 45000018 00010000 4084 0000 0a000001 0a000002 00000000"))
                .isEqualTo("IP 10.0.0.1 > 10.0.0.2: ip-proto-132 4");
        assertThat(print(1, TcpdumpCommandTest.MACS + "0800 45000018 00012000 4011 0000 0a000001 0a000002 00000000"))
                .startsWith("IP 10.0.0.1.0 > 10.0.0.2.0: ");
        assertThat(print(1, TcpdumpCommandTest.MACS + "0800 45000018 00010010 4011 0000 0a000001 0a000002 00000000"))
                .isEqualTo("IP 10.0.0.1 > 10.0.0.2: ip-proto-17");
    }

    @Test
    @DisplayName("R-BPF-3: packets cut at every length print a prefix and a [|proto] marker, never throw")
    void cutAtEveryLength() {
        for (String[] s : TcpdumpCommandTest.SAMPLES) {
            int len = TcpdumpCommandTest.hex(s[0]).length;
            for (int cap = 0; cap < len; cap++) {
                String line = printCut(1, s[0], cap);
                assertThat(line).as("%s cut at %d", s[1], cap).isNotNull();
            }
        }
        assertThat(printCut(1, TcpdumpCommandTest.MACS + "0800" + TcpdumpCommandTest.SYN, 10)).isEqualTo(" [|ether]");
        assertThat(printCut(1, TcpdumpCommandTest.MACS + "0800" + TcpdumpCommandTest.SYN, 30)).isEqualTo("IP  [|ip]");
        assertThat(printCut(1, TcpdumpCommandTest.SAMPLES.get(4)[0], 30)).isEqualTo(" [|arp]");
        assertThat(printCut(1, TcpdumpCommandTest.SAMPLES.get(6)[0], 36))
                .isEqualTo("IP 10.0.0.1 > 10.0.0.2:  [|icmp]");
        assertThat(printCut(1, TcpdumpCommandTest.SAMPLES.get(8)[0], 60))
                .isEqualTo("IP6 2001:db8::1 > 2001:db8::2: ICMP6, echo request [|icmp6]");
        assertThat(printCut(1, TcpdumpCommandTest.SAMPLES.get(8)[0], 50)).isEqualTo(" [|ip6]");
    }

    @Test
    @DisplayName("R-BPF-3: random and mutated packets on every link type never make the printer throw")
    void randomPacketsNeverThrow() {
        Random rnd = new Random(42);
        int[] links = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9};
        for (int i = 0; i < 20_000; i++) {
            byte[] b;
            if (i % 2 == 0) {
                b = new byte[rnd.nextInt(120)];
                rnd.nextBytes(b);
            } else {
                b = TcpdumpCommandTest.hex(TcpdumpCommandTest.SAMPLES.get(rnd.nextInt(TcpdumpCommandTest.SAMPLES.size()))[0]);
                for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
                b = Arrays.copyOf(b, rnd.nextInt(b.length + 1));
            }
            PcapRecord r = new PcapRecord(rnd.nextLong(), links[rnd.nextInt(links.length)], b.length,
                    rnd.nextInt(100_000), b, 0, OptionalInt.empty(), List.of());
            assertThatCode(() -> printer.summary(r)).as("packet %d", i).doesNotThrowAnyException();
        }
    }

    @Test
    @DisplayName("R-BPF-3: every corpus capture prints without an exception")
    void wholeCorpusPrints() throws IOException {
        Path c = Oracle.captures();
        assumeTrue(c != null, "shared/corpus/tcpdump-captures not found above the working directory: skipping");
        long packets = 0;
        try (Stream<Path> files = Files.list(c)) {
            for (Path f : files.filter(p -> p.toString().endsWith("cap") || p.toString().endsWith("pcapng")).toList()) {
                PacketPrinter p = new PacketPrinter(ZoneOffset.UTC, false);
                try (PcapReader r = PcapFiles.open(f)) {
                    for (PcapRecord rec; (rec = r.next()) != null; packets++) {
                        PcapRecord x = rec;
                        assertThatCode(() -> p.summary(x)).as("%s", f).doesNotThrowAnyException();
                    }
                } catch (PcapFormatException e) {
                    // A malformed file: the packets before the bad record were printed.
                }
            }
        }
        assertThat(packets).isGreaterThan(10_000);
    }
}
