package org.smpnet.netinet;

import static org.smpnet.netinet.InetFuzzStack.GROUP;
import static org.smpnet.netinet.InetFuzzStack.MAC_PEER;
import static org.smpnet.netinet.InetFuzzStack.MAC_US;
import static org.smpnet.netinet.InetFuzzStack.PEER;
import static org.smpnet.netinet.InetFuzzStack.PORT_ANY;
import static org.smpnet.netinet.InetFuzzStack.PORT_CONN;
import static org.smpnet.netinet.InetFuzzStack.PORT_PEER;
import static org.smpnet.netinet.InetFuzzStack.PORT_US;
import static org.smpnet.netinet.InetFuzzStack.US;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.EtherView;
import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;

/**
 * The seed inputs of {@link InetInputFuzzTest}, built with the reprs: valid ARP, ICMP and UDP packets
 * and frames for the fuzz stack's addresses and sockets. {@code main(dir)} writes them as
 * {@code dir/<method>/<name>} (the committed copies live in
 * {@code src/test/resources/org/smpnet/netinet/InetInputFuzzTestInputs}).
 */
final class InetFuzzSeeds {
    private InetFuzzSeeds() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        for (var t : all().entrySet()) {
            for (var s : t.getValue().entrySet()) {
                Path p = dir.resolve(t.getKey()).resolve(s.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, s.getValue());
            }
        }
    }

    static Map<String, Map<String, byte[]>> all() {
        Map<String, Map<String, byte[]>> m = new LinkedHashMap<>();
        byte[] echo = ip(PEER, US, IpProtocols.IPPROTO_ICMP, icmpEcho());
        byte[] udp = ip(PEER, US, IpProtocols.IPPROTO_UDP, udp(PEER, US, 1234, PORT_US, "hello".getBytes()));
        byte[][] frags = fragments(PEER, US, udp(PEER, US, 1234, PORT_US, new byte[40]));

        Map<String, byte[]> ether = new LinkedHashMap<>();
        ether.put("arp-request", in(0, frame(MacAddr.BROADCAST, EtherRepr.ETHERTYPE_ARP,
                arp(ArpRepr.ARPOP_REQUEST, MAC_PEER, PEER, MacAddr.ZERO, US))));
        ether.put("echo-request", in(0, frame(MAC_US, EtherRepr.ETHERTYPE_IP, echo)));
        ether.put("udp-unicast", in(0, frame(MAC_US, EtherRepr.ETHERTYPE_IP, udp)));
        ether.put("udp-two-fragments", in(0, frame(MAC_US, EtherRepr.ETHERTYPE_IP, frags[0]),
                0, frame(MAC_US, EtherRepr.ETHERTYPE_IP, frags[1])));
        ether.put("udp-multicast", in(0, frame(Ip.multicastMac(GROUP), EtherRepr.ETHERTYPE_IP,
                ip(PEER, GROUP, IpProtocols.IPPROTO_UDP, udp(PEER, GROUP, 1234, PORT_ANY, "mdns".getBytes())))));
        m.put("etherFrames", ether);

        Map<String, byte[]> ipm = new LinkedHashMap<>();
        ipm.put("echo-request", in(0, echo));
        ipm.put("udp-unicast", in(0, udp));
        ipm.put("two-fragments-reversed", in(0, frags[1], 0, frags[0]));
        ipm.put("record-route", in(0, ipWithOptions(PEER, US, IpProtocols.IPPROTO_ICMP, icmpEcho(),
                new byte[] {7, 7, 4, 0, 0, 0, 0, 1})));
        ipm.put("unknown-protocol", in(0, ip(PEER, US, 99, new byte[8])));
        m.put("ipPackets", ipm);

        Map<String, byte[]> arpm = new LinkedHashMap<>();
        arpm.put("request-for-us", in(0, arp(ArpRepr.ARPOP_REQUEST, MAC_PEER, PEER, MacAddr.ZERO, US)));
        arpm.put("reply-to-us", in(0, arp(ArpRepr.ARPOP_REPLY, MAC_PEER, PEER, MAC_US, US)));
        arpm.put("request-then-gratuitous", in(0, arp(ArpRepr.ARPOP_REQUEST, MAC_PEER, PEER, MacAddr.ZERO, US),
                0, arp(ArpRepr.ARPOP_REQUEST, MacAddr.parse("02:00:00:00:00:09"), PEER, MacAddr.ZERO, PEER)));
        m.put("arpPackets", arpm);

        // ICMP checksums are made right by the target (selector bit 3 clear).
        byte[] quoted = ip(US, PEER, IpProtocols.IPPROTO_UDP, udp(US, PEER, PORT_CONN, PORT_PEER, new byte[4]));
        Map<String, byte[]> icmpm = new LinkedHashMap<>();
        icmpm.put("echo-request", in(0, icmpEcho()));
        icmpm.put("port-unreachable", in(0, icmpError(Icmp.UNREACH, Icmp.UNREACH_PORT, 0, quoted)));
        icmpm.put("needfrag", in(0, icmpError(Icmp.UNREACH, Icmp.UNREACH_NEEDFRAG, 1280, quoted)));
        icmpm.put("time-exceeded", in(0, icmpError(Icmp.TIMXCEED, Icmp.TIMXCEED_INTRANS, 0, quoted)));
        m.put("icmpMessages", icmpm);

        // Lengths and checksums are made right by the target (selector bits 0-1 clear).
        Map<String, byte[]> udpm = new LinkedHashMap<>();
        udpm.put("unicast-exact", in(0, udp(PEER, US, 1234, PORT_US, "ping".getBytes())));
        udpm.put("unicast-wildcard", in(0, udp(PEER, US, 1234, PORT_ANY, "x".getBytes())));
        udpm.put("no-port", in(0, udp(PEER, US, 1234, 9999, "x".getBytes())));
        udpm.put("subnet-broadcast", in(1 << 2, udp(PEER, InetFuzzStack.SUBNET_BCAST, 1234, PORT_ANY, "b".getBytes())));
        udpm.put("limited-broadcast", in(2 << 2, udp(PEER, InAddr.BROADCAST, 68, PORT_ANY, "dhcp".getBytes())));
        udpm.put("multicast", in(3 << 2, udp(PEER, GROUP, 5353, PORT_ANY, "mdns".getBytes())));
        m.put("udpDatagrams", udpm);
        return m;
    }

    /** The input layout of {@link InetInputFuzzTest}: (selector, packet) pairs. */
    static byte[] in(Object... selAndPkt) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int i = 0; i < selAndPkt.length; i += 2) {
            int sel = (Integer) selAndPkt[i];
            byte[] p = (byte[]) selAndPkt[i + 1];
            int h = (sel << 12) | p.length;
            o.write(h >>> 8);
            o.write(h);
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    static byte[] frame(MacAddr dst, int type, byte[] payload) {
        byte[] b = new byte[EtherView.HEADER_LEN + payload.length];
        new EtherRepr(dst, MAC_PEER, type).emit(new EtherView(b, 0));
        System.arraycopy(payload, 0, b, EtherView.HEADER_LEN, payload.length);
        return b;
    }

    static byte[] arp(int op, MacAddr sha, InAddr spa, MacAddr tha, InAddr tpa) {
        byte[] b = new byte[ArpView.LEN];
        new ArpRepr(op, sha, spa, tha, tpa).emit(new ArpView(b, 0));
        return b;
    }

    static byte[] ip(InAddr src, InAddr dst, int proto, byte[] payload) {
        return InetInputFuzzTest.ip(src, dst, proto, payload);
    }

    static byte[] ipWithOptions(InAddr src, InAddr dst, int proto, byte[] payload, byte[] options) {
        Ipv4Repr r = new Ipv4Repr(src, dst, proto, 64, 0, 77, false, false, 0,
                Ipv4View.MIN_HEADER_LEN + options.length + payload.length, options);
        byte[] b = new byte[r.totalLength()];
        r.emit(new Ipv4View(b, 0));
        System.arraycopy(payload, 0, b, r.hlen(), payload.length);
        return b;
    }

    /** The two fragments (8-byte first part, rest) of a UDP datagram from {@code src} to {@code dst}. */
    static byte[][] fragments(InAddr src, InAddr dst, byte[] udp) {
        byte[][] f = new byte[2][];
        int cut = 8 * 2;
        Ipv4Repr a = new Ipv4Repr(src, dst, IpProtocols.IPPROTO_UDP, 64, 0, 4242, false, true, 0,
                Ipv4View.MIN_HEADER_LEN + cut, null);
        Ipv4Repr b = new Ipv4Repr(src, dst, IpProtocols.IPPROTO_UDP, 64, 0, 4242, false, false, cut,
                Ipv4View.MIN_HEADER_LEN + udp.length - cut, null);
        f[0] = new byte[a.totalLength()];
        a.emit(new Ipv4View(f[0], 0));
        System.arraycopy(udp, 0, f[0], Ipv4View.MIN_HEADER_LEN, cut);
        f[1] = new byte[b.totalLength()];
        b.emit(new Ipv4View(f[1], 0));
        System.arraycopy(udp, cut, f[1], Ipv4View.MIN_HEADER_LEN, udp.length - cut);
        return f;
    }

    static byte[] icmpEcho() {
        IcmpRepr r = IcmpRepr.echo(0x1234, 1, "abcdefgh".getBytes());
        byte[] b = new byte[r.length()];
        r.emit(new IcmpView(b, 0));
        return b;
    }

    static byte[] icmpError(int type, int code, int mtu, byte[] quotedDatagram) {
        IcmpRepr r = new IcmpRepr(type, code, mtu, Arrays.copyOf(quotedDatagram, Math.min(quotedDatagram.length, 28)));
        byte[] b = new byte[r.length()];
        r.emit(new IcmpView(b, 0));
        return b;
    }

    static byte[] udp(InAddr src, InAddr dst, int sport, int dport, byte[] data) {
        byte[] b = new byte[UdpHdr.LEN + data.length];
        System.arraycopy(data, 0, b, UdpHdr.LEN, data.length);
        UdpHdr.emit(b, 0, sport, dport, b.length, 0);
        int sum = InetInputFuzzTest.udpSum(src, dst, b);
        b[6] = (byte) (sum >>> 8);
        b[7] = (byte) sum;
        return b;
    }
}
