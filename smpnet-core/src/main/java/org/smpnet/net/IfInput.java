package org.smpnet.net;

/** The link-layer input routine of an interface ({@code if_input}: ether_input, loop input...). */
@FunctionalInterface
public interface IfInput {
    /** Handles one received frame. Consumes {@code m}. Called inside the net epoch. */
    void input(Ifnet ifp, Mbuf m);

    /**
     * Handles a driver's batch of frames, linked through {@code nextpkt}, oldest first, in order, and
     * consumes every one. Called inside the net epoch. This default gives each to {@link #input} in turn
     * ({@link #eachPacket}); an input that can take a list at once overrides it.
     */
    default void inputList(Ifnet ifp, Mbuf first) {
        eachPacket(ifp, first, this::input);
    }

    /**
     * Gives each packet of a list to {@code input} in turn, unlinked. One whose input throws a
     * RuntimeException (a protocol's bug) is dropped and counted in the interface's {@code iqdrops}, and
     * the rest still go, as a driver's per-packet loop does; after an Error the packets not reached are
     * freed before it propagates.
     */
    static void eachPacket(Ifnet ifp, Mbuf first, IfInput input) {
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                try {
                    input.input(ifp, cur);
                } catch (RuntimeException e) {
                    ifp.counter(IfCounter.IQDROPS).inc();
                }
            }
        } finally {
            Mbuf.freeList(m);
        }
    }
}
