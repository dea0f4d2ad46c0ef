package org.smpnet.netinet;

import org.smpnet.net.InAddr;

/**
 * A cached route ({@code struct route} in a PCB, the {@code ro} of {@code ip_output}): the last
 * destination's lookup result, reused while the routing table's generation ({@code rnh_gen}) is unchanged.
 * Thread-safe without a lock: the entry is one immutable snapshot published through a volatile field, so
 * threads sending on one socket at once (UDP sends without the PCB lock) each see a consistent entry;
 * a racing refresh only costs a lookup. A cached hop is used only inside a net-epoch section that checked
 * the generation, so its interface cannot be torn down under it.
 */
public final class IpRoute {
    /** One cached lookup. */
    record Entry(InAddr dst, InRouting.Hop hop, long generation) {}

    private volatile Entry entry;

    /** The cached hop for {@code dst} if it is still current at {@code generation}, else null. */
    InRouting.Hop get(InAddr dst, long generation) {
        Entry e = entry;
        return e != null && e.generation == generation && e.dst.equals(dst) ? e.hop : null;
    }

    void set(InAddr dst, InRouting.Hop hop, long generation) {
        entry = new Entry(dst, hop, generation);
    }

    /** Forgets the cached route (after connect to a new peer, or on an ICMP redirect). */
    public void invalidate() {
        entry = null;
    }

    /** True if a route is cached. */
    public boolean valid() {
        return entry != null;
    }
}
