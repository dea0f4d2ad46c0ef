package org.smpnet.cli;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.Map;
import org.smpnet.net.bpf.PcapRecord;

/**
 * One-line packet summaries in the format of {@code tcpdump -n}: Ethernet (VLAN tags shown as
 * {@code vlan N,}, which tcpdump prints only with {@code -e}), ARP, IPv4, IPv6, TCP, UDP, ICMP and
 * ICMPv6, over Ethernet, raw IP, BSD loopback and Linux cooked links. Application payloads are
 * not decoded: a line ends where tcpdump would start printing DNS, HTTP and the like.
 *
 * <p>A packet cut short by the snapshot length prints as far as its bytes go, then tcpdump's
 * {@code [|proto]} marker; malformed headers print tcpdump's complaint. Nothing here throws on
 * packet contents.
 *
 * <p>Not thread-safe: {@link TcpPrinter} keeps per-connection state for relative sequence
 * numbers, so one printer serves one stream of packets on one thread.
 */
final class PacketPrinter {
    static final int LINKTYPE_NULL = 0;
    static final int LINKTYPE_ETHERNET = 1;
    static final int LINKTYPE_RAW = 101;
    static final int LINKTYPE_LOOP = 108;
    static final int LINKTYPE_LINUX_SLL = 113;
    static final int LINKTYPE_IPV4 = 228;
    static final int LINKTYPE_IPV6 = 229;
    static final int LINKTYPE_LINUX_SLL2 = 276;
    /** DLT_RAW as BSD (14) and Linux/others (12) number it in memory; files use 101. */
    static final int DLT_RAW_BSD = 14;
    static final int DLT_RAW = 12;

    private static final Map<Integer, String> ETHERTYPES = Map.ofEntries(
            Map.entry(0x0800, "IPv4"), Map.entry(0x0806, "ARP"), Map.entry(0x8035, "Reverse ARP"),
            Map.entry(0x86dd, "IPv6"), Map.entry(0x8100, "802.1Q"), Map.entry(0x88a8, "802.1Q-QinQ"),
            Map.entry(0x9100, "802.1Q-9100"), Map.entry(0x8847, "MPLS unicast"),
            Map.entry(0x8848, "MPLS multicast"), Map.entry(0x8863, "PPPoE D"), Map.entry(0x8864, "PPPoE S"),
            Map.entry(0x888e, "EAPOL"), Map.entry(0x88cc, "LLDP"), Map.entry(0x8809, "Slow Protocols"),
            Map.entry(0x88f7, "PTP"), Map.entry(0x8137, "IPX"), Map.entry(0x809b, "Appletalk"),
            Map.entry(0x6003, "DECnet"), Map.entry(0x9000, "Loopback"), Map.entry(0x88e5, "MACsec"));

    private final ZoneId zone;
    private final TcpPrinter tcp;

    /** Times in {@code zone} (tcpdump prints local time); {@code absoluteSeq} as tcpdump {@code -S}. */
    PacketPrinter(ZoneId zone, boolean absoluteSeq) {
        this.zone = zone;
        this.tcp = new TcpPrinter(absoluteSeq);
    }

    /** The summary line of {@code r}, without a newline. */
    String summary(PcapRecord r) {
        StringBuilder sb = new StringBuilder(128);
        timestamp(sb, r.timestampNanos());
        sb.append(' ');
        PacketBytes p = new PacketBytes(r.data());
        int wirelen = (int) Math.min(r.originalLength(), Integer.MAX_VALUE);
        try {
            link(sb, p, r.linkType(), wirelen);
        } catch (PacketBytes.Truncated t) {
            sb.append(" [|").append(t.proto).append(']');
        }
        return sb.toString();
    }

    /** {@code HH:MM:SS.uuuuuu}, microseconds truncated as tcpdump does without {@code --nano}. */
    void timestamp(StringBuilder sb, long nanos) {
        long sec = Math.floorDiv(nanos, 1_000_000_000L);
        long micros = Math.floorMod(nanos, 1_000_000_000L) / 1000;
        LocalTime t = LocalTime.ofInstant(Instant.ofEpochSecond(sec), zone);
        sb.append(two(t.getHour())).append(':').append(two(t.getMinute())).append(':').append(two(t.getSecond()))
                .append('.').append(String.format("%06d", micros));
    }

    private static String two(int v) {
        return v < 10 ? "0" + v : Integer.toString(v);
    }

    private void link(StringBuilder sb, PacketBytes p, int linkType, int wirelen) {
        switch (linkType) {
            case LINKTYPE_ETHERNET -> ether(sb, p, wirelen);
            case LINKTYPE_NULL, LINKTYPE_LOOP -> loopback(sb, p, linkType, wirelen);
            case DLT_RAW, DLT_RAW_BSD, LINKTYPE_RAW -> rawIp(sb, p, 0, wirelen);
            case LINKTYPE_IPV4 -> ipv4(sb, p, 0, wirelen);
            case LINKTYPE_IPV6 -> ipv6(sb, p, 0, wirelen);
            case LINKTYPE_LINUX_SLL -> {
                p.proto("sll");
                int type = p.u16(14);
                ethertype(sb, p, type, 16, wirelen - 16, wirelen);
            }
            case LINKTYPE_LINUX_SLL2 -> {
                p.proto("sll2");
                p.need(0, 20);
                ethertype(sb, p, p.u16(0), 20, wirelen - 20, wirelen);
            }
            default -> sb.append("link-type ").append(linkType).append(", length ").append(wirelen);
        }
    }

    private void ether(StringBuilder sb, PacketBytes p, int wirelen) {
        p.proto("ether");
        p.need(0, 14);
        int off = 12;
        int type = p.u16(off);
        while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
            p.proto("vlan");
            int tci = p.u16(off + 2);
            sb.append("vlan ").append(tci & 0xfff).append(", ");
            off += 4;
            type = p.u16(off);
        }
        off += 2;
        if (type <= 1500) {
            sb.append(p.mac(6)).append(" > ").append(p.mac(0)).append(", 802.3, length ").append(wirelen);
            return;
        }
        ethertype(sb, p, type, off, wirelen - off, wirelen);
    }

    /** Dispatches on an ethertype whose payload starts at {@code off}; {@code len} bytes on the wire. */
    private void ethertype(StringBuilder sb, PacketBytes p, int type, int off, int len, int wirelen) {
        switch (type) {
            case 0x0800 -> ipv4(sb, p, off, len);
            case 0x86dd -> ipv6(sb, p, off, len);
            case 0x0806 -> arp(sb, p, off, len);
            default -> {
                if (p.has(0, 12) && off >= 14) {
                    sb.append(p.mac(6)).append(" > ").append(p.mac(0)).append(", ");
                }
                sb.append("ethertype ").append(ETHERTYPES.getOrDefault(type, "Unknown"))
                        .append(String.format(" (0x%04x)", type)).append(", length ").append(wirelen);
            }
        }
    }

    private void loopback(StringBuilder sb, PacketBytes p, int linkType, int wirelen) {
        p.proto("null");
        // NULL is in the writer's byte order: a family fits in the low byte, so a zero first byte means big-endian.
        long family = linkType == LINKTYPE_LOOP || p.u8(0) == 0 ? p.u32(0) : p.u32le(0);
        if (family == 2) {
            ipv4(sb, p, 4, wirelen - 4);
        } else if (family == 10 || family == 24 || family == 28 || family == 30) {
            ipv6(sb, p, 4, wirelen - 4);
        } else {
            sb.append("AF ").append(family).append(", length ").append(wirelen);
        }
    }

    private void rawIp(StringBuilder sb, PacketBytes p, int off, int len) {
        p.proto("ip");
        switch (p.u8(off) >> 4) {
            case 4 -> ipv4(sb, p, off, len);
            case 6 -> ipv6(sb, p, off, len);
            default -> sb.append("IP").append(p.u8(off) >> 4);
        }
    }

    /** ARP over Ethernet/IPv4 as tcpdump's arp_print; {@code len} bytes on the wire. */
    private void arp(StringBuilder sb, PacketBytes p, int off, int len) {
        p.proto("arp");
        int hrd = p.u16(off);
        int pro = p.u16(off + 2);
        int hln = p.u8(off + 4);
        int pln = p.u8(off + 5);
        int op = p.u16(off + 6);
        if (pro != 0x0800 || pln != 4 || hln == 0) {
            sb.append("ARP, hardware ").append(hrd).append(" (len ").append(hln).append(String.format("), protocol 0x%04x", pro))
                    .append(" (len ").append(pln).append("), length ").append(len);
            return;
        }
        int sha = off + 8;
        int spa = sha + hln;
        int tha = spa + 4;
        int tpa = tha + hln;
        p.need(off, tpa + 4 - off);
        sb.append("ARP, ");
        switch (op) {
            case 1 -> {
                sb.append("Request who-has ").append(p.ipv4(tpa));
                if (nonzero(p, tha, hln)) {
                    sb.append(" (").append(p.hexBytes(tha, hln, ':')).append(')');
                }
                sb.append(" tell ").append(p.ipv4(spa));
            }
            case 2 -> sb.append("Reply ").append(p.ipv4(spa)).append(" is-at ").append(p.hexBytes(sha, hln, ':'));
            case 3 -> sb.append("Reverse Request who-is ").append(p.hexBytes(tha, hln, ':')).append(" tell ")
                    .append(p.hexBytes(sha, hln, ':'));
            case 4 -> sb.append("Reverse Reply ").append(p.hexBytes(tha, hln, ':')).append(" at ").append(p.ipv4(tpa));
            default -> {
                sb.append("Unknown (").append(op).append(')');
                return;
            }
        }
        sb.append(", length ").append(len);
    }

    private static boolean nonzero(PacketBytes p, int off, int len) {
        for (int i = 0; i < len; i++) {
            if (p.u8(off + i) != 0) {
                return true;
            }
        }
        return false;
    }

    /** IPv4 at {@code off} with {@code length} bytes left on the wire, as tcpdump's ip_print. */
    private void ipv4(StringBuilder sb, PacketBytes p, int off, int length) {
        p.proto("ip");
        int v = p.u8(off) >> 4;
        sb.append("IP ");
        if (v != 4) {
            sb.setLength(sb.length() - 1);
            sb.append(v == 6 ? "6, wrong link-layer encapsulation" : Integer.toString(v));
            return;
        }
        int hl = (p.u8(off) & 0xf) * 4;
        if (hl < 20) {
            sb.append("bad-hlen ").append(hl);
            return;
        }
        p.need(off, 20);
        int len = p.u16(off + 2);
        if (len < hl) {
            sb.append("bad-len ").append(len); // tcpdump 4.99 does not guess TSO's zero length
            return;
        }
        if (len > length) {
            sb.append("truncated-ip - ").append(len - length).append(" bytes missing! ");
        }
        int frag = p.u16(off + 6);
        int nh = p.u8(off + 9);
        String src = p.ipv4(off + 12);
        String dst = p.ipv4(off + 16);
        p.need(off, hl);
        IpPair ip = new IpPair(src, dst, p.data, off + 12, 4, false);
        int plen = len - hl;
        if ((frag & 0x1fff) != 0) {
            sb.append(src).append(" > ").append(dst).append(": ip-proto-").append(nh);
            return;
        }
        transport(sb, p, ip, nh, off + hl, plen, false);
    }

    /** IPv6 at {@code off} with {@code length} bytes left on the wire, as tcpdump's ip6_print. */
    private void ipv6(StringBuilder sb, PacketBytes p, int off, int length) {
        p.proto("ip6");
        p.need(off, 40);
        sb.append("IP6 ");
        if (p.u8(off) >> 4 != 6) {
            sb.append("version error: ").append(p.u8(off) >> 4).append(" != 6");
            return;
        }
        int payload = p.u16(off + 4);
        int len = payload + 40;
        if (payload == 0) {
            len = length;
        } else if (len > length) {
            sb.append("truncated-ip6 - ").append(len - length).append(" bytes missing!");
            len = length;
        }
        String src = p.ipv6(off + 8);
        String dst = p.ipv6(off + 24);
        IpPair ip = new IpPair(src, dst, p.data, off + 8, 16, false);
        int nh = p.u8(off + 6);
        int cp = off + 40;
        int plen = len - 40;
        StringBuilder ext = new StringBuilder();
        while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
            p.proto(nh == 44 ? "frag" : "ip6");
            int next = p.u8(cp);
            int hlen;
            if (nh == 44) {
                int offlg = p.u16(cp + 2);
                ext.append("frag (").append(offlg & 0xfff8).append('|').append(plen - 8).append(") ");
                hlen = 8;
                if ((offlg & 0xfff8) != 0) {
                    sb.append(src).append(" > ").append(dst).append(": ").append(ext).append("ip-proto-").append(next);
                    return;
                }
            } else {
                hlen = (p.u8(cp + 1) + 1) * 8;
                ext.append(nh == 0 ? "HBH " : nh == 60 ? "DSTOPT " : "srcrt ");
            }
            nh = next;
            cp += hlen;
            plen -= hlen;
        }
        if (ext.isEmpty() && (nh == 6 || nh == 17)) {
            transport(sb, p, ip, nh, cp, plen, true);
            return;
        }
        sb.append(src).append(" > ").append(dst).append(": ").append(ext);
        // After extension headers tcpdump names only the ports: the addresses are already printed.
        transport(sb, p, ext.isEmpty() ? ip : ip.portsOnly(), nh, cp, plen, true);
    }

    /** The addresses of an IP header, printed and raw (for TCP's connection key). */
    record IpPair(String src, String dst, byte[] data, int addrOff, int addrLen, boolean noAddrs) {
        IpPair portsOnly() {
            return new IpPair(src, dst, data, addrOff, addrLen, true);
        }

        /** {@code addr.port}, or the port alone after IPv6 extension headers. */
        String from(int port) {
            return noAddrs ? Integer.toString(port) : src + "." + port;
        }

        String to(int port) {
            return noAddrs ? Integer.toString(port) : dst + "." + port;
        }

        /** The address pair as a transport printer starts a line it cannot finish. */
        String pair() {
            return noAddrs ? "" : src + " > " + dst + ":";
        }
    }

    private void transport(StringBuilder sb, PacketBytes p, IpPair ip, int nh, int off, int plen, boolean v6) {
        switch (nh) {
            case 6 -> tcp.print(sb, p, ip, off, plen);
            case 17 -> udp(sb, p, ip, off, plen);
            case 1 -> {
                if (v6) {
                    sb.append("ip-proto-1 ").append(plen);
                } else {
                    sb.append(ip.src()).append(" > ").append(ip.dst()).append(": ");
                    IcmpPrinter.icmp(sb, p, off, plen);
                }
            }
            case 58 -> IcmpPrinter.icmp6(sb, p, off, plen);
            default -> {
                if (!v6) {
                    sb.append(ip.src()).append(" > ").append(ip.dst()).append(": ");
                }
                sb.append("ip-proto-").append(nh).append(' ').append(plen);
            }
        }
    }

    private static void udp(StringBuilder sb, PacketBytes p, IpPair ip, int off, int length) {
        p.proto("udp");
        if (!p.has(off, 4)) {
            sb.append(ip.pair()).append(' ');
            throw new PacketBytes.Truncated("udp");
        }
        int sport = p.u16(off);
        int dport = p.u16(off + 2);
        sb.append(ip.from(sport)).append(" > ").append(ip.to(dport)).append(": ");
        if (length < 8) {
            sb.append("truncated-udp ").append(length);
            return;
        }
        p.need(off, 8);
        int ulen = p.u16(off + 4);
        if (ulen == 0 && length > 65535) {
            ulen = length;
        }
        if (ulen < 8) {
            sb.append("truncated-udplength ").append(ulen);
            return;
        }
        sb.append("UDP, length ").append(Math.min(ulen - 8, length - 8));
    }
}
