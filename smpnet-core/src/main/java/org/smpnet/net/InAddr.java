package org.smpnet.net;

/**
 * An IPv4 address ({@code struct in_addr}) held as an {@code int} in network bit order: the first dotted octet is
 * the most significant byte. Immutable; compares by value.
 */
public record InAddr(int bits) implements Comparable<InAddr> {
    public static final InAddr ANY = new InAddr(0);
    public static final InAddr BROADCAST = new InAddr(0xffffffff);
    public static final InAddr LOOPBACK = new InAddr(0x7f000001);

    /** The address of a dotted quad such as {@code "10.0.0.1"}. */
    public static InAddr parse(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: '" + s + "'");
        }
        int v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not an IPv4 address: '" + s + "'");
            }
            int octet = Integer.parseInt(p);
            if (octet > 255) {
                throw new IllegalArgumentException("octet out of range in '" + s + "'");
            }
            v = (v << 8) | octet;
        }
        return new InAddr(v);
    }

    /** The address stored big-endian at {@code b[off..off+3]}. */
    public static InAddr fromBytes(byte[] b, int off) {
        return of(((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8)
                | (b[off + 3] & 0xff));
    }

    /**
     * Addresses decoded lately, by a hash of their bits: the headers of a host's traffic carry few distinct
     * addresses, so decoding one per packet mostly finds its object here instead of allocating it. Racy by
     * design and safe: an {@code InAddr} is immutable with a final field, so a reader sees a complete
     * address (its own or another slot's, which the bits check rejects).
     */
    private static final InAddr[] RECENT = new InAddr[256];

    /** The address with these bits (an equal one, maybe shared: compare with {@code equals}, as always). */
    public static InAddr of(int bits) {
        int slot = (bits * 0x9E3779B9) >>> 24;
        InAddr a = RECENT[slot];
        if (a != null && a.bits == bits) {
            return a;
        }
        a = new InAddr(bits);
        RECENT[slot] = a;
        return a;
    }

    /** The netmask of a prefix length 0..32 ({@code /24} is 255.255.255.0). */
    public static InAddr netmask(int prefixLen) {
        if (prefixLen < 0 || prefixLen > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLen + " not in 0..32");
        }
        return new InAddr(prefixLen == 0 ? 0 : -1 << (32 - prefixLen));
    }

    /** Stores the address big-endian at {@code b[off..off+3]}. */
    public void toBytes(byte[] b, int off) {
        b[off] = (byte) (bits >>> 24);
        b[off + 1] = (byte) (bits >>> 16);
        b[off + 2] = (byte) (bits >>> 8);
        b[off + 3] = (byte) bits;
    }

    public boolean isAny() {
        return bits == 0;
    }

    /** 224.0.0.0/4. */
    public boolean isMulticast() {
        return (bits & 0xf0000000) == 0xe0000000;
    }

    /** 255.255.255.255 (the limited broadcast address). */
    public boolean isLimitedBroadcast() {
        return bits == -1;
    }

    /** 127.0.0.0/8. */
    public boolean isLoopback() {
        return (bits >>> 24) == 127;
    }

    /** This address with the bits outside {@code mask} cleared. */
    public InAddr and(InAddr mask) {
        return new InAddr(bits & mask.bits);
    }

    /** The number of leading one bits if this is a contiguous netmask, else -1. */
    public int prefixLength() {
        int n = Integer.numberOfLeadingZeros(~bits);
        int mask = n == 0 ? 0 : -1 << (32 - n);
        return mask == bits ? n : -1;
    }

    @Override
    public int compareTo(InAddr o) {
        return Integer.compareUnsigned(bits, o.bits);
    }

    @Override
    public String toString() {
        return (bits >>> 24) + "." + ((bits >>> 16) & 0xff) + "." + ((bits >>> 8) & 0xff) + "." + (bits & 0xff);
    }
}
