package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.File;
import org.smpnet.kern.Filedesc;
import org.smpnet.kern.Witness;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Prefix;
import org.smpnet.net.RtAddrs;
import org.smpnet.net.RtMsg;
import org.smpnet.net.RtSock;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Rtm;
import org.smpnet.net.Sockaddr;

/** R-RT-1: routing sockets ({@code PF_ROUTE}) through the socket API. */
class RouteSockTest {
    static final int PID = 4242;
    private Vnet a;
    private Vnet b;
    private Epair ep;
    private SocketApi api;

    @BeforeEach
    void setUp() {
        a = new Vnet("rsk-a", 2);
        b = new Vnet("rsk-b", 1);
        ep = a.epair(b);
        api = new SocketApi(a.domains(), new Filedesc(), Ucred.of(PID, 0, 0));
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    // ---- helpers ----

    int routeSocket(int family) throws ErrnoException {
        int s = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, family);
        api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(10_000_000));
        return s;
    }

    static Socket sock(SocketApi api, int fd) throws ErrnoException {
        File f = api.filedesc().get(fd);
        try {
            return ((SocketFile) f).socket();
        } finally {
            f.drop();
        }
    }

    /** The next message on {@code s}, checked: from AF_ROUTE, well formed. */
    static RtMsg next(SocketApi api, int s) throws ErrnoException {
        byte[] buf = new byte[2048];
        Sockaddr[] from = new Sockaddr[1];
        int n = api.recvfrom(s, buf, 0, buf.length, 0, from);
        assertThat(from[0]).isEqualTo(Sockaddr.Route.SRC);
        assertThat(from[0].family()).isEqualTo(Sockaddr.AF_ROUTE);
        return RtMsg.parse(buf, 0, n);
    }

    static void await(BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    static Sockaddr.In in(String a) {
        return new Sockaddr.In(InAddr.parse(a), 0);
    }

    static RtAddrs net(String dst, String gw, String mask) {
        RtAddrs r = RtAddrs.NONE.with(Rtm.RTAX_DST, in(dst));
        if (gw != null) {
            r = r.with(Rtm.RTAX_GATEWAY, in(gw));
        }
        return mask == null ? r : r.with(Rtm.RTAX_NETMASK, in(mask));
    }

    static int write(SocketApi api, int s, int type, int seq, RtAddrs addrs) throws ErrnoException {
        int flags = Rtentry.RTF_UP | Rtentry.RTF_STATIC | (addrs.gateway() != null ? Rtentry.RTF_GATEWAY : 0);
        byte[] b = RtMsg.Route.request(type, seq, flags, addrs).emit();
        return api.send(s, b, 0, b.length, 0);
    }

    /** The next message on {@code s} that {@code p} accepts; others (interface messages...) are skipped. */
    static RtMsg next(SocketApi api, int s, java.util.function.Predicate<RtMsg> p) throws ErrnoException {
        while (true) {
            RtMsg m = next(api, s);
            if (p.test(m)) {
                return m;
            }
        }
    }

    /**
     * Waits until every message queued so far was delivered: netisr keeps routing messages in order, so once
     * a fresh socket's own RTM_GET reply arrives, sockets opened afterwards cannot see older messages.
     */
    static void settle(SocketApi api) throws ErrnoException {
        int s = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, 0);
        api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(2_000_000));
        try {
            for (int seq = 9000; ; seq++) { // a full netisr queue may drop the reply (counted): ask again
                write(api, s, Rtm.RTM_GET, seq, net("127.0.0.1", null, null));
                int want = seq;
                try {
                    next(api, s, m -> m instanceof RtMsg.Route r && r.seq() == want);
                    return;
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN || seq == 9010) {
                        throw e;
                    }
                }
            }
        } finally {
            api.close(s);
        }
    }

    static Errno errno(Throwable t) {
        assertThat(t).isInstanceOf(ErrnoException.class);
        return ((ErrnoException) t).errno();
    }

    static boolean isRoute(RtMsg m, int type, String dst) {
        return m instanceof RtMsg.Route r && r.type() == type && r.addrs().dst() instanceof Sockaddr.In i
                && i.addr().equals(InAddr.parse(dst));
    }

    // ---- tests ----

    @Test
    @DisplayName("R-RT-1: a route socket sees RTM_NEWADDR and RTM_ADD when an address is added, RTM_DELADDR and RTM_DELETE when removed")
    void addressEvents() throws Exception {
        int s = routeSocket(0);
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        List<RtMsg> got = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            got.add(next(api, s, m -> m.type() == Rtm.RTM_NEWADDR || m.type() == Rtm.RTM_ADD));
        }
        RtMsg.Ifa ifa = (RtMsg.Ifa) got.stream().filter(m -> m.type() == Rtm.RTM_NEWADDR).findFirst().orElseThrow();
        assertThat(ifa.index()).isEqualTo(ep.a().index());
        assertThat(ifa.addrs().ifa()).isEqualTo(in("10.0.0.1"));
        assertThat(ifa.addrs().netmask()).isEqualTo(in("255.255.255.0"));
        RtMsg.Route net = (RtMsg.Route) got.stream().filter(m -> isRoute(m, Rtm.RTM_ADD, "10.0.0.0")).findFirst().orElseThrow();
        assertThat(net.addrs().netmask()).isEqualTo(in("255.255.255.0"));
        assertThat(net.index()).isEqualTo(ep.a().index());
        RtMsg.Route host = (RtMsg.Route) got.stream().filter(m -> isRoute(m, Rtm.RTM_ADD, "10.0.0.1")).findFirst().orElseThrow();
        assertThat(host.flags() & Rtentry.RTF_HOST).isNotZero();

        a.addrs().delete(ep.a(), InAddr.parse("10.0.0.1"));
        List<RtMsg> gone = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            gone.add(next(api, s, m -> m.type() == Rtm.RTM_DELADDR || m.type() == Rtm.RTM_DELETE));
        }
        assertThat(gone).anyMatch(m -> m.type() == Rtm.RTM_DELADDR && ((RtMsg.Ifa) m).addrs().ifa().equals(in("10.0.0.1")));
        assertThat(gone).anyMatch(m -> isRoute(m, Rtm.RTM_DELETE, "10.0.0.0"));
        assertThat(gone).anyMatch(m -> isRoute(m, Rtm.RTM_DELETE, "10.0.0.1"));
        api.close(s);
    }

    @Test
    @DisplayName("R-RT-1: RTM_ADD/GET/CHANGE/DELETE written to a route socket round-trip; EEXIST and ESRCH come back in send and in rtm_errno")
    void writeRoundTrip() throws Exception {
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        int w = routeSocket(0);
        int l = routeSocket(0); // a second listener sees every reply too
        RtAddrs n = net("198.51.100.0", "10.0.0.254", "255.255.255.0");

        write(api, w, Rtm.RTM_ADD, 1, n);
        RtMsg.Route add = (RtMsg.Route) skipTo(w, 1);
        assertThat(add.type()).isEqualTo(Rtm.RTM_ADD);
        assertThat(add.errno()).isZero();
        assertThat(add.flags() & Rtentry.RTF_DONE).isNotZero();
        assertThat(add.pid()).isEqualTo(PID);
        assertThat(add.addrs().gateway()).isEqualTo(in("10.0.0.254"));
        assertThat(skipTo(l, 1)).isEqualTo(add);

        assertThat(errno(catchThrowable(() -> write(api, w, Rtm.RTM_ADD, 2, n)))).isEqualTo(Errno.EEXIST);
        RtMsg.Route dup = (RtMsg.Route) skipTo(w, 2);
        assertThat(dup.errno()).isEqualTo(Errno.EEXIST.number());
        assertThat(dup.flags() & Rtentry.RTF_DONE).isZero();

        write(api, w, Rtm.RTM_GET, 3, net("198.51.100.7", null, null).with(Rtm.RTAX_IFP, new Sockaddr.Dl(0, "", null)));
        RtMsg.Route get = (RtMsg.Route) skipTo(w, 3);
        assertThat(get.addrs().dst()).isEqualTo(in("198.51.100.0"));
        assertThat(get.addrs().netmask()).isEqualTo(in("255.255.255.0"));
        assertThat(get.addrs().gateway()).isEqualTo(in("10.0.0.254"));
        assertThat(((Sockaddr.Dl) get.addrs().ifp()).name()).isEqualTo(ep.a().name());

        write(api, w, Rtm.RTM_CHANGE, 4, net("198.51.100.0", "10.0.0.253", "255.255.255.0"));
        assertThat(((RtMsg.Route) skipTo(w, 4)).addrs().gateway()).isEqualTo(in("10.0.0.253"));

        write(api, w, Rtm.RTM_DELETE, 5, net("198.51.100.0", null, "255.255.255.0"));
        assertThat(skipTo(w, 5).type()).isEqualTo(Rtm.RTM_DELETE);
        assertThat(errno(catchThrowable(() -> write(api, w, Rtm.RTM_DELETE, 6, net("198.51.100.0", null, "255.255.255.0")))))
                .isEqualTo(Errno.ESRCH);
        assertThat(((RtMsg.Route) skipTo(w, 6)).errno()).isEqualTo(Errno.ESRCH.number());
        assertThat(errno(catchThrowable(() -> write(api, w, Rtm.RTM_GET, 7, net("203.0.113.1", null, null))))).isEqualTo(Errno.ESRCH);
        assertThat(((RtMsg.Route) skipTo(l, 7)).errno()).isEqualTo(Errno.ESRCH.number());
        assertThat(a.rtable().size(Sockaddr.AF_INET)).isEqualTo(3);
    }

    /** Reads {@code s} until the reply with sequence number {@code seq} from this pid. */
    private RtMsg skipTo(int s, int seq) throws ErrnoException {
        while (true) {
            RtMsg m = next(api, s);
            if (m instanceof RtMsg.Route r && r.pid() == PID && r.seq() == seq) {
                return m;
            }
        }
    }

    @Test
    @DisplayName("R-RT-1: the family argument, ROUTE_MSGFILTER and SO_USELOOPBACK select what a route socket receives")
    void filters() throws Exception {
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        settle(api);
        int v6 = routeSocket(Sockaddr.AF_INET6);
        int v4 = routeSocket(Sockaddr.AF_INET);
        int onlyDel = routeSocket(0);
        api.setsockopt(onlyDel, SocketConst.PF_ROUTE, RouteSock.ROUTE_MSGFILTER, RouteSock.filter(Rtm.RTM_DELETE));
        assertThat(api.getsockoptInt(onlyDel, SocketConst.PF_ROUTE, RouteSock.ROUTE_MSGFILTER)).isEqualTo(1 << Rtm.RTM_DELETE);
        int quiet = routeSocket(0);
        assertThat(api.getsockoptInt(quiet, SocketConst.SOL_SOCKET, SocketConst.SO_USELOOPBACK)).isNotZero();
        api.setsockopt(quiet, SocketConst.SOL_SOCKET, SocketConst.SO_USELOOPBACK, 0);

        write(api, quiet, Rtm.RTM_ADD, 1, net("198.51.100.0", "10.0.0.254", "255.255.255.0"));
        write(api, quiet, Rtm.RTM_DELETE, 2, net("198.51.100.0", null, "255.255.255.0"));
        a.ifCreate("epair"); // interface messages: family AF_UNSPEC, every family's socket gets them
        a.rtable().add(Prefix.parse("192.0.2.0/24"), in("10.0.0.253"), Rtentry.RTF_GATEWAY);

        assertThat(next(api, v4, m -> m.family() != Sockaddr.AF_UNSPEC)).matches(m -> isRoute(m, Rtm.RTM_ADD, "198.51.100.0"));
        assertThat(next(api, v6).type()).isIn(Rtm.RTM_IFANNOUNCE, Rtm.RTM_IFINFO);
        assertThat(next(api, onlyDel)).matches(m -> isRoute(m, Rtm.RTM_DELETE, "198.51.100.0"));
        // the writer without SO_USELOOPBACK skipped its two replies, not the messages after them
        List<RtMsg> quietGot = new ArrayList<>();
        quietGot.add(next(api, quiet));
        while (!isRoute(quietGot.getLast(), Rtm.RTM_ADD, "192.0.2.0")) {
            quietGot.add(next(api, quiet));
        }
        assertThat(quietGot).noneMatch(m -> m instanceof RtMsg.Route r && r.pid() == PID);
        assertThat(quietGot).anyMatch(m -> m.type() == Rtm.RTM_IFANNOUNCE);
        settle(api);
        RouteSock.Rcb r6 = RouteSock.rcbOf(sock(api, v6));
        api.setNonblock(v6, true);
        while (true) { // v6 never sees an AF_INET message
            RtMsg m;
            try {
                m = next(api, v6);
            } catch (ErrnoException e) {
                assertThat(e.errno()).isEqualTo(Errno.EAGAIN);
                break;
            }
            assertThat(m.family()).isEqualTo(Sockaddr.AF_UNSPEC);
        }
        assertThat(r6.sent.get()).isPositive().isEqualTo(r6.delivered.get());
        RouteSock.Rcb rd = RouteSock.rcbOf(sock(api, onlyDel));
        assertThat(rd.sent.get()).isEqualTo(1);
        assertThat(catchThrowable(() -> api.setsockopt(v4, SocketConst.PF_ROUTE, 99, 1)))
                .isInstanceOf(ErrnoException.class).hasMessageContaining("ENOPROTOOPT");
    }

    @Test
    @DisplayName("R-RT-1: a full receive buffer drops messages and counts them per socket and in net.route.rtsock.sbfull_drops")
    void overflow() throws Exception {
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        settle(api);
        int s = routeSocket(0);
        api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_RCVBUF, 1024);
        RouteSock.Rcb rcb = RouteSock.rcbOf(sock(api, s));
        int n = 40;
        for (int i = 0; i < n; i++) {
            a.rtable().add(Prefix.in(new InAddr((198 << 24) | (51 << 16) | (i << 8)), 24), in("10.0.0.254"), Rtentry.RTF_GATEWAY);
        }
        await(() -> rcb.sent.get() == n, n + " messages offered");
        assertThat(rcb.dropped.get()).isPositive();
        assertThat(rcb.delivered.get() + rcb.dropped.get()).isEqualTo(n);
        assertThat(Long.parseLong(a.sysctl().get("net.route.rtsock.sbfull_drops"))).isEqualTo(rcb.dropped.get());
        api.setNonblock(s, true);
        int read = 0;
        while (true) {
            try {
                assertThat(next(api, s).type()).isEqualTo(Rtm.RTM_ADD);
                read++;
            } catch (ErrnoException e) {
                assertThat(e.errno()).isEqualTo(Errno.EAGAIN);
                break;
            }
        }
        assertThat(read).isEqualTo(rcb.delivered.get());
    }

    @Test
    @DisplayName("R-RT-1: malformed writes (short, bad version, bad length, unknown type) fail with EINVAL/EPROTONOSUPPORT and are counted")
    void malformed() throws Exception {
        int s = routeSocket(0);
        RtSock rs = a.rtable().rtsock();
        long bad0 = rs.badRequests.get();
        byte[] good = RtMsg.Route.request(Rtm.RTM_GET, 1, 0, net("10.1.1.1", null, null)).emit();

        byte[] shortMsg = {3, 0, 5};
        assertThat(errno(catchThrowable(() -> api.send(s, shortMsg, 0, shortMsg.length, 0)))).isEqualTo(Errno.EINVAL);
        byte[] hdrOnly = java.util.Arrays.copyOf(good, 100);
        hdrOnly[0] = 100;
        hdrOnly[1] = 0;
        assertThat(errno(catchThrowable(() -> api.send(s, hdrOnly, 0, hdrOnly.length, 0)))).isEqualTo(Errno.EINVAL);
        byte[] version = good.clone();
        version[2] = 4;
        assertThat(errno(catchThrowable(() -> api.send(s, version, 0, version.length, 0)))).isEqualTo(Errno.EPROTONOSUPPORT);
        byte[] length = good.clone();
        length[0]++;
        assertThat(errno(catchThrowable(() -> api.send(s, length, 0, length.length, 0)))).isEqualTo(Errno.EINVAL);
        byte[] type = good.clone();
        type[3] = 0x42;
        assertThat(errno(catchThrowable(() -> api.send(s, type, 0, type.length, 0)))).isEqualTo(Errno.EINVAL);
        byte[] addrs = good.clone();
        addrs[12] = (byte) 0xff; // rtm_addrs claims eight addresses, the message has one
        assertThat(errno(catchThrowable(() -> api.send(s, addrs, 0, addrs.length, 0)))).isEqualTo(Errno.EINVAL);
        byte[] newaddr = new RtMsg.Ifa(Rtm.RTM_NEWADDR, 1, 0, 0, RtAddrs.NONE.with(Rtm.RTAX_IFA, in("10.0.0.9"))).emit();
        assertThat(errno(catchThrowable(() -> api.send(s, newaddr, 0, newaddr.length, 0)))).isEqualTo(Errno.EOPNOTSUPP);
        byte[] empty = new byte[0];
        assertThat(errno(catchThrowable(() -> api.send(s, empty, 0, 0, 0)))).isEqualTo(Errno.EINVAL);
        assertThat(rs.badRequests.get() - bad0).isEqualTo(8);
        assertThat(Long.parseLong(a.sysctl().get("net.route.rtsock.bad_requests"))).isEqualTo(rs.badRequests.get());
        assertThat(errno(catchThrowable(() -> api.sendto(s, good, 0, good.length, 0, in("10.0.0.1"))))).isEqualTo(Errno.EISCONN);
    }

    @Test
    @DisplayName("R-RT-1: closing a route socket removes its listener; a closed socket receives nothing")
    void closeRemovesListener() throws Exception {
        RtSock rs = a.rtable().rtsock();
        int before = rs.listenerCount();
        int s = routeSocket(0);
        Socket so = sock(api, s);
        RouteSock.Rcb rcb = RouteSock.rcbOf(so);
        assertThat(rs.listenerCount()).isEqualTo(before + 1);
        api.close(s);
        assertThat(rs.listenerCount()).isEqualTo(before);
        assertThat(so.isClosed()).isTrue();
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        int probe = routeSocket(0);
        a.rtable().add(Prefix.parse("192.0.2.0/24"), in("10.0.0.254"), Rtentry.RTF_GATEWAY);
        assertThat(next(api, probe)).matches(m -> isRoute(m, Rtm.RTM_ADD, "192.0.2.0"));
        rcb.message(RtMsg.parse(RtMsg.Route.request(Rtm.RTM_ADD, 1, 0, net("10.2.0.0", null, null)).emit()),
                RtMsg.Route.request(Rtm.RTM_ADD, 1, 0, net("10.2.0.0", null, null)).emit(), 0);
        assertThat(rcb.sent.get()).isZero();
        so.rcv.mtx.lock();
        try {
            assertThat(so.rcv.cc()).isZero();
        } finally {
            so.rcv.mtx.unlock();
        }
    }

    @Test
    @DisplayName("R-RT-1: delivery takes only the socket's buffer lock on a netisr thread: a route change completes while a reader holds that lock")
    void noRoutingLockWhileDelivering() throws Exception {
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        settle(api);
        Socket so = a.domains().socreate(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, 0, null);
        RouteSock.Rcb rcb = RouteSock.rcbOf(so);
        List<List<String>> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        a.rtable().rtsock().addListener((msg, wire) -> held.add(Witness.heldByCurrentThread()));
        so.rcv().mtx().lock();
        try {
            // sockbuf -> rtentry is the declared order; delivering under the rib lock would reverse it
            a.rtable().add(Prefix.parse("192.0.2.0/24"), in("10.0.0.254"), Rtentry.RTF_GATEWAY);
            a.rtable().delete(Prefix.parse("192.0.2.0/24"));
            assertThat(a.rtable().size(Sockaddr.AF_INET)).isEqualTo(3);
        } finally {
            so.rcv().mtx().unlock();
        }
        await(() -> rcb.sent.get() == 2, "both messages delivered after the lock was dropped");
        await(() -> held.size() == 2, "the recorder");
        assertThat(held).allSatisfy(h -> assertThat(h).noneMatch(l -> l.contains("(rtentry)") || l.contains("(ifaddr)")
                || l.contains("(in_control)") || l.contains("(sockbuf)")));
        assertThat(Witness.reversals()).isEmpty();
        so.soclose();
    }
}
