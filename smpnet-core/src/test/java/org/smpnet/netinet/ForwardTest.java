package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.PROTO_TEST;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.mbuf;
import static org.smpnet.netinet.InetTestSupport.pattern;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ManualClock;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Prefix;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Sockaddr;

/** a (10.0.1.1) -- r (10.0.1.2 | 10.0.2.2) -- c (10.0.2.3). */
class ForwardTest {
    private final ManualClock clock = new ManualClock();
    private Vnet a;
    private Vnet r;
    private Vnet c;
    private Epair ar;
    private Epair rc;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("fwda", 1, clock);
        r = new Vnet("fwdr", 1, clock);
        c = new Vnet("fwdc", 1, clock);
        ar = a.epair(r);
        rc = r.epair(c);
        a.addrs().add(ar.a(), ip("10.0.1.1"), 24);
        r.addrs().add(ar.b(), ip("10.0.1.2"), 24);
        r.addrs().add(rc.a(), ip("10.0.2.2"), 24);
        c.addrs().add(rc.b(), ip("10.0.2.3"), 24);
        a.rtable().add(Prefix.parse("default"), new Sockaddr.In(ip("10.0.1.2"), 0), Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC);
        c.rtable().add(Prefix.parse("default"), new Sockaddr.In(ip("10.0.2.2"), 0), Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC);
        ar.quiesce();
        rc.quiesce();
    }

    @AfterEach
    void tearDown() {
        a.close();
        r.close();
        c.close();
    }

    @Test
    @DisplayName("R-IP-1: with forwarding on, the middle Vnet forwards both ways and decrements the TTL")
    void forwards() throws Exception {
        r.sysctl().set("net.inet.ip.forwarding", "1");
        Ping.Result res = new Ping(a.inet()).run(ip("10.0.2.3"), 3, 56, Duration.ZERO, Duration.ofSeconds(20), null);
        assertThat(res.received()).isEqualTo(3);
        assertThat(res.replies()).allSatisfy(x -> assertThat(x.ttl()).isEqualTo(63));
        await("six forwarded", () -> r.inet().ip().stats().forward.get() == 6);
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(c, PROTO_TEST);
        byte[] big = pattern(4000, 9);
        a.inet().ip().output(mbuf(big), InAddr.ANY, ip("10.0.2.3"), PROTO_TEST, IpOutOpts.DEFAULT, null);
        await("fragmented datagram across the router", () -> sink.got.size() == 1);
        assertThat(sink.got.get(0).payload()).isEqualTo(big);
        assertThat(sink.got.get(0).ttl()).isEqualTo(63);
    }

    @Test
    @DisplayName("R-IP-1: forwarding off drops transit datagrams as cantforward; the sender sees loss only")
    void forwardingOff() throws Exception {
        Ping.Result res = new Ping(a.inet()).run(ip("10.0.2.3"), 2, 56, Duration.ZERO, Duration.ofMillis(300), null);
        assertThat(res.received()).isZero();
        await("cantforward", () -> r.inet().ip().stats().cantforward.get() == 2);
    }

    @Test
    @DisplayName("R-IP-1: TTL expiry at the router sends time-exceeded to the sender's protocol")
    void ttlExpiry() throws Exception {
        r.sysctl().set("net.inet.ip.forwarding", "1");
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(a, PROTO_TEST);
        a.inet().ip().output(mbuf(new byte[12]), InAddr.ANY, ip("10.0.2.3"), PROTO_TEST, IpOutOpts.DEFAULT.withTtl(1), null);
        await("time exceeded", () -> sink.errors.size() == 1);
        IcmpCtl e = sink.errors.get(0);
        assertThat(e.type()).isEqualTo(Icmp.TIMXCEED);
        assertThat(e.code()).isEqualTo(Icmp.TIMXCEED_INTRANS);
        assertThat(e.peer()).isEqualTo(ip("10.0.2.3"));
        assertThat(r.inet().icmp().stats().outhist(Icmp.TIMXCEED)).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IP-1: DF over the next link's MTU gets needs-frag with that MTU; no route gets host unreachable")
    void needsFragAndUnreachable() throws Exception {
        r.sysctl().set("net.inet.ip.forwarding", "1");
        rc.a().setMtu(1280);
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(a, PROTO_TEST);
        a.inet().ip().output(mbuf(new byte[1400]), InAddr.ANY, ip("10.0.2.3"), PROTO_TEST, IpOutOpts.DEFAULT.withDf(true), null);
        await("needs frag", () -> sink.errors.size() == 1);
        IcmpCtl e = sink.errors.get(0);
        assertThat(e.code()).isEqualTo(Icmp.UNREACH_NEEDFRAG);
        assertThat(e.mtu()).isEqualTo(1280);
        assertThat(e.errno()).isEqualTo(Errno.EMSGSIZE);
        a.inet().ip().output(mbuf(new byte[20]), InAddr.ANY, ip("192.0.2.1"), PROTO_TEST, IpOutOpts.DEFAULT, null);
        await("host unreachable", () -> sink.errors.size() == 2);
        assertThat(sink.errors.get(1).code()).isEqualTo(Icmp.UNREACH_HOST);
        assertThat(r.inet().ip().stats().noroute.get()).isEqualTo(1);
    }

    /**
     * Epairs offload the UDP checksum: the sender leaves the pseudo-header sum in the field and the
     * receiving side of the cable marks it verified. A router whose outgoing interface does not offload
     * completes it in software, so the receiver (verifying itself now) accepts it: badsum stays 0.
     */
    @Test
    @DisplayName("R-UDP-1: delayed UDP checksums on epairs; a router completes them for an interface without offload")
    void delayedChecksumAcrossRouter() throws Exception {
        r.sysctl().set("net.inet.ip.forwarding", "1");
        java.util.List<byte[]> onRc = new java.util.concurrent.CopyOnWriteArrayList<>();
        rc.b().installTap(new org.smpnet.net.PacketTap() {
            @Override
            public void tap(org.smpnet.net.Ifnet ifp, org.smpnet.net.Mbuf m, Direction dir) {
                if (dir == Direction.IN) {
                    byte[] b = new byte[m.pktLen()];
                    m.copydata(0, b.length, b, 0);
                    onRc.add(b);
                }
            }

            @Override
            public void detached(org.smpnet.net.Ifnet ifp) {}
        });
        org.smpnet.socket.Socket rx = UdpTestSupport.udp(c);
        UdpTestSupport.bind(rx, "10.0.2.3", 7001);
        org.smpnet.socket.Socket tx = UdpTestSupport.udp(a);
        Sockaddr to = Sockaddr.In.of("10.0.2.3", 7001);
        byte[] first = pattern(100, 3);
        UdpTestSupport.sendto(tx, first, to); // the first one waits for ARP on both hops
        assertThat(UdpTestSupport.recv(rx).data()).isEqualTo(first);
        assertThat(sumOk(onRc.getLast())).as("offloaded all the way: the wire holds the pseudo-header sum").isFalse();

        rc.a().setHwassist(0); // the router's way out does not offload: it must finish the checksum
        byte[] second = pattern(101, 4);
        UdpTestSupport.sendto(tx, second, to);
        assertThat(UdpTestSupport.recv(rx).data()).isEqualTo(second);
        assertThat(sumOk(onRc.getLast())).as("completed by the router").isTrue();
        assertThat(c.ipSockets().udp().stats().badsum.get()).isZero();
        rx.soclose();
        tx.soclose();
    }

    @Test
    @DisplayName("R-RT-1: a socket's cached route follows route changes (the rib generation invalidates it)")
    void cachedRouteFollowsChanges() throws Exception {
        r.sysctl().set("net.inet.ip.forwarding", "1");
        org.smpnet.socket.Socket rx = UdpTestSupport.udp(c);
        UdpTestSupport.bind(rx, "10.0.2.3", 7002);
        org.smpnet.socket.Socket tx = UdpTestSupport.udp(a);
        Sockaddr to = Sockaddr.In.of("10.0.2.3", 7002);
        UdpTestSupport.sendto(tx, pattern(10, 1), to);
        UdpTestSupport.recv(rx);
        long gen = a.rtable().generation();
        a.rtable().delete(Prefix.parse("default"));
        assertThat(a.rtable().generation()).isGreaterThan(gen);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> UdpTestSupport.sendto(tx, pattern(10, 2), to))
                .isInstanceOfSatisfying(org.smpnet.kern.ErrnoException.class,
                        e -> assertThat(e.errno()).isEqualTo(Errno.ENETUNREACH));
        a.rtable().add(Prefix.parse("10.0.2.0/24"), new Sockaddr.In(ip("10.0.1.2"), 0), Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC);
        byte[] third = pattern(10, 3);
        UdpTestSupport.sendto(tx, third, to);
        assertThat(UdpTestSupport.recv(rx).data()).isEqualTo(third);
        rx.soclose();
        tx.soclose();
    }

    /** Whether the UDP checksum of an Ethernet frame carrying IPv4 verifies. */
    private static boolean sumOk(byte[] frame) {
        int ip = 14;
        int hl = (frame[ip] & 0x0f) * 4;
        int total = ((frame[ip + 2] & 0xff) << 8) | (frame[ip + 3] & 0xff);
        long s = 17 + (total - hl);
        for (int k = 12; k < 20; k += 2) {
            s += ((frame[ip + k] & 0xff) << 8) | (frame[ip + k + 1] & 0xff);
        }
        for (int k = ip + hl; k < ip + total; k += 2) {
            int hi = frame[k] & 0xff;
            int lo = k + 1 < ip + total ? frame[k + 1] & 0xff : 0;
            s += (hi << 8) | lo;
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return s == 0xffff;
    }
}
