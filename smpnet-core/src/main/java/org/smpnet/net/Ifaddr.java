package org.smpnet.net;

/**
 * An interface address ({@code struct ifaddr}): an address of one family on one interface, with its netmask
 * and its broadcast or point-to-point destination address.
 *
 * <p>Locking key: (c) {@link #ifp} and the family's address fields are constant; (a) {@code flags} is
 * written under the owning {@link NetAddrs}'s "in_control" lock and read lock-free; (e) the object stays
 * valid for readers in the net epoch that found it through a list or a route: after it is unlinked,
 * {@link #freed()} turns true only once the epoch has drained.
 */
public abstract sealed class Ifaddr permits InIfaddr {
    /** A route for this address's prefix is installed and owned by this address ({@code IFA_ROUTE}). */
    public static final int IFA_ROUTE = 0x01;

    private final Ifnet ifp;
    private volatile int flags;
    private volatile boolean freed;
    private volatile boolean linked;

    Ifaddr(Ifnet ifp) {
        if (ifp == null) {
            throw new IllegalArgumentException("an interface address needs an interface");
        }
        this.ifp = ifp;
    }

    /** The owning interface ({@code ifa_ifp}). */
    public final Ifnet ifp() {
        return ifp;
    }

    /** The address family ({@code AF_INET}...). */
    public abstract int family();

    /** The address ({@code ifa_addr}). */
    public abstract Sockaddr addr();

    /** The netmask ({@code ifa_netmask}). */
    public abstract Sockaddr netmask();

    /** The broadcast address, or the far end of a point-to-point link ({@code ifa_dstaddr}); null if none. */
    public abstract Sockaddr dstaddr();

    /** {@code IFA_*} flags. Lock-free. */
    public final int flags() {
        return flags;
    }

    final void setFlags(int set, int clear) {
        flags = (flags | set) & ~clear;
    }

    /**
     * True once the address was removed and the net epoch has drained since: a reader in the epoch that got
     * this object from a lookup never sees it true.
     */
    public final boolean freed() {
        return freed;
    }

    /** Whether the address is in its lists; false before it is added and once it is being removed. */
    final boolean linked() {
        return linked;
    }

    final void setLinked(boolean on) {
        linked = on;
    }

    final void markFreed() {
        freed = true;
    }
}
