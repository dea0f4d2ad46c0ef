package org.smpnet.net.bpf;

import java.io.IOException;
import java.nio.ByteOrder;
import java.util.List;
import java.util.OptionalInt;

/**
 * Reads a classic pcap file: a 24-byte header (magic, version, zone, sigfigs, snaplen, link type)
 * then records of a 16-byte header (seconds, micro- or nanoseconds, captured and original length)
 * and the captured bytes.
 *
 * <p>Checks, as libpcap does: version 2.0 to 2.4; a captured length no larger than the link type's
 * maximum (256 KiB for most); versions before 2.3 have the two lengths swapped, 2.3 when captured
 * exceeds original. Every failure is a {@link PcapFormatException}.
 *
 * <p>Not thread-safe: confined to one thread at a time; no locks.
 */
public final class PcapClassicReader implements PcapReader {
    static final int MAGIC_MICROS = 0xa1b2c3d4;
    static final int MAGIC_NANOS = 0xa1b23c4d;
    static final int HEADER_LENGTH = 24;
    static final int RECORD_HEADER_LENGTH = 16;

    private final PcapInput in;
    private final ByteOrder order;
    private final boolean nanos;
    private final int versionMajor;
    private final int versionMinor;
    private final int thiszone;
    private final long sigfigs;
    private final long snaplen;
    private final long linkTypeField;
    private final int linkType;
    private final long maxCaplen;
    private final byte[] recordHeader = new byte[RECORD_HEADER_LENGTH];
    private long records;
    private PcapFormatException failure;
    private boolean done;

    PcapClassicReader(PcapInput in) throws IOException {
        this.in = in;
        byte[] h = new byte[HEADER_LENGTH];
        int got = in.read(h, 0, HEADER_LENGTH);
        if (got < HEADER_LENGTH) {
            throw new PcapFormatException("truncated pcap file header: " + got + " of " + HEADER_LENGTH + " bytes", 0, 0);
        }
        int magic = PcapBytes.s32(h, 0, ByteOrder.BIG_ENDIAN);
        if (magic == MAGIC_MICROS || magic == MAGIC_NANOS) {
            order = ByteOrder.BIG_ENDIAN;
        } else if (Integer.reverseBytes(magic) == MAGIC_MICROS || Integer.reverseBytes(magic) == MAGIC_NANOS) {
            order = ByteOrder.LITTLE_ENDIAN;
            magic = Integer.reverseBytes(magic);
        } else {
            throw new PcapFormatException(String.format("not a pcap file: magic 0x%08x", magic), 0, 0);
        }
        nanos = magic == MAGIC_NANOS;
        versionMajor = PcapBytes.u16(h, 4, order);
        versionMinor = PcapBytes.u16(h, 6, order);
        if (versionMajor != 2 || versionMinor > 4) {
            throw new PcapFormatException("unsupported pcap version " + versionMajor + "." + versionMinor
                    + " (2.0 to 2.4 are)", 4, 0);
        }
        thiszone = PcapBytes.s32(h, 8, order);
        sigfigs = PcapBytes.u32(h, 12, order);
        snaplen = PcapBytes.u32(h, 16, order);
        linkTypeField = PcapBytes.u32(h, 20, order);
        linkType = (int) (linkTypeField & 0xFFFF);
        maxCaplen = maxSnaplen(linkType);
    }

    /** The largest captured length libpcap accepts for a link type. */
    static long maxSnaplen(int linkType) {
        return switch (linkType) {
            case 231 -> 128L << 20;     // D-Bus messages
            case 279 -> 8L << 20;       // EBHSCR
            case 249 -> 1L << 20;       // USBPcap
            default -> 256L << 10;
        };
    }

    @Override
    public PcapRecord next() throws IOException {
        if (failure != null) {
            throw failure;
        }
        if (done) {
            return null;
        }
        try {
            return readRecord();
        } catch (PcapFormatException e) {
            failure = e;
            throw e;
        }
    }

    private PcapRecord readRecord() throws IOException {
        long start = in.position();
        int got = in.read(recordHeader, 0, RECORD_HEADER_LENGTH);
        if (got == 0) {
            done = true;
            return null;
        }
        if (got < RECORD_HEADER_LENGTH) {
            throw new PcapFormatException("truncated record header: " + got + " of " + RECORD_HEADER_LENGTH
                    + " bytes", start, records);
        }
        long sec = PcapBytes.u32(recordHeader, 0, order);
        long frac = PcapBytes.u32(recordHeader, 4, order);
        long caplen = PcapBytes.u32(recordHeader, 8, order);
        long len = PcapBytes.u32(recordHeader, 12, order);
        if (versionMinor < 3 || (versionMinor == 3 && caplen > len)) {
            long t = caplen;    // old writers put the lengths the other way round
            caplen = len;
            len = t;
        }
        if (caplen > maxCaplen) {
            throw new PcapFormatException("captured length " + caplen + " exceeds the maximum " + maxCaplen
                    + " for link type " + linkType, start, records);
        }
        byte[] data = in.readExactly(caplen, "packet data", start, records);
        long ts = sec * 1_000_000_000L + frac * (nanos ? 1 : 1000);
        records++;
        return new PcapRecord(ts, linkType, data.length, len, data, 0, OptionalInt.empty(), List.of());
    }

    @Override
    public PcapFormat format() {
        return nanos ? PcapFormat.PCAP_NANOS : PcapFormat.PCAP_MICROS;
    }

    @Override
    public ByteOrder byteOrder() {
        return order;
    }

    @Override
    public int versionMajor() {
        return versionMajor;
    }

    @Override
    public int versionMinor() {
        return versionMinor;
    }

    @Override
    public List<Integer> linkTypes() {
        return List.of(linkType);
    }

    /** The header's link type field whole: link type in the low 16 bits, FCS length flags above. */
    public long linkTypeField() {
        return linkTypeField;
    }

    @Override
    public long snaplen() {
        return snaplen;
    }

    /** The header's time zone correction (always 0 in practice). */
    public int thiszone() {
        return thiszone;
    }

    public long sigfigs() {
        return sigfigs;
    }

    @Override
    public long recordsRead() {
        return records;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
