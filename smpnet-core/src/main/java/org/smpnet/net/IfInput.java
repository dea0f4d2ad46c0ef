package org.smpnet.net;

/** The link-layer input routine of an interface ({@code if_input}: ether_input, loop input...). */
@FunctionalInterface
public interface IfInput {
    /** Handles one received frame. Consumes {@code m}. Called inside the net epoch. */
    void input(Ifnet ifp, Mbuf m);
}
