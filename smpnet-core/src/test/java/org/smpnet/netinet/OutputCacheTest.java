package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.IpCtlOutput.IPPROTO_IP;
import static org.smpnet.netinet.UdpTestSupport.bind;
import static org.smpnet.netinet.UdpTestSupport.recv;
import static org.smpnet.netinet.UdpTestSupport.sendto;
import static org.smpnet.netinet.UdpTestSupport.setInt;
import static org.smpnet.netinet.UdpTestSupport.udp;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.net.Epair;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Cmsg;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;

/**
 * What a socket's output path caches (its IP output options, and per destination the route, "is it ours",
 * "is it a broadcast") follows every change of what it was made from, between two sends on one socket.
 */
class OutputCacheTest {
    private InetTestSupport.TwoHosts hosts;
    private Vnet a;
    private Vnet b;
    private Epair e;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        hosts = InetTestSupport.TwoHosts.create("oc");
        a = hosts.a();
        b = hosts.b();
        e = hosts.e();
    }

    @AfterEach
    void tearDown() {
        sockets.forEach(Socket::soclose);
        hosts.close();
    }

    private Socket sock(Vnet v) throws Exception {
        Socket so = udp(v);
        sockets.add(so);
        return so;
    }

    private static int ttlOf(UdpTestSupport.Got g) {
        for (Cmsg c : g.control()) {
            if (c instanceof Cmsg.Data d && d.type() == IpCtlOutput.IP_RECVTTL) {
                return d.data()[0] & 0xff;
            }
        }
        throw new AssertionError("no IP_RECVTTL in " + g.control());
    }

    @Test
    @DisplayName("R-IP-2: IP_TTL and SO_BROADCAST set between sends apply to the next datagram")
    void optionChangesReachTheNextDatagram() throws Exception {
        Socket r = sock(b);
        bind(r, "0.0.0.0", 5000);
        setInt(r, IPPROTO_IP, IpCtlOutput.IP_RECVTTL, 1);
        Socket tx = sock(a);
        Sockaddr.In to = Sockaddr.In.of("10.0.0.2", 5000);
        sendto(tx, new byte[] {1}, to);
        assertThat(ttlOf(recv(r))).isEqualTo(64);
        setInt(tx, IPPROTO_IP, IpCtlOutput.IP_TTL, 9);
        sendto(tx, new byte[] {2}, to);
        assertThat(ttlOf(recv(r))).isEqualTo(9);
        setInt(tx, IPPROTO_IP, IpCtlOutput.IP_TTL, 33);
        sendto(tx, new byte[] {3}, to);
        assertThat(ttlOf(recv(r))).isEqualTo(33);

        Sockaddr.In bcast = Sockaddr.In.of("10.0.0.255", 5000);
        assertThatThrownBy(() -> sendto(tx, new byte[] {4}, bcast)).hasMessageContaining("EACCES");
        setInt(tx, SocketConst.SOL_SOCKET, SocketConst.SO_BROADCAST, 1);
        sendto(tx, new byte[] {5}, bcast);
        assertThat(recv(r).data()).containsExactly(5);
        setInt(tx, SocketConst.SOL_SOCKET, SocketConst.SO_BROADCAST, 0);
        assertThatThrownBy(() -> sendto(tx, new byte[] {6}, bcast)).hasMessageContaining("EACCES");
    }

    @Test
    @DisplayName("R-RT-1: a cached path follows address changes: the peer's address moved to this host is then local")
    void cachedPathFollowsAddressChanges() throws Exception {
        Socket atB = sock(b);
        bind(atB, "0.0.0.0", 5001);
        Socket atA = sock(a);
        bind(atA, "0.0.0.0", 5001);
        Socket tx = sock(a);
        Sockaddr.In to = Sockaddr.In.of("10.0.0.7", 5001);
        b.addrs().add(e.b(), ip("10.0.0.7"), 32);
        sendto(tx, new byte[] {1}, to);
        assertThat(recv(atB).data()).containsExactly(1); // across the epair; the path is now cached
        sendto(tx, new byte[] {2}, to);
        assertThat(recv(atB).data()).containsExactly(2);

        b.addrs().delete(e.b(), ip("10.0.0.7"));
        a.addrs().add(e.a(), ip("10.0.0.7"), 32); // now ours: the next datagram must loop back, not leave
        sendto(tx, new byte[] {3}, to);
        assertThat(recv(atA).data()).containsExactly(3);
        assertThat(UdpTestSupport.poll(atB)).isNull();

        a.addrs().delete(e.a(), ip("10.0.0.7"));
        b.addrs().add(e.b(), ip("10.0.0.7"), 32); // and back
        a.inet().arp().delete(e.a(), ip("10.0.0.7"));
        sendto(tx, new byte[] {4}, to);
        assertThat(recv(atB).data()).containsExactly(4);
        assertThat(UdpTestSupport.poll(atA)).isNull();
    }
}
