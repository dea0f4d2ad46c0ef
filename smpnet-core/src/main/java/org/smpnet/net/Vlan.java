package org.smpnet.net;

/**
 * One 802.1Q VLAN interface ({@code if_vlan}'s {@code struct ifvlan}): an Ethernet interface over a
 * parent Ethernet interface. Output inserts the tag (TPID 0x8100, then the TCI) after the two MAC
 * addresses and sends the frame on the parent; input arrives through {@link Vlans}, which strips the tag.
 *
 * <p>As in FreeBSD the interface takes the parent's link-layer address and MTU (the parent is assumed
 * to carry the 4 extra bytes, IFCAP_VLAN_MTU, as epair and the simulated NICs do) and follows the
 * parent's link state and MTU changes. Everything here is constant after construction; the driver is MPSAFE.
 */
public final class Vlan implements IfDriver {
    /** Bytes the tag adds ({@code ETHER_VLAN_ENCAP_LEN}). */
    public static final int ENCAP_LEN = 4;
    /** Tagged header length: MACs, TPID, TCI, inner type. */
    public static final int HEADER_LEN = EtherView.HEADER_LEN + ENCAP_LEN;
    public static final int MIN_TAG = 1;
    public static final int MAX_TAG = 4094;

    private final Ifnet ifp;
    private final Ifnet parent;
    private final int tag;

    /** Allocates and sets up (not attaches) the interface; {@link Vlans#create} does the rest. */
    Vlan(String name, int tag, Ifnet parent, Ether ether) {
        checkTag(tag);
        this.parent = parent;
        this.tag = tag;
        this.ifp = Ifnet.alloc(name, IfType.L2VLAN, this);
        ether.ifattach(ifp, MacAddr.of(parent.lladdr()));
        ifp.setMtu(parent.mtu());
    }

    static void checkTag(int tag) {
        if (tag < MIN_TAG || tag > MAX_TAG) {
            throw new IllegalArgumentException("vlan tag " + tag + " out of range [" + MIN_TAG + ", " + MAX_TAG + "]");
        }
    }

    public Ifnet ifnet() {
        return ifp;
    }

    public Ifnet parent() {
        return parent;
    }

    public int tag() {
        return tag;
    }

    /** {@code vlan_transmit}: tags the frame and hands it to the parent. Consumes {@code m}. */
    @Override
    public void transmit(Ifnet ifp, Mbuf m) {
        Mbuf t = encap(m, tag);
        if (t == null) {
            ifp.counter(IfCounter.OQDROPS).inc();
            return;
        }
        parent.transmit(t);
    }

    @Override
    public void init(Ifnet ifp) {
        ifp.setFlags(IfFlags.RUNNING, 0);
        ifp.setLinkState(parent.linkState());
    }

    @Override
    public void stop(Ifnet ifp) {
        if ((ifp.flags() & IfFlags.RUNNING) != 0) {
            ifp.setFlags(0, IfFlags.RUNNING);
        }
        ifp.setLinkState(LinkState.DOWN);
    }

    /**
     * {@code ether_vlanencap}: inserts TPID 0x8100 and {@code tci} after the MAC addresses of the
     * Ethernet frame {@code m}. Consumes {@code m}.
     *
     * @return the tagged frame, or null if it was shorter than an Ethernet header or memory ran out
     *     (the frame is then freed)
     */
    public static Mbuf encap(Mbuf m, int tci) {
        if (m.pktLen() < EtherView.HEADER_LEN) {
            m.freem();
            return null;
        }
        m = m.prepend(ENCAP_LEN, Mbuf.M_NOWAIT);
        if (m == null || (m = m.pullup(HEADER_LEN)) == null) {
            return null;
        }
        if (!m.unshare(Mbuf.M_NOWAIT)) {
            m.freem();
            return null;
        }
        byte[] b = m.writableData();
        int o = m.dataOff();
        System.arraycopy(b, o + ENCAP_LEN, b, o, 12);
        b[o + 12] = (byte) (EtherRepr.ETHERTYPE_VLAN >>> 8);
        b[o + 13] = (byte) EtherRepr.ETHERTYPE_VLAN;
        b[o + 14] = (byte) (tci >>> 8);
        b[o + 15] = (byte) tci;
        return m;
    }

    @Override
    public String toString() {
        return "Vlan[" + ifp.name() + " tag " + tag + " on " + parent.name() + "]";
    }
}
