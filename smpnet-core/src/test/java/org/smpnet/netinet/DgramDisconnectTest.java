package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.pattern;
import static org.smpnet.netinet.UdpTestSupport.bind;
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
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.Epair;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.SocketOps;
import org.smpnet.socket.Ucred;

/**
 * R-UDP-1 / R-SO-1: connect(AF_UNSPEC) and sodisconnect dissolve a datagram association (FreeBSD
 * {@code soconnect}/{@code sodisconnect}/{@code udp_disconnect}), between two stacks over an epair:
 * a is 10.0.0.1, b is 10.0.0.2.
 */
class DgramDisconnectTest {
    private Vnet a;
    private Vnet b;
    private Epair e;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("dsca", 2);
        b = new Vnet("dscb", 2);
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
        Socket so = UdpTestSupport.udp(v);
        sockets.add(so);
        return so;
    }

    private static Errno errno(ThrowingCall c) {
        Throwable t = catchThrowable(c::run);
        assertThat(t).isInstanceOf(ErrnoException.class);
        return ((ErrnoException) t).errno();
    }

    /** Whether the PCB still has a foreign address or port (read under the PCB lock). */
    private static boolean pcbForeign(Socket so) {
        InPcb inp = (InPcb) so.pcb();
        inp.lock.lock();
        try {
            return inp.isConnected() || !inp.faddr().isAny() || inp.fport() != 0;
        } finally {
            inp.lock.unlock();
        }
    }

    interface ThrowingCall {
        void run() throws Exception;
    }

    @Test
    @DisplayName("R-UDP-1: connect(AF_UNSPEC) clears SS_ISCONNECTED and the PCB's foreign address; the wildcard lookup finds the socket again")
    void unspecDissolvesUdp() throws Exception {
        Socket p1 = sock(b);
        bind(p1, "0.0.0.0", 5001);
        Socket p2 = sock(b);
        bind(p2, "0.0.0.0", 5002);
        Socket cli = sock(a);
        bind(cli, "0.0.0.0", 4000);
        SocketOps.soconnect(cli, Sockaddr.In.of("10.0.0.2", 5001));
        assertThat(cli.state() & Socket.SS_ISCONNECTED).isNotZero();

        // connected: a datagram from another port of the peer host is not for cli
        long noport = b.ipSockets().udp().stats().noport.get() + a.ipSockets().udp().stats().noport.get();
        sendto(p2, new byte[] {9}, Sockaddr.In.of("10.0.0.1", 4000));
        await("noport counted", () -> a.ipSockets().udp().stats().noport.get() + b.ipSockets().udp().stats().noport.get() > noport);
        assertThat(poll(cli)).isNull();

        SocketOps.soconnect(cli, null);
        assertThat(cli.state() & Socket.SS_ISCONNECTED).isZero();
        assertThat(pcbForeign(cli)).isFalse();
        assertThat(((Sockaddr.In) cli.proto().pru_sockaddr(cli)).port()).isEqualTo(4000);

        // the wildcard lookup finds it again: both peers reach it
        sendto(p2, pattern(10, 1), Sockaddr.In.of("10.0.0.1", 4000));
        UdpTestSupport.Got g = recv(cli);
        assertThat(g.data()).isEqualTo(pattern(10, 1));
        assertThat(g.from()).isEqualTo(Sockaddr.In.of("10.0.0.2", 5002));
        sendto(p1, pattern(11, 2), Sockaddr.In.of("10.0.0.1", 4000));
        assertThat(recv(cli).data()).isEqualTo(pattern(11, 2));

        // send without an address: EDESTADDRREQ; sendto works
        assertThat(errno(() -> sendto(cli, new byte[] {1}, null))).isEqualTo(Errno.EDESTADDRREQ);
        sendto(cli, pattern(12, 3), Sockaddr.In.of("10.0.0.2", 5002));
        assertThat(recv(p2).data()).isEqualTo(pattern(12, 3));

        // a second connect, to the other peer
        SocketOps.soconnect(cli, Sockaddr.In.of("10.0.0.2", 5002));
        assertThat(cli.proto().pru_peeraddr(cli)).isEqualTo(Sockaddr.In.of("10.0.0.2", 5002));
        sendto(cli, pattern(13, 4), null);
        assertThat(recv(p2).data()).isEqualTo(pattern(13, 4));
        assertThat(poll(p1)).isNull();
        // and connect to yet another while connected: implicitly disconnects first (soconnect)
        SocketOps.soconnect(cli, Sockaddr.In.of("10.0.0.2", 5001));
        sendto(cli, pattern(14, 5), null);
        assertThat(recv(p1).data()).isEqualTo(pattern(14, 5));
    }

    @Test
    @DisplayName("R-SO-1: SocketApi.disconnect and connect(null): getpeername ENOTCONN, send EDESTADDRREQ, a second disconnect ENOTCONN")
    void apiDisconnect() throws Exception {
        SocketApi api = new SocketApi(a.domains(), new Filedesc(), Ucred.of(1, 0, 0));
        SocketApi bapi = new SocketApi(b.domains(), new Filedesc(), Ucred.of(2, 0, 0));
        int srv = bapi.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
        bapi.bind(srv, Sockaddr.In.of("0.0.0.0", 6001));
        int s = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
        try {
            api.connect(s, Sockaddr.In.of("10.0.0.2", 6001));
            assertThat(api.getpeername(s)).isEqualTo(Sockaddr.In.of("10.0.0.2", 6001));
            api.send(s, new byte[] {1, 2}, 0, 2, 0);
            byte[] buf = new byte[8];
            assertThat(bapi.recv(srv, buf, 0, 8, 0)).isEqualTo(2);

            api.disconnect(s);
            assertThat(errno(() -> api.getpeername(s))).isEqualTo(Errno.ENOTCONN);
            assertThat(errno(() -> api.send(s, new byte[] {1}, 0, 1, 0))).isEqualTo(Errno.EDESTADDRREQ);
            assertThat(errno(() -> api.disconnect(s))).isEqualTo(Errno.ENOTCONN);
            api.connect(s, null); // AF_UNSPEC on an unconnected datagram socket: nothing to do
            api.sendto(s, new byte[] {3}, 0, 1, 0, Sockaddr.In.of("10.0.0.2", 6001));
            assertThat(bapi.recv(srv, buf, 0, 8, 0)).isEqualTo(1);
            assertThat(buf[0]).isEqualTo((byte) 3);

            api.connect(s, Sockaddr.In.of("10.0.0.2", 6001));
            api.connect(s, null);
            assertThat(errno(() -> api.getpeername(s))).isEqualTo(Errno.ENOTCONN);
        } finally {
            api.close(s);
            bapi.close(srv);
        }
    }

    @Test
    @DisplayName("R-IP-1: a connected raw IP socket is dissolved by connect(AF_UNSPEC): unconnected again, sendto works")
    void rawDisconnect() throws Exception {
        Socket r = UdpTestSupport.raw(a, 253);
        sockets.add(r);
        Socket rx = UdpTestSupport.raw(b, 253);
        sockets.add(rx);
        SocketOps.soconnect(r, Sockaddr.In.of("10.0.0.2", 0));
        assertThat(r.state() & Socket.SS_ISCONNECTED).isNotZero();
        SocketOps.soconnect(r, null);
        assertThat(r.state() & Socket.SS_ISCONNECTED).isZero();
        assertThat(pcbForeign(r)).isFalse();
        assertThat(errno(() -> sendto(r, new byte[] {1}, null))).isEqualTo(Errno.EDESTADDRREQ);
        sendto(r, pattern(20, 7), Sockaddr.In.of("10.0.0.2", 0));
        UdpTestSupport.Got g = recv(rx);
        assertThat(g.data()).hasSize(20 + 20); // raw input carries the IP header
        SocketOps.soconnect(r, Sockaddr.In.of("10.0.0.2", 0));
        assertThat(r.state() & Socket.SS_ISCONNECTED).isNotZero();
    }
}
