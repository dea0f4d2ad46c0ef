package org.smpnet.net.bpf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes a pcapng file: one Section Header Block (section length unspecified, {@code shb_userappl}
 * "smpnet"), Interface Description Blocks as {@link #addInterface} is called, and an Enhanced Packet
 * Block per packet carrying its {@code epb_flags} and comments.
 *
 * <p>Not thread-safe: use from one thread at a time; no locks.
 */
public final class PcapngWriter implements PcapWriter {
    private final OutputStream out;
    private final ByteOrder order;
    private final List<PcapngInterface> interfaces = new ArrayList<>();

    /** Writes the SHB now; the writer owns {@code out} and closes it. */
    public PcapngWriter(OutputStream out, ByteOrder order) throws IOException {
        this.out = Objects.requireNonNull(out, "out");
        this.order = Objects.requireNonNull(order, "order");
        byte[] fixed = new byte[16];
        PcapBytes.put32(fixed, 0, PcapngReader.BYTE_ORDER_MAGIC, order);
        PcapBytes.put16(fixed, 4, 1, order);
        PcapBytes.put16(fixed, 6, 0, order);
        PcapBytes.put64(fixed, 8, -1, order);
        List<PcapngOption> opts = List.of(new PcapngOption(PcapngSection.SHB_USERAPPL,
                "smpnet".getBytes(StandardCharsets.UTF_8)));
        block(PcapngBlock.SHB, fixed, new byte[0], opts);
        out.flush();
    }

    /**
     * Describes an interface and returns its id. {@code tsresolDecimal} is the timestamp unit as a
     * negative power of ten: 6 for microseconds, 9 for nanoseconds (written as {@code if_tsresol}).
     */
    public int addInterface(int linkType, int snaplen, int tsresolDecimal, String name) throws IOException {
        if (linkType < 0 || linkType > 0xFFFF) {
            throw new IllegalArgumentException("link type " + linkType + " is not 0..65535");
        }
        if (snaplen < 0) {
            throw new IllegalArgumentException("snaplen " + snaplen + " is negative");
        }
        if (tsresolDecimal < 0 || tsresolDecimal > 9) {
            throw new IllegalArgumentException("tsresol 10^-" + tsresolDecimal + " is not 10^-0..10^-9");
        }
        List<PcapngOption> opts = new ArrayList<>();
        if (!name.isEmpty()) {
            opts.add(new PcapngOption(PcapngInterface.IF_NAME, name.getBytes(StandardCharsets.UTF_8)));
        }
        if (tsresolDecimal != PcapngInterface.DEFAULT_TSRESOL) {
            opts.add(new PcapngOption(PcapngInterface.IF_TSRESOL, new byte[] {(byte) tsresolDecimal}));
        }
        byte[] fixed = new byte[8];
        PcapBytes.put16(fixed, 0, linkType, order);
        PcapBytes.put32(fixed, 4, snaplen, order);
        block(PcapngBlock.IDB, fixed, new byte[0], opts);
        int id = interfaces.size();
        interfaces.add(new PcapngInterface(id, linkType, snaplen, tsresolDecimal, 0, name, "", opts));
        out.flush();
        return id;
    }

    @Override
    public void write(PcapRecord r) throws IOException {
        if (r.interfaceId() >= interfaces.size()) {
            throw new IllegalArgumentException("record names interface " + r.interfaceId() + " but "
                    + interfaces.size() + " were added");
        }
        PcapngInterface itf = interfaces.get(r.interfaceId());
        if (r.linkType() != itf.linkType()) {
            throw new IllegalArgumentException("record link type " + r.linkType() + " differs from interface "
                    + itf.id() + "'s " + itf.linkType());
        }
        if (itf.snaplen() != 0 && r.capturedLength() > itf.snaplen()) {
            throw new IllegalArgumentException("captured length " + r.capturedLength() + " exceeds snaplen "
                    + itf.snaplen());
        }
        if (r.originalLength() < r.capturedLength()) {
            throw new IllegalArgumentException("original length " + r.originalLength()
                    + " is less than captured length " + r.capturedLength());
        }
        if (r.timestampNanos() < 0) {
            throw new IllegalArgumentException("timestamp " + r.timestampNanos() + " ns is before the epoch");
        }
        long ts = itf.fromNanos(r.timestampNanos());
        byte[] fixed = new byte[20];
        PcapBytes.put32(fixed, 0, r.interfaceId(), order);
        PcapBytes.put32(fixed, 4, ts >>> 32, order);
        PcapBytes.put32(fixed, 8, ts, order);
        PcapBytes.put32(fixed, 12, r.capturedLength(), order);
        PcapBytes.put32(fixed, 16, r.originalLength(), order);
        List<PcapngOption> opts = new ArrayList<>();
        for (String c : r.comments()) {
            opts.add(new PcapngOption(PcapngOption.OPT_COMMENT, c.getBytes(StandardCharsets.UTF_8)));
        }
        if (r.flags().isPresent()) {
            byte[] f = new byte[4];
            PcapBytes.put32(f, 0, r.flags().getAsInt(), order);
            opts.add(new PcapngOption(PcapngReader.EPB_FLAGS, f));
        }
        block(PcapngBlock.EPB, fixed, r.data(), opts);
        out.flush();
    }

    /** Emits one block: header, fixed part, padded data, options and opt_endofopt, trailer. */
    private void block(int type, byte[] fixed, byte[] data, List<PcapngOption> opts) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(fixed);
        body.write(data);
        body.write(new byte[PcapBytes.pad4(data.length)]);
        if (!opts.isEmpty()) {
            byte[] oh = new byte[4];
            for (PcapngOption o : opts) {
                if (o.length() > 0xFFFF) {
                    throw new IllegalArgumentException("option " + o.code() + " is longer than 65535 bytes");
                }
                PcapBytes.put16(oh, 0, o.code(), order);
                PcapBytes.put16(oh, 2, o.length(), order);
                body.write(oh);
                body.write(o.value());
                body.write(new byte[PcapBytes.pad4(o.length())]);
            }
            body.write(new byte[4]);     // opt_endofopt
        }
        byte[] head = new byte[8];
        long total = 12L + body.size();
        PcapBytes.put32(head, 0, type, order);
        PcapBytes.put32(head, 4, total, order);
        out.write(head);
        body.writeTo(out);
        out.write(head, 4, 4);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
