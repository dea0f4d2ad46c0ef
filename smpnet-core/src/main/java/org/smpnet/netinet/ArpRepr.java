package org.smpnet.netinet;

import org.smpnet.net.EtherRepr;
import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;
import org.smpnet.net.MalformedPacketException;

/** A checked Ethernet/IPv4 ARP request or reply. */
public record ArpRepr(int op, MacAddr sha, InAddr spa, MacAddr tha, InAddr tpa) {
    public static final int ARPHRD_ETHER = 1;
    public static final int ARPHRD_IEEE802 = 6;
    public static final int ARPOP_REQUEST = 1;
    public static final int ARPOP_REPLY = 2;

    /** Why an ARP packet is refused, each with its counter. */
    public enum Defect { TOOSMALL, BADHRD, BADPRO, BADOP }

    public ArpRepr {
        if (op != ARPOP_REQUEST && op != ARPOP_REPLY) {
            throw new IllegalArgumentException("ARP opcode " + op + " is neither request nor reply");
        }
        if (sha == null || spa == null || tha == null || tpa == null) {
            throw new IllegalArgumentException("ARP packet needs all four addresses");
        }
    }

    /** The first defect of the {@code len}-byte packet at {@code v}, or null if it is a sound Ethernet/IPv4 ARP packet. */
    public static Defect check(ArpView v, int len) {
        if (len < ArpView.FIXED_LEN) {
            return Defect.TOOSMALL;
        }
        if (v.hrd() != ARPHRD_ETHER && v.hrd() != ARPHRD_IEEE802) {
            return Defect.BADHRD;
        }
        if (v.pro() != EtherRepr.ETHERTYPE_IP || v.hln() != 6 || v.pln() != 4) {
            return Defect.BADPRO;
        }
        if (len < ArpView.LEN) {
            return Defect.TOOSMALL;
        }
        if (v.op() != ARPOP_REQUEST && v.op() != ARPOP_REPLY) {
            return Defect.BADOP;
        }
        return null;
    }

    /**
     * Parses the {@code len}-byte packet at {@code v}.
     *
     * @throws MalformedPacketException naming the first {@link Defect}
     */
    public static ArpRepr parse(ArpView v, int len) throws MalformedPacketException {
        Defect d = check(v, len);
        if (d != null) {
            throw new MalformedPacketException("ARP packet: " + d);
        }
        return new ArpRepr(v.op(), v.sha(), v.spa(), v.tha(), v.tpa());
    }

    /** Writes the {@link ArpView#LEN}-byte packet at {@code v}. */
    public void emit(ArpView v) {
        v.setFixed(ARPHRD_ETHER, EtherRepr.ETHERTYPE_IP, 6, 4, op);
        v.setAddrs(sha, spa, tha, tpa);
    }
}
