package org.smpnet.net;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * An IPv6 address ({@code struct in6_addr}) held as two {@code long}s, {@code hi} holding the first eight bytes in
 * network order. Immutable; compares by value.
 */
public record In6Addr(long hi, long lo) {
    public static final In6Addr ANY = new In6Addr(0, 0);
    public static final In6Addr LOOPBACK = new In6Addr(0, 1);

    /** The address of an IPv6 literal such as {@code "fe80::1"} (no zone, no brackets). */
    public static In6Addr parse(String s) {
        InetAddress a;
        try {
            a = Inet6Address.ofLiteral(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not an IPv6 address: '" + s + "'", e);
        }
        byte[] b = a.getAddress();
        if (b.length != 16) {
            throw new IllegalArgumentException("not an IPv6 address: '" + s + "'");
        }
        return fromBytes(b, 0);
    }

    /** The address stored at {@code b[off..off+15]}. */
    public static In6Addr fromBytes(byte[] b, int off) {
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (b[off + i] & 0xff);
            lo = (lo << 8) | (b[off + 8 + i] & 0xff);
        }
        return new In6Addr(hi, lo);
    }

    /** Stores the address at {@code b[off..off+15]}. */
    public void toBytes(byte[] b, int off) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (hi >>> (56 - 8 * i));
            b[off + 8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
    }

    /** ff00::/8. */
    public boolean isMulticast() {
        return (hi >>> 56) == 0xff;
    }

    /** fe80::/10. */
    public boolean isLinkLocal() {
        return (hi >>> 54) == (0xfe80L >>> 6);
    }

    /** The RFC 5952 text form ({@code fe80::1}). */
    @Override
    public String toString() {
        int[] w = new int[8];
        for (int i = 0; i < 4; i++) {
            w[i] = (int) (hi >>> (48 - 16 * i)) & 0xffff;
            w[4 + i] = (int) (lo >>> (48 - 16 * i)) & 0xffff;
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (w[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(w[i]));
        }
        return sb.toString();
    }
}
