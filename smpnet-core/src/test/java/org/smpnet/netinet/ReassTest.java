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
import org.smpnet.kern.ManualClock;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Mbuf;

class ReassTest {
    private final ManualClock clock = new ManualClock();
    private Vnet a;
    private Vnet b;
    private Epair e;
    private IpReass reass;
    private IpStats st;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("reassa", 1, clock);
        b = new Vnet("reassb", 1, clock);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
        reass = b.inet().reass();
        st = b.inet().ip().stats();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    /** A fragment of datagram {@code id}: {@code data} at byte offset {@code off}. */
    private Mbuf frag(InAddr src, int id, int off, boolean mf, byte[] data) {
        Ipv4Repr r = new Ipv4Repr(src, ip("10.0.0.2"), PROTO_TEST, 64, 0, id, false, mf, off, 20 + data.length, null);
        Mbuf m = mbuf(InetTestSupport.datagram(r, data));
        m.setRcvifIndex(e.b().index());
        return m;
    }

    private static byte[] payload(Mbuf m) {
        int hlen = new Ipv4View(m.data(), m.dataOff()).hlen();
        byte[] p = new byte[m.pktLen() - hlen];
        m.copydata(hlen, p.length, p, 0);
        return p;
    }

    @Test
    @DisplayName("R-IP-1: fragments in any order reassemble; overlaps keep the earlier data at the front and the newer over later data")
    void overlapsTrimmed() {
        byte[] full = pattern(48, 1);
        InAddr src = ip("10.0.0.1");
        assertThat(reass.reass(frag(src, 1, 32, false, java.util.Arrays.copyOfRange(full, 32, 48)))).isNull();
        assertThat(reass.reass(frag(src, 1, 8, true, java.util.Arrays.copyOfRange(full, 8, 24)))).isNull();
        byte[] dup = java.util.Arrays.copyOfRange(full, 8, 16);
        assertThat(reass.reass(frag(src, 1, 8, true, dup))).isNull(); // wholly covered: duplicate
        assertThat(st.fragdropped.get()).isEqualTo(1);
        byte[] overlap = new byte[16];                                  // 16..32: the first 8 bytes overlap the earlier 8..24
        java.util.Arrays.fill(overlap, (byte) 0x7e);
        System.arraycopy(full, 24, overlap, 8, 8);
        assertThat(reass.reass(frag(src, 1, 16, true, overlap))).isNull();
        Mbuf whole = reass.reass(frag(src, 1, 0, true, java.util.Arrays.copyOfRange(full, 0, 8)));
        assertThat(whole).isNotNull();
        Ipv4View v = new Ipv4View(whole.data(), whole.dataOff());
        assertThat(v.totalLength()).isEqualTo(68);
        assertThat(v.mf()).isFalse();
        assertThat(v.fragOffset()).isZero();
        assertThat(v.checksumOk()).isTrue();
        assertThat(payload(whole)).isEqualTo(full);
        whole.freem();
        assertThat(st.reassembled.get()).isEqualTo(1);
        assertThat(reass.fragsHeld()).isZero();
    }

    @Test
    @DisplayName("R-IP-1: a fragment flood stays within maxfragpackets x maxfragsperpacket and drains on timeout")
    void floodBounded() {
        b.sysctl().set("net.inet.ip.maxfragpackets", "64");
        int perPacket = reass.maxfragsperpacket.get();
        long sent = 0;
        for (int i = 0; i < 4_000; i++) {
            InAddr src = new InAddr(0x0a000000 | (i % 251) + 1);
            for (int f = 0; f < 3; f++) {
                assertThat(reass.reass(frag(src, i & 0xffff, 8 + f * 8, true, new byte[8]))).isNull();
                sent++;
            }
            if ((i & 255) == 0) {
                assertThat(reass.queues()).isLessThanOrEqualTo(64);
                assertThat(reass.fragsHeld()).isLessThanOrEqualTo(64 * perPacket);
            }
        }
        assertThat(reass.queues()).isEqualTo(64);
        assertThat(reass.fragsHeld()).isEqualTo(64 * 3);
        // every fragment is accounted for: held or dropped
        assertThat(st.fragments.get()).isEqualTo(sent);
        assertThat(st.fragdropped.get()).isEqualTo(sent - 64 * 3);
        // one datagram with more fragments than allowed is dropped whole
        for (int f = 0; f <= perPacket; f++) {
            reass.reass(frag(ip("10.9.9.9"), 7, 8 + f * 8, true, new byte[8]));
        }
        assertThat(st.fragdropped.get()).isEqualTo(sent - 64 * 3 + 3 + perPacket + 1);
        clock.advance(Duration.ofSeconds(reass.fragttl.get()));
        assertThat(reass.queues()).isZero();
        assertThat(reass.fragsHeld()).isZero();
        assertThat(st.fragtimeout.get()).isEqualTo(63 * 3);
    }

    @Test
    @DisplayName("R-IP-1: a datagram whose first fragment arrived but not the rest times out with ICMP time-exceeded (reassembly) to the sender")
    void timeoutSendsTimeExceeded() throws Exception {
        InetTestSupport.Sink aSink = InetTestSupport.Sink.register(a, PROTO_TEST);
        a.inet().ip().output(mbuf(new byte[8]), InAddr.ANY, ip("10.0.0.2"), 99, IpOutOpts.DEFAULT, null); // resolve ARP both ways
        await("warm-up answered", () -> a.inet().icmp().stats().inhist(Icmp.UNREACH) == 1);
        assertThat(reass.reass(frag(ip("10.0.0.1"), 77, 0, true, new byte[16]))).isNull();
        assertThat(reass.reass(frag(ip("10.0.0.1"), 78, 16, false, new byte[16]))).isNull(); // no first fragment: silent
        clock.advance(Duration.ofSeconds(reass.fragttl.get()));
        assertThat(st.fragtimeout.get()).isEqualTo(2);
        await("time exceeded at a", () -> aSink.errors.size() == 1);
        IcmpCtl c = aSink.errors.get(0);
        assertThat(c.type()).isEqualTo(Icmp.TIMXCEED);
        assertThat(c.code()).isEqualTo(Icmp.TIMXCEED_REASS);
        assertThat(c.ip().id()).isEqualTo(77);
    }
}
