package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.PROTO_TEST;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.datagram;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.mbuf;

import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.ManualClock;
import org.smpnet.net.Epair;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.EtherView;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;

class IpInputTest {
    private final ManualClock clock = new ManualClock();
    private Vnet a;
    private Vnet b;
    private Epair e;
    private InetTestSupport.Sink sink;
    private InetTestSupport.Sink aSink;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("ipina", 1, clock);
        b = new Vnet("ipinb", 1, clock);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
        sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        aSink = InetTestSupport.Sink.register(a, PROTO_TEST);
        // let b learn a's MAC so its ICMP answers need no ARP round
        a.inet().ip().output(mbuf(new byte[4]), InAddr.ANY, ip("10.0.0.2"), PROTO_TEST, IpOutOpts.DEFAULT, null);
        await("warm-up datagram", () -> sink.got.size() == 1);
        sink.got.clear();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    private void inject(byte[] ip) {
        Ifnet ifp = e.b();
        byte[] f = new byte[EtherView.HEADER_LEN + ip.length];
        new EtherRepr(MacAddr.of(ifp.lladdr()), MacAddr.of(e.a().lladdr()), EtherRepr.ETHERTYPE_IP).emit(new EtherView(f, 0));
        System.arraycopy(ip, 0, f, EtherView.HEADER_LEN, ip.length);
        ifp.input(mbuf(f));
    }

    private static byte[] good(int proto, byte[] payload) {
        return datagram(Ipv4Repr.of(ip("10.0.0.1"), ip("10.0.0.2"), proto, 64, payload.length), payload);
    }

    private static byte[] refill(byte[] d) {
        new Ipv4View(d, 0).fillChecksum();
        return d;
    }

    @Test
    @DisplayName("R-IP-1: every malformed header lands in its own counter and nothing is delivered")
    void eachDropReasonCounted() {
        IpStats st = b.inet().ip().stats();
        byte[] ok = good(PROTO_TEST, new byte[12]);
        inject(Arrays.copyOf(ok, 12));                        // toosmall
        byte[] v = ok.clone();
        v[0] = 0x65;
        inject(refill(v));                                    // badvers
        byte[] hl = ok.clone();
        hl[0] = 0x44;
        inject(hl);                                           // badhlen (IHL 4)
        byte[] hl2 = ok.clone();
        hl2[0] = 0x4f;
        inject(hl2);                                          // badhlen (IHL 15 > 32 bytes)
        byte[] sum = ok.clone();
        sum[11] ^= 0x55;
        inject(sum);                                          // badsum
        byte[] len = ok.clone();
        new Ipv4View(len, 0).setTotalLength(16);
        inject(refill(len));                                  // badlen
        byte[] shortData = ok.clone();
        new Ipv4View(shortData, 0).setTotalLength(200);
        inject(refill(shortData));                            // tooshort
        byte[] lo = ok.clone();
        new Ipv4View(lo, 0).setSrc(InAddr.LOOPBACK);
        inject(refill(lo));                                   // badaddr: 127/8 on a wire
        byte[] other = ok.clone();
        new Ipv4View(other, 0).setDst(ip("192.0.2.1"));
        inject(refill(other));                                // cantforward: forwarding off
        await("all counted", () -> st.toosmall.get() == 1 && st.badvers.get() == 1 && st.badhlen.get() == 2
                && st.badsum.get() == 1 && st.badlen.get() == 1 && st.tooshort.get() == 1 && st.badaddr.get() == 1
                && st.cantforward.get() == 1);
        inject(good(PROTO_TEST, new byte[] {42}));
        await("good one after the bad", () -> sink.got.size() == 1);
        assertThat(sink.got.get(0).payload()).containsExactly(42);
        assertThat(st.delivered.get()).isEqualTo(2);
        assertThat(st.total.get()).isEqualTo(11);
    }

    @Test
    @DisplayName("R-IP-1: link-layer padding is trimmed to the IP length")
    void paddingTrimmed() {
        byte[] d = good(PROTO_TEST, new byte[] {1, 2});
        inject(Arrays.copyOf(d, d.length + 20));
        await("delivered", () -> sink.got.size() == 1);
        assertThat(sink.got.get(0).payload()).containsExactly(1, 2);
    }

    @Test
    @DisplayName("R-IP-1: malformed options get a parameter problem pointing at the bad byte; record route and timestamps pass")
    void options() {
        IpStats st = b.inet().ip().stats();
        byte[] rr = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1}; // record route, 2 slots, then NOP
        Ipv4Repr r = new Ipv4Repr(ip("10.0.0.1"), ip("10.0.0.2"), PROTO_TEST, 64, 0, 5, false, false, 0, 32 + 3, rr);
        inject(datagram(r, new byte[] {7, 8, 9}));
        byte[] ts = {68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}; // timestamp, flag 0, room for 2
        r = new Ipv4Repr(ip("10.0.0.1"), ip("10.0.0.2"), PROTO_TEST, 64, 0, 6, false, false, 0, 32 + 1, ts);
        inject(datagram(r, new byte[] {1}));
        await("both delivered", () -> sink.got.size() == 2);
        byte[] bad = {7, 40, 4, 0}; // option length runs past the header
        r = new Ipv4Repr(ip("10.0.0.1"), ip("10.0.0.2"), PROTO_TEST, 64, 0, 7, false, false, 0, 24 + 8, bad);
        inject(datagram(r, new byte[8]));
        await("badoptions", () -> st.badoptions.get() == 1);
        await("param problem at a", () -> aSink.errors.size() == 1);
        IcmpCtl c = aSink.errors.get(0);
        assertThat(c.type()).isEqualTo(Icmp.PARAMPROB);
        assertThat(c.pointer()).isEqualTo(21);
        assertThat(sink.got).hasSize(2);
    }
}
