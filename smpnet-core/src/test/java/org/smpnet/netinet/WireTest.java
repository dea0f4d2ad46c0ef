package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.ip;

import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.net.MacAddr;
import org.smpnet.net.MalformedPacketException;

class WireTest {
    @Test
    @DisplayName("R-IP-1: IPv4 header emit then parse gives the same repr, options and fragment fields included")
    void ipv4RoundTrip() throws Exception {
        byte[] opts = {7, 7, 4, 0, 0, 0, 0, 1}; // record route with one slot, then EOL
        Ipv4Repr r = new Ipv4Repr(ip("10.0.0.1"), ip("192.0.2.9"), 17, 63, 0x10, 0xbeef, true, true, 1480, 28 + 100, opts);
        byte[] b = new byte[r.totalLength()];
        r.emit(new Ipv4View(b, 0));
        Ipv4View v = new Ipv4View(b, 0);
        assertThat(v.checksumOk()).isTrue();
        assertThat(v.hlen()).isEqualTo(28);
        assertThat(Ipv4Repr.parse(v, b.length)).isEqualTo(r);
    }

    @Property(tries = 200)
    @Label("R-IP-1: any valid IPv4 header survives emit/parse")
    void ipv4Property(@ForAll int src, @ForAll int dst, @ForAll @IntRange(max = 255) int proto,
            @ForAll @IntRange(max = 255) int ttl, @ForAll @IntRange(max = 0xffff) int id,
            @ForAll @IntRange(max = 1023) int off8, @ForAll boolean df, @ForAll boolean mf,
            @ForAll @IntRange(max = 2000) int payload) throws Exception {
        Ipv4Repr r = new Ipv4Repr(new org.smpnet.net.InAddr(src), new org.smpnet.net.InAddr(dst), proto, ttl, 0, id, df, mf,
                off8 * 8, 20 + payload, null);
        byte[] b = new byte[r.totalLength()];
        r.emit(new Ipv4View(b, 0));
        assertThat(Ipv4Repr.parse(new Ipv4View(b, 0), b.length)).isEqualTo(r);
    }

    @Test
    @DisplayName("R-IP-1: each IPv4 header defect is named in ip_input's order")
    void ipv4Defects() {
        Ipv4Repr r = Ipv4Repr.of(ip("10.0.0.1"), ip("10.0.0.2"), 17, 64, 12);
        byte[] b = new byte[32];
        r.emit(new Ipv4View(b, 0));
        Ipv4View v = new Ipv4View(b, 0);
        assertThat(Ipv4Repr.check(v, 32, true)).isNull();
        assertThat(Ipv4Repr.check(v, 19, true)).isEqualTo(Ipv4Repr.Defect.TOOSMALL);
        assertThat(Ipv4Repr.check(v, 31, true)).isEqualTo(Ipv4Repr.Defect.TOOSHORT);
        byte[] c = b.clone();
        c[10] ^= 1;
        assertThat(Ipv4Repr.check(new Ipv4View(c, 0), 32, true)).isEqualTo(Ipv4Repr.Defect.BADSUM);
        assertThat(Ipv4Repr.check(new Ipv4View(c, 0), 32, false)).isNull();
        c = b.clone();
        c[0] = 0x65;
        assertThat(Ipv4Repr.check(new Ipv4View(c, 0), 32, true)).isEqualTo(Ipv4Repr.Defect.BADVERS);
        c = b.clone();
        c[0] = 0x44;
        assertThat(Ipv4Repr.check(new Ipv4View(c, 0), 32, true)).isEqualTo(Ipv4Repr.Defect.BADHLEN);
        c = b.clone();
        new Ipv4View(c, 0).setTotalLength(10);
        new Ipv4View(c, 0).fillChecksum();
        assertThat(Ipv4Repr.check(new Ipv4View(c, 0), 32, true)).isEqualTo(Ipv4Repr.Defect.BADLEN);
        byte[] badlen = c;
        assertThatThrownBy(() -> Ipv4Repr.parse(new Ipv4View(badlen, 0), 32))
                .isInstanceOf(MalformedPacketException.class).hasMessageContaining("BADLEN");
    }

    @Test
    @DisplayName("R-IP-1: ICMP echo emit/parse round trip; a flipped bit fails the checksum")
    void icmpRoundTrip() throws Exception {
        IcmpRepr r = IcmpRepr.echo(0x1234, 7, new byte[] {1, 2, 3, 4, 5});
        byte[] b = new byte[r.length()];
        r.emit(new IcmpView(b, 0));
        IcmpRepr p = IcmpRepr.parse(new IcmpView(b, 0), b.length);
        assertThat(p).isEqualTo(r);
        assertThat(p.id()).isEqualTo(0x1234);
        assertThat(p.seq()).isEqualTo(7);
        b[9] ^= 0x40;
        assertThatThrownBy(() -> IcmpRepr.parse(new IcmpView(b, 0), b.length)).isInstanceOf(MalformedPacketException.class);
        assertThatThrownBy(() -> IcmpRepr.parse(new IcmpView(b, 0), 7)).isInstanceOf(MalformedPacketException.class);
    }

    @Test
    @DisplayName("R-ARP-1: ARP emit/parse round trip and each defect")
    void arpRoundTrip() throws Exception {
        ArpRepr r = new ArpRepr(ArpRepr.ARPOP_REPLY, MacAddr.parse("02:00:00:00:00:01"), ip("10.0.0.1"),
                MacAddr.parse("02:00:00:00:00:02"), ip("10.0.0.2"));
        byte[] b = new byte[ArpView.LEN];
        r.emit(new ArpView(b, 0));
        assertThat(ArpRepr.parse(new ArpView(b, 0), b.length)).isEqualTo(r);
        assertThat(ArpRepr.check(new ArpView(b, 0), 7)).isEqualTo(ArpRepr.Defect.TOOSMALL);
        assertThat(ArpRepr.check(new ArpView(b, 0), 27)).isEqualTo(ArpRepr.Defect.TOOSMALL);
        byte[] c = b.clone();
        c[1] = 9;
        assertThat(ArpRepr.check(new ArpView(c, 0), 28)).isEqualTo(ArpRepr.Defect.BADHRD);
        c = b.clone();
        c[4] = 8;
        assertThat(ArpRepr.check(new ArpView(c, 0), 28)).isEqualTo(ArpRepr.Defect.BADPRO);
        c = b.clone();
        c[7] = 9;
        assertThat(ArpRepr.check(new ArpView(c, 0), 28)).isEqualTo(ArpRepr.Defect.BADOP);
    }

    @Test
    @DisplayName("R-IP-2: multicast groups map to 01:00:5e plus the low 23 bits")
    void multicastMac() {
        assertThat(Ip.multicastMac(ip("224.0.0.1"))).isEqualTo(MacAddr.parse("01:00:5e:00:00:01"));
        assertThat(Ip.multicastMac(ip("239.255.130.5"))).isEqualTo(MacAddr.parse("01:00:5e:7f:82:05"));
    }
}
