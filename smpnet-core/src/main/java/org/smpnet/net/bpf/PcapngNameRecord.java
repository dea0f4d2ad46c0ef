package org.smpnet.net.bpf;

import java.util.Arrays;
import java.util.List;

/**
 * One record of a pcapng Name Resolution Block: an address and the names it resolves to.
 *
 * @param type {@link #IPV4} (1), {@link #IPV6} (2), {@link #EUI48} (3), {@link #EUI64} (4) or
 *     another value, whose whole value is then kept as {@code address} with no names
 * @param address the address bytes (4, 16, 6 or 8 bytes for the known types)
 * @param names the zero-terminated names that follow the address
 */
@SuppressWarnings("ArrayRecordComponent") // equals/hashCode compare the bytes; the array is copied in and out
public record PcapngNameRecord(int type, byte[] address, List<String> names) {
    public static final int END = 0;
    public static final int IPV4 = 1;
    public static final int IPV6 = 2;
    public static final int EUI48 = 3;
    public static final int EUI64 = 4;

    public PcapngNameRecord {
        address = address.clone();
        names = List.copyOf(names);
    }

    @Override
    public byte[] address() {
        return address.clone();
    }

    /** Address length for a known record type, or -1 for an unknown one. */
    static int addressLength(int type) {
        return switch (type) {
            case IPV4 -> 4;
            case IPV6 -> 16;
            case EUI48 -> 6;
            case EUI64 -> 8;
            default -> -1;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcapngNameRecord r && r.type == type && Arrays.equals(r.address, address)
                && r.names.equals(names);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * type + Arrays.hashCode(address)) + names.hashCode();
    }
}
