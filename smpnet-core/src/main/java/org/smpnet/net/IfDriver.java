package org.smpnet.net;

import org.smpnet.kern.NeedsGiant;

/**
 * The driver below an {@link Ifnet} (the {@code if_transmit}/{@code if_init}/{@code if_stop} entry
 * points). A driver class annotated {@link NeedsGiant} gets {@link IfFlags#NEEDSGIANT}: its entry points
 * run under Giant.
 */
public interface IfDriver {
    /**
     * Queues one frame for transmission. Consumes {@code m} (frees it on error). Called without
     * interface locks held, inside the net epoch.
     */
    void transmit(Ifnet ifp, Mbuf m);

    /**
     * Queues a batch of frames linked through {@code nextpkt}, in order, and consumes every one; called as
     * {@link #transmit} is. This default gives each to {@link #transmit} in turn; a driver that can take a
     * list at once overrides it. If a transmit throws, the frames it did not reach are freed before the
     * exception propagates.
     */
    default void transmitList(Ifnet ifp, Mbuf first) {
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                transmit(ifp, cur);
            }
        } finally {
            Mbuf.freeList(m);
        }
    }

    /** Brings the hardware up (IFF_UP set by the user); default: nothing to do. */
    default void init(Ifnet ifp) {}

    /** Stops the hardware; called before detach unlinks the interface. */
    default void stop(Ifnet ifp) {}

    /** The interface is gone: no thread can reach the driver through it any more. Release resources. */
    default void detached(Ifnet ifp) {}
}
