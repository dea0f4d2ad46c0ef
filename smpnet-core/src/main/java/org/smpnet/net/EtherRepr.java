package org.smpnet.net;

/** A parsed Ethernet II header. */
public record EtherRepr(MacAddr dst, MacAddr src, int type) {
    public static final int ETHERTYPE_IP = 0x0800;
    public static final int ETHERTYPE_ARP = 0x0806;
    public static final int ETHERTYPE_REVARP = 0x8035;
    public static final int ETHERTYPE_VLAN = 0x8100;
    public static final int ETHERTYPE_IPV6 = 0x86dd;
    /** Values below this are 802.3 lengths, not types. */
    public static final int ETHERTYPE_MIN = 0x0600;

    public EtherRepr {
        if (type < 0 || type > 0xffff) {
            throw new IllegalArgumentException("ethertype " + type + " out of range");
        }
    }

    /**
     * Parses the header at {@code off}.
     *
     * @throws MalformedPacketException if fewer than 14 bytes are available
     */
    public static EtherRepr parse(EtherView v, int available) throws MalformedPacketException {
        if (available < EtherView.HEADER_LEN) {
            throw new MalformedPacketException("Ethernet frame of " + available + " bytes is shorter than its header");
        }
        return new EtherRepr(v.dst(), v.src(), v.type());
    }

    public void emit(EtherView v) {
        v.setDst(dst);
        v.setSrc(src);
        v.setType(type);
    }
}
