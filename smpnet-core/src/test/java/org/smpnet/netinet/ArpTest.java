package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.PROTO_TEST;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.mbuf;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.ManualClock;
import org.smpnet.net.Epair;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.EtherView;
import org.smpnet.net.Ifnet;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;

class ArpTest {
    private final ManualClock clock = new ManualClock();
    private Vnet a;
    private Vnet b;
    private Epair e;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("arpa", 1, clock);
        b = new Vnet("arpb", 1, clock);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    private void send(Vnet from, String dst, byte[] payload) throws ErrnoException {
        from.inet().ip().output(mbuf(payload), org.smpnet.net.InAddr.ANY, ip(dst), PROTO_TEST, IpOutOpts.DEFAULT, null);
    }

    @Test
    @DisplayName("R-ARP-1: the first datagram waits for ARP, the reply releases it, both sides learn each other")
    void resolvesBetweenVnets() throws Exception {
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        send(a, "10.0.0.2", new byte[] {1, 2, 3});
        send(a, "10.0.0.2", new byte[] {4, 5});
        await("two datagrams at b", () -> sink.got.size() == 2);
        assertThat(sink.got.get(0).payload()).containsExactly(1, 2, 3);
        assertThat(sink.got.get(1).payload()).containsExactly(4, 5);
        assertThat(sink.got.get(0).src()).isEqualTo(ip("10.0.0.1"));
        Llentry.Snapshot s = a.inet().arp().lookup(e.a(), ip("10.0.0.2"));
        assertThat(s.state()).isEqualTo(Llentry.State.REACHABLE);
        assertThat(s.mac()).isEqualTo(MacAddr.of(e.b().lladdr()));
        assertThat(b.inet().arp().lookup(e.b(), ip("10.0.0.1")).mac()).isEqualTo(MacAddr.of(e.a().lladdr()));
        ArpStats as = a.inet().arp().stats();
        assertThat(as.txrequests.get()).isEqualTo(1);
        assertThat(as.rxreplies.get()).isEqualTo(1);
        assertThat(b.inet().arp().stats().txreplies.get()).isEqualTo(1);
        // gratuitous ARPs on address add were sent by both
        assertThat(as.txgratuitous.get()).isEqualTo(1);
        assertThat(a.inet().arp().entries(e.a())).extracting(Llentry.Snapshot::toString)
                .anySatisfy(line -> assertThat(line).contains("10.0.0.2").contains("reachable"));
    }

    @Test
    @DisplayName("R-ARP-1: datagrams sent while the reply is being processed never overtake the held ones")
    void heldDatagramsLeaveFirst() throws Exception {
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        int rounds = 30;
        int perRound = 40;
        for (int r = 0; r < rounds; r++) {
            a.inet().arp().delete(e.a(), ip("10.0.0.2")); // unresolved again: the first ones are held
            int before = sink.got.size();
            for (int i = 0; i < perRound; i++) { // the reply comes back while these are being sent
                send(a, "10.0.0.2", new byte[] {(byte) r, (byte) i});
            }
            e.quiesce();
            List<InetTestSupport.Dgram> got = sink.got.subList(before, sink.got.size());
            int last = -1;
            for (InetTestSupport.Dgram d : got) {
                assertThat(d.payload()[0]).isEqualTo((byte) r);
                assertThat((int) d.payload()[1]).as("round %d, order received: %s", r,
                        got.stream().map(x -> (int) x.payload()[1]).toList()).isGreaterThan(last);
                last = d.payload()[1];
            }
            assertThat(got).as("round %d", r).isNotEmpty();
        }
    }

    @Test
    @DisplayName("R-ARP-1: an unanswered address holds a bounded queue, retransmits maxtries times, then fails with EHOSTDOWN and expires")
    void unansweredHoldRetransmitFail() throws Exception {
        Arp arp = a.inet().arp();
        int maxhold = arp.maxhold.get();
        for (int i = 0; i < maxhold + 4; i++) {
            send(a, "10.0.0.99", new byte[] {(byte) i});
        }
        Llentry.Snapshot s = arp.lookup(e.a(), ip("10.0.0.99"));
        assertThat(s.state()).isEqualTo(Llentry.State.INCOMPLETE);
        assertThat(s.held()).isEqualTo(maxhold);
        assertThat(arp.stats().holdoverflow.get()).isEqualTo(4);
        assertThat(arp.stats().txrequests.get()).isEqualTo(1);
        for (int i = 1; i < arp.maxtries.get(); i++) {
            clock.advance(Duration.ofSeconds(1));
        }
        assertThat(arp.stats().txrequests.get()).isEqualTo(arp.maxtries.get());
        clock.advance(Duration.ofSeconds(1));
        assertThat(arp.lookup(e.a(), ip("10.0.0.99")).state()).isEqualTo(Llentry.State.FAILED);
        assertThat(arp.stats().dropped.get()).isEqualTo(4 + maxhold);
        assertThatThrownBy(() -> send(a, "10.0.0.99", new byte[] {9}))
                .isInstanceOf(ErrnoException.class).satisfies(x -> assertThat(((ErrnoException) x).errno()).isEqualTo(Errno.EHOSTDOWN));
        clock.advance(Duration.ofSeconds(arp.downSecs.get()));
        assertThat(arp.lookup(e.a(), ip("10.0.0.99"))).isNull();
        assertThat(arp.stats().timeouts.get()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-ARP-1: a reachable entry goes stale after max_age, is re-verified on use, and is deleted when unused")
    void agingAndStale() throws Exception {
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        send(a, "10.0.0.2", new byte[] {1});
        await("first datagram", () -> sink.got.size() == 1);
        Arp arp = a.inet().arp();
        clock.advance(Duration.ofSeconds(arp.maxAge.get()));
        assertThat(arp.lookup(e.a(), ip("10.0.0.2")).state()).isEqualTo(Llentry.State.STALE);
        long req = arp.stats().txrequests.get();
        send(a, "10.0.0.2", new byte[] {2}); // stale entries still carry traffic, and ask again
        await("second datagram", () -> sink.got.size() == 2);
        assertThat(arp.stats().txrequests.get()).isEqualTo(req + 1);
        await("re-verified", () -> arp.lookup(e.a(), ip("10.0.0.2")).state() == Llentry.State.REACHABLE);
        clock.advance(Duration.ofSeconds(arp.maxAge.get()));
        clock.advance(Duration.ofSeconds(arp.maxAge.get()));
        assertThat(arp.lookup(e.a(), ip("10.0.0.2"))).isNull();
    }

    @Test
    @DisplayName("R-ARP-1: a route's cached link-layer entry (ro_lle) is used only while reachable: aging and delete make sends resolve again")
    void routeCachedEntryFollowsTheTable() throws Exception {
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        Arp arp = a.inet().arp();
        IpRoute ro = new IpRoute();
        sendVia(ro, 1);
        await("first datagram", () -> sink.got.size() == 1);
        // The held datagram leaves before the entry turns REACHABLE (and publishes its MAC): wait for that.
        await("resolved", () -> arp.lookup(e.a(), ip("10.0.0.2")).state() == Llentry.State.REACHABLE);
        sendVia(ro, 2); // from the table, which the route then remembers
        sendVia(ro, 3); // through the route's entry
        await("three datagrams", () -> sink.got.size() == 3);
        assertThat(ro.lle()).isNotNull();
        long req = arp.stats().txrequests.get();
        assertThat(req).isEqualTo(1);
        clock.advance(Duration.ofSeconds(arp.maxAge.get()));
        assertThat(arp.lookup(e.a(), ip("10.0.0.2")).state()).isEqualTo(Llentry.State.STALE);
        sendVia(ro, 4); // a stale entry is not used from the cache: the table path asks again
        await("fourth datagram", () -> sink.got.size() == 4);
        assertThat(arp.stats().txrequests.get()).isEqualTo(req + 1);
        await("re-verified", () -> arp.lookup(e.a(), ip("10.0.0.2")).state() == Llentry.State.REACHABLE);
        arp.delete(e.a(), ip("10.0.0.2"));
        sendVia(ro, 5); // the cached entry was deleted: this one is held while ARP asks
        await("fifth datagram", () -> sink.got.size() == 5);
        assertThat(arp.stats().txrequests.get()).isEqualTo(req + 2);
        assertThat(sink.got).extracting(d -> (int) d.payload()[0]).containsExactly(1, 2, 3, 4, 5);
    }

    private void sendVia(IpRoute ro, int tag) throws ErrnoException {
        a.inet().ip().output(mbuf(new byte[] {(byte) tag}), org.smpnet.net.InAddr.ANY, ip("10.0.0.2"), PROTO_TEST,
                IpOutOpts.DEFAULT, ro);
    }

    @Test
    @DisplayName("R-ARP-1: a second host claiming our address is counted as a conflict")
    void conflictDetected() throws Exception {
        b.addrs().add(e.b(), ip("10.0.0.1"), 32); // b's gratuitous ARP claims a's address
        await("conflict at a", () -> a.inet().arp().stats().dupips.get() >= 1);
    }

    @Test
    @DisplayName("R-ARP-1: short, bad-hardware, bad-protocol and bad-opcode ARP packets are each counted and dropped")
    void badInputCounted() {
        Ifnet ifp = e.b();
        ArpStats st = b.inet().arp().stats();
        MacAddr src = MacAddr.parse("02:00:00:00:00:99");
        inject(ifp, src, new byte[] {0, 1, 8});
        byte[] ok = new byte[ArpView.LEN];
        new ArpRepr(ArpRepr.ARPOP_REQUEST, src, ip("10.0.0.9"), MacAddr.ZERO, ip("10.0.0.2")).emit(new ArpView(ok, 0));
        byte[] hrd = ok.clone();
        hrd[1] = 7;
        inject(ifp, src, hrd);
        byte[] pro = ok.clone();
        pro[2] = (byte) 0x86;
        inject(ifp, src, pro);
        byte[] op = ok.clone();
        op[7] = 5;
        inject(ifp, src, op);
        byte[] shortOne = java.util.Arrays.copyOf(ok, 20);
        inject(ifp, src, shortOne);
        await("bad ARP counted", () -> st.toosmall.get() == 2 && st.badhrd.get() == 1 && st.badpro.get() == 1 && st.badop.get() == 1);
        assertThat(st.received.get()).isGreaterThanOrEqualTo(5);
        assertThat(b.inet().arp().lookup(ifp, ip("10.0.0.9"))).isNull();
    }

    /** Feeds an Ethernet ARP frame to {@code ifp} as if received. */
    static void inject(Ifnet ifp, MacAddr src, byte[] arp) {
        byte[] f = new byte[EtherView.HEADER_LEN + arp.length];
        new EtherRepr(MacAddr.BROADCAST, src, EtherRepr.ETHERTYPE_ARP).emit(new EtherView(f, 0));
        System.arraycopy(arp, 0, f, EtherView.HEADER_LEN, arp.length);
        Mbuf m = mbuf(f);
        ifp.input(m);
    }
}
