package org.smpnet.netinet;

import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.InIfaddr;
import org.smpnet.net.NetAddrs;
import org.smpnet.net.Nexthop;
import org.smpnet.net.Rtable;

/**
 * {@link InRouting} over the stack's {@link Rtable} and {@link NetAddrs}. Lock-free: every call is a
 * net-epoch read of their snapshots.
 */
final class RtableRouting implements InRouting {
    private final Rtable rtable;
    private final NetAddrs addrs;

    RtableRouting(Rtable rtable) {
        this.rtable = rtable;
        this.addrs = rtable.addrs();
    }

    @Override
    public Hop lookup(InAddr dst) {
        Nexthop nh = rtable.lookup(dst);
        if (nh == null) {
            return null;
        }
        int kind = nh.isReject() ? Hop.REJECT : nh.isBlackhole() ? Hop.BLACKHOLE : 0;
        return new Hop(nh.ifp(), nh.gateway4(), nh.src(), nh.mtu(), kind, nh.pksent());
    }

    @Override
    public boolean isLocal(InAddr a) {
        return addrs.isLocal(a);
    }

    @Override
    public boolean isLocalOn(InAddr a, Ifnet ifp) {
        InIfaddr ia = addrs.local(a);
        return ia != null && ia.ifp() == ifp;
    }

    @Override
    public boolean isBroadcast(InAddr a, Ifnet ifp) {
        return addrs.isBroadcast(a, ifp);
    }

    @Override
    public InAddr addressOn(Ifnet ifp) {
        InIfaddr ia = addrs.firstIn(ifp);
        return ia == null ? null : ia.inAddr();
    }

    @Override
    public long generation() {
        // Both only grow, so the sum changes whenever either does: a cache keyed by it notices route
        // changes and address changes (which decide isLocal and isBroadcast) alike.
        return rtable.generation() + addrs.generation();
    }
}
