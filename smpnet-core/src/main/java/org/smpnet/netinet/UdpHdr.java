package org.smpnet.netinet;

import org.smpnet.net.InAddr;
import org.smpnet.net.InCksum;
import org.smpnet.net.Mbuf;

/**
 * The UDP header ({@code struct udphdr}, RFC 768): source and destination port, length (header plus
 * data) and checksum over the IPv4 pseudo-header. Reads and writes fields of a contiguous header in
 * place.
 */
public final class UdpHdr {
    public static final int LEN = 8;
    public static final int IPPROTO_UDP = 17;

    private UdpHdr() {}

    public static int sport(byte[] b, int off) {
        return u16(b, off);
    }

    public static int dport(byte[] b, int off) {
        return u16(b, off + 2);
    }

    public static int ulen(byte[] b, int off) {
        return u16(b, off + 4);
    }

    public static int sum(byte[] b, int off) {
        return u16(b, off + 6);
    }

    /** Writes the four fields. */
    public static void emit(byte[] b, int off, int sport, int dport, int ulen, int sum) {
        put16(b, off, sport);
        put16(b, off + 2, dport);
        put16(b, off + 4, ulen);
        put16(b, off + 6, sum);
    }

    /**
     * The one's-complement sum of the pseudo-header (source, destination, protocol 17, UDP length)
     * and the {@code ulen} bytes of the UDP header and data at {@code off} of {@code m}, folded:
     * 0 over a datagram whose checksum field is right. Borrows {@code m}.
     */
    public static int cksum(Mbuf m, int off, int ulen, InAddr src, InAddr dst) {
        long s = pseudo(src, dst, IPPROTO_UDP, ulen);
        return InCksum.finish(InCksum.sum(m, off, ulen, s));
    }

    /** Offset of the checksum field in the header (the {@code csum_data} of a delayed UDP checksum). */
    public static final int SUM_OFFSET = 6;

    /** The unfolded pseudo-header sum ({@code in_pseudo}) with the length. */
    static long pseudo(InAddr src, InAddr dst, int proto, int len) {
        int a = src.bits();
        int d = dst.bits();
        return (a >>> 16) + (a & 0xffff) + (d >>> 16) + (d & 0xffff) + proto + len;
    }

    private static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    private static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }
}
