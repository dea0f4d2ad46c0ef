package org.smpnet.net;

/** Ethernet II header fields read and written in place. No validation: see {@link EtherRepr#parse}. */
public record EtherView(byte[] buf, int off) {
    public static final int HEADER_LEN = 14;

    public MacAddr dst() {
        return MacAddr.read(buf, off);
    }

    public MacAddr src() {
        return MacAddr.read(buf, off + 6);
    }

    public int type() {
        return ((buf[off + 12] & 0xff) << 8) | (buf[off + 13] & 0xff);
    }

    public boolean dstIsMulticast() {
        return (buf[off] & 1) != 0;
    }

    public boolean dstIsBroadcast() {
        for (int i = 0; i < 6; i++) {
            if (buf[off + i] != (byte) 0xff) {
                return false;
            }
        }
        return true;
    }

    public void setDst(MacAddr a) {
        a.write(buf, off);
    }

    public void setSrc(MacAddr a) {
        a.write(buf, off + 6);
    }

    public void setType(int type) {
        buf[off + 12] = (byte) (type >>> 8);
        buf[off + 13] = (byte) type;
    }
}
