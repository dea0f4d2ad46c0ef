package org.smpnet.netinet;

import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;

/**
 * ARP packet fields ({@code struct arphdr} + Ethernet/IPv4 addresses) in place. The address accessors
 * assume 6-byte hardware and 4-byte protocol addresses; check {@link #hln()}/{@link #pln()} first
 * (see {@link ArpRepr#parse}).
 */
public record ArpView(byte[] buf, int off) {
    /** Fixed part: hardware type, protocol type, lengths, opcode. */
    public static final int FIXED_LEN = 8;
    /** A whole Ethernet/IPv4 ARP packet. */
    public static final int LEN = 28;

    public int hrd() {
        return u16(0);
    }

    public int pro() {
        return u16(2);
    }

    public int hln() {
        return buf[off + 4] & 0xff;
    }

    public int pln() {
        return buf[off + 5] & 0xff;
    }

    public int op() {
        return u16(6);
    }

    public MacAddr sha() {
        return MacAddr.read(buf, off + 8);
    }

    public InAddr spa() {
        return InAddr.fromBytes(buf, off + 14);
    }

    public MacAddr tha() {
        return MacAddr.read(buf, off + 18);
    }

    public InAddr tpa() {
        return InAddr.fromBytes(buf, off + 24);
    }

    public void setFixed(int hrd, int pro, int hln, int pln, int op) {
        put16(0, hrd);
        put16(2, pro);
        buf[off + 4] = (byte) hln;
        buf[off + 5] = (byte) pln;
        put16(6, op);
    }

    public void setAddrs(MacAddr sha, InAddr spa, MacAddr tha, InAddr tpa) {
        sha.write(buf, off + 8);
        spa.toBytes(buf, off + 14);
        tha.write(buf, off + 18);
        tpa.toBytes(buf, off + 24);
    }

    private int u16(int at) {
        return ((buf[off + at] & 0xff) << 8) | (buf[off + at + 1] & 0xff);
    }

    private void put16(int at, int v) {
        buf[off + at] = (byte) (v >>> 8);
        buf[off + at + 1] = (byte) v;
    }
}
