package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.IpCtlOutput.IPPROTO_IP;
import static org.smpnet.netinet.UdpTestSupport.mreq;
import static org.smpnet.netinet.UdpTestSupport.udp;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.Vnet;
import org.smpnet.net.Epair;
import org.smpnet.net.InCksum;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfHeader;
import org.smpnet.net.bpf.PcapClassicWriter;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapRecord;
import org.smpnet.socket.Socket;

/** R-IP-2: IGMPv2 reports and leaves carry the IP Router Alert option (RFC 2113, RFC 2236 section 2). */
class IgmpRouterAlertTest {
    /** pcap link type of bare IPv4/IPv6 packets (LINKTYPE_RAW). */
    private static final int LINKTYPE_RAW = 101;
    private Vnet a;
    private Vnet b;
    private Epair e;
    private final List<Socket> sockets = new ArrayList<>();
    private BpfDescriptor bpf;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("igmpa", 1);
        b = new Vnet("igmpb", 1);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
        bpf = new BpfDescriptor();
        bpf.setNonBlocking(true);
        bpf.attach(e.b(), 1, false);
        bpf.setDirection(BpfDescriptor.DirectionFilter.OUT);
    }

    @AfterEach
    void tearDown() {
        bpf.close();
        sockets.forEach(Socket::soclose);
        a.close();
        b.close();
    }

    private void join(Vnet v, String group, String iface) throws Exception {
        Socket s = udp(v);
        sockets.add(s);
        UdpTestSupport.set(s, IPPROTO_IP, IpCtlOutput.IP_ADD_MEMBERSHIP, mreq(group, iface));
    }

    /** The IPv4 packets (Ethernet payloads) of protocol IGMP that b sent, as captured. */
    private List<byte[]> capturedIgmp(int want) throws Exception {
        List<byte[]> out = new ArrayList<>();
        byte[] buf = new byte[bpf.bufferSize()];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (out.size() < want && System.nanoTime() < deadline) {
            int n = bpf.read(buf);
            for (int off = 0; off < n; ) {
                BpfHeader h = BpfHeader.read(buf, off, n);
                int eth = off + h.hdrlen();
                if ((buf[eth + 12] & 0xff) == 0x08 && buf[eth + 13] == 0 && buf[eth + 14 + 9] == Igmp.IPPROTO_IGMP) {
                    out.add(Arrays.copyOfRange(buf, eth + 14, eth + h.caplen()));
                }
                off += BpfHeader.recordSize(h.caplen());
            }
            Thread.sleep(n == 0 ? 1 : 0);
        }
        return out;
    }

    /** Checks the IPv4 header of an IGMPv2 message with Router Alert: 24 bytes, option 94 04 00 00, checksum. */
    private static void assertRouterAlertHeader(byte[] p, String dst, int igmpType, String group) {
        assertThat(p[0] & 0xff).as("version 4, header 6 words").isEqualTo(0x46);
        assertThat(((p[2] & 0xff) << 8) | (p[3] & 0xff)).as("total length").isEqualTo(24 + 8);
        assertThat(p[8] & 0xff).as("TTL").isEqualTo(1);
        assertThat(p[9] & 0xff).isEqualTo(Igmp.IPPROTO_IGMP);
        assertThat(Arrays.copyOfRange(p, 20, 24)).as("Router Alert option")
                .containsExactly((byte) 0x94, (byte) 0x04, (byte) 0x00, (byte) 0x00);
        assertThat(InCksum.cksum(p, 0, 24)).as("header checksum over 24 bytes").isZero();
        byte[] d = new byte[4];
        ip(dst).toBytes(d, 0);
        assertThat(Arrays.copyOfRange(p, 16, 20)).isEqualTo(d);
        assertThat(p[24] & 0xff).as("IGMP type").isEqualTo(igmpType);
        byte[] g = new byte[4];
        ip(group).toBytes(g, 0);
        assertThat(Arrays.copyOfRange(p, 28, 32)).isEqualTo(g);
        assertThat(InCksum.cksum(p, 24, 8)).as("IGMP checksum").isZero();
    }

    @Test
    @DisplayName("R-IP-2: an IGMPv2 report and leave carry Router Alert in a 24-byte header with a valid checksum")
    void reportAndLeaveCarryRouterAlert() throws Exception {
        join(a, "239.1.2.3", "10.0.0.1"); // a listens, so b's report reaches a's IGMP input
        join(b, "239.1.2.3", "10.0.0.2");
        List<byte[]> report = capturedIgmp(1);
        assertThat(report).hasSize(1);
        assertRouterAlertHeader(report.getFirst(), "239.1.2.3", Igmp.V2_MEMBERSHIP_REPORT, "239.1.2.3");
        IgmpStats as = a.ipSockets().igmp().stats();
        await("b's report at a", () -> as.rcvOurreports.get() == 1); // counted last by igmp_input
        assertThat(as.rcvReports.get()).isEqualTo(1);
        assertThat(as.rcvNora.get()).isZero();

        sockets.removeLast().soclose(); // b's last member leaves
        List<byte[]> leave = capturedIgmp(1);
        assertThat(leave).hasSize(1);
        assertRouterAlertHeader(leave.getFirst(), "224.0.0.2", Igmp.V2_LEAVE_GROUP, "239.1.2.3");
        assertThat(b.ipSockets().igmp().stats().sndLeaves.get()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IP-2: a report without Router Alert (net.inet.igmp.sendra=0) is accepted and counted in rcv_nora")
    void reportWithoutRouterAlertAccepted() throws Exception {
        b.sysctl().set("net.inet.igmp.sendra", "0");
        join(a, "239.4.5.6", "10.0.0.1");
        join(b, "239.4.5.6", "10.0.0.2");
        List<byte[]> report = capturedIgmp(1);
        assertThat(report).hasSize(1);
        byte[] p = report.getFirst();
        assertThat(p[0] & 0xff).as("plain 20-byte header").isEqualTo(0x45);
        assertThat(InCksum.cksum(p, 0, 20)).isZero();
        IgmpStats as = a.ipSockets().igmp().stats();
        await("b's report at a", () -> as.rcvOurreports.get() == 1); // counted last by igmp_input
        assertThat(as.rcvReports.get()).isEqualTo(1);
        assertThat(as.rcvNora.get()).isEqualTo(1);
        assertThat(a.sysctl().get("net.inet.igmp.stats.rcv_nora")).isEqualTo("1");
    }

    @Test
    @DisplayName("R-IP-2: tcpdump decodes the captured report's Router Alert option (skipped without tcpdump)")
    void tcpdumpShowsRouterAlert(@TempDir Path dir) throws Exception {
        assumeTrue(Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "tcpdump"))), "tcpdump is not installed: skipped");
        join(b, "239.1.2.3", "10.0.0.2");
        List<byte[]> report = capturedIgmp(1);
        assertThat(report).hasSize(1);
        Path f = dir.resolve("igmp.pcap");
        try (PcapClassicWriter w = PcapFiles.newPcapWriter(f, LINKTYPE_RAW, 65535, false)) {
            w.write(PcapRecord.of(0, LINKTYPE_RAW, report.getFirst()));
        }
        Process p = new ProcessBuilder("tcpdump", "-n", "-v", "-r", f.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(out).contains("options (RA)").contains("igmp v2 report 239.1.2.3").doesNotContain("bad cksum");
    }

    @Test
    @DisplayName("R-IP-2: IpOptions finds Router Alert after NOPs and not in other options")
    void routerAlertScan() {
        byte[] h = new byte[32];
        h[20] = (byte) IpOptions.IPOPT_NOP;
        h[21] = (byte) IpOptions.IPOPT_NOP;
        System.arraycopy(IpOptions.routerAlert(), 0, h, 22, 4);
        assertThat(IpOptions.hasRouterAlert(h, 0, 28)).isTrue();
        byte[] rr = new byte[28];
        rr[20] = (byte) IpOptions.IPOPT_RR;
        rr[21] = 7;
        rr[22] = 4;
        assertThat(IpOptions.hasRouterAlert(rr, 0, 28)).isFalse();
        assertThat(IpOptions.hasRouterAlert(new byte[20], 0, 20)).isFalse();
        byte[] truncated = new byte[24];
        truncated[20] = (byte) IpOptions.IPOPT_RA;
        truncated[21] = 8; // runs past the header
        assertThat(IpOptions.hasRouterAlert(truncated, 0, 24)).isFalse();
    }
}
