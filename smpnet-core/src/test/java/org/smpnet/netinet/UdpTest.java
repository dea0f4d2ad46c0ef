package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.pattern;
import static org.smpnet.netinet.IpCtlOutput.IPPROTO_IP;
import static org.smpnet.netinet.UdpTestSupport.bind;
import static org.smpnet.netinet.UdpTestSupport.connect;
import static org.smpnet.netinet.UdpTestSupport.mreq;
import static org.smpnet.netinet.UdpTestSupport.poll;
import static org.smpnet.netinet.UdpTestSupport.recv;
import static org.smpnet.netinet.UdpTestSupport.sendto;
import static org.smpnet.netinet.UdpTestSupport.setInt;
import static org.smpnet.netinet.UdpTestSupport.udp;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.net.Epair;
import org.smpnet.net.LinkPipe;
import org.smpnet.net.PipeConfig;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Cmsg;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;

/** R-UDP-1 and R-IP-2 between two stacks over an epair: a is 10.0.0.1, b is 10.0.0.2 (/24). */
class UdpTest {
    private Vnet a;
    private Vnet b;
    private Epair e;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("udpa", 2);
        b = new Vnet("udpb", 2);
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

    private Socket sock(Vnet v) throws Exception {
        Socket so = udp(v);
        sockets.add(so);
        return so;
    }

    private static UdpStats stats(Vnet v) {
        return v.ipSockets().udp().stats();
    }

    /** Datagrams sent through the route {@code v} would use to reach {@code dst} ({@code netstat -r}'s "Use"). */
    private static long routeUse(Vnet v, String dst) {
        int et = org.smpnet.kern.Epoch.NET.enter();
        try {
            return v.rtable().match(ip(dst)).use();
        } finally {
            org.smpnet.kern.Epoch.NET.exit(et);
        }
    }

    @Test
    @DisplayName("R-RT-1: a route's use count (netstat -r) is one per datagram sent through it, with the route cached in the PCB or not; a lookup that sends nothing is no use")
    void routeUseCountsDatagramsSent() throws Exception {
        Socket srv = sock(b);
        bind(srv, "0.0.0.0", 5354);
        long use0 = routeUse(a, "10.0.0.2");
        Socket cli = sock(a);
        connect(cli, "10.0.0.2", 5354); // source selection looks the route up: not a use
        assertThat(routeUse(a, "10.0.0.2")).isEqualTo(use0);
        for (int i = 0; i < 5; i++) {
            sendto(cli, new byte[] {(byte) i}, null); // the PCB's cached route after the first
        }
        Socket other = sock(a);
        for (int i = 0; i < 3; i++) {
            sendto(other, new byte[] {(byte) (10 + i)}, Sockaddr.In.of("10.0.0.2", 5354));
        }
        for (int i = 0; i < 8; i++) {
            recv(srv);
        }
        assertThat(routeUse(a, "10.0.0.2")).isEqualTo(use0 + 8);
        assertThat(a.rtable().dump()).contains(" " + (use0 + 8) + " ");
    }

    @Test
    @DisplayName("R-UDP-1: unicast both ways with exact payloads and addresses; getsockname/getpeername; sysctl stats")
    void unicast() throws Exception {
        Socket srv = sock(b);
        bind(srv, "0.0.0.0", 5353);
        Socket cli = sock(a);
        connect(cli, "10.0.0.2", 5353);
        Sockaddr.In local = (Sockaddr.In) cli.proto().pru_sockaddr(cli);
        assertThat(local.addr()).isEqualTo(ip("10.0.0.1"));
        assertThat(local.port()).isBetween(10000, 65535);
        assertThat(cli.proto().pru_peeraddr(cli)).isEqualTo(Sockaddr.In.of("10.0.0.2", 5353));
        for (int i = 0; i < 20; i++) {
            byte[] p = pattern(1 + i * 50, i);
            assertThat(sendto(cli, p, null)).isEqualTo(p.length);
            UdpTestSupport.Got g = recv(srv);
            assertThat(g.data()).isEqualTo(p);
            assertThat(g.from()).isEqualTo(local);
            sendto(srv, g.data(), g.from());
            assertThat(recv(cli).data()).isEqualTo(p);
        }
        assertThat(b.sysctl().get("net.inet.udp.stats.ipackets")).isEqualTo("20");
        assertThat(a.sysctl().get("net.inet.udp.stats.opackets")).isEqualTo("20");
        assertThat(stats(b).delivered.get()).isEqualTo(20);
        assertThat(stats(b).badsum.get() + stats(b).noport.get() + stats(b).fullsock.get()).isZero();
        assertThatThrownBy(() -> sendto(cli, new byte[1], Sockaddr.In.of("10.0.0.2", 1))).hasMessageContaining("EISCONN");
    }

    @Test
    @DisplayName("R-UDP-1: subnet broadcast needs SO_BROADCAST (EACCES) and reaches every matching SO_REUSEPORT socket")
    void broadcast() throws Exception {
        List<Socket> rx = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket r = sock(b);
            setInt(r, SocketConst.SOL_SOCKET, SocketConst.SO_REUSEPORT, 1);
            bind(r, "0.0.0.0", 7000);
            rx.add(r);
        }
        Socket specific = sock(b);
        setInt(specific, SocketConst.SOL_SOCKET, SocketConst.SO_REUSEPORT, 1);
        bind(specific, "10.0.0.2", 7000); // bound to the unicast address: broadcasts are not for it
        Socket tx = sock(a);
        Sockaddr.In bcast = Sockaddr.In.of("10.0.0.255", 7000);
        assertThatThrownBy(() -> sendto(tx, new byte[] {1}, bcast)).hasMessageContaining("EACCES");
        setInt(tx, SocketConst.SOL_SOCKET, SocketConst.SO_BROADCAST, 1);
        for (int i = 0; i < 5; i++) {
            sendto(tx, pattern(100, i), bcast);
        }
        for (Socket r : rx) {
            for (int i = 0; i < 5; i++) {
                assertThat(recv(r).data()).isEqualTo(pattern(100, i));
            }
        }
        await("5 datagrams at b", () -> stats(b).ipackets.get() == 5);
        assertThat(poll(specific)).isNull();
        assertThat(stats(b).delivered.get()).isEqualTo(15);
        sendto(tx, new byte[] {9}, Sockaddr.In.of("10.0.0.255", 7001));
        await("unwanted broadcast counted", () -> stats(b).noportbcast.get() == 1);
        assertThat(stats(b).noport.get()).isZero(); // and no ICMP error for a broadcast
    }

    @Test
    @DisplayName("R-IP-2: multicast to joined sockets only; IGMPv2 report on first join, leave on last; MAC filter follows")
    void multicast() throws Exception {
        Socket j1 = sock(b);
        Socket j2 = sock(b);
        Socket notJoined = sock(b);
        for (Socket s : List.of(j1, j2, notJoined)) {
            setInt(s, SocketConst.SOL_SOCKET, SocketConst.SO_REUSEADDR, 1); // means SO_REUSEPORT on a group address
            bind(s, "239.1.2.3", 7001);
        }
        UdpTestSupport.set(j1, IPPROTO_IP, IpCtlOutput.IP_ADD_MEMBERSHIP, mreq("239.1.2.3", "10.0.0.2"));
        UdpTestSupport.set(j2, IPPROTO_IP, IpCtlOutput.IP_ADD_MEMBERSHIP, mreq("239.1.2.3", "0.0.0.0"));
        assertThatThrownBy(() -> UdpTestSupport.set(j2, IPPROTO_IP, IpCtlOutput.IP_ADD_MEMBERSHIP, mreq("239.1.2.3", "10.0.0.2")))
                .hasMessageContaining("EADDRINUSE");
        assertThatThrownBy(() -> UdpTestSupport.set(j2, IPPROTO_IP, IpCtlOutput.IP_ADD_MEMBERSHIP, mreq("10.1.2.3", "10.0.0.2")))
                .hasMessageContaining("EINVAL");
        Igmp igmp = b.ipSockets().igmp();
        assertThat(igmp.stats().sndReports.get()).isEqualTo(1);
        assertThat(igmp.isMember(e.b().index(), ip("239.1.2.3"))).isTrue();
        byte[] frameDst = new byte[6];
        System.arraycopy(Igmp.mac(ip("239.1.2.3")), 0, frameDst, 0, 6);
        assertThat(e.b().multiMatches(frameDst, 0)).isTrue();

        Socket tx = sock(a);
        byte[] ifaddr = new byte[4];
        ip("10.0.0.1").toBytes(ifaddr, 0);
        UdpTestSupport.set(tx, IPPROTO_IP, IpCtlOutput.IP_MULTICAST_IF, ifaddr);
        setInt(tx, IPPROTO_IP, IpCtlOutput.IP_MULTICAST_TTL, 3);
        for (int i = 0; i < 4; i++) {
            sendto(tx, pattern(64, i), Sockaddr.In.of("239.1.2.3", 7001));
        }
        for (Socket r : List.of(j1, j2)) {
            for (int i = 0; i < 4; i++) {
                assertThat(recv(r).data()).isEqualTo(pattern(64, i));
            }
        }
        await("4 datagrams at b", () -> stats(b).ipackets.get() == 4);
        assertThat(poll(notJoined)).isNull();
        assertThat(stats(b).filtermcast.get()).isEqualTo(4);
        // a group nobody joined is filtered by the interface before IP
        sendto(tx, new byte[] {1}, Sockaddr.In.of("239.9.9.9", 7001));

        UdpTestSupport.set(j1, IPPROTO_IP, IpCtlOutput.IP_DROP_MEMBERSHIP, mreq("239.1.2.3", "10.0.0.2"));
        assertThat(igmp.stats().sndLeaves.get()).isZero();
        assertThatThrownBy(() -> UdpTestSupport.set(j1, IPPROTO_IP, IpCtlOutput.IP_DROP_MEMBERSHIP, mreq("239.1.2.3", "10.0.0.2")))
                .hasMessageContaining("EADDRNOTAVAIL");
        j2.soclose(); // closing drops the last membership
        assertThat(igmp.stats().sndLeaves.get()).isEqualTo(1);
        assertThat(igmp.isMember(e.b().index(), ip("239.1.2.3"))).isFalse();
        assertThat(e.b().multiMatches(frameDst, 0)).isFalse();
        assertThat(stats(b).ipackets.get()).isEqualTo(4);
    }

    @Test
    @DisplayName("R-UDP-1: ICMP port unreachable turns into ECONNREFUSED on the connected socket")
    void portUnreachable() throws Exception {
        Socket cli = sock(a);
        connect(cli, "10.0.0.2", 9999);
        sendto(cli, new byte[] {1, 2, 3}, null);
        await("noport at b", () -> stats(b).noport.get() == 1);
        await("error at a", () -> {
            try {
                poll(cli);
                return false;
            } catch (org.smpnet.kern.ErrnoException ex) {
                assertThat(ex.errno()).isEqualTo(org.smpnet.kern.Errno.ECONNREFUSED);
                return true;
            }
        });
        assertThat(b.sysctl().get("net.inet.udp.stats.noport")).isEqualTo("1");
    }

    @Test
    @DisplayName("R-UDP-1: 4000-byte datagrams over MTU 1500 through a lossy, reordering pipe: exact accounting at every layer")
    void fragmentedThroughLossyPipe() throws Exception {
        Socket srv = sock(b);
        bind(srv, "10.0.0.2", 6000);
        Socket cli = sock(a);
        connect(cli, "10.0.0.2", 6000);
        sendto(cli, new byte[] {0}, null); // ARP and a first datagram over the perfect link
        assertThat(recv(srv).data()).containsExactly(0);
        LinkPipe pipe = e.pipeAtoB();
        IpStats ipb = b.inet().ip().stats();
        IpStats ipa = a.inet().ip().stats();
        long entered0 = pipe.entered.get();
        long lost0 = pipe.lost.get();
        long frags0 = ipb.fragments.get();
        pipe.configure(PipeConfig.NONE.withLoss(0.05).withReorder(0.2, Duration.ofMillis(2)).withSeed(42));
        int n = 200;
        Set<Integer> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicReference<Throwable> bad = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Thread reader = Thread.ofPlatform().name("frag-reader").start(() -> {
            try {
                while (!done.get()) {
                    UdpTestSupport.Got g = poll(srv);
                    if (g == null) {
                        Thread.onSpinWait();
                        continue;
                    }
                    int seq = ByteBuffer.wrap(g.data()).getInt();
                    assertThat(g.data()).hasSize(4000);
                    assertThat(java.util.Arrays.copyOfRange(g.data(), 4, 4000)).isEqualTo(pattern(3996, seq));
                    assertThat(seen.add(seq)).as("datagram %d delivered twice", seq).isTrue();
                }
            } catch (Throwable t) {
                bad.set(t);
            }
        });
        for (int i = 0; i < n; i++) {
            byte[] p = ByteBuffer.allocate(4000).putInt(i).array();
            System.arraycopy(pattern(3996, i), 0, p, 4, 3996);
            sendto(cli, p, null);
        }
        pipe.drain();
        long entered = pipe.entered.get() - entered0;
        long lost = pipe.lost.get() - lost0;
        assertThat(entered).isEqualTo(3L * n);
        assertThat(ipa.ofragments.get()).isEqualTo(3L * n);
        await("every surviving fragment at b's IP", () -> ipb.fragments.get() - frags0 == entered - lost);
        IpReass reass = b.inet().reass();
        await("reassembly settled", () -> {
            long f = ipb.fragments.get() - frags0;
            return f == 3 * ipb.reassembled.get() + reass.fragsHeld() + ipb.fragdropped.get() + ipb.fragtimeout.get();
        });
        long reassembled = ipb.reassembled.get();
        await("every reassembled datagram delivered or counted full",
                () -> stats(b).delivered.get() + stats(b).fullsock.get() == 1 + reassembled);
        await("reader caught up", () -> seen.size() == stats(b).delivered.get() - 1);
        done.set(true);
        reader.join();
        if (bad.get() != null) {
            throw new AssertionError("reader failed", bad.get());
        }
        // every reassembled datagram was read intact exactly once, or refused by a full buffer and counted
        assertThat(seen.size() + stats(b).fullsock.get()).isEqualTo(reassembled);
        assertThat(lost).isPositive();
        assertThat(reassembled).isLessThan(n).isGreaterThan(n / 2);
        // a datagram is lost iff one of its 3 fragments was: at least lost/3 and at most lost datagrams
        assertThat(n - reassembled).isBetween((lost + 2) / 3, lost);
    }

    @Test
    @DisplayName("R-IP-2: IP_TTL/IP_TOS/IP_MULTICAST_TTL/LOOP get and set; IP_RECVDSTADDR/IP_RECVTTL/IP_RECVIF control messages")
    void optionsAndControl() throws Exception {
        Socket s = sock(a);
        assertThat(UdpTestSupport.getInt(s, IPPROTO_IP, IpCtlOutput.IP_TTL)).isEqualTo(64);
        setInt(s, IPPROTO_IP, IpCtlOutput.IP_TTL, 7);
        setInt(s, IPPROTO_IP, IpCtlOutput.IP_TOS, 0x10);
        assertThat(UdpTestSupport.getInt(s, IPPROTO_IP, IpCtlOutput.IP_TTL)).isEqualTo(7);
        assertThat(UdpTestSupport.getInt(s, IPPROTO_IP, IpCtlOutput.IP_TOS)).isEqualTo(0x10);
        assertThat(UdpTestSupport.getInt(s, IPPROTO_IP, IpCtlOutput.IP_MULTICAST_LOOP)).isEqualTo(1);
        UdpTestSupport.set(s, IPPROTO_IP, IpCtlOutput.IP_MULTICAST_LOOP, new byte[] {0});
        assertThat(UdpTestSupport.getInt(s, IPPROTO_IP, IpCtlOutput.IP_MULTICAST_LOOP)).isZero();
        assertThatThrownBy(() -> setInt(s, IPPROTO_IP, IpCtlOutput.IP_TTL, 256)).hasMessageContaining("EINVAL");
        assertThatThrownBy(() -> setInt(s, IPPROTO_IP, IpCtlOutput.IP_HDRINCL, 1)).hasMessageContaining("ENOPROTOOPT");
        assertThatThrownBy(() -> setInt(s, IPPROTO_IP, 99, 1)).hasMessageContaining("ENOPROTOOPT");
        byte[] bad = new byte[4];
        ip("10.9.9.9").toBytes(bad, 0);
        assertThatThrownBy(() -> UdpTestSupport.set(s, IPPROTO_IP, IpCtlOutput.IP_MULTICAST_IF, bad)).hasMessageContaining("EADDRNOTAVAIL");

        Socket r = sock(b);
        bind(r, "0.0.0.0", 4444);
        setInt(r, IPPROTO_IP, IpCtlOutput.IP_RECVDSTADDR, 1);
        setInt(r, IPPROTO_IP, IpCtlOutput.IP_RECVTTL, 1);
        setInt(r, IPPROTO_IP, IpCtlOutput.IP_RECVIF, 1);
        assertThat(UdpTestSupport.getInt(r, IPPROTO_IP, IpCtlOutput.IP_RECVIF)).isEqualTo(1);
        sendto(s, new byte[] {5}, Sockaddr.In.of("10.0.0.2", 4444));
        UdpTestSupport.Got g = recv(r);
        assertThat(g.control()).hasSize(3);
        Cmsg.Data dst = (Cmsg.Data) g.control().get(0);
        assertThat(dst.type()).isEqualTo(IpCtlOutput.IP_RECVDSTADDR);
        assertThat(dst.data()).containsExactly(10, 0, 0, 2);
        Cmsg.Data ttl = (Cmsg.Data) g.control().get(1);
        assertThat(ttl.data()).containsExactly(7); // the sender's IP_TTL, one hop on an epair without forwarding
        Cmsg.Data ifc = (Cmsg.Data) g.control().get(2);
        assertThat(ifc.type()).isEqualTo(IpCtlOutput.IP_RECVIF);
        assertThat((ifc.data()[2] & 0xff) | (ifc.data()[3] & 0xff) << 8).isEqualTo(e.b().index());
        assertThat(new String(ifc.data(), 8, ifc.data()[5], java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo(e.b().name());
    }
}
