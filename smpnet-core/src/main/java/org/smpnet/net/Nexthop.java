package org.smpnet.net;

/**
 * What a route lookup returns ({@code struct nhop_object}): the outgoing interface, the next hop (a gateway or
 * the destination itself), the source address hint, the MTU and the route's flags. One per {@link Rtentry},
 * built with it, immutable; valid while the caller stays in the net epoch section the lookup ran in.
 */
public final class Nexthop {
    private final Rtentry rt;
    private final Ifnet ifp;
    private final InAddr gateway4;
    private final In6Addr gateway6;
    private final int flags;

    Nexthop(Rtentry rt) {
        this.rt = rt;
        this.ifp = rt.ifp();
        this.flags = rt.flags();
        boolean gw = (flags & Rtentry.RTF_GATEWAY) != 0;
        this.gateway4 = gw && rt.gateway() instanceof Sockaddr.In in ? in.addr() : null;
        this.gateway6 = gw && rt.gateway() instanceof Sockaddr.In6 in6 ? in6.addr() : null;
    }

    /** The route this next hop belongs to. */
    /**
     * The route's count of packets sent through it ({@code nh_pksent}, {@code netstat -r}'s "Use"): output
     * adds one per datagram it sends with this next hop, whether it looked the route up or had it cached.
     */
    public org.smpnet.kern.Counter pksent() {
        return rt.useCounter();
    }

    public Rtentry rt() {
        return rt;
    }

    /** The outgoing interface ({@code nh_ifp}). */
    public Ifnet ifp() {
        return ifp;
    }

    /** Whether packets go to a gateway ({@link #gateway4()}/{@link #gateway6()}) rather than straight to the destination. */
    public boolean isGateway() {
        return (flags & Rtentry.RTF_GATEWAY) != 0;
    }

    /** The IPv4 gateway, or null when the destination is on-link (send to the destination itself). */
    public InAddr gateway4() {
        return gateway4;
    }

    /** The IPv6 gateway, or null when on-link. */
    public In6Addr gateway6() {
        return gateway6;
    }

    /** The IPv4 next hop for {@code dst}: the gateway, or {@code dst} itself when on-link. */
    public InAddr nextHop(InAddr dst) {
        return gateway4 != null ? gateway4 : dst;
    }

    /** The interface address to use as source ({@code nh_ifa}), or null (reject/blackhole routes). */
    public Ifaddr ifa() {
        return rt.ifa();
    }

    /** The IPv4 source address hint, or null. */
    public InAddr src() {
        return rt.ifa() instanceof InIfaddr ia ? ia.inAddr() : null;
    }

    /** The path MTU: the route's if set, else the interface's. Lock-free. */
    public int mtu() {
        int m = rt.mtu();
        return m != 0 ? m : ifp.mtu();
    }

    /** The route's {@code RTF_*} flags. */
    public int flags() {
        return flags;
    }

    /** Packets must be dropped with EHOSTUNREACH ({@code RTF_REJECT}). */
    public boolean isReject() {
        return (flags & Rtentry.RTF_REJECT) != 0;
    }

    /** Packets must be dropped silently ({@code RTF_BLACKHOLE}). */
    public boolean isBlackhole() {
        return (flags & Rtentry.RTF_BLACKHOLE) != 0;
    }

    /** The destination is one of this host's addresses ({@code RTF_LOCAL}): deliver via loopback. */
    public boolean isLocal() {
        return (flags & Rtentry.RTF_LOCAL) != 0;
    }

    @Override
    public String toString() {
        return "nexthop " + (gateway4 != null ? gateway4 : gateway6 != null ? gateway6 : "direct") + " via " + ifp.name();
    }
}
