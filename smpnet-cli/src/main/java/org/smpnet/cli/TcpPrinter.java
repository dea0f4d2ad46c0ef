package org.smpnet.cli;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * TCP summaries as tcpdump's tcp_print without {@code -v}: ports, flags, sequence numbers
 * relative to the first packet seen of each connection (unless {@code -S}), window, urgent
 * pointer, options and payload length.
 *
 * <p>Not thread-safe: {@link #conns} is the per-connection state behind relative sequence
 * numbers, confined to the thread printing one packet stream.
 */
final class TcpPrinter {
    private static final String FLAG_CHARS = "FSRP.UEW";

    /** Initial sequence numbers of each direction, keyed as tcpdump's tcp_seq_hash. */
    private final Map<Key, long[]> conns = new HashMap<>();
    private final boolean absolute;

    TcpPrinter(boolean absolute) {
        this.absolute = absolute;
    }

    /** A connection with its lower address first, so both directions share one key. */
    private record Key(byte[] a, byte[] b, int ports) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(a, k.a) && Arrays.equals(b, k.b) && ports == k.ports;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(a) * 31 + Arrays.hashCode(b) * 17 + ports;
        }
    }

    void print(StringBuilder sb, PacketBytes p, PacketPrinter.IpPair ip, int off, int length) {
        p.proto("tcp");
        if (!p.has(off, 4)) {
            sb.append(ip.pair());
            throw new PacketBytes.Truncated("tcp");
        }
        int sport = p.u16(off);
        int dport = p.u16(off + 2);
        sb.append(ip.from(sport)).append(" > ").append(ip.to(dport)).append(": ");
        int hlen = (p.u8(off + 12) >> 4) * 4;
        if (hlen < 20) {
            sb.append("tcp ").append(length - hlen).append(" [bad hdr length ").append(hlen)
                    .append(" - too short, < 20]");
            return;
        }
        long seq = p.u32(off + 4);
        long ack = p.u32(off + 8);
        int flags = p.u8(off + 13);
        int win = p.u16(off + 14);
        int urp = p.u16(off + 18);
        sb.append("Flags [").append(flags(flags)).append(']');
        long thseq = 0;
        long thack = 0;
        boolean rev = false;
        if (!absolute && (flags & 0x10) != 0) {
            int cmp = Arrays.compareUnsigned(ip.data(), ip.addrOff(), ip.addrOff() + ip.addrLen(),
                    ip.data(), ip.addrOff() + ip.addrLen(), ip.addrOff() + 2 * ip.addrLen());
            rev = cmp > 0;
            byte[] src = Arrays.copyOfRange(ip.data(), ip.addrOff(), ip.addrOff() + ip.addrLen());
            byte[] dst = Arrays.copyOfRange(ip.data(), ip.addrOff() + ip.addrLen(), ip.addrOff() + 2 * ip.addrLen());
            Key key = rev ? new Key(dst, src, dport << 16 | sport) : new Key(src, dst, sport << 16 | dport);
            long[] th = conns.get(key);
            if (th == null || (flags & 0x02) != 0) {
                th = rev ? new long[] {(ack - 1) & 0xffffffffL, seq} : new long[] {seq, (ack - 1) & 0xffffffffL};
                conns.put(key, th);
            } else if (rev) {
                seq = (seq - th[1]) & 0xffffffffL;
                ack = (ack - th[0]) & 0xffffffffL;
            } else {
                seq = (seq - th[0]) & 0xffffffffL;
                ack = (ack - th[1]) & 0xffffffffL;
            }
            thseq = th[0];
            thack = th[1];
        }
        if (hlen > length) {
            sb.append(" [bad hdr length ").append(hlen).append(" - too long, > ").append(length).append(']');
            return;
        }
        int dlen = length - hlen;
        if (dlen > 0 || (flags & 0x07) != 0) {
            sb.append(", seq ").append(seq);
            if (dlen > 0) {
                sb.append(':').append((seq + dlen) & 0xffffffffL);
            }
        }
        if ((flags & 0x10) != 0) {
            sb.append(", ack ").append(ack);
        }
        sb.append(", win ").append(win);
        if ((flags & 0x20) != 0) {
            sb.append(", urg ").append(urp);
        }
        if (hlen > 20) {
            sb.append(", options [");
            options(sb, p, off + 20, hlen - 20, rev ? thseq : thack);
            sb.append(']');
        }
        sb.append(", length ").append(dlen);
    }

    private static String flags(int flags) {
        StringBuilder f = new StringBuilder();
        for (int i = 0; i < FLAG_CHARS.length(); i++) {
            if ((flags & 1 << i) != 0) {
                f.append(FLAG_CHARS.charAt(i));
            }
        }
        return f.isEmpty() ? "none" : f.toString();
    }

    /** The options list as tcpdump prints it; SACK blocks relative to {@code sackBase}. */
    private static void options(StringBuilder sb, PacketBytes p, int cp, int hlen, long sackBase) {
        boolean first = true;
        while (hlen > 0) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            int opt = p.u8(cp++);
            int len = 1;
            if (opt > 1) {
                len = p.u8(cp++);
                if (len < 2 || len > hlen) {
                    sb.append(name(opt)).append(" [bad opt]");
                    return;
                }
                hlen--;
            }
            hlen--;
            sb.append(name(opt));
            int datalen = opt > 1 ? len - 2 : 0;
            switch (opt) {
                case 2 -> sb.append(datalen >= 2 ? " " + p.u16(cp) : " [bad opt]");
                case 3 -> sb.append(datalen >= 1 ? " " + p.u8(cp) : " [bad opt]");
                case 4 -> { }
                case 5 -> sack(sb, p, cp, datalen, sackBase);
                case 8 -> {
                    if (datalen >= 8) {
                        sb.append(" val ").append(p.u32(cp)).append(" ecr ").append(p.u32(cp + 4));
                    } else {
                        sb.append(" [bad opt]");
                    }
                }
                default -> {
                    if (opt > 1 && datalen > 0) {
                        sb.append(" 0x").append(p.hexBytes(cp, datalen, ' ').replace(" ", ""));
                    }
                }
            }
            cp += datalen;
            hlen -= datalen;
            if (opt == 0) {
                break;
            }
        }
    }

    private static void sack(StringBuilder sb, PacketBytes p, int cp, int datalen, long base) {
        if (datalen % 8 != 0) {
            sb.append(" invalid sack");
            return;
        }
        sb.append(' ').append(datalen / 8).append(' ');
        for (int i = 0; i < datalen; i += 8) {
            long s = (p.u32(cp + i) - base) & 0xffffffffL;
            long e = (p.u32(cp + i + 4) - base) & 0xffffffffL;
            sb.append('{').append(s).append(':').append(e).append('}');
        }
    }

    private static String name(int opt) {
        return switch (opt) {
            case 0 -> "eol";
            case 1 -> "nop";
            case 2 -> "mss";
            case 3 -> "wscale";
            case 4 -> "sackOK";
            case 5 -> "sack";
            case 6 -> "echo";
            case 7 -> "echoreply";
            case 8 -> "TS";
            case 19 -> "md5";
            case 28 -> "uto";
            case 29 -> "tcp-ao";
            case 30 -> "mptcp";
            case 34 -> "tfo";
            case 254 -> "exp";
            default -> "unknown-" + opt;
        };
    }
}
