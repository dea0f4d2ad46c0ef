package org.smpnet.net.bpf;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One captured packet from a pcap or pcapng file, or to be written to one.
 *
 * @param timestampNanos nanoseconds since the Unix epoch (pcapng: scaled by the interface's
 *     {@code if_tsresol} and shifted by its {@code if_tsoffset}, saturated at the range of a long;
 *     0 for a Simple Packet Block, which carries no time)
 * @param linkType the LINKTYPE_ value of the packet's interface (1 = Ethernet)
 * @param capturedLength bytes captured, always {@code data.length}
 * @param originalLength bytes on the wire (unsigned 32-bit in both formats, hence a long)
 * @param data the captured bytes; the record owns the array
 * @param interfaceId the pcapng interface (index within its section); 0 for pcap
 * @param flags pcapng {@code epb_flags} when present
 * @param comments pcapng {@code opt_comment} values, in file order
 */
@SuppressWarnings("ArrayRecordComponent") // equals/hashCode compare the bytes; the array is owned, not copied, for speed
public record PcapRecord(long timestampNanos, int linkType, int capturedLength, long originalLength,
        byte[] data, int interfaceId, OptionalInt flags, List<String> comments) {

    public PcapRecord {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(flags, "flags");
        comments = List.copyOf(comments);
        if (capturedLength != data.length) {
            throw new IllegalArgumentException("capturedLength " + capturedLength + " != data.length " + data.length);
        }
        if (originalLength < 0 || originalLength > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("originalLength " + originalLength + " is not an unsigned 32-bit value");
        }
        if (interfaceId < 0) {
            throw new IllegalArgumentException("interfaceId " + interfaceId + " is negative");
        }
    }

    /** A record with the whole packet captured, on interface 0, with no flags or comments. */
    public static PcapRecord of(long timestampNanos, int linkType, byte[] data) {
        return new PcapRecord(timestampNanos, linkType, data.length, data.length, data, 0, OptionalInt.empty(),
                List.of());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcapRecord r
                && timestampNanos == r.timestampNanos && linkType == r.linkType
                && capturedLength == r.capturedLength && originalLength == r.originalLength
                && interfaceId == r.interfaceId && Arrays.equals(data, r.data)
                && flags.equals(r.flags) && comments.equals(r.comments);
    }

    @Override
    public int hashCode() {
        return Objects.hash(timestampNanos, linkType, originalLength, interfaceId, Arrays.hashCode(data), flags,
                comments);
    }

    @Override
    public String toString() {
        return "PcapRecord[ts=" + timestampNanos + "ns, linkType=" + linkType + ", caplen=" + capturedLength
                + ", len=" + originalLength + ", if=" + interfaceId + ", flags=" + flags + ", comments=" + comments
                + "]";
    }
}
