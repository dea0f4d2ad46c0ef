package org.smpnet.netinet;

import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.Mbuf;

/**
 * Forwarding ({@code ip_forward}, with {@code net.inet.ip.forwarding=1}): TTL decrement with time
 * exceeded, route lookup with host unreachable, record-route, fragmentation or needs-frag for DF.
 * Redirects are not sent. Stateless; runs in the net epoch from IP input.
 */
final class IpForward {
    private final Inet inet;

    IpForward(Inet inet) {
        this.inet = inet;
    }

    /** Forwards {@code m} received on {@code in}. Consumes it. */
    void forward(Mbuf m, Ifnet in) {
        IpStats stats = inet.ip().stats;
        Ipv4View v = new Ipv4View(m.data(), m.dataOff());
        InAddr dst = v.dst();
        if (dst.isAny() || (dst.bits() >>> 28) == 0xf || (dst.bits() >>> 24) == 0) {
            stats.cantforward.inc(); // 0/8 and class E are never forwarded
            m.freem();
            return;
        }
        if (v.ttl() <= 1) {
            stats.cantforward.inc();
            inet.icmp().error(m, Icmp.TIMXCEED, Icmp.TIMXCEED_INTRANS, 0);
            return;
        }
        InRouting.Hop hop = inet.routing().lookup(dst);
        if (hop == null || hop.kind() != 0) {
            stats.cantforward.inc();
            stats.noroute.inc();
            inet.icmp().error(m, Icmp.UNREACH, Icmp.UNREACH_HOST, 0);
            return;
        }
        // Keep header + 8 bytes for an error after output has consumed the datagram.
        Mbuf mcopy = m.copym(0, Math.min(v.totalLength(), v.hlen() + Icmp.QUOTE_LEN), Mbuf.M_NOWAIT);
        if (!m.writable() && !m.unshare(Mbuf.M_NOWAIT)) {
            stats.odropped.inc();
            m.freem();
            if (mcopy != null) {
                mcopy.freem();
            }
            return;
        }
        Ipv4View w = new Ipv4View(m.writableData(), m.dataOff());
        w.setTtl(w.ttl() - 1);
        if (w.hlen() > Ipv4View.MIN_HEADER_LEN) {
            IpOptions.forwarding(m, hop.source());
        }
        IpRoute ro = inet.ip().forwardingRoute(dst, hop);
        int[] mtu = new int[1];
        try {
            inet.ip().send(m, IpOutOpts.DEFAULT, ro, true, mtu);
            stats.forward.inc();
            if (mcopy != null) {
                mcopy.freem();
            }
        } catch (ErrnoException e) {
            stats.cantforward.inc();
            if (mcopy == null) {
                return;
            }
            if (e.errno() == Errno.EMSGSIZE) {
                inet.icmp().error(mcopy, Icmp.UNREACH, Icmp.UNREACH_NEEDFRAG, mtu[0]);
            } else if (e.errno() == Errno.ENETUNREACH || e.errno() == Errno.EHOSTUNREACH || e.errno() == Errno.EHOSTDOWN) {
                inet.icmp().error(mcopy, Icmp.UNREACH, Icmp.UNREACH_HOST, 0);
            } else {
                mcopy.freem();
            }
        }
    }
}
