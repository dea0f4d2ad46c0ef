package org.smpnet.net.bpf;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Writes a classic pcap file (version 2.4) with micro- or nanosecond timestamps. Microsecond files
 * drop the sub-microsecond part of each timestamp.
 *
 * <p>Not thread-safe: use from one thread at a time; no locks.
 */
public final class PcapClassicWriter implements PcapWriter {
    private final OutputStream out;
    private final ByteOrder order;
    private final int linkType;
    private final int snaplen;
    private final boolean nanos;
    private final byte[] header = new byte[PcapClassicReader.RECORD_HEADER_LENGTH];

    /** Writes the file header now; the writer owns {@code out} and closes it. */
    public PcapClassicWriter(OutputStream out, ByteOrder order, int linkType, int snaplen, boolean nanos)
            throws IOException {
        this.out = Objects.requireNonNull(out, "out");
        this.order = Objects.requireNonNull(order, "order");
        if (linkType < 0 || linkType > 0xFFFF) {
            throw new IllegalArgumentException("link type " + linkType + " is not 0..65535");
        }
        if (snaplen <= 0) {
            throw new IllegalArgumentException("snaplen " + snaplen + " must be positive");
        }
        this.linkType = linkType;
        this.snaplen = snaplen;
        this.nanos = nanos;
        byte[] h = new byte[PcapClassicReader.HEADER_LENGTH];
        PcapBytes.put32(h, 0, nanos ? PcapClassicReader.MAGIC_NANOS : PcapClassicReader.MAGIC_MICROS, order);
        PcapBytes.put16(h, 4, 2, order);
        PcapBytes.put16(h, 6, 4, order);
        PcapBytes.put32(h, 16, snaplen, order);
        PcapBytes.put32(h, 20, linkType, order);
        out.write(h);
        out.flush();
    }

    @Override
    public void write(PcapRecord r) throws IOException {
        if (r.linkType() != linkType) {
            throw new IllegalArgumentException("record link type " + r.linkType() + " differs from the file's "
                    + linkType);
        }
        if (r.capturedLength() > snaplen) {
            throw new IllegalArgumentException("captured length " + r.capturedLength() + " exceeds snaplen "
                    + snaplen);
        }
        if (r.originalLength() < r.capturedLength()) {
            throw new IllegalArgumentException("original length " + r.originalLength()
                    + " is less than captured length " + r.capturedLength());
        }
        long sec = Math.floorDiv(r.timestampNanos(), 1_000_000_000L);
        long frac = Math.floorMod(r.timestampNanos(), 1_000_000_000L);
        if (sec < 0 || sec > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("timestamp " + r.timestampNanos() + " ns is outside pcap's range");
        }
        PcapBytes.put32(header, 0, sec, order);
        PcapBytes.put32(header, 4, nanos ? frac : frac / 1000, order);
        PcapBytes.put32(header, 8, r.capturedLength(), order);
        PcapBytes.put32(header, 12, r.originalLength(), order);
        out.write(header);
        out.write(r.data());
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
