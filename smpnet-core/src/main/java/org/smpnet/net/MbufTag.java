package org.smpnet.net;

/**
 * A packet tag (FreeBSD {@code m_tag}): a typed blob hung off a packet header, identified by a
 * module cookie and a type within it. Tags are copied (deeply) with the packet header.
 *
 * <p>Locking: none; a tag belongs to the one packet it is attached to.
 */
public final class MbufTag {
    /** FreeBSD's {@code MTAG_ABI_COMPAT} cookie, for tags of the base system. */
    public static final int MTAG_ABI_COMPAT = 0;

    private final int cookie;
    private final int type;
    private final byte[] data;
    MbufTag next;

    public MbufTag(int cookie, int type, byte[] data) {
        this.cookie = cookie;
        this.type = type;
        this.data = data == null ? new byte[0] : data;
    }

    public int cookie() {
        return cookie;
    }

    public int type() {
        return type;
    }

    /** The tag's data (mutable, owned by the tag). */
    public byte[] data() {
        return data;
    }

    /** The next tag on the same packet, or null. */
    public MbufTag next() {
        return next;
    }

    MbufTag copy() {
        return new MbufTag(cookie, type, data.clone());
    }

    @Override
    public String toString() {
        return "MbufTag[cookie=" + cookie + ", type=" + type + ", len=" + data.length + "]";
    }
}
