package org.smpnet.netinet;

import org.smpnet.net.InAddr;

/**
 * A cached route ({@code struct route} in a PCB, the {@code ro} of {@code ip_output}): the last
 * destination's lookup result (and what IP derives from it per packet), reused while the routing table's generation ({@code rnh_gen}) is unchanged.
 * Thread-safe without a lock: the entry is one immutable snapshot published through a volatile field, so
 * threads sending on one socket at once (UDP sends without the PCB lock) each see a consistent entry;
 * a racing refresh only costs a lookup. A cached hop is used only inside a net-epoch section that checked
 * the generation, so its interface cannot be torn down under it.
 */
public final class IpRoute {
    /**
     * One cached path to {@code dst}: whether it is one of our addresses ({@code local}, then it leaves
     * through loopback), the route's hop (null only for a local address without a route), and whether
     * it is a broadcast address of the outgoing link. All three depend only on the routes and addresses
     * that {@code generation} versions.
     */
    record Entry(InAddr dst, InRouting.Hop hop, long generation, boolean local, boolean linkBcast) {}

    private volatile Entry entry;

    /**
     * The keyed hash of the last (source, destination, protocol) whose IP ID was drawn through this route
     * ({@link IpIdents}); {@code key} packs source and destination. Depends on no table, so never stale.
     */
    record IdHash(long key, int proto, long hash) {}

    private volatile IdHash idHash;

    IdHash idHash() {
        return idHash;
    }

    void setIdHash(IdHash h) {
        idHash = h;
    }

    /**
     * The link-layer entry of the last next hop resolved through this route ({@code ro_lle}), or null. It
     * needs no generation: {@link Arp} checks that it is for the same interface and address and still
     * reachable (a deleted or stale entry has no {@code fastMac}).
     */
    private volatile Llentry lle;

    Llentry lle() {
        return lle;
    }

    void setLle(Llentry e) {
        lle = e;
    }

    /** The cached path to {@code dst} if it is still current at {@code generation}, else null. */
    Entry get(InAddr dst, long generation) {
        Entry e = entry;
        return e != null && e.generation == generation && e.dst.equals(dst) ? e : null;
    }

    void set(Entry e) {
        entry = e;
    }

    /** Forgets the cached route (after connect to a new peer, or on an ICMP redirect). */
    public void invalidate() {
        entry = null;
        lle = null;
    }

    /** True if a route is cached. */
    public boolean valid() {
        return entry != null;
    }
}
