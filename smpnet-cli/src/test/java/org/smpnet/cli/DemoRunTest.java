package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
    @DisplayName("smpnet demo: bad impairment options are refused with status 1")
    void badOptions() {
        assertThat(CliTest.run("demo", "--loss", "90", "--pcap", dir.resolve("x.pcap").toString()).status()).isEqualTo(1);
        assertThat(CliTest.run("demo", "--count", "0", "--pcap", dir.resolve("x.pcap").toString()).status()).isEqualTo(1);
    }
}
