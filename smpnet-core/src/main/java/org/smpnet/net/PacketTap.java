package org.smpnet.net;

/**
 * A listener that sees every frame an interface receives or sends: BPF attaches one. Net knows only
 * this interface, so the link layer does not depend on BPF.
 */
public interface PacketTap {
    /** Direction of a tapped frame. */
    enum Direction { IN, OUT }

    /**
     * Sees {@code m} (borrowed: must not be freed or kept). Called inside the net epoch, with no
     * interface lock held, from any thread that moves packets.
     */
    void tap(Ifnet ifp, Mbuf m, Direction dir);

    /** The interface is detaching; called once, after the tap is unlinked and the epoch has drained. */
    void detached(Ifnet ifp);
}
