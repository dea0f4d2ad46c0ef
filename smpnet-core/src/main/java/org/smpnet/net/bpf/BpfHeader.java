package org.smpnet.net.bpf;

/**
 * One record of a BPF read buffer ({@code struct bpf_hdr}), little-endian: seconds (4), microseconds
 * (4), captured length (4), wire length (4), header length (2), then padding to {@link #HDRLEN}; the
 * packet bytes follow, and the next record starts at the next multiple of {@link #ALIGNMENT}.
 */
public record BpfHeader(long seconds, int micros, int caplen, int datalen, int hdrlen) {
    /** Header length as written (18 bytes of fields, padded). */
    public static final int HDRLEN = 20;
    /** Record alignment ({@code BPF_ALIGNMENT}: sizeof(long)). */
    public static final int ALIGNMENT = 8;

    public static int wordAlign(int n) {
        return (n + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** Bytes one record of {@code caplen} captured bytes takes in a buffer, padding included. */
    public static int recordSize(int caplen) {
        return wordAlign(HDRLEN + caplen);
    }

    static void write(byte[] b, int off, long nanos, int caplen, int datalen) {
        long sec = nanos / 1_000_000_000L;
        int usec = (int) (nanos % 1_000_000_000L / 1000);
        putInt(b, off, (int) sec);
        putInt(b, off + 4, usec);
        putInt(b, off + 8, caplen);
        putInt(b, off + 12, datalen);
        b[off + 16] = (byte) HDRLEN;
        b[off + 17] = 0;
    }

    /**
     * Reads the record header at {@code off} of a buffer returned by {@link BpfDescriptor#read}.
     *
     * @throws IllegalArgumentException if the header or its data would run past {@code end}
     */
    public static BpfHeader read(byte[] b, int off, int end) {
        if (off < 0 || off + HDRLEN > end) {
            throw new IllegalArgumentException("bpf record header at " + off + " runs past " + end);
        }
        BpfHeader h = new BpfHeader(getInt(b, off) & 0xffff_ffffL, getInt(b, off + 4), getInt(b, off + 8),
                getInt(b, off + 12), (b[off + 16] & 0xff) | (b[off + 17] & 0xff) << 8);
        if (h.caplen < 0 || h.hdrlen < 18 || off + h.hdrlen + h.caplen > end) {
            throw new IllegalArgumentException("bpf record at " + off + " is malformed: " + h);
        }
        return h;
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    private static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }
}
