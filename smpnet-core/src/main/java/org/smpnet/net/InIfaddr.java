package org.smpnet.net;

/**
 * An IPv4 interface address ({@code struct in_ifaddr}): address, prefix length and either a broadcast address
 * (broadcast-capable interfaces) or a destination (point-to-point). Immutable but for {@link Ifaddr}'s flags.
 */
public final class InIfaddr extends Ifaddr {
    private final InAddr addr;
    private final int prefixLen;
    private final Prefix prefix;
    private final InAddr broadcast;
    private final InAddr dst;

    /**
     * @param broadcast the broadcast address, or null
     * @param dst the far end of a point-to-point link, or null
     */
    InIfaddr(Ifnet ifp, InAddr addr, int prefixLen, InAddr broadcast, InAddr dst) {
        super(ifp);
        this.addr = addr;
        this.prefixLen = prefixLen;
        this.prefix = Prefix.in(addr, prefixLen);
        this.broadcast = broadcast;
        this.dst = dst;
    }

    @Override
    public int family() {
        return Sockaddr.AF_INET;
    }

    /** The address ({@code IA_SIN(ia)->sin_addr}). */
    public InAddr inAddr() {
        return addr;
    }

    public int prefixLen() {
        return prefixLen;
    }

    /** The subnet ({@code ia_subnet/ia_subnetmask}). */
    public Prefix prefix() {
        return prefix;
    }

    public InAddr mask() {
        return InAddr.netmask(prefixLen);
    }

    /** The broadcast address, or null. */
    public InAddr broadcast() {
        return broadcast;
    }

    /** The point-to-point destination, or null. */
    public InAddr dst() {
        return dst;
    }

    /** Whether {@code a} is in this address's subnet. */
    public boolean contains(InAddr a) {
        return prefix.contains(a);
    }

    @Override
    public Sockaddr addr() {
        return new Sockaddr.In(addr, 0);
    }

    @Override
    public Sockaddr netmask() {
        return new Sockaddr.In(mask(), 0);
    }

    @Override
    public Sockaddr dstaddr() {
        InAddr d = dst != null ? dst : broadcast;
        return d == null ? null : new Sockaddr.In(d, 0);
    }

    @Override
    public String toString() {
        return "inet " + addr + "/" + prefixLen + (broadcast != null ? " broadcast " + broadcast : "")
                + (dst != null ? " --> " + dst : "") + " on " + ifp().name();
    }
}
