package org.smpnet.netinet;

import org.smpnet.net.InCksum;

/** ICMP header fields ({@code struct icmp}) in place over message bytes. No validation: see {@link IcmpRepr#parse}. */
public record IcmpView(byte[] buf, int off) {
    public static final int HEADER_LEN = 8;

    public int type() {
        return buf[off] & 0xff;
    }

    public int code() {
        return buf[off + 1] & 0xff;
    }

    public int checksum() {
        return u16(2);
    }

    /** The 32-bit rest of the header (identifier and sequence, pointer, gateway or next-hop MTU). */
    public int rest() {
        return (u16(4) << 16) | u16(6);
    }

    public int id() {
        return u16(4);
    }

    public int seq() {
        return u16(6);
    }

    /** Parameter-problem pointer. */
    public int pointer() {
        return buf[off + 4] & 0xff;
    }

    /** Next-hop MTU of a needs-fragmentation message (RFC 1191). */
    public int nextMtu() {
        return u16(6);
    }

    public void setType(int t) {
        buf[off] = (byte) t;
    }

    public void setCode(int c) {
        buf[off + 1] = (byte) c;
    }

    public void setChecksum(int c) {
        buf[off + 2] = (byte) (c >>> 8);
        buf[off + 3] = (byte) c;
    }

    public void setRest(int r) {
        buf[off + 4] = (byte) (r >>> 24);
        buf[off + 5] = (byte) (r >>> 16);
        buf[off + 6] = (byte) (r >>> 8);
        buf[off + 7] = (byte) r;
    }

    /** Recomputes the checksum over the {@code len} bytes of the message. */
    public void fillChecksum(int len) {
        setChecksum(0);
        setChecksum(InCksum.cksum(buf, off, len));
    }

    private int u16(int at) {
        return ((buf[off + at] & 0xff) << 8) | (buf[off + at + 1] & 0xff);
    }
}
