package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

class RtableTest {
    private Vnet a;
    private Vnet b;
    private Ifnet ifa;

    @BeforeEach
    void setUp() {
        a = new Vnet("rta", 1);
        b = new Vnet("rtb", 1);
        ifa = a.epair(b).a();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    private static <T> T inEpoch(java.util.function.Supplier<T> s) {
        int et = Epoch.NET.enter();
        try {
            return s.get();
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private Nexthop lookup(String dst) {
        return inEpoch(() -> a.rtable().lookup(InAddr.parse(dst)));
    }

    @Test
    @DisplayName("R-RT-1: a new stack has 127.0.0.1 on lo0 with its host route, and nothing else")
    void loopbackConfigured() {
        Rtable rt = a.rtable();
        assertThat(rt.entries(Sockaddr.AF_INET)).extracting(r -> r.dst().toString()).containsExactly("127.0.0.1");
        Nexthop nh = lookup("127.0.0.1");
        assertThat(nh.ifp()).isSameAs(a.loopback());
        assertThat(nh.isGateway()).isFalse();
        assertThat(nh.src()).isEqualTo(InAddr.LOOPBACK);
        assertThat(lookup("10.0.0.1")).isNull();
        assertThat(rt.unreach.get()).isEqualTo(1);
        assertThat(inEpoch(() -> a.addrs().isLocal(InAddr.LOOPBACK))).isTrue();
    }

    @Test
    @DisplayName("R-RT-1: adding an address installs the interface and local routes; deleting removes them")
    void addressRoutes() throws Exception {
        InIfaddr ia = a.addrs().add(ifa, InAddr.parse("10.0.0.1"), 24);
        assertThat(ia.broadcast()).isEqualTo(InAddr.parse("10.0.0.255"));
        assertThat(ifa.addrs()).containsExactly(ia);
        Nexthop onLink = lookup("10.0.0.7");
        assertThat(onLink.ifp()).isSameAs(ifa);
        assertThat(onLink.isGateway()).isFalse();
        assertThat(onLink.nextHop(InAddr.parse("10.0.0.7"))).isEqualTo(InAddr.parse("10.0.0.7"));
        assertThat(onLink.src()).isEqualTo(InAddr.parse("10.0.0.1"));
        assertThat(onLink.mtu()).isEqualTo(ifa.mtu());
        Nexthop self = lookup("10.0.0.1");
        assertThat(self.ifp()).isSameAs(a.loopback());
        assertThat(self.isLocal()).isTrue();
        assertThat(inEpoch(() -> a.addrs().local(InAddr.parse("10.0.0.1")))).isSameAs(ia);
        assertThat(inEpoch(() -> a.addrs().ifwithnet(InAddr.parse("10.0.0.200")))).isSameAs(ia);
        assertThat(inEpoch(() -> a.addrs().isBroadcast(InAddr.parse("10.0.0.255"), ifa))).isTrue();

        a.rtable().add(Prefix.parse("default"), new Sockaddr.In(InAddr.parse("10.0.0.254"), 0), Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC);
        Nexthop def = lookup("192.0.2.1");
        assertThat(def.isGateway()).isTrue();
        assertThat(def.gateway4()).isEqualTo(InAddr.parse("10.0.0.254"));
        assertThat(def.ifp()).isSameAs(ifa);
        assertThat(a.rtable().wildcard.get()).isEqualTo(1);
        assertThat(a.rtable().dump()).contains("default").contains("10.0.0.254").contains("UGS").contains("10.0.0.0/24");

        a.addrs().delete(ifa, InAddr.parse("10.0.0.1"));
        assertThat(ifa.addrs()).isEmpty();
        assertThat(lookup("10.0.0.7")).isNull();
        assertThat(lookup("10.0.0.1")).isNull();
        assertThat(a.rtable().get(Prefix.parse("default"))).as("no address left on the interface: the route goes").isNull();
        Epoch.NET.drainCallbacks();
        assertThat(ia.freed()).isTrue();
    }

    @Test
    @DisplayName("R-RT-1: add/delete/change fail with EEXIST, ESRCH, ENETUNREACH and EINVAL")
    void errors() throws Exception {
        a.addrs().add(ifa, InAddr.parse("10.0.0.1"), 24);
        Rtable rt = a.rtable();
        Sockaddr gw = new Sockaddr.In(InAddr.parse("10.0.0.254"), 0);
        rt.add(Prefix.parse("10.1.0.0/16"), gw, Rtentry.RTF_GATEWAY);
        assertErrno(() -> rt.add(Prefix.parse("10.1.0.0/16"), gw, Rtentry.RTF_GATEWAY), Errno.EEXIST);
        assertErrno(() -> rt.add(Prefix.parse("10.2.0.0/16"), new Sockaddr.In(InAddr.parse("192.0.2.1"), 0), Rtentry.RTF_GATEWAY), Errno.ENETUNREACH);
        assertErrno(() -> rt.add(Prefix.parse("10.2.0.0/16"), null, 0), Errno.EINVAL);
        assertErrno(() -> rt.add(Prefix.parse("10.2.0.0/16"), gw, Rtentry.RTF_DONE), Errno.EINVAL);
        assertErrno(() -> rt.delete(Prefix.parse("10.9.0.0/16")), Errno.ESRCH);
        assertErrno(() -> rt.delete(Prefix.parse("10.1.0.0/16"), new Sockaddr.In(InAddr.parse("10.0.0.9"), 0)), Errno.ESRCH);
        assertErrno(() -> rt.change(Prefix.parse("10.9.0.0/16"), gw, null, 0, 0, -1), Errno.ESRCH);
        Rtentry c = rt.change(Prefix.parse("10.1.0.0/16"), null, null, 0, 0, 1400);
        assertThat(c.mtu()).isEqualTo(1400);
        assertThat(lookup("10.1.2.3").mtu()).isEqualTo(1400);
        assertErrno(() -> a.addrs().add(ifa, InAddr.parse("10.0.0.1"), 24), Errno.EEXIST);
        assertErrno(() -> a.addrs().delete(ifa, InAddr.parse("10.0.0.2")), Errno.EADDRNOTAVAIL);
        rt.add(Prefix.parse("10.3.0.0/16"), null, Rtentry.RTF_REJECT);
        assertThat(lookup("10.3.0.1").isReject()).isTrue();
    }

    @Test
    @DisplayName("R-RT-1: ICMP redirects add a dynamic host route or change a host route; bogus ones are counted")
    void redirects() throws Exception {
        a.addrs().add(ifa, InAddr.parse("10.0.0.1"), 24);
        Rtable rt = a.rtable();
        rt.add(Prefix.parse("default"), new Sockaddr.In(InAddr.parse("10.0.0.254"), 0), Rtentry.RTF_GATEWAY);
        InAddr dst = InAddr.parse("192.0.2.7");
        Rtentry dyn = rt.redirect(dst, InAddr.parse("10.0.0.253"), InAddr.parse("10.0.0.254"));
        assertThat(dyn.dst()).isEqualTo(Prefix.host(dst));
        assertThat(dyn.flags() & (Rtentry.RTF_DYNAMIC | Rtentry.RTF_HOST | Rtentry.RTF_GATEWAY))
                .isEqualTo(Rtentry.RTF_DYNAMIC | Rtentry.RTF_HOST | Rtentry.RTF_GATEWAY);
        assertThat(lookup("192.0.2.7").gateway4()).isEqualTo(InAddr.parse("10.0.0.253"));
        assertThat(lookup("192.0.2.8").gateway4()).isEqualTo(InAddr.parse("10.0.0.254"));
        Rtentry mod = rt.redirect(dst, InAddr.parse("10.0.0.252"), InAddr.parse("10.0.0.253"));
        assertThat(mod.flags() & Rtentry.RTF_MODIFIED).isNotZero();
        assertThat(lookup("192.0.2.7").gateway4()).isEqualTo(InAddr.parse("10.0.0.252"));
        assertErrno(() -> rt.redirect(dst, InAddr.parse("10.0.0.250"), InAddr.parse("10.0.0.254")), Errno.EHOSTUNREACH);
        assertErrno(() -> rt.redirect(dst, InAddr.parse("198.51.100.1"), InAddr.parse("10.0.0.252")), Errno.ENETUNREACH);
        assertErrno(() -> rt.redirect(dst, InAddr.parse("10.0.0.1"), InAddr.parse("10.0.0.252")), Errno.EHOSTUNREACH);
        assertThat(a.sysctl().get("net.route.stats.dynamic")).isEqualTo("1");
        assertThat(a.sysctl().get("net.route.stats.newgateway")).isEqualTo("1");
        assertThat(a.sysctl().get("net.route.stats.badredirect")).isEqualTo("3");
    }

    private interface Call {
        Object run() throws Exception;
    }

    private static void assertErrno(Call c, Errno e) {
        assertThatThrownBy(c::run).isInstanceOfSatisfying(ErrnoException.class, x -> assertThat(x.errno()).isEqualTo(e));
    }
}
