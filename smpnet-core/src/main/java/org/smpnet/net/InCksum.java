package org.smpnet.net;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The Internet checksum (RFC 1071, FreeBSD {@code in_cksum}) over bytes of an mbuf chain or an array:
 * the ones' complement of the ones' complement sum of 16-bit big-endian words. Mbuf boundaries at
 * odd offsets are handled by tracking which half of a word the next byte falls into.
 *
 * <p>Locking: none; borrows the chain.
 */
public final class InCksum {
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

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

    /**
     * Adds the 16-bit words of {@code b[i, i+n)} to {@code s}; {@code odd}: the first byte is the low half
     * of a word begun in the previous buffer. Reads eight bytes at a time: ones' complement addition is
     * associative, so summing the two 32-bit halves of each big-endian long into a 64-bit accumulator and
     * folding at the end gives the same result as 16-bit words (RFC 1071 section 2(C)); the accumulator
     * cannot overflow for any length an int can express.
     */
    private static long sumBytes(byte[] b, int i, int n, boolean odd, long s) {
        int end = i + n;
        if (odd && i < end) {
            s += b[i++] & 0xff;
        }
        for (; i + 8 <= end; i += 8) {
            long w = (long) LONG_BE.get(b, i);
            s += (w >>> 32) + (w & 0xffff_ffffL);
        }
        for (; i + 1 < end; i += 2) {
            s += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if (i < end) {
            s += (b[i] & 0xff) << 8;
        }
        return s;
    }

    /** Folds a sum to 16 bits, uncomplemented ({@code in_pseudo}'s result, for a delayed checksum's seed). */
    public static int fold(long s) {
        s = (s & 0xffff_ffffL) + (s >>> 32); // < 2^33 (sums are never negative)
        s = (s & 0xffff) + (s >>> 16);       // < 2^17 + 2^16
        s = (s & 0xffff) + (s >>> 16);       // <= 0x10001
        s = (s & 0xffff) + (s >>> 16);       // <= 0xffff
        return (int) s;
    }
}
