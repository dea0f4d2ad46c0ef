package org.smpnet.net.bpf;

import java.math.BigInteger;
import java.util.List;

/**
 * A pcapng Interface Description Block: the link type, snaplen and timestamp scale of the packets
 * that name this interface.
 *
 * @param id the index of this interface within its section
 * @param linkType LINKTYPE_ value
 * @param snaplen maximum bytes captured per packet, 0 = no limit
 * @param tsresol the raw {@code if_tsresol} byte: bit 7 clear means 10^-n seconds per unit, set
 *     means 2^-n; 6 (microseconds) when the option is absent
 * @param tsoffsetSeconds {@code if_tsoffset}, added to every timestamp; 0 when absent
 * @param name {@code if_name}, or "" when absent
 * @param description {@code if_description}, or "" when absent
 * @param options all options of the block, in file order
 */
public record PcapngInterface(int id, int linkType, long snaplen, int tsresol, long tsoffsetSeconds, String name,
        String description, List<PcapngOption> options) {
    public static final int IF_NAME = 2;
    public static final int IF_DESCRIPTION = 3;
    public static final int IF_TSRESOL = 9;
    public static final int IF_FCSLEN = 13;
    public static final int IF_TSOFFSET = 14;
    /** {@code if_tsresol} when the option is absent: microseconds. */
    public static final int DEFAULT_TSRESOL = 6;

    private static final BigInteger NANOS_PER_SECOND = BigInteger.valueOf(1_000_000_000L);
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    public PcapngInterface {
        options = List.copyOf(options);
        if ((tsresol & ~0xff) != 0) {
            throw new IllegalArgumentException("tsresol " + tsresol + " is not a byte");
        }
    }

    /** Timestamp units per second: 10^n or 2^n. */
    public BigInteger unitsPerSecond() {
        int n = tsresol & 0x7f;
        return (tsresol & 0x80) != 0 ? BigInteger.ONE.shiftLeft(n) : BigInteger.TEN.pow(n);
    }

    /**
     * Converts a raw 64-bit timestamp (unsigned units of {@link #unitsPerSecond()}) to nanoseconds
     * since the epoch, adding {@link #tsoffsetSeconds()}; saturates at the range of a long.
     */
    public long toNanos(long units) {
        long base;
        if (tsresol == 6 && units >= 0) {
            base = saturatedMultiply(units, 1000);
        } else if (tsresol == 9 && units >= 0) {
            base = units;
        } else {
            BigInteger n = new BigInteger(Long.toUnsignedString(units)).multiply(NANOS_PER_SECOND)
                    .divide(unitsPerSecond());
            base = n.compareTo(LONG_MAX) > 0 ? Long.MAX_VALUE : n.longValue();
        }
        return saturatedAdd(base, saturatedMultiply(tsoffsetSeconds, 1_000_000_000L));
    }

    /** Converts nanoseconds since the epoch to raw units (the writer's inverse of {@link #toNanos}). */
    long fromNanos(long nanos) {
        BigInteger n = BigInteger.valueOf(nanos).subtract(BigInteger.valueOf(tsoffsetSeconds).multiply(NANOS_PER_SECOND));
        return n.multiply(unitsPerSecond()).divide(NANOS_PER_SECOND).longValue();
    }

    private static long saturatedMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if ((hi == 0 && lo >= 0) || (hi == -1 && lo < 0)) {
            return lo;
        }
        return (a < 0) == (b < 0) ? Long.MAX_VALUE : Long.MIN_VALUE;
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }
}
