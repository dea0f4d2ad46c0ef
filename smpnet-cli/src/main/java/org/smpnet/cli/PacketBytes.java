package org.smpnet.cli;

import java.util.HexFormat;

/**
 * Bounds-checked big-endian reads over the captured bytes of one packet, for the printers.
 * A read past the captured length throws {@link Truncated} naming the protocol being printed,
 * which the printer turns into tcpdump's {@code [|proto]} marker (tcpdump's longjmp on a short
 * snapshot). Printing only: no validation beyond bounds. Not thread-safe; one per packet.
 */
final class PacketBytes {
    /** A read ran past the captured bytes while printing {@link #proto}. */
    static final class Truncated extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String proto;

        Truncated(String proto) {
            super(proto, null, false, false);
            this.proto = proto;
        }
    }

    private static final HexFormat HEX = HexFormat.of();

    final byte[] data;
    /** Bytes captured, the end of every read. */
    final int caplen;
    private String proto = "";

    PacketBytes(byte[] data) {
        this.data = data;
        this.caplen = data.length;
    }

    /** Names the protocol whose fields are read next, for the truncation marker. */
    void proto(String name) {
        proto = name;
    }

    boolean has(int off, int len) {
        return off >= 0 && len >= 0 && off <= caplen - len;
    }

    void need(int off, int len) {
        if (!has(off, len)) {
            throw new Truncated(proto);
        }
    }

    int u8(int off) {
        need(off, 1);
        return data[off] & 0xff;
    }

    int u16(int off) {
        need(off, 2);
        return (data[off] & 0xff) << 8 | data[off + 1] & 0xff;
    }

    long u32(int off) {
        need(off, 4);
        return (long) u16(off) << 16 | u16(off + 2);
    }

    /** Little-endian 32-bit word (BSD loopback family written on a little-endian host). */
    long u32le(int off) {
        need(off, 4);
        return Long.reverseBytes(u32(off)) >>> 32;
    }

    String ipv4(int off) {
        need(off, 4);
        return u8(off) + "." + u8(off + 1) + "." + u8(off + 2) + "." + u8(off + 3);
    }

    String mac(int off) {
        return hexBytes(off, 6, ':');
    }

    /** {@code len} bytes as two-digit hex joined by {@code sep}. */
    String hexBytes(int off, int len, char sep) {
        need(off, len);
        StringBuilder sb = new StringBuilder(len * 3);
        for (int i = 0; i < len; i++) {
            if (i > 0) {
                sb.append(sep);
            }
            sb.append(HEX.toHexDigits(data[off + i]));
        }
        return sb.toString();
    }

    /** An IPv6 address as inet_ntop(3) writes it (RFC 5952: longest zero run as ::, lowercase). */
    String ipv6(int off) {
        need(off, 16);
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) {
            w[i] = u16(off + 2 * i);
        }
        int bestBase = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && w[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i >= 2) {
                bestBase = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder sb = new StringBuilder(40);
        for (int i = 0; i < 8; i++) {
            if (i == bestBase) {
                sb.append(':');
                i += bestLen - 1;
                if (i == 7) {
                    sb.append(':');
                }
                continue;
            }
            if (i > 0) {
                sb.append(':');
            }
            if (i == 6 && bestBase == 0 && (bestLen == 6 || bestLen == 5 && w[5] == 0xffff)) {
                return sb.append(ipv4(off + 12)).toString();
            }
            sb.append(Integer.toHexString(w[i]));
        }
        return sb.toString();
    }
}
