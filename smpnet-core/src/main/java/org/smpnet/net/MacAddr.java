package org.smpnet.net;

import java.util.HexFormat;

/** An IEEE 802 MAC address held in the low 48 bits of a long. */
public record MacAddr(long bits) {
    public static final MacAddr BROADCAST = new MacAddr(0xffff_ffff_ffffL);
    public static final MacAddr ZERO = new MacAddr(0);

    public MacAddr {
        if ((bits & ~0xffff_ffff_ffffL) != 0) {
            throw new IllegalArgumentException("MAC address wider than 48 bits: " + Long.toHexString(bits));
        }
    }

    /** Reads 6 bytes at {@code off}. */
    public static MacAddr read(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return new MacAddr(v);
    }

    public static MacAddr of(byte[] six) {
        if (six.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + six.length);
        }
        return read(six, 0);
    }

    /**
     * Parses {@code 02:00:00:00:00:01} (also with '-' separators).
     *
     * @throws IllegalArgumentException naming the text when it is not a MAC address
     */
    public static MacAddr parse(String s) {
        String[] parts = s.split("[:-]", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("bad MAC address '" + s + "': expected six hex bytes");
        }
        long v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2 || !p.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new IllegalArgumentException("bad MAC address '" + s + "': '" + p + "' is not a hex byte");
            }
            v = (v << 8) | Integer.parseInt(p, 16);
        }
        return new MacAddr(v);
    }

    /** A locally administered unicast address built from a 32-bit id (for pseudo-interfaces). */
    public static MacAddr local(int id) {
        return new MacAddr(0x0200_0000_0000L | (id & 0xffff_ffffL));
    }

    public void write(byte[] b, int off) {
        for (int i = 5; i >= 0; i--) {
            b[off + i] = (byte) (bits >>> (8 * (5 - i)));
        }
    }

    public byte[] bytes() {
        byte[] b = new byte[6];
        write(b, 0);
        return b;
    }

    public boolean isBroadcast() {
        return bits == BROADCAST.bits;
    }

    /** Group bit set (broadcast included). */
    public boolean isMulticast() {
        return (bits & 0x0100_0000_0000L) != 0;
    }

    @Override
    public String toString() {
        return HexFormat.ofDelimiter(":").formatHex(bytes());
    }
}
