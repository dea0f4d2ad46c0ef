package org.smpnet.netinet;

import java.util.Arrays;
import org.smpnet.net.InCksum;
import org.smpnet.net.MalformedPacketException;

/**
 * A checked ICMP message: type, code, the 32-bit rest of the header and the data after it (for
 * errors, the quoted datagram).
 */
public record IcmpRepr(int type, int code, int rest, byte[] data) {
    public IcmpRepr {
        if (type < 0 || type > 255 || code < 0 || code > 255) {
            throw new IllegalArgumentException("ICMP type " + type + " / code " + code + " out of range");
        }
        data = data == null ? new byte[0] : data.clone();
    }

    public static IcmpRepr echo(int id, int seq, byte[] data) {
        return new IcmpRepr(Icmp.ECHO, 0, (id & 0xffff) << 16 | (seq & 0xffff), data);
    }

    public static IcmpRepr echoReply(int id, int seq, byte[] data) {
        return new IcmpRepr(Icmp.ECHOREPLY, 0, (id & 0xffff) << 16 | (seq & 0xffff), data);
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    public int id() {
        return rest >>> 16;
    }

    public int seq() {
        return rest & 0xffff;
    }

    public int length() {
        return IcmpView.HEADER_LEN + data.length;
    }

    /**
     * Parses the {@code len}-byte message at {@code v}.
     *
     * @throws MalformedPacketException if shorter than a header or the checksum fails
     */
    public static IcmpRepr parse(IcmpView v, int len) throws MalformedPacketException {
        if (len < IcmpView.HEADER_LEN) {
            throw new MalformedPacketException("ICMP message of " + len + " bytes is shorter than its header");
        }
        if (InCksum.cksum(v.buf(), v.off(), len) != 0) {
            throw new MalformedPacketException("ICMP checksum mismatch");
        }
        return new IcmpRepr(v.type(), v.code(), v.rest(),
                Arrays.copyOfRange(v.buf(), v.off() + IcmpView.HEADER_LEN, v.off() + len));
    }

    /** Writes the message and its checksum at {@code v} ({@link #length()} bytes). */
    public void emit(IcmpView v) {
        v.setType(type);
        v.setCode(code);
        v.setRest(rest);
        System.arraycopy(data, 0, v.buf(), v.off() + IcmpView.HEADER_LEN, data.length);
        v.fillChecksum(length());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IcmpRepr r && type == r.type && code == r.code && rest == r.rest && Arrays.equals(data, r.data);
    }

    @Override
    public int hashCode() {
        return (type * 31 + code) * 31 + rest;
    }

    @Override
    public String toString() {
        return "IcmpRepr[type " + type + " code " + code + " rest 0x" + Integer.toHexString(rest) + " data " + data.length + "]";
    }
}
