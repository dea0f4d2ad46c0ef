package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.ControlProtocol;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.FilterCompiler;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapReader;
import org.smpnet.net.bpf.PcapRecord;

/** {@code smpnet demo}: two hosts over an impaired epair, run through picocli in this JVM. */
class DemoRunTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("R-IP-1, R-UDP-1: smpnet demo pings with statistics, accounts for every UDP datagram, writes a pcap the filter matches")
    void demo() throws Exception {
        Path pcap = dir.resolve("demo.pcap");
        CliTest.Result r = CliTest.run("demo", "--count", "8", "--loss", "3", "--delay", "1", "--pcap", pcap.toString());
        assertThat(r.status()).as(r.out() + r.err()).isZero();
        String out = r.out();
        Matcher ping = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received").matcher(out);
        assertThat(ping.find()).as(out).isTrue();
        int sent = Integer.parseInt(ping.group(1));
        int got = Integer.parseInt(ping.group(2));
        assertThat(sent).isEqualTo(8);
        assertThat(got).isPositive().isLessThanOrEqualTo(sent);
        assertThat(out).contains("round-trip min/avg/max/stddev = ").contains("arp -an after:").contains("? (10.0.0.2) at ");
        Matcher udp = Pattern.compile("udp: (\\d+) datagrams sent \\(.*\\), (\\d+) received, (\\d+) lost").matcher(out);
        assertThat(udp.find()).as(out).isTrue();
        assertThat(Integer.parseInt(udp.group(2)) + Integer.parseInt(udp.group(3))).isEqualTo(Integer.parseInt(udp.group(1)));
        assertThat(out).contains("udp: accounting exact: ").contains("4 fragmented)");
        assertThat(out).contains("tcpdump -r " + pcap + " -n").contains("WITNESS: 0 lock-order reversals, 0 violations");

        assertThat(pcap).exists();
        List<PcapRecord> recs = new ArrayList<>();
        try (PcapReader rd = PcapFiles.open(pcap)) {
            for (PcapRecord rec = rd.next(); rec != null; rec = rd.next()) {
                recs.add(rec);
            }
        }
        assertThat(recs).isNotEmpty();
        BpfInterpreter f = new BpfInterpreter(FilterCompiler.compile(DemoRun.FILTER, FilterCompiler.DLT_EN10MB).program());
        BpfInterpreter udpOnly = new BpfInterpreter(FilterCompiler.compile("udp", FilterCompiler.DLT_EN10MB).program());
        for (PcapRecord rec : recs) {
            assertThat(f.filter(rec.data(), (int) rec.originalLength(), rec.capturedLength())).isNotZero();
        }
        assertThat(recs).anyMatch(rec -> udpOnly.filter(rec.data(), (int) rec.originalLength(), rec.capturedLength()) != 0);
        Matcher written = Pattern.compile("capture: (\\d+) packets written").matcher(out);
        assertThat(written.find()).isTrue();
        assertThat(Integer.parseInt(written.group(1))).isEqualTo(recs.size());

        List<String> td = DemoRun.tcpdump(pcap);
        if (td != null) { // tcpdump installed: it reads the same number of packets
            assertThat(td).hasSize(recs.size());
        }
        assertThat(Files.size(pcap)).isGreaterThan(24);
    }

    @Test
    @DisplayName("R-UDP-1: smpnet demo --serve runs real ping and UDP traffic; smpnet ping and netstat reach its vnets")
    void serve() throws Exception {
        Path d = dir.resolve("ctl");
        CompletableFuture<CliTest.Result> demo = CompletableFuture.supplyAsync(() -> CliTest.run("demo", "--serve",
                "--linger", "3", "--name", "live", "--ctl-dir", d.toString()));
        Path sock = d.resolve("live.ctl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(sock)) {
            assertThat(System.nanoTime()).as("demo never exported").isLessThan(deadline);
            Thread.sleep(5);
        }
        // CliTest.run is busy with the server (it owns System.out): speak the protocol directly
        List<String> ping = new ArrayList<>();
        List<String> udp = new ArrayList<>();
        try (ControlClient c = connect(sock)) {
            int status = c.tool(new ControlProtocol.ToolRequest("alpha", List.of("ping", "-c", "3", "-i", "0.01", "10.0.0.2")), ping::add);
            assertThat(status).isZero();
            Thread.sleep(200);
            assertThat(c.tool(new ControlProtocol.ToolRequest("beta", List.of("netstat", "-s", "-p", "udp")), udp::add)).isZero();
        }
        assertThat(ping).contains("3 packets transmitted, 3 packets received, 0.0% packet loss");
        assertThat(udp.getFirst()).isEqualTo("udp:");
        assertThat(udp).anyMatch(l -> l.matches("\\t[1-9]\\d* datagrams received"));
        CliTest.Result r = demo.get(30, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("linger time over after [\\d,]+ rounds of traffic \\([1-9][\\d,]* echo replies,"
                + " [1-9][\\d,]* UDP datagrams echoed\\)");
    }

    /** The file appears at bind, a moment before listen: retry a refused connection for a while. */
    private static ControlClient connect(Path sock) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return ControlClient.connect(sock);
            } catch (java.io.IOException refused) {
                if (System.nanoTime() > deadline) {
                    throw refused;
                }
                Thread.sleep(5);
            }
        }
    }

    @Test
    @DisplayName("smpnet demo: bad impairment options are refused with status 1")
    void badOptions() {
        assertThat(CliTest.run("demo", "--loss", "90", "--pcap", dir.resolve("x.pcap").toString()).status()).isEqualTo(1);
        assertThat(CliTest.run("demo", "--count", "0", "--pcap", dir.resolve("x.pcap").toString()).status()).isEqualTo(1);
    }
}
