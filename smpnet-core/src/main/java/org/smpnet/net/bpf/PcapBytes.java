package org.smpnet.net.bpf;

import java.nio.ByteOrder;

/** Unsigned field access in either byte order. Callers check bounds first. */
final class PcapBytes {
    private PcapBytes() {
    }

    static int u16(byte[] b, int off, ByteOrder order) {
        int b0 = b[off] & 0xff;
        int b1 = b[off + 1] & 0xff;
        return order == ByteOrder.BIG_ENDIAN ? b0 << 8 | b1 : b1 << 8 | b0;
    }

    static long u32(byte[] b, int off, ByteOrder order) {
        return s32(b, off, order) & 0xFFFF_FFFFL;
    }

    static int s32(byte[] b, int off, ByteOrder order) {
        int b0 = b[off] & 0xff;
        int b1 = b[off + 1] & 0xff;
        int b2 = b[off + 2] & 0xff;
        int b3 = b[off + 3] & 0xff;
        return order == ByteOrder.BIG_ENDIAN
                ? b0 << 24 | b1 << 16 | b2 << 8 | b3
                : b3 << 24 | b2 << 16 | b1 << 8 | b0;
    }

    static long s64(byte[] b, int off, ByteOrder order) {
        long first = u32(b, off, order);
        long second = u32(b, off + 4, order);
        return order == ByteOrder.BIG_ENDIAN ? first << 32 | second : second << 32 | first;
    }

    static void put16(byte[] b, int off, int v, ByteOrder order) {
        if (order == ByteOrder.BIG_ENDIAN) {
            b[off] = (byte) (v >>> 8);
            b[off + 1] = (byte) v;
        } else {
            b[off] = (byte) v;
            b[off + 1] = (byte) (v >>> 8);
        }
    }

    static void put32(byte[] b, int off, long v, ByteOrder order) {
        for (int i = 0; i < 4; i++) {
            int shift = order == ByteOrder.BIG_ENDIAN ? 24 - 8 * i : 8 * i;
            b[off + i] = (byte) (v >>> shift);
        }
    }

    static void put64(byte[] b, int off, long v, ByteOrder order) {
        if (order == ByteOrder.BIG_ENDIAN) {
            put32(b, off, v >>> 32, order);
            put32(b, off + 4, v, order);
        } else {
            put32(b, off, v, order);
            put32(b, off + 4, v >>> 32, order);
        }
    }

    /** Bytes of padding that bring {@code n} to a multiple of 4. */
    static int pad4(long n) {
        return (int) (-n & 3);
    }
}
