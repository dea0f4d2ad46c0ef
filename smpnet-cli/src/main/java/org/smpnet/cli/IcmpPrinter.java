package org.smpnet.cli;

/** ICMP and ICMPv6 summaries as tcpdump's icmp_print and icmp6_print without {@code -v}. Stateless. */
final class IcmpPrinter {
    private IcmpPrinter() {}

    /** ICMP message at {@code off}, {@code plen} bytes of IP payload on the wire. */
    static void icmp(StringBuilder out, PacketBytes p, int off, int plen) {
        p.proto("icmp");
        StringBuilder sb = new StringBuilder(); // as tcpdump, print nothing of a message cut short
        p.need(off, 8);
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
        out.append(sb).append(", length ").append(plen);
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
    static void icmp6(StringBuilder out, PacketBytes p, int off, int plen) {
        p.proto("icmp6");
        int type = p.u8(off);
        out.append("ICMP6, ").append(icmp6Name(type));
        StringBuilder sb = new StringBuilder(); // the details appear only when all their bytes are there
        switch (type) {
            case 2 -> sb.append(", mtu ").append(p.u32(off + 4));
            case 128, 129 -> sb.append(", id ").append(p.u16(off + 4)).append(", seq ").append(p.u16(off + 6));
            case 135 -> sb.append(", who has ").append(p.ipv6(off + 8));
            case 136 -> sb.append(", tgt is ").append(p.ipv6(off + 8));
            default -> { }
        }
        out.append(sb).append(", length ").append(plen);
    }

    private static String icmp6Name(int type) {
        return switch (type) {
            case 1 -> "destination unreachable";
            case 2 -> "packet too big";
            case 3 -> "time exceeded in-transit";
            case 4 -> "parameter problem";
            case 128 -> "echo request";
            case 129 -> "echo reply";
            case 130 -> "multicast listener query";
            case 131 -> "multicast listener report";
            case 132 -> "multicast listener done";
            case 133 -> "router solicitation";
            case 134 -> "router advertisement";
            case 135 -> "neighbor solicitation";
            case 136 -> "neighbor advertisement";
            case 137 -> "redirect";
            case 138 -> "router renumbering";
            case 139 -> "who-are-you request";
            case 140 -> "who-are-you reply";
            case 143 -> "multicast listener report v2";
            case 147 -> "mobile router advertisement";
            default -> "unknown icmp6 type (" + type + ")";
        };
    }
}
