package org.smpnet.net;

import java.util.Arrays;
import org.smpnet.kern.Giant;
import org.smpnet.kern.Witness;

/**
 * Receive work a sending thread does itself at its next safe point: the hybrid dispatch of FreeBSD's
 * netisr, and what Linux does when a sender's {@code local_bh_enable} runs the softirq it raised. A system
 * call that may transmit (such as {@code sosend}) brackets itself with {@link #enter} and {@link #exit};
 * inside, an {@link IfQueue} whose ithread sleeps does not wake it but {@linkplain #claim registers} itself
 * with the thread, and {@link #exit}, holding no lock, drains the registered queues in this thread.
 *
 * <p>Why: on a machine with fewer cores than busy threads, each hand-off to a sleeping ithread costs a
 * wake-up, and a sender that outruns the receive path only fills the queue with packets that are then
 * dropped. Doing the receive work in the sender removes the hop and throttles the sender to what the
 * receiver takes. Outside a section (callouts, ithreads, code that holds locks) queues wake their ithread
 * as before; no thread ever runs another stack's input while holding a lock, because {@link #exit} runs
 * only after the section's caller has released everything (asserted under WITNESS).
 *
 * <p>In {@code net.mpsafenet=0} mode sections are not entered: the ithreads do all the work under Giant.
 *
 * <p>Threads: the per-thread state is confined to its thread. Work is bounded per {@link #exit}
 * ({@link #MAX_ROUNDS} rounds of claims); what is left is handed to the ithreads.
 */
public final class DeferredInput {
    /** Rounds of claimed queues one exit serves (input run there may transmit and claim again). */
    static final int MAX_ROUNDS = 8;

    private static final ThreadLocal<DeferredInput> CURRENT = ThreadLocal.withInitial(DeferredInput::new);

    private int depth;
    /** Queues claimed in this section, {@code nclaimed} of them; served at exit. */
    private IfQueue[] claimed = new IfQueue[4];
    private int nclaimed;
    /** The other claim array (see {@link #exit}). */
    private IfQueue[] spare = new IfQueue[4];

    private DeferredInput() {}

    /**
     * Opens a section in the current thread (nests). Returns whether it did; pass that to {@link #exit}.
     * The caller must call {@link #exit} on every path once it holds no lock.
     */
    public static boolean enter() {
        if (!Giant.mpsafenet()) {
            return false;
        }
        CURRENT.get().depth++;
        return true;
    }

    /**
     * Closes the section; the outermost exit runs the input of every queue claimed inside it. The caller
     * holds no lock. May run protocol input (and so wake other threads); does not sleep.
     */
    public static void exit(boolean entered) {
        if (!entered) {
            return;
        }
        DeferredInput d = CURRENT.get();
        if (--d.depth > 0 || d.nclaimed == 0) {
            return;
        }
        d.depth++; // input run below may transmit: its claims are served by the rounds here
        IfQueue[] serving = null;
        int nserving = 0;
        int served = 0;
        try {
            Witness.assertUnowned();
            for (int round = 0; round < MAX_ROUNDS && d.nclaimed > 0; round++) {
                serving = d.claimed; // double-buffered: claims made while serving go to the other array
                nserving = d.nclaimed;
                d.claimed = d.spare;
                d.nclaimed = 0;
                d.spare = serving;
                for (served = 0; served < nserving; served++) {
                    IfQueue q = serving[served];
                    serving[served] = null; // its claim ends here, whatever serveDeferred does
                    q.serveDeferred();
                }
                Arrays.fill(serving, 0, nserving, null);
                serving = null;
            }
        } finally {
            d.depth--;
            if (serving != null) {
                for (int i = served; i < nserving; i++) {
                    if (serving[i] != null) {
                        serving[i].abandonClaim(); // an input threw: the ithread takes what is left
                    }
                }
                Arrays.fill(serving, 0, nserving, null);
            }
            for (int i = 0; i < d.nclaimed; i++) {
                d.claimed[i].abandonClaim(); // left over after the last round: the ithread takes it
                d.claimed[i] = null;
            }
            d.nclaimed = 0;
        }
    }

    /**
     * Called by {@code q} when a packet was queued and no drainer will take it: true if the current thread
     * is inside a section and will serve {@code q} at its exit (then q need not wake its ithread). A new
     * claim is announced to {@code q} ({@link IfQueue#claimed}) and ends with exactly one of
     * {@link IfQueue#serveDeferred} or {@link IfQueue#abandonClaim}.
     */
    static boolean claim(IfQueue q) {
        DeferredInput d = CURRENT.get();
        if (d.depth == 0) {
            return false;
        }
        for (int i = 0; i < d.nclaimed; i++) {
            if (d.claimed[i] == q) {
                return true;
            }
        }
        if (d.nclaimed == d.claimed.length) {
            d.claimed = Arrays.copyOf(d.claimed, d.nclaimed * 2);
        }
        d.claimed[d.nclaimed++] = q;
        q.claimed();
        return true;
    }
}
