package org.smpnet.net;

/**
 * The Internet checksum (RFC 1071, FreeBSD {@code in_cksum}) over bytes of an mbuf chain or an array:
 * the ones' complement of the ones' complement sum of 16-bit big-endian words. Mbuf boundaries at
 * odd offsets are handled by tracking which half of a word the next byte falls into.
 *
 * <p>Locking: none; borrows the chain.
 */
public final class InCksum {
    private InCksum() {}

    /**
     * The checksum of {@code len} bytes from offset {@code off} of the chain, complemented and in
     * {@code [0, 0xffff]}.
     *
     * @throws IllegalArgumentException if the range is negative or runs past the chain
     */
    public static int cksum(Mbuf m, int off, int len) {
        return ~fold(sum(m, off, len, 0)) & 0xffff;
    }

    /** The checksum of {@code b[off, off+len)}, complemented. */
    public static int cksum(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        return ~fold(sumBytes(b, off, len, false, 0)) & 0xffff;
    }

    /**
     * The uncomplemented ones' complement sum of the range, added to {@code initial} (for
     * pseudo-headers); fold and complement it with {@link #finish}.
     */
    public static long sum(Mbuf m, int off, int len, long initial) {
        if (off < 0 || len < 0) {
            throw new IllegalArgumentException("in_cksum: negative offset or length (off " + off + ", len " + len + ")");
        }
        long s = initial;
        boolean odd = false;
        while (m != null && off >= m.len && len > 0) {
            off -= m.len;
            m = m.next;
        }
        while (len > 0) {
            if (m == null) {
                throw new IllegalArgumentException("in_cksum: range runs " + len + " bytes past the chain");
            }
            int n = Math.min(m.len - off, len);
            s = sumBytes(m.buf, m.off + off, n, odd, s);
            odd ^= (n & 1) != 0;
            len -= n;
            off = 0;
            m = m.next;
        }
        return s;
    }

    /** Folds a sum to 16 bits and complements it. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    private static long sumBytes(byte[] b, int i, int n, boolean odd, long s) {
        int end = i + n;
        if (odd && i < end) {
            s += b[i++] & 0xff;
        }
        for (; i + 1 < end; i += 2) {
            s += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if (i < end) {
            s += (b[i] & 0xff) << 8;
        }
        return s;
    }

    private static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }
}
