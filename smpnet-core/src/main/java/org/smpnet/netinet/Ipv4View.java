package org.smpnet.netinet;

import org.smpnet.net.InAddr;
import org.smpnet.net.InCksum;

/**
 * IPv4 header fields ({@code struct ip}) read and written in place over packet bytes. No validation:
 * see {@link Ipv4Repr#check} and {@link Ipv4Repr#parse}.
 */
public record Ipv4View(byte[] buf, int off) {
    /** Length of a header without options. */
    public static final int MIN_HEADER_LEN = 20;
    /** Longest header: IHL 15. */
    public static final int MAX_HEADER_LEN = 60;
    public static final int MAXPACKET = 65535;

    /** Fragment flags in the flags/offset word ({@code IP_DF}, {@code IP_MF}) and the offset mask. */
    public static final int IP_RF = 0x8000;
    public static final int IP_DF = 0x4000;
    public static final int IP_MF = 0x2000;
    public static final int IP_OFFMASK = 0x1fff;

    public int version() {
        return (buf[off] & 0xff) >>> 4;
    }

    /** Header length in bytes (IHL times 4). */
    public int hlen() {
        return (buf[off] & 0x0f) << 2;
    }

    public int tos() {
        return buf[off + 1] & 0xff;
    }

    public int totalLength() {
        return u16(2);
    }

    public int id() {
        return u16(4);
    }

    /** The flags and fragment-offset word as on the wire. */
    public int offWord() {
        return u16(6);
    }

    public boolean df() {
        return (offWord() & IP_DF) != 0;
    }

    public boolean mf() {
        return (offWord() & IP_MF) != 0;
    }

    /** Fragment offset in bytes. */
    public int fragOffset() {
        return (offWord() & IP_OFFMASK) << 3;
    }

    public int ttl() {
        return buf[off + 8] & 0xff;
    }

    public int protocol() {
        return buf[off + 9] & 0xff;
    }

    public int checksum() {
        return u16(10);
    }

    public InAddr src() {
        return InAddr.fromBytes(buf, off + 12);
    }

    public InAddr dst() {
        return InAddr.fromBytes(buf, off + 16);
    }

    /** True if the header checksum over {@link #hlen()} bytes verifies. */
    public boolean checksumOk() {
        return InCksum.cksum(buf, off, hlen()) == 0;
    }

    public void setVersionHlen(int version, int hlen) {
        buf[off] = (byte) ((version << 4) | (hlen >>> 2));
    }

    public void setTos(int tos) {
        buf[off + 1] = (byte) tos;
    }

    public void setTotalLength(int len) {
        put16(2, len);
    }

    public void setId(int id) {
        put16(4, id);
    }

    public void setOffWord(int w) {
        put16(6, w);
    }

    public void setTtl(int ttl) {
        buf[off + 8] = (byte) ttl;
    }

    public void setProtocol(int p) {
        buf[off + 9] = (byte) p;
    }

    public void setChecksum(int c) {
        put16(10, c);
    }

    public void setSrc(InAddr a) {
        a.toBytes(buf, off + 12);
    }

    public void setDst(InAddr a) {
        a.toBytes(buf, off + 16);
    }

    /** Recomputes the header checksum over {@link #hlen()} bytes. */
    public void fillChecksum() {
        setChecksum(0);
        setChecksum(InCksum.cksum(buf, off, hlen()));
    }

    private int u16(int at) {
        return ((buf[off + at] & 0xff) << 8) | (buf[off + at + 1] & 0xff);
    }

    private void put16(int at, int v) {
        buf[off + at] = (byte) (v >>> 8);
        buf[off + at + 1] = (byte) v;
    }
}
