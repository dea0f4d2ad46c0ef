package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import java.util.TimeZone;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.net.bpf.BpfAsm;
import org.smpnet.net.bpf.FilterCompiler;
import org.smpnet.net.bpf.PcapClassicWriter;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapRecord;

class TcpdumpCommandTest {
    private static final long T0 = 1_700_000_000_000_000_000L; // 2023-11-14 22:13:20 UTC
    private static TimeZone savedZone;

    @TempDir
    Path tmp;

    @BeforeAll
    static void utc() {
        savedZone = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("UTC")); // tcpdump prints local time; the oracle runs with TZ=UTC
    }

    @AfterAll
    static void restoreZone() {
        TimeZone.setDefault(savedZone);
    }

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("\\s", ""));
    }

    static final String MACS = "001122334455 66778899aabb";
    static final String SYN = "45000028 00010000 4006 0000 0a000001 0a000002"
            + "04d2 0050 00000001 00000000 5002 ffff 0000 0000";

    /** Hand-made packets of each kind the printer knows, with the line we expect for each. */
    static final List<String[]> SAMPLES = List.of(
            new String[] {MACS + "0800" + SYN,
                "IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [S], seq 1, win 65535, length 0"},
            new String[] {MACS + "0800 45000034 00020000 4006 0000 0a000002 0a000001"
                    + "0050 04d2 00000064 00000002 8012 fff0 0000 0000 020405b4 01030307 04020000",
                "IP 10.0.0.2.80 > 10.0.0.1.1234: Flags [S.], seq 100, ack 2, win 65520,"
                        + " options [mss 1460,nop,wscale 7,sackOK,eol], length 0"},
            new String[] {MACS + "0800 4500002c 00030000 4006 0000 0a000001 0a000002"
                    + "04d2 0050 00000002 00000065 5018 ffff 0000 0000 61626364",
                "IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [P.], seq 1:5, ack 1, win 65535, length 4"},
            new String[] {MACS + "8100 0005 0800" + SYN,
                "vlan 5, IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [S], seq 1, win 65535, length 0"},
            new String[] {"ffffffffffff 66778899aabb 0806 0001 0800 06 04 0001 66778899aabb 0a000001"
                    + "000000000000 0a000002",
                "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28"},
            new String[] {"66778899aabb 001122334455 0806 0001 0800 06 04 0002 001122334455 0a000002"
                    + "66778899aabb 0a000001",
                "ARP, Reply 10.0.0.2 is-at 00:11:22:33:44:55, length 28"},
            new String[] {MACS + "0800 45000054 00040000 4001 0000 0a000001 0a000002 0800 0000 0001 0002"
                    + "00".repeat(56),
                "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 2, length 64"},
            new String[] {MACS + "0800 45000028 00050000 4011 0000 0a000001 0a000002 04d2 270f 0014 0000"
                    + "00".repeat(12),
                "IP 10.0.0.1.1234 > 10.0.0.2.9999: UDP, length 12"},
            new String[] {MACS + "86dd 60000000 0010 3a40 20010db8000000000000000000000001"
                    + "20010db8000000000000000000000002 8000 0000 0001 0002 0000000000000000",
                "IP6 2001:db8::1 > 2001:db8::2: ICMP6, echo request, id 1, seq 2, length 16"},
            new String[] {MACS + "86dd 60000000 0014 0640 fe800000000000000000000000000001"
                    + "ff020000000000000000000000000001 04d2 0016 00000001 00000000 5002 ffff 0000 0000",
                "IP6 fe80::1.1234 > ff02::1.22: Flags [S], seq 1, win 65535, length 0"},
            new String[] {MACS + "0800 45000038 00060000 4001 0000 0a000002 0a000001 0303 0000 00000000"
                    + "45000028 00010000 4011 0000 0a000001 0a000002 04d2 0035 0014 0000",
                "IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 53 unreachable, length 36"});

    private Path sampleCapture() throws IOException {
        Path f = tmp.resolve("samples.pcap");
        try (PcapClassicWriter w = PcapFiles.newPcapWriter(f, 1, 65535, false)) {
            for (int i = 0; i < SAMPLES.size(); i++) {
                w.write(PcapRecord.of(T0 + i * 1_000_000L, 1, hex(SAMPLES.get(i)[0])));
            }
            // The SYN cut short at 10 bytes of TCP header: prints what it has, then the marker.
            byte[] whole = hex(SAMPLES.get(0)[0]);
            byte[] cut = Arrays.copyOf(whole, 44);
            w.write(new PcapRecord(T0 + 99_000_000L, 1, cut.length, whole.length, cut, 0, OptionalInt.empty(),
                    List.of()));
        }
        return f;
    }

    @Test
    @DisplayName("R-BPF-3: tcpdump -r prints one tcpdump -n style line per packet, a cut packet ends in [|tcp]")
    void summariesOfHandMadePackets() throws IOException {
        CliTest.Result r = CliTest.run("tcpdump", "-n", "-r", sampleCapture().toString());
        assertThat(r.status()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(SAMPLES.size() + 1);
        for (int i = 0; i < SAMPLES.size(); i++) {
            assertThat(lines.get(i)).isEqualTo(String.format("22:13:20.%03d000 ", i) + SAMPLES.get(i)[1]);
        }
        assertThat(lines.getLast()).isEqualTo("22:13:20.099000 IP 10.0.0.1.1234 > 10.0.0.2.80:  [|tcp]");
        assertThat(r.err()).contains("reading from file").contains("link-type EN10MB (Ethernet)");
    }

    @Test
    @DisplayName("R-BPF-3: our lines for hand-made packets agree with the real tcpdump -n")
    void handMadePacketsAgreeWithTcpdump() throws Exception {
        assumeTrue(Oracle.tcpdump() != null, "tcpdump is not installed: skipping the differential test");
        Path f = sampleCapture();
        List<String> ours = CliTest.run("tcpdump", "-n", "-r", f.toString()).out().lines()
                .map(l -> l.replaceAll("vlan \\d+, ", "")).toList(); // tcpdump shows VLAN tags only with -e
        List<String> theirs = Oracle.run("-n", "-r", f.toString()).lines();
        assertThat(ours).hasSameSizeAs(theirs);
        for (int i = 0; i < ours.size() - 1; i++) {
            // tcpdump goes on to name the application (": HTTP"); everything we print must agree.
            assertThat(theirs.get(i)).as("packet %d", i + 1).startsWith(ours.get(i));
        }
        // The truncated packet: tcpdump 4.99 prints the same prefix and marker.
        assertThat(theirs.getLast()).startsWith("22:13:20.099000 IP 10.0.0.1.1234 > 10.0.0.2.80:").endsWith("[|tcp]");
    }

    @Test
    @DisplayName("R-BPF-3: every hand-made packet cut at every length prints as the real tcpdump prints it")
    void cutPacketsAgreeWithTcpdump() throws Exception {
        assumeTrue(Oracle.tcpdump() != null, "tcpdump is not installed: skipping the differential test");
        Path f = tmp.resolve("cut.pcap");
        int n = 0;
        try (PcapClassicWriter w = PcapFiles.newPcapWriter(f, 1, 65535, false)) {
            for (String[] s : SAMPLES) {
                byte[] whole = hex(s[0]);
                for (int cap = 1; cap <= whole.length; cap++, n++) { // tcpdump refuses caplen 0
                    byte[] cut = Arrays.copyOf(whole, cap);
                    w.write(new PcapRecord(T0, 1, cap, whole.length, cut, 0, OptionalInt.empty(), List.of()));
                }
            }
        }
        List<String> ours = CliTest.run("tcpdump", "-r", f.toString()).out().lines()
                .map(l -> l.replaceAll("vlan \\d+, ", "")).toList();
        List<String> theirs = Oracle.run("-n", "-r", f.toString()).lines();
        assertThat(ours).hasSize(n).hasSameSizeAs(theirs);
        for (int i = 0; i < n; i++) {
            assertThat(theirs.get(i)).as("record %d", i).startsWith(ours.get(i));
        }
    }

    /** Simple captures whose lines we print as tcpdump does, up to where it decodes the application. */
    static final List<String> SIMPLE = List.of("dns_tcp.pcap", "dns_udp.pcap", "802.1ad_QinQ.pcap",
            "LINKTYPE_RAW_ipv4.pcap", "LINKTYPE_IPV6.pcap", "icmp-rfc8335.pcap", "tcp_rst_data.pcap",
            "tcp-handshake-nano.pcap", "ipv4_tcp_http_xml.pcap", "icmp6-rfc8335.pcap");

    private static Path corpus() {
        Path c = Oracle.captures();
        assumeTrue(c != null, "shared/corpus/tcpdump-captures not found above the working directory: skipping");
        return c;
    }

    @Test
    @DisplayName("R-BPF-3: tcpdump -r on corpus captures prints the expected lines")
    void corpusExpectedLines() {
        Path c = corpus();
        CliTest.Result r = CliTest.run("tcpdump", "-n", "-r", c.resolve("dns_tcp.pcap").toString());
        assertThat(r.status()).isZero();
        assertThat(r.out().lines().limit(4).toList()).containsExactly(
                "09:21:03.720289 IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [S], seq 603899916, win 64240,"
                        + " options [mss 1460,sackOK,TS val 2044906138 ecr 0,nop,wscale 7], length 0",
                "09:21:03.846908 IP 209.87.249.18.53 > 192.168.1.11.33779: Flags [S.], seq 2043824403,"
                        + " ack 603899917, win 64240, options [mss 1460], length 0",
                "09:21:03.847060 IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [.], ack 1, win 64240, length 0",
                "09:21:03.847323 IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [P.], seq 1:59, ack 1,"
                        + " win 64240, length 58");
        CliTest.Result q = CliTest.run("tcpdump", "-r", c.resolve("802.1ad_QinQ.pcap").toString());
        assertThat(q.out().lines().limit(2).toList()).containsExactly(
                "21:59:54.599412 vlan 200, vlan 2001, ARP, Request who-has 172.21.79.100 tell 172.21.79.97, length 42",
                "21:59:54.599680 vlan 200, vlan 2001, ARP, Reply 172.21.79.100 is-at 00:80:ea:81:88:63, length 42");
        CliTest.Result v6 = CliTest.run("tcpdump", "-r", c.resolve("LINKTYPE_IPV6.pcap").toString());
        assertThat(v6.out()).isEqualTo("17:59:26.204450 IP6 2001:db8::1.12345 > 2620:fe::9.53: UDP, length 29\n");
        assertThat(v6.err()).contains("link-type IPV6 (Raw IPv6)");
    }

    @Test
    @DisplayName("R-BPF-3: on simple corpus captures every line is a prefix of real tcpdump's (UDP: same addresses)")
    void corpusAgreesWithTcpdump() throws Exception {
        Path c = corpus();
        assumeTrue(Oracle.tcpdump() != null, "tcpdump is not installed: skipping the differential test");
        int compared = 0;
        for (String name : SIMPLE) {
            Path f = c.resolve(name);
            List<String> ours = CliTest.run("tcpdump", "-n", "-r", f.toString()).out().lines()
                    .map(l -> l.replaceAll("vlan \\d+, ", "")).toList();
            List<String> theirs = Oracle.run("-n", "-r", f.toString()).lines();
            assertThat(ours).as(name).hasSameSizeAs(theirs);
            for (int i = 0; i < ours.size(); i++) {
                String o = ours.get(i);
                String t = theirs.get(i);
                int udp = o.indexOf(": UDP, length ");
                if (udp > 0 && !t.startsWith(o)) {
                    // tcpdump decoded the application (DNS...): the addresses and ports must still agree.
                    assertThat(t).as("%s packet %d", name, i + 1).startsWith(o.substring(0, udp + 2));
                } else {
                    assertThat(t).as("%s packet %d", name, i + 1).startsWith(o);
                }
                compared++;
            }
        }
        assertThat(compared).isGreaterThan(30);
    }

    @Test
    @DisplayName("R-BPF-3: a filter selects the same packets as real tcpdump, with the JIT and the interpreter")
    void filterSelectsAsTcpdump() throws Exception {
        Path c = corpus();
        Path f = c.resolve("dns_tcp.pcap");
        String[] expr = {"tcp", "and", "src", "port", "53"};
        List<String> jit = lines(cat("tcpdump", "-r", f.toString()), expr);
        List<String> interp = lines(cat("tcpdump", "--interp", "-r", f.toString()), expr);
        assertThat(jit).isNotEmpty().isEqualTo(interp).allMatch(l -> l.contains(" 209.87.249.18.53 > "));
        assertThat(lines(cat("tcpdump", "-c", "2", "-r", f.toString()), expr)).isEqualTo(jit.subList(0, 2));
        if (Oracle.tcpdump() != null) {
            assertThat(Oracle.run(cat(new String[] {"-n", "-r", f.toString()}, expr)).lines()).hasSameSizeAs(jit);
        }
    }

    private static List<String> lines(String[] args, String... expr) {
        CliTest.Result r = CliTest.run(cat(args, expr));
        assertThat(r.status()).as(r.err()).isZero();
        return r.out().lines().toList();
    }

    private static String[] cat(String... a) {
        return a;
    }

    private static String[] cat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    @DisplayName("R-BPF-4: -r with -w filters a capture into another that we and real tcpdump read back")
    void writeThenReadBack() throws Exception {
        Path in = sampleCapture();
        Path out = tmp.resolve("tcp-only.pcap");
        CliTest.Result w = CliTest.run("tcpdump", "-r", in.toString(), "-w", out.toString(), "tcp");
        assertThat(w.status()).as(w.err()).isZero();
        assertThat(w.out()).isEmpty();
        long expected = CliTest.run("tcpdump", "-r", in.toString(), "tcp").out().lines().count();
        assertThat(expected).isEqualTo(5); // SYN, SYN-ACK, data, IPv6 SYN, cut SYN; "tcp" skips the VLAN-tagged one
        List<String> back = CliTest.run("tcpdump", "-r", out.toString()).out().lines().toList();
        assertThat(back).hasSize((int) expected);
        assertThat(PcapFiles.readAll(Files.readAllBytes(out))).hasSize((int) expected);
        if (Oracle.tcpdump() != null) {
            Oracle.Run real = Oracle.run("-n", "-r", out.toString());
            assertThat(real.status()).isZero();
            assertThat(real.lines()).hasSize((int) expected);
        }
    }

    /** Expressions whose compiled program is instruction for instruction libpcap's today. */
    static final List<String> SAME_AS_LIBPCAP = List.of("vlan 5 and arp", "ether host 00:11:22:33:44:55", "arp",
            "ip", "icmp", "ether broadcast", "ip proto 47", "len > 100", "ip[8] < 64");
    /**
     * Expressions where FilterCompiler selects the same packets but does not yet remove redundant
     * loads as libpcap's optimiser does (e.g. the second {@code ldh [12]} in {@code tcp}), so
     * {@code -d} text differs; checked here for equal verdicts instead.
     */
    static final List<String> SAME_VERDICTS = List.of("tcp port 80", "udp and dst port 53",
            "ip and (tcp[tcpflags] & tcp-syn != 0)",
            "host 10.0.0.1 and (tcp port 80 or tcp port 443) and not src net 192.168.0.0/16", "tcp",
            "icmp6 or ip6 proto 17", "net 10.0.0.0/8");

    @Test
    @DisplayName("R-BPF-3: -d, -dd and -ddd print exactly what tcpdump -d -y TYPE prints")
    void dumpMatchesTcpdump() throws Exception {
        CliTest.Result d = CliTest.run("tcpdump", "-d", "-y", "EN10MB", "tcp", "port", "80");
        assertThat(d.status()).isZero();
        assertThat(d.out()).startsWith("(000) ldh      [12]\n")
                .isEqualTo(FilterCompiler.compile("tcp port 80").listing());
        assertThat(CliTest.run("tcpdump", "-ddd", "-y", "1", "tcp").out())
                .isEqualTo(BpfAsm.format(FilterCompiler.compile("tcp").insns(), BpfAsm.Format.DECIMAL));
        assumeTrue(Oracle.tcpdump() != null, "tcpdump is not installed: skipping the byte-for-byte comparison");
        for (String expr : SAME_AS_LIBPCAP) {
            for (String flag : List.of("-d", "-dd", "-ddd")) {
                String ours = CliTest.run("tcpdump", flag, "-y", "EN10MB", expr).out();
                String theirs = String.join("\n", Oracle.run(flag, "-y", "EN10MB", expr).lines()) + "\n";
                assertThat(ours).as("%s %s", flag, expr).isEqualTo(theirs);
            }
        }
        for (String lt : List.of("RAW", "NULL")) {
            for (String expr : List.of("ip", "ip6", "icmp")) {
                String ours = CliTest.run("tcpdump", "-d", "-y", lt, expr).out();
                String theirs = String.join("\n", Oracle.run("-d", "-y", lt, expr).lines()) + "\n";
                assertThat(ours).as("-y %s %s", lt, expr).isEqualTo(theirs);
            }
        }
    }

    @Test
    @DisplayName("R-BPF-3: -d with no link type, interface or file compiles for Ethernet and warns so on stderr, as tcpdump does")
    void dumpWithoutLinkTypeWarns() throws Exception {
        CliTest.Result d = CliTest.run("tcpdump", "-d", "ip");
        assertThat(d.status()).isZero();
        assertThat(d.err()).isEqualTo("Warning: assuming Ethernet\n");
        assertThat(d.out()).isEqualTo(CliTest.run("tcpdump", "-d", "-y", "EN10MB", "ip").out());
        assertThat(CliTest.run("tcpdump", "-d", "-y", "EN10MB", "ip").err()).isEmpty();
        assumeTrue(Oracle.tcpdump() != null, "tcpdump is not installed: skipping the comparison");
        Oracle.Run theirs = Oracle.run("-d", "ip");
        assertThat(d.err()).isEqualTo(theirs.err());
        assertThat(d.out()).isEqualTo(String.join("\n", theirs.lines()) + "\n");
    }

    @Test
    @DisplayName("R-BPF-3: where -d text differs from libpcap's, both programs give the same verdicts in bpf run")
    void dumpVerdictsMatchTcpdump() throws Exception {
        assumeTrue(Oracle.tcpdump() != null, "tcpdump is not installed: skipping");
        Path cap = sampleCapture();
        for (String expr : SAME_VERDICTS) {
            Path ours = tmp.resolve("ours.ddd");
            Path theirs = tmp.resolve("theirs.ddd");
            Files.writeString(ours, CliTest.run("tcpdump", "-ddd", "-y", "EN10MB", expr).out());
            Files.writeString(theirs, String.join("\n", Oracle.run("-ddd", "-y", "EN10MB", expr).lines()));
            String a = CliTest.run("bpf", "run", "-r", cap.toString(), ours.toString()).out();
            String b = CliTest.run("bpf", "run", "-r", cap.toString(), theirs.toString()).out();
            assertThat(a).as(expr).isEqualTo(b).doesNotStartWith("0 of");
        }
    }

    @Test
    @DisplayName("R-BPF-3: bad files, bad expressions and bad options fail with status 1 and one error line (after tcpdump's link-type warning where it prints one), no stack trace")
    void errors() throws IOException {
        CliTest.Result missing = CliTest.run("tcpdump", "-r", tmp.resolve("nope.pcap").toString());
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("smpnet tcpdump: " + tmp.resolve("nope.pcap") + ": No such file or directory\n");

        Path junk = tmp.resolve("junk.pcap");
        Files.write(junk, "this is not a capture".getBytes());
        CliTest.Result bad = CliTest.run("tcpdump", "-r", junk.toString());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).startsWith("smpnet tcpdump: " + junk + ": ").doesNotContain("\tat ");
        assertThat(bad.err().lines()).hasSize(1);

        // A capture cut in its last record: the good packets print, then the error.
        byte[] whole = Files.readAllBytes(sampleCapture());
        Path cut = tmp.resolve("cut.pcap");
        Files.write(cut, Arrays.copyOf(whole, whole.length - 5));
        CliTest.Result c = CliTest.run("tcpdump", "-r", cut.toString());
        assertThat(c.status()).isEqualTo(1);
        assertThat(c.out().lines()).hasSize(SAMPLES.size());
        assertThat(c.err().lines().filter(l -> l.startsWith("smpnet tcpdump: " + cut + ": "))).hasSize(1);
        assertThat(c.err()).doesNotContain("\tat ");

        CliTest.Result syntax = CliTest.run("tcpdump", "-r", cut.toString(), "tcp", "port");
        assertThat(syntax.status()).isEqualTo(1);
        assertThat(syntax.err()).contains("syntax error at 8").doesNotContain("\tat ");
        CliTest.Result dsyntax = CliTest.run("tcpdump", "-d", "host", "10.0.0.1", "and", "(");
        assertThat(dsyntax.status()).isEqualTo(1);
        assertThat(dsyntax.err()).startsWith("Warning: assuming Ethernet\n" // as tcpdump, which warns before it parses
                + "smpnet tcpdump: can't compile \"host 10.0.0.1 and (\": ");

        assertThat(CliTest.run("tcpdump", "-d", "-y", "FDDI", "tcp").err())
                .isEqualTo("smpnet tcpdump: invalid data link type FDDI\n");
        assertThat(CliTest.run("tcpdump", "-n").err()).contains("no input").contains("-i IFACE of a running Vnet");
        assertThat(CliTest.run("tcpdump", "--jit", "--interp", "-r", cut.toString()).status()).isEqualTo(1);
    }
}
