package org.smpnet.netinet;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.net.MacAddr;

/**
 * Regressions for packets the input path dropped without any counter (found with
 * {@link InetInputFuzzTest}'s accounting rule; see {@link InetFuzzStack#inject}). Each fails until the
 * owning layer counts the drop.
 */
class InetInputAccountingFindingsTest {
    @Test
    @DisplayName("R-IP-1: an ICMP message of a type above ICMP_MAXTYPE that no raw socket wants is counted")
    void icmpTypeAboveMaxtypeIsCounted() {
        injectIcmpType(42);
    }

    @Test
    @DisplayName("R-IP-1: an ICMP message of an unassigned type below ICMP_MAXTYPE (7) lands in an exported counter")
    void icmpUnassignedTypeIsCounted() {
        injectIcmpType(7);
    }

    private static void injectIcmpType(int type) {
        byte[] icmp = {(byte) type, 0, 0, 0, 0, 0, 0, 0};
        int sum = InetInputFuzzTest.cksum(icmp, 0, icmp.length, 0);
        icmp[2] = (byte) (sum >>> 8);
        icmp[3] = (byte) sum;
        try (InetFuzzStack s = new InetFuzzStack()) {
            s.inject(InetFuzzStack.Layer.IP,
                    InetInputFuzzTest.ip(InetFuzzStack.PEER, InetFuzzStack.US, IpProtocols.IPPROTO_ICMP, icmp), 0);
        }
    }

    @Test
    @DisplayName("R-ARP-1: an ARP reply with sender address 0.0.0.0 is counted")
    void arpReplyFromUnspecifiedSenderIsCounted() {
        byte[] arp = InetFuzzSeeds.arp(ArpRepr.ARPOP_REPLY, InetFuzzStack.MAC_PEER,
                org.smpnet.net.InAddr.ANY, MacAddr.ZERO, InetFuzzStack.US);
        try (InetFuzzStack s = new InetFuzzStack()) {
            s.inject(InetFuzzStack.Layer.ARP, arp, 0);
        }
    }
}
