package org.smpnet.net.bpf;

import java.util.List;
import java.util.Optional;

/**
 * One block of a pcapng file, as {@link PcapngReader#nextBlock()} returns it.
 *
 * @param type the block type ({@link #SHB}, {@link #EPB}, ...)
 * @param offset byte offset of the block in the file
 * @param totalLength the block's total length, header and trailer included
 * @param section index of the section the block belongs to
 * @param interfaceId for an IDB the id it defines, for a packet block or ISB the interface it
 *     names, else -1
 * @param options the block's options; empty for blocks whose options we do not parse (custom,
 *     decryption secrets, unknown types)
 * @param packet the packet of an EPB, SPB or obsolete PB
 * @param nameRecords the records of an NRB
 */
public record PcapngBlock(int type, long offset, long totalLength, int section, int interfaceId,
        List<PcapngOption> options, Optional<PcapRecord> packet, List<PcapngNameRecord> nameRecords) {
    public static final int SHB = 0x0A0D0D0A;
    public static final int IDB = 1;
    /** The obsolete Packet Block. */
    public static final int PB = 2;
    public static final int SPB = 3;
    public static final int NRB = 4;
    public static final int ISB = 5;
    public static final int EPB = 6;
    /** Decryption Secrets Block. */
    public static final int DSB = 0x0A;
    /** Custom Block that may be copied. */
    public static final int CB = 0x0BAD;
    /** Custom Block that must not be copied. */
    public static final int DCB = 0x40000BAD;

    public PcapngBlock {
        options = List.copyOf(options);
        nameRecords = List.copyOf(nameRecords);
    }

    /** The usual short name of a block type ("EPB"), or its hex value for others. */
    public static String typeName(int type) {
        return switch (type) {
            case SHB -> "SHB";
            case IDB -> "IDB";
            case PB -> "PB";
            case SPB -> "SPB";
            case NRB -> "NRB";
            case ISB -> "ISB";
            case EPB -> "EPB";
            case DSB -> "DSB";
            case CB -> "CB";
            case DCB -> "DCB";
            default -> String.format("0x%08x", type);
        };
    }

    public String typeName() {
        return typeName(type);
    }

    /** The values of every {@code opt_comment} of the block. */
    public List<String> comments() {
        return options.stream().filter(o -> o.code() == PcapngOption.OPT_COMMENT).map(PcapngOption::text).toList();
    }
}
