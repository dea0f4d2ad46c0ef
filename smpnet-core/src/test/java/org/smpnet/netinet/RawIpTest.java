package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.pattern;
import static org.smpnet.netinet.UdpTestSupport.poll;
import static org.smpnet.netinet.UdpTestSupport.recv;
import static org.smpnet.netinet.UdpTestSupport.sendto;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.net.DeferredInput;
import org.smpnet.net.Epair;
import org.smpnet.net.InCksum;
import org.smpnet.net.MacAddr;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.SocketOps;
import org.smpnet.socket.Sockopt;

/** R-IP-1 (raw part): raw IP sockets between two stacks over an epair. */
class RawIpTest {
    private Vnet a;
    private Vnet b;
    private Epair e;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("rawa", 2);
        b = new Vnet("rawb", 2);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
    }

    @AfterEach
    void tearDown() {
        sockets.forEach(Socket::soclose);
        a.close();
        b.close();
    }

    private Socket raw(Vnet v, int proto) throws Exception {
        Socket so = UdpTestSupport.raw(v, proto);
        sockets.add(so);
        return so;
    }

    @Test
    @DisplayName("R-IP-1: ping through a raw ICMP socket: echo request out, the reply comes back with its IP header")
    void pingThroughRawSocket() throws Exception {
        Socket icmp = raw(a, IpProtocols.IPPROTO_ICMP);
        for (int seq = 1; seq <= 3; seq++) {
            byte[] req = new byte[8 + 32];
            req[0] = (byte) Icmp.ECHO;
            req[4] = 0x12;
            req[5] = 0x34;
            req[7] = (byte) seq;
            System.arraycopy(pattern(32, seq), 0, req, 8, 32);
            int sum = InCksum.cksum(req, 0, req.length);
            req[2] = (byte) (sum >>> 8);
            req[3] = (byte) sum;
            sendto(icmp, req, Sockaddr.In.of("10.0.0.2", 0));
            UdpTestSupport.Got g = recv(icmp);
            assertThat(g.from().addr()).isEqualTo(ip("10.0.0.2"));
            int hlen = (g.data()[0] & 0x0f) * 4;
            assertThat(g.data()[9]).isEqualTo((byte) IpProtocols.IPPROTO_ICMP);
            assertThat(g.data()[hlen]).isEqualTo((byte) Icmp.ECHOREPLY);
            assertThat(g.data()[hlen + 7]).isEqualTo((byte) seq);
            assertThat(java.util.Arrays.copyOfRange(g.data(), hlen + 8, g.data().length)).isEqualTo(pattern(32, seq));
        }
    }

    @Test
    @DisplayName("R-IP-1: IP_HDRINCL datagrams of an unhandled protocol reach raw sockets of that protocol only, bound/connected filters apply")
    void hdrinclToRawSockets() throws Exception {
        int proto = InetTestSupport.PROTO_TEST;
        Socket tx = raw(a, proto);
        UdpTestSupport.setInt(tx, IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_HDRINCL, 1);
        assertThat(UdpTestSupport.getInt(tx, IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_HDRINCL)).isEqualTo(1);
        Socket rx = raw(b, proto);
        Socket other = raw(b, proto + 1);
        Socket elsewhere = raw(b, proto);
        UdpTestSupport.connect(elsewhere, "10.0.0.9", 0); // only from 10.0.0.9
        assertThatThrownBy(() -> UdpTestSupport.bind(rx, "10.0.0.1", 0)).hasMessageContaining("EADDRNOTAVAIL");
        UdpTestSupport.bind(rx, "10.0.0.2", 0);
        byte[] payload = pattern(100, 7);
        Ipv4Repr r = new Ipv4Repr(ip("10.0.0.1"), ip("10.0.0.2"), proto, 9, 0, 0, false, false, 0,
                20 + payload.length, null);
        byte[] dgram = InetTestSupport.datagram(r, payload);
        sendto(tx, dgram, Sockaddr.In.of("10.0.0.2", 0));
        UdpTestSupport.Got g = recv(rx);
        assertThat(g.data()).hasSize(dgram.length);
        assertThat(java.util.Arrays.copyOfRange(g.data(), 20, g.data().length)).isEqualTo(payload);
        assertThat(g.data()[8]).isEqualTo((byte) 9);
        assertThat(poll(other)).isNull();
        assertThat(poll(elsewhere)).isNull();
        assertThatThrownBy(() -> sendto(tx, new byte[10], Sockaddr.In.of("10.0.0.2", 0))).hasMessageContaining("EINVAL");
    }

    @Test
    @DisplayName("R-IP-1: a full raw socket drops its copy, counted (rawfull), sends no protocol-unreachable, and makes a sender running the input back off")
    void fullRawSocketDropsAreCounted() throws Exception {
        int proto = InetTestSupport.PROTO_TEST;
        Socket rx = raw(b, proto);
        SocketOps.sosetopt(rx, Sockopt.setInt(
                SocketConst.SOL_SOCKET, SocketConst.SO_RCVBUF, 512));
        byte[] payload = pattern(100, 3);
        Ipv4Repr r = new Ipv4Repr(ip("10.0.0.1"), ip("10.0.0.2"), proto, 9, 0, 64, false, false, 0,
                20 + payload.length, null);
        byte[] frame = NetTestSupport.frame(MacAddr.read(e.b().lladdr(), 0),
                MacAddr.local(99), 0x0800, InetTestSupport.datagram(r, payload));
        int sent = 20;
        for (int i = 0; i < sent - 1; i++) { // outside a section, as an ithread or a polling reader runs input
            input(frame);
        }
        long full = Long.parseLong(b.sysctl().get("net.inet.ip.stats.rawfull"));
        assertThat(full).as("the 512-byte buffer overflowed").isPositive();
        long backoffs0 = DeferredInput.BACKOFFS.get();
        boolean in = DeferredInput.enter(); // a sender doing the receive work it caused
        try {
            input(frame);
        } finally {
            DeferredInput.exit(in);
        }
        assertThat(DeferredInput.BACKOFFS.get() - backoffs0).as("one back-off at the exit").isEqualTo(1);
        assertThat(Long.parseLong(b.sysctl().get("net.inet.ip.stats.rawfull"))).isEqualTo(full + 1);
        assertThat(b.sysctl().get("net.inet.ip.stats.noproto")).as("a socket listens to the protocol").isEqualTo("0");
        assertThat(b.sysctl().get("net.inet.icmp.stats.outhist.3")).as("no unreachable sent").isEqualTo("0");
        int got = 0;
        while (poll(rx) != null) {
            got++;
        }
        assertThat(got + full + 1).as("each datagram read or counted").isEqualTo(sent);
    }

    private void input(byte[] frame) {
        int et = Epoch.NET.enter();
        try {
            e.b().inputInEpoch(InetTestSupport.mbuf(frame));
        } finally {
            Epoch.NET.exit(et);
        }
    }
}
