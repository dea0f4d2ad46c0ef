package org.smpnet.net;

/**
 * A list of packets being built, oldest first, linked through {@code nextpkt} (FreeBSD's {@code struct
 * mbufq}, without its limit): how a layer gathers the packets of a batch it hands on as one list.
 *
 * <p>Not thread-safe: one owner builds it and then hands {@link #first()} on, or {@link #drain frees} it.
 */
public final class Mbufq {
    private Mbuf head;
    private Mbuf tail;
    private int len;

    /** Appends {@code m}, a packet not on any list. */
    public void enqueue(Mbuf m) {
        if (tail == null) {
            head = m;
        } else {
            tail.setNextpkt(m);
        }
        tail = m;
        len++;
    }

    /** The oldest packet, the list's head, or null if empty. */
    public Mbuf first() {
        return head;
    }

    /** Packets in the list. */
    public int len() {
        return len;
    }

    public boolean isEmpty() {
        return head == null;
    }

    /** Frees every packet (an error path) and leaves the list empty. */
    public void drain() {
        Mbuf.freeList(head);
        head = null;
        tail = null;
        len = 0;
    }
}
