package org.smpnet.netinet;

import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;

/**
 * What IP needs from the address and routing layer ({@code in_ifaddr} lists and the FIB): the one place
 * netinet touches it. Every method is called in the net epoch, may be called from any thread with any
 * netinet lock held, and must not sleep.
 */
interface InRouting {
    /**
     * A resolved route: the outgoing interface, the gateway to hand the packet to (null when the
     * destination is on the link), the address of ours on that interface to use as source, and the
     * path MTU (0: the interface MTU); {@code pksent} counts the datagrams sent through the route.
     */
    record Hop(Ifnet ifp, InAddr gateway, InAddr source, int mtu, int kind, org.smpnet.kern.Counter pksent) {
        /** {@code kind}: an ordinary route, {@code RTF_REJECT} (EHOSTUNREACH) or {@code RTF_BLACKHOLE} (silent drop). */
        static final int REJECT = 1;
        static final int BLACKHOLE = 2;

        /** The link-level next hop: the gateway, else the destination itself. */
        InAddr nexthop(InAddr dst) {
            return gateway != null ? gateway : dst;
        }
    }

    /** The route to {@code dst} (longest-prefix match), or null if none. */
    Hop lookup(InAddr dst);

    /** True if {@code a} is an address of one of this stack's interfaces ({@code in_localip}). */
    boolean isLocal(InAddr a);

    /** True if {@code a} is an address configured on {@code ifp}. */
    boolean isLocalOn(InAddr a, Ifnet ifp);

    /**
     * True if {@code a} is a broadcast address on {@code ifp} ({@code in_broadcast}): the limited
     * broadcast, or the (sub)net broadcast or network address of one of its addresses.
     */
    boolean isBroadcast(InAddr a, Ifnet ifp);

    /** An address of ours on {@code ifp} (the first configured), or null if it has none. */
    InAddr addressOn(Ifnet ifp);

    /**
     * A number that changes whenever a route or address changes: invalidates {@link IpRoute} caches.
     * Negative: changes are not tracked, nothing may be cached.
     */
    long generation();
}
