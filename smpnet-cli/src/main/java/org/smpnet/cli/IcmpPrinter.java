package org.smpnet.cli;

/** ICMP and ICMPv6 summaries as tcpdump's icmp_print and icmp6_print without {@code -v}. Stateless. */
final class IcmpPrinter {
    private IcmpPrinter() {}

    /** ICMP message at {@code off}, {@code plen} bytes of IP payload on the wire. */
    static void icmp(StringBuilder sb, PacketBytes p, int off, int plen) {
        p.proto("icmp");
        int type = p.u8(off);
        int code = p.u8(off + 1);
        sb.append("ICMP ");
        switch (type) {
            case 0, 8 -> sb.append(type == 0 ? "echo reply" : "echo request").append(", id ").append(p.u16(off + 4))
                    .append(", seq ").append(p.u16(off + 6));
            case 3 -> unreachable(sb, p, off, code);
            case 11 -> sb.append(code == 0 ? "time exceeded in-transit"
                    : code == 1 ? "ip reassembly time exceeded" : "time exceeded-#" + code);
            case 4 -> sb.append("source quench");
            case 5 -> sb.append("redirect ").append(p.ipv4(off + 8 + 16)).append(" to host ").append(p.ipv4(off + 4));
            case 9 -> sb.append("router advertisement");
            case 10 -> sb.append("router solicitation");
            case 12 -> sb.append("parameter problem");
            case 13 -> sb.append("time stamp request");
            case 14 -> sb.append("time stamp reply");
            case 15 -> sb.append("information request");
            case 16 -> sb.append("information reply");
            case 17 -> sb.append("address mask request");
            case 18 -> sb.append("address mask is 0x").append(String.format("%08x", p.u32(off + 12)));
            default -> sb.append("type-#").append(type);
        }
        sb.append(", length ").append(plen);
    }

    /** Destination unreachable: names the original datagram's destination, as tcpdump does. */
    private static void unreachable(StringBuilder sb, PacketBytes p, int off, int code) {
        int inner = off + 8;
        String dst = p.ipv4(inner + 16);
        switch (code) {
            case 0 -> sb.append("net ").append(dst).append(" unreachable");
            case 1 -> sb.append("host ").append(dst).append(" unreachable");
            case 2 -> sb.append(dst).append(" protocol ").append(p.u8(inner + 9)).append(" unreachable");
            case 3 -> {
                int proto = p.u8(inner + 9);
                int port = p.u16(inner + (p.u8(inner) & 0xf) * 4 + 2);
                String name = proto == 6 ? "tcp" : proto == 17 ? "udp" : null;
                sb.append(dst).append(' ').append(name != null ? name + " port " + port
                        : "protocol " + proto + " port " + port).append(" unreachable");
            }
            case 4 -> {
                int mtu = p.u16(off + 6);
                sb.append(dst).append(" unreachable - need to frag");
                if (mtu != 0) {
                    sb.append(" (mtu ").append(mtu).append(')');
                }
            }
            default -> sb.append(dst).append(" unreachable - code ").append(code);
        }
    }

    /** ICMPv6 message at {@code off}, {@code plen} bytes of payload on the wire. */
    static void icmp6(StringBuilder sb, PacketBytes p, int off, int plen) {
        p.proto("icmp6");
        int type = p.u8(off);
        sb.append("ICMP6, ");
        switch (type) {
            case 1 -> sb.append("destination unreachable");
            case 2 -> sb.append("packet too big, mtu ").append(p.u32(off + 4));
            case 3 -> sb.append("time exceeded in-transit");
            case 4 -> sb.append("parameter problem");
            case 128, 129 -> sb.append(type == 128 ? "echo request" : "echo reply").append(", id ")
                    .append(p.u16(off + 4)).append(", seq ").append(p.u16(off + 6));
            case 130 -> sb.append("multicast listener query");
            case 131 -> sb.append("multicast listener report");
            case 132 -> sb.append("multicast listener done");
            case 133 -> sb.append("router solicitation");
            case 134 -> sb.append("router advertisement");
            case 135 -> sb.append("neighbor solicitation, who has ").append(p.ipv6(off + 8));
            case 136 -> sb.append("neighbor advertisement, tgt is ").append(p.ipv6(off + 8));
            case 137 -> sb.append("redirect");
            case 138 -> sb.append("router renumbering");
            case 139 -> sb.append("who-are-you request");
            case 140 -> sb.append("who-are-you reply");
            case 143 -> sb.append("multicast listener report v2");
            case 147 -> sb.append("mobile router advertisement");
            default -> sb.append("unknown icmp6 type (").append(type).append(')');
        }
        sb.append(", length ").append(plen);
    }
}
