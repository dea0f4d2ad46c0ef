package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Witness;

class RtSockTest {
    /** One delivery as the listener saw it. */
    record Seen(RtMsg msg, String thread, List<String> held) {}

    private Vnet a;
    private Vnet b;
    private Epair ep;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final RouteListener recorder = (msg, wire) -> seen.add(new Seen(msg, Thread.currentThread().getName(), Witness.heldByCurrentThread()));

    @BeforeEach
    void setUp() {
        a = new Vnet("rsa", 2);
        b = new Vnet("rsb", 1);
        ep = a.epair(b);
        a.rtable().rtsock().addListener(recorder);
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    private Seen await(Predicate<RtMsg> p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            for (Seen s : seen) {
                if (p.test(s.msg())) {
                    return s;
                }
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no such message among " + seen);
    }

    private static Predicate<RtMsg> route(int type, String dst) {
        return m -> m instanceof RtMsg.Route r && r.type() == type && r.addrs().dst() instanceof Sockaddr.In in
                && in.addr().equals(InAddr.parse(dst));
    }

    @Test
    @DisplayName("R-RT-1: address and route changes reach listeners on a netisr thread with no routing lock held")
    void eventsThroughNetisr() throws Exception {
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        Seen newaddr = await(m -> m.type() == Rtm.RTM_NEWADDR);
        RtMsg.Ifa ifa = (RtMsg.Ifa) newaddr.msg();
        assertThat(ifa.index()).isEqualTo(ep.a().index());
        assertThat(ifa.addrs().ifa()).isEqualTo(new Sockaddr.In(InAddr.parse("10.0.0.1"), 0));
        assertThat(ifa.addrs().netmask()).isEqualTo(new Sockaddr.In(InAddr.parse("255.255.255.0"), 0));
        assertThat(ifa.family()).isEqualTo(Sockaddr.AF_INET);
        Seen prefix = await(route(Rtm.RTM_ADD, "10.0.0.0"));
        Seen local = await(route(Rtm.RTM_ADD, "10.0.0.1"));
        assertThat(((RtMsg.Route) local.msg()).flags() & Rtentry.RTF_HOST).isNotZero();
        for (Seen s : List.of(newaddr, prefix, local)) {
            assertThat(s.thread()).contains("netisr");
            assertThat(s.held()).noneMatch(h -> h.contains("(rtentry)") || h.contains("(ifaddr)") || h.contains("(in_control)"));
        }
        a.rtable().add(Prefix.parse("10.9.0.0/16"), new Sockaddr.In(InAddr.parse("10.0.0.254"), 0), Rtentry.RTF_GATEWAY);
        a.rtable().change(Prefix.parse("10.9.0.0/16"), null, null, 0, 0, 1280);
        RtMsg.Route ch = (RtMsg.Route) await(route(Rtm.RTM_CHANGE, "10.9.0.0")).msg();
        assertThat(ch.rmx().mtu()).isEqualTo(1280);
        a.addrs().delete(ep.a(), InAddr.parse("10.0.0.1"));
        await(m -> m.type() == Rtm.RTM_DELADDR);
        await(route(Rtm.RTM_DELETE, "10.9.0.0"));
        await(route(Rtm.RTM_DELETE, "10.0.0.0"));
        await(route(Rtm.RTM_DELETE, "10.0.0.1"));
    }

    @Test
    @DisplayName("R-RT-1: interface arrival and departure are announced; departure removes its routes and addresses")
    void ifAnnounce() throws Exception {
        List<String> names = a.ifCreate("epair");
        Seen arrival = await(m -> m instanceof RtMsg.Announce an && an.name().equals(names.get(0)) && an.what() == Rtm.IFAN_ARRIVAL);
        Ifnet ifp = inEpoch(() -> a.ifnets().byName(names.get(0)));
        assertThat(((RtMsg.Announce) arrival.msg()).index()).isEqualTo(ifp.index());
        InIfaddr ia = a.addrs().add(ifp, InAddr.parse("192.168.5.1"), 24);
        a.rtable().add(Prefix.parse("172.16.0.0/12"), new Sockaddr.In(InAddr.parse("192.168.5.9"), 0), Rtentry.RTF_GATEWAY);
        assertThat(a.rtable().size(Sockaddr.AF_INET)).isEqualTo(4);
        a.ifDestroy(names.get(0));
        await(m -> m instanceof RtMsg.Announce an && an.name().equals(names.get(0)) && an.what() == Rtm.IFAN_DEPARTURE);
        await(route(Rtm.RTM_DELETE, "172.16.0.0"));
        await(m -> m.type() == Rtm.RTM_DELADDR);
        assertThat(a.rtable().entries(Sockaddr.AF_INET)).extracting(r -> r.dst().toString()).containsExactly("127.0.0.1");
        assertThat(a.addrs().all()).extracting(InIfaddr::inAddr).containsExactly(InAddr.LOOPBACK);
        Epoch.NET.drainCallbacks();
        assertThat(ia.freed()).isTrue();
    }

    @Test
    @DisplayName("R-RT-1: RTM_ADD/GET/CHANGE/DELETE written as bytes are carried out and answered like route(8) expects")
    void requests() throws Exception {
        a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
        RtSock rs = a.rtable().rtsock();
        Sockaddr gw = new Sockaddr.In(InAddr.parse("10.0.0.254"), 0);
        RtAddrs net = new RtAddrs(new Sockaddr.In(InAddr.parse("198.51.100.0"), 0), gw,
                new Sockaddr.In(InAddr.parse("255.255.255.0"), 0), null, null, null, null, null);
        byte[] add = RtMsg.Route.request(Rtm.RTM_ADD, 1, Rtentry.RTF_UP | Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC, net).emit();
        RtMsg.Route reply = (RtMsg.Route) RtMsg.parse(rs.write(add, 0, add.length, 77));
        assertThat(reply.flags() & Rtentry.RTF_DONE).isNotZero();
        assertThat(reply.pid()).isEqualTo(77);
        assertThat(reply.seq()).isEqualTo(1);
        assertThat(reply.index()).isEqualTo(ep.a().index());
        Seen echoed = await(m -> m instanceof RtMsg.Route r && r.type() == Rtm.RTM_ADD && r.pid() == 77);
        assertThat(echoed.msg()).isEqualTo(reply);
        Nexthop nh = inEpoch(() -> a.rtable().lookup(InAddr.parse("198.51.100.9")));
        assertThat(nh.gateway4()).isEqualTo(InAddr.parse("10.0.0.254"));

        assertThatThrownBy(() -> rs.write(add, 0, add.length, 77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
        Seen failed = await(m -> m instanceof RtMsg.Route r && r.errno() == Errno.EEXIST.number());
        assertThat(((RtMsg.Route) failed.msg()).flags() & Rtentry.RTF_DONE).isZero();

        RtAddrs host = RtAddrs.NONE.with(Rtm.RTAX_DST, new Sockaddr.In(InAddr.parse("198.51.100.200"), 0))
                .with(Rtm.RTAX_IFP, new Sockaddr.Dl(0, "", new byte[0]));
        byte[] get = RtMsg.Route.request(Rtm.RTM_GET, 2, 0, host).emit();
        RtMsg.Route got = (RtMsg.Route) RtMsg.parse(rs.write(get, 0, get.length, 77));
        assertThat(got.addrs().gateway()).isEqualTo(gw);
        assertThat(got.addrs().netmask()).isEqualTo(new Sockaddr.In(InAddr.parse("255.255.255.0"), 0));
        assertThat(got.addrs().ifp()).isInstanceOfSatisfying(Sockaddr.Dl.class, d -> assertThat(d.name()).isEqualTo(ep.a().name()));
        assertThat(got.addrs().ifa()).isEqualTo(new Sockaddr.In(InAddr.parse("10.0.0.1"), 0));

        RtMsg.Route chReq = new RtMsg.Route(Rtm.RTM_CHANGE, 0, 0, 0, 3, 0, 0, Rtm.RTV_MTU, RtMsg.Metrics.of(1300, 0), net);
        byte[] ch = chReq.emit();
        RtMsg.Route changed = (RtMsg.Route) RtMsg.parse(rs.write(ch, 0, ch.length, 77));
        assertThat(changed.rmx().mtu()).isEqualTo(1300);

        byte[] del = RtMsg.Route.request(Rtm.RTM_DELETE, 4, 0, net).emit();
        rs.write(del, 0, del.length, 77);
        assertThat(inEpoch(() -> a.rtable().lookup(InAddr.parse("198.51.100.9")))).isNull();
        assertThatThrownBy(() -> rs.write(del, 0, del.length, 77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ESRCH));

        RtAddrs noncontig = net.with(Rtm.RTAX_NETMASK, new Sockaddr.In(InAddr.parse("255.0.255.0"), 0));
        byte[] bad = RtMsg.Route.request(Rtm.RTM_ADD, 5, Rtentry.RTF_GATEWAY, noncontig).emit();
        assertThatThrownBy(() -> rs.write(bad, 0, bad.length, 77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        byte[] ann = new RtMsg.Announce(1, "lo0", 0).emit();
        assertThatThrownBy(() -> rs.write(ann, 0, ann.length, 77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP));
        byte[] garbage = {4, 0, 5};
        assertThatThrownBy(() -> rs.write(garbage, 0, garbage.length, 77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        assertThat(rs.badRequests.get()).isEqualTo(2);
    }

    private static <T> T inEpoch(java.util.function.Supplier<T> s) {
        int et = Epoch.NET.enter();
        try {
            return s.get();
        } finally {
            Epoch.NET.exit(et);
        }
    }
}
