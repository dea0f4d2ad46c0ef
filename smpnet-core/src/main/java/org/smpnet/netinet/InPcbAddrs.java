package org.smpnet.netinet;

import org.smpnet.kern.ErrnoException;
import org.smpnet.net.InAddr;

/**
 * What the PCB layer asks of the stack's addresses and routes: whether an address is one of ours
 * ({@code ifa_ifwithaddr_check}), which source address to use towards a destination
 * ({@code in_pcbladdr}), and the primary address a connect to {@code INADDR_ANY} means.
 *
 * <p>Called with the PCB table lock and the PCB lock held: implementations must not sleep and may
 * only take locks ordered after {@code inp} (routing entries, address lists) or read under the net
 * epoch.
 */
public interface InPcbAddrs {
    /** Whether {@code a} is an address (or the broadcast address) of an interface of this stack. */
    boolean isLocal(InAddr a);

    /**
     * The source address for packets to {@code dst}.
     *
     * @throws ErrnoException ENETUNREACH or EHOSTUNREACH when there is no route, EADDRNOTAVAIL when
     *     the outgoing interface has no IPv4 address
     */
    InAddr source(InAddr dst) throws ErrnoException;

    /** The first address of the stack, or null when it has none. */
    InAddr primary();
}
