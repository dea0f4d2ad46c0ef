package org.smpnet.netinet;

import org.smpnet.net.InAddr;

/**
 * A cached route ({@code struct route} in a PCB, the {@code ro} of {@code ip_output}): the last
 * destination's lookup result, reused while no route or address changed. Owned by one PCB and used
 * under that PCB's lock: not thread-safe by itself. Pass null to {@link Ip#output} to look up every time.
 */
public final class IpRoute {
    InAddr dst;
    InRouting.Hop hop;
    long generation = -1;

    /** Forgets the cached route (after connect to a new peer, or on an ICMP redirect). */
    public void invalidate() {
        dst = null;
        hop = null;
        generation = -1;
    }

    /** True if a route is cached. */
    public boolean valid() {
        return hop != null;
    }
}
