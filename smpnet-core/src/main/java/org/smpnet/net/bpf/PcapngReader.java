package org.smpnet.net.bpf;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Reads a pcapng file block by block ({@link #nextBlock()}) or packet by packet ({@link #next()}).
 *
 * <p>Every block is checked before use: total length at least 12 and a multiple of 4, no larger
 * than what the file still holds, equal at both ends; each fixed part fits; captured lengths fit
 * the block; options and name records lie inside the block; a packet names an interface its
 * section described; a section that states its length (not -1) holds exactly that many bytes,
 * checked when the next section or the end of the file comes. Sections may change byte order; interfaces are numbered per section. Custom,
 * decryption-secrets and unknown blocks are skipped by their length. Errors are
 * {@link PcapFormatException}s whose record index counts blocks from 0.
 *
 * <p>Not thread-safe: confined to one thread at a time; no locks.
 */
public final class PcapngReader implements PcapReader {
    static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;
    static final int EPB_FLAGS = 2;

    private final PcapInput in;
    private final List<PcapngSection> sections = new ArrayList<>();
    private final List<PcapngInterface> interfaces = new ArrayList<>();   // of the current section
    private final Set<Integer> linkTypes = new LinkedHashSet<>();
    private ByteOrder order = ByteOrder.BIG_ENDIAN;
    private long blocks;
    private long records;
    private PcapFormatException failure;
    private boolean done;
    private long sectionBodyStart;  // offset just past the current SHB
    private PcapngBlock pending;    // the first SHB, read when opening, until nextBlock returns it

    PcapngReader(PcapInput in) throws IOException {
        this.in = in;
        pending = readBlock();      // an SHB, or the error saying it is not
        if (pending == null) {
            throw new PcapFormatException("empty pcapng file", 0, 0);
        }
        blocks++;
    }

    @Override
    public PcapRecord next() throws IOException {
        for (PcapngBlock b = nextBlock(); b != null; b = nextBlock()) {
            if (b.packet().isPresent()) {
                return b.packet().get();
            }
        }
        return null;
    }

    /** The next block, or null at the end of the file; the first is the opening SHB. */
    public PcapngBlock nextBlock() throws IOException {
        if (pending != null) {
            PcapngBlock b = pending;
            pending = null;
            return b;
        }
        if (failure != null) {
            throw failure;
        }
        if (done) {
            return null;
        }
        try {
            PcapngBlock b = readBlock();
            if (b == null) {
                done = true;
            } else {
                blocks++;
            }
            return b;
        } catch (PcapFormatException e) {
            failure = e;
            throw e;
        }
    }

    private PcapngBlock readBlock() throws IOException {
        long start = in.position();
        byte[] head = new byte[12];
        int got = in.read(head, 0, 8);
        if (got == 0) {
            checkSectionLength(start);
            return null;
        }
        if (got < 8) {
            throw error("truncated block header: " + got + " of 8 bytes", start);
        }
        boolean shb = PcapBytes.s32(head, 0, ByteOrder.BIG_ENDIAN) == PcapngBlock.SHB;
        if (shb) {
            checkSectionLength(start);
            if (in.read(head, 8, 4) < 4) {
                throw error("truncated Section Header Block: no byte-order magic", start);
            }
            order = sectionOrder(head, start);
        } else if (sections.isEmpty()) {
            throw error(String.format("not a pcapng file: first block type 0x%08x is not a Section Header Block",
                    PcapBytes.s32(head, 0, ByteOrder.BIG_ENDIAN)), start);
        }
        int type = PcapBytes.s32(head, 0, order);
        long total = PcapBytes.u32(head, 4, order);
        checkTotalLength(type, total, start);
        int already = shb ? 4 : 0;
        byte[] rest = in.readExactly(total - 12 - already, PcapngBlock.typeName(type) + " body", start, blocks);
        byte[] body = rest;
        if (shb) {
            body = new byte[rest.length + 4];
            System.arraycopy(head, 8, body, 0, 4);
            System.arraycopy(rest, 0, body, 4, rest.length);
        }
        byte[] trailer = in.readExactly(4, PcapngBlock.typeName(type) + " trailer", start, blocks);
        long trailing = PcapBytes.u32(trailer, 0, order);
        if (trailing != total) {
            throw error("block total length " + total + " at start and " + trailing + " at end differ", start);
        }
        return parse(type, body, start, total);
    }

    /** At a section's end: a section that states its length must hold exactly that many bytes. */
    private void checkSectionLength(long end) throws PcapFormatException {
        if (sections.isEmpty()) {
            return;
        }
        PcapngSection s = sections.getLast();
        long held = end - sectionBodyStart;
        if (s.sectionLength() != -1 && s.sectionLength() != held) {
            throw error("section " + s.index() + " states a length of " + s.sectionLength() + " bytes but holds "
                    + held, s.offset());
        }
    }

    private ByteOrder sectionOrder(byte[] head, long start) throws PcapFormatException {
        int bom = PcapBytes.s32(head, 8, ByteOrder.BIG_ENDIAN);
        if (bom == BYTE_ORDER_MAGIC) {
            return ByteOrder.BIG_ENDIAN;
        }
        if (bom == Integer.reverseBytes(BYTE_ORDER_MAGIC)) {
            return ByteOrder.LITTLE_ENDIAN;
        }
        throw error(String.format("bad byte-order magic 0x%08x in Section Header Block", bom), start);
    }

    private void checkTotalLength(int type, long total, long start) throws PcapFormatException {
        if (total % 4 != 0) {
            throw error("block total length " + total + " is not a multiple of 4", start);
        }
        long min = 12L + fixedBodyLength(type);
        if (total < min) {
            throw error(PcapngBlock.typeName(type) + " total length " + total + " is below its minimum " + min, start);
        }
    }

    /** Bytes of a block's body before its variable part. */
    private static int fixedBodyLength(int type) {
        return switch (type) {
            case PcapngBlock.SHB -> 16;
            case PcapngBlock.IDB -> 8;
            case PcapngBlock.EPB, PcapngBlock.PB -> 20;
            case PcapngBlock.SPB, PcapngBlock.CB, PcapngBlock.DCB -> 4;
            case PcapngBlock.ISB -> 12;
            case PcapngBlock.DSB -> 8;
            default -> 0;
        };
    }

    private PcapngBlock parse(int type, byte[] body, long start, long total) throws PcapFormatException {
        int section = sections.size() - 1;
        return switch (type) {
            case PcapngBlock.SHB -> parseSectionHeader(body, start, total);
            case PcapngBlock.IDB -> parseInterface(body, start, total, section);
            case PcapngBlock.EPB, PcapngBlock.PB -> parsePacket(type, body, start, total, section);
            case PcapngBlock.SPB -> parseSimplePacket(body, start, total, section);
            case PcapngBlock.ISB -> new PcapngBlock(type, start, total, section,
                    (int) Math.min(PcapBytes.u32(body, 0, order), Integer.MAX_VALUE),
                    options(body, 12, start, type), Optional.empty(), List.of());
            case PcapngBlock.NRB -> parseNames(body, start, total, section);
            default -> new PcapngBlock(type, start, total, section, -1, List.of(), Optional.empty(), List.of());
        };
    }

    private PcapngBlock parseSectionHeader(byte[] body, long start, long total) throws PcapFormatException {
        int major = PcapBytes.u16(body, 4, order);
        int minor = PcapBytes.u16(body, 6, order);
        if (major != 1 || (minor != 0 && minor != 2)) {
            throw error("unsupported pcapng version " + major + "." + minor + " (1.0 is)", start);
        }
        long sectionLength = PcapBytes.s64(body, 8, order);
        if (sectionLength < -1 || (sectionLength != -1 && sectionLength % 4 != 0)) {
            throw error("section length " + sectionLength + " is neither -1 nor a multiple of 4", start);
        }
        List<PcapngOption> opts = options(body, 16, start, PcapngBlock.SHB);
        sections.add(new PcapngSection(sections.size(), start, order, major, minor, sectionLength, opts));
        sectionBodyStart = start + total;
        interfaces.clear();
        return new PcapngBlock(PcapngBlock.SHB, start, total, sections.size() - 1, -1, opts, Optional.empty(),
                List.of());
    }

    private PcapngBlock parseInterface(byte[] body, long start, long total, int section) throws PcapFormatException {
        int linkType = PcapBytes.u16(body, 0, order);
        long snaplen = PcapBytes.u32(body, 4, order);
        List<PcapngOption> opts = options(body, 8, start, PcapngBlock.IDB);
        int tsresol = PcapngInterface.DEFAULT_TSRESOL;
        long tsoffset = 0;
        String name = "";
        String description = "";
        for (PcapngOption o : opts) {
            switch (o.code()) {
                case PcapngInterface.IF_TSRESOL -> tsresol = fixedOption(o, 1, start, "if_tsresol")[0] & 0xff;
                case PcapngInterface.IF_TSOFFSET -> tsoffset = PcapBytes.s64(fixedOption(o, 8, start, "if_tsoffset"), 0, order);
                case PcapngInterface.IF_NAME -> name = o.text();
                case PcapngInterface.IF_DESCRIPTION -> description = o.text();
                default -> { }
            }
        }
        int id = interfaces.size();
        interfaces.add(new PcapngInterface(id, linkType, snaplen, tsresol, tsoffset, name, description, opts));
        linkTypes.add(linkType);
        return new PcapngBlock(PcapngBlock.IDB, start, total, section, id, opts, Optional.empty(), List.of());
    }

    private byte[] fixedOption(PcapngOption o, int length, long start, String what) throws PcapFormatException {
        if (o.length() != length) {
            throw error(what + " option has length " + o.length() + ", not " + length, start);
        }
        return o.value();
    }

    private PcapngBlock parsePacket(int type, byte[] body, long start, long total, int section)
            throws PcapFormatException {
        long ifid = type == PcapngBlock.EPB ? PcapBytes.u32(body, 0, order) : PcapBytes.u16(body, 0, order);
        PcapngInterface itf = iface(ifid, start);
        long ts = (PcapBytes.u32(body, 4, order) << 32) | PcapBytes.u32(body, 8, order);
        long caplen = PcapBytes.u32(body, 12, order);
        long len = PcapBytes.u32(body, 16, order);
        long room = body.length - 20L;
        if (caplen > room) {
            throw error(PcapngBlock.typeName(type) + " captured length " + caplen + " exceeds the " + room
                    + " bytes the block holds", start);
        }
        byte[] data = Arrays.copyOfRange(body, 20, 20 + (int) caplen);
        List<PcapngOption> opts = options(body, 20 + (int) caplen + PcapBytes.pad4(caplen), start, type);
        OptionalInt flags = OptionalInt.empty();
        List<String> comments = new ArrayList<>();
        for (PcapngOption o : opts) {
            if (o.code() == EPB_FLAGS) {
                flags = OptionalInt.of(PcapBytes.s32(fixedOption(o, 4, start, "epb_flags"), 0, order));
            } else if (o.code() == PcapngOption.OPT_COMMENT) {
                comments.add(o.text());
            }
        }
        PcapRecord r = new PcapRecord(itf.toNanos(ts), itf.linkType(), data.length, len, data, itf.id(), flags,
                comments);
        records++;
        return new PcapngBlock(type, start, total, section, itf.id(), opts, Optional.of(r), List.of());
    }

    private PcapngBlock parseSimplePacket(byte[] body, long start, long total, int section)
            throws PcapFormatException {
        PcapngInterface itf = iface(0, start);
        long len = PcapBytes.u32(body, 0, order);
        long caplen = Math.min(len, body.length - 4L);
        if (itf.snaplen() != 0) {
            caplen = Math.min(caplen, itf.snaplen());
        }
        byte[] data = Arrays.copyOfRange(body, 4, 4 + (int) caplen);
        PcapRecord r = new PcapRecord(0, itf.linkType(), data.length, len, data, 0, OptionalInt.empty(), List.of());
        records++;
        return new PcapngBlock(PcapngBlock.SPB, start, total, section, 0, List.of(), Optional.of(r), List.of());
    }

    private PcapngInterface iface(long id, long start) throws PcapFormatException {
        if (id >= interfaces.size()) {
            throw error("packet names interface " + id + " but its section describes " + interfaces.size(), start);
        }
        return interfaces.get((int) id);
    }

    private PcapngBlock parseNames(byte[] body, long start, long total, int section) throws PcapFormatException {
        List<PcapngNameRecord> names = new ArrayList<>();
        int p = 0;
        while (true) {
            if (body.length - p < 4) {
                if (p == body.length) {
                    break;      // no end record, no options: tolerated as Wireshark does
                }
                throw error("NRB record header at body offset " + p + " runs past the block", start);
            }
            int rtype = PcapBytes.u16(body, p, order);
            int rlen = PcapBytes.u16(body, p + 2, order);
            if (rtype == PcapngNameRecord.END) {
                p += 4;
                break;
            }
            int padded = rlen + PcapBytes.pad4(rlen);
            if (padded > body.length - p - 4) {
                throw error("NRB record of type " + rtype + " and length " + rlen + " runs past the block", start);
            }
            names.add(nameRecord(rtype, Arrays.copyOfRange(body, p + 4, p + 4 + rlen), start));
            p += 4 + padded;
        }
        List<PcapngOption> opts = options(body, p, start, PcapngBlock.NRB);
        return new PcapngBlock(PcapngBlock.NRB, start, total, section, -1, opts, Optional.empty(), names);
    }

    private PcapngNameRecord nameRecord(int type, byte[] value, long start) throws PcapFormatException {
        int alen = PcapngNameRecord.addressLength(type);
        if (alen < 0) {
            return new PcapngNameRecord(type, value, List.of());
        }
        if (value.length < alen) {
            throw error("NRB record of type " + type + " has " + value.length + " bytes, less than its "
                    + alen + "-byte address", start);
        }
        List<String> names = new ArrayList<>();
        int from = alen;
        for (int i = alen; i < value.length; i++) {
            if (value[i] == 0) {
                names.add(new String(value, from, i - from, StandardCharsets.UTF_8));
                from = i + 1;
            }
        }
        if (from < value.length) {
            names.add(new String(value, from, value.length - from, StandardCharsets.UTF_8));
        }
        return new PcapngNameRecord(type, Arrays.copyOf(value, alen), names);
    }

    /** Parses options from {@code from} to the end of the body (or opt_endofopt). */
    private List<PcapngOption> options(byte[] body, int from, long start, int type) throws PcapFormatException {
        List<PcapngOption> opts = new ArrayList<>();
        int p = from;
        while (p < body.length) {
            if (body.length - p < 4) {
                throw error(PcapngBlock.typeName(type) + " option header at body offset " + p
                        + " runs past the block", start);
            }
            int code = PcapBytes.u16(body, p, order);
            int olen = PcapBytes.u16(body, p + 2, order);
            if (code == PcapngOption.OPT_ENDOFOPT) {
                break;
            }
            int padded = olen + PcapBytes.pad4(olen);
            if (padded > body.length - p - 4) {
                throw error(PcapngBlock.typeName(type) + " option " + code + " of length " + olen
                        + " runs past the block (" + (body.length - p - 4) + " bytes left)", start);
            }
            opts.add(new PcapngOption(code, Arrays.copyOfRange(body, p + 4, p + 4 + olen)));
            p += 4 + padded;
        }
        return opts;
    }

    private PcapFormatException error(String what, long start) {
        return new PcapFormatException(what, start, blocks);
    }

    /** Sections seen so far, in file order. */
    public List<PcapngSection> sections() {
        return List.copyOf(sections);
    }

    /** Interfaces of the current section, by id. */
    public List<PcapngInterface> interfaces() {
        return List.copyOf(interfaces);
    }

    /** Blocks read so far, the first SHB included. */
    public long blocksRead() {
        return blocks;
    }

    @Override
    public PcapFormat format() {
        return PcapFormat.PCAPNG;
    }

    @Override
    public ByteOrder byteOrder() {
        return order;
    }

    @Override
    public int versionMajor() {
        return sections.getLast().versionMajor();
    }

    @Override
    public int versionMinor() {
        return sections.getLast().versionMinor();
    }

    @Override
    public List<Integer> linkTypes() {
        return List.copyOf(linkTypes);
    }

    @Override
    public long snaplen() {
        return interfaces.isEmpty() ? 0 : interfaces.getFirst().snaplen();
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
