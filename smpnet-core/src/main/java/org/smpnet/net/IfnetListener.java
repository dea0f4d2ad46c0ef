package org.smpnet.net;

/** Interface events (FreeBSD's ifnet_arrival_event, ifnet_departure_event, link state). */
public interface IfnetListener {
    /** The interface is attached and visible. Called without locks held. */
    default void arrived(Ifnet ifp) {}

    /**
     * The interface is unlinked and will be torn down once the net epoch drains: drop references to
     * it. Called without locks held, before the grace period.
     */
    default void departing(Ifnet ifp) {}

    /** The link went up or down. Called without locks held. */
    default void linkStateChanged(Ifnet ifp, LinkState state) {}

    /** The interface's MTU changed (vlans on it follow). Called without locks held. */
    default void mtuChanged(Ifnet ifp, int mtu) {}
}
