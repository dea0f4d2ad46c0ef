package org.smpnet.net;

import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import org.smpnet.kern.Counter;
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
 * receiver takes. The same holds one layer up: a datagram dropped at a full socket buffer cost its sender
 * all of its output and input, and on a machine with more busy threads than cores that sender runs while
 * the socket's reader waits for a CPU. So a sender whose receive work found a receiving socket full
 * sleeps briefly at its exit ({@link #receiverFull}), handing its CPU to the readers it got ahead of.
 * Outside a section (callouts, ithreads, code that holds locks) queues wake their ithread as before; no
 * thread ever runs another stack's input while holding a lock, because {@link #exit} runs only after the
 * section's caller has released everything (asserted under WITNESS).
 *
 * <p>In {@code net.mpsafenet=0} mode sections are not entered: the ithreads do all the work under Giant.
 *
 * <p>Packets a queue is given inside a section are staged in the section and published to the queue
 * together at {@link #exit}, one atomic push per queue (a driver's doorbell rung once per batch, Linux's
 * {@code xmit_more}): a reader polling the queue on another CPU then takes the whole batch at once instead
 * of contending with the sender for the queue's head on every packet.
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
    /**
     * Packets queued in this section and not yet published, per queue: {@code nstaged} queues, each with a
     * chain linked through {@code nextpkt}, newest first, and its oldest packet and length (see
     * {@link IfQueue#enqueue}).
     */
    private IfQueue[] stagedQueues = new IfQueue[4];
    private Mbuf[] stagedNewest = new Mbuf[4];
    private Mbuf[] stagedOldest = new Mbuf[4];
    private int[] stagedCounts = new int[4];
    /** Places reserved in each staged queue and not yet used ({@link IfQueue#reserve}). */
    private int[] stagedReserved = new int[4];
    /** Each staged chain's packets as a list, for the drainer's load-ahead ({@link IfQueue#publish}); null until the first. */
    private Mbuf[][] stagedLists = new Mbuf[4][];
    private int nstaged;
    /**
     * Packets staged since the staging arrays were made: after {@link InputBatch#RENEW_AFTER} the next
     * publish of all makes new ones, so the per-packet store into {@code stagedNewest} stays a store
     * into a young array (see there).
     */
    private int stagedIntoArrays;
    /**
     * How long a sender sleeps at its section's exit when the receive work it ran found a receiving
     * socket full (tunable {@code smpnet.deferred.backoff.nanos}; 0: never).
     */
    static final long BACKOFF_NANOS = Long.getLong("smpnet.deferred.backoff.nanos", 20_000);
    /** Back-offs taken, all threads (for tests and benchmarks). */
    public static final Counter BACKOFFS = new Counter();

    /** Input run in this section dropped a datagram at a full receiving socket. */
    private boolean receiverFull;

    private DeferredInput() {}

    /**
     * Called by a protocol whose input dropped a datagram because the receiving socket's buffer was full.
     * If the current thread is in a section, it is a sender doing the receive work it caused, and it
     * outruns the socket's reader: it sleeps for {@link #BACKOFF_NANOS} at the section's exit (see the
     * class comment). Does nothing outside a section (ithreads, busy-polling readers).
     */
    public static void receiverFull() {
        if (!Giant.mpsafenet()) {
            return;
        }
        DeferredInput d = CURRENT.get();
        if (d.depth > 0) {
            d.receiverFull = true;
        }
    }

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
     * holds no lock. May run protocol input (and so wake other threads); sleeps only to back off (see
     * {@link #receiverFull}), for {@link #BACKOFF_NANOS}.
     */
    public static void exit(boolean entered) {
        if (!entered) {
            return;
        }
        DeferredInput d = CURRENT.get();
        if (--d.depth > 0) {
            return;
        }
        if (d.nclaimed == 0 && d.nstaged == 0) {
            d.backOffIfReceiverFull();
            return;
        }
        d.depth++; // input run below may transmit: its claims are served by the rounds here
        IfQueue[] serving = null;
        int nserving = 0;
        int served = 0;
        try {
            Witness.assertUnowned();
            d.publishStaged();
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
                d.publishStaged(); // what the input just run transmitted
            }
        } finally {
            d.depth--;
            d.publishStaged(); // only after an Error: outside the section now, so the queues wake their ithreads
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
            d.backOffIfReceiverFull();
        }
    }

    /** The sleep of a sender that overflowed a receiving socket; after the outermost exit, no lock held. */
    private void backOffIfReceiverFull() {
        if (receiverFull) {
            receiverFull = false;
            if (BACKOFF_NANOS > 0) {
                BACKOFFS.inc();
                LockSupport.parkNanos(BACKOFF_NANOS);
            }
        }
    }

    /**
     * The current thread's section, in which a queue stages the packets it is given, or null outside a
     * section. For {@link IfQueue#enqueue} only.
     */
    static DeferredInput staging() {
        if (!Giant.mpsafenet()) {
            return null;
        }
        DeferredInput d = CURRENT.get();
        return d.depth > 0 ? d : null;
    }

    /** Packets the calling thread staged into its staging arrays in use (tests: renewed after {@link InputBatch#RENEW_AFTER}). */
    static int stagedIntoArrays() {
        return CURRENT.get().stagedIntoArrays;
    }

    /** The most packets of one staged chain listed for the load-ahead; the rest are walked as usual. */
    private static final int LOAD_AHEAD_MAX = 1024;

    /**
     * Stages {@code m} for {@code q} in this section, in a place {@linkplain IfQueue#reserve reserved} under
     * its limit; returns false, leaving {@code m} to the caller, when the queue has no place left.
     */
    boolean stage(IfQueue q, Mbuf m) {
        int slot = stagingSlot(q);
        if (stagedReserved[slot] == 0) {
            stagedReserved[slot] = q.reserve(stagedCounts[slot] == 0 ? 1 : IfQueue.STAGING_RESERVE);
            if (stagedReserved[slot] == 0) {
                return false;
            }
        }
        stagedReserved[slot]--;
        Mbuf newest = stagedNewest[slot];
        m.setNextpkt(newest);
        if (newest == null) {
            stagedOldest[slot] = m;
        }
        stagedNewest[slot] = m;
        stagedIntoArrays++;
        int k = stagedCounts[slot]++;
        if (k > 0 && k < LOAD_AHEAD_MAX && IfQueue.LOAD_AHEAD) { // a chain of one needs no list
            Mbuf[] list = stagedLists[slot];
            if (list == null) {
                list = new Mbuf[32];
                list[0] = stagedOldest[slot];
                stagedLists[slot] = list;
            } else if (k == list.length) {
                list = Arrays.copyOf(list, Math.min(LOAD_AHEAD_MAX, 2 * k));
                stagedLists[slot] = list;
            }
            list[k] = m;
        }
        return true;
    }

    /** The staging slot of {@code q} in this section (made on first use). */
    private int stagingSlot(IfQueue q) {
        for (int i = 0; i < nstaged; i++) {
            if (stagedQueues[i] == q) {
                return i;
            }
        }
        if (nstaged == stagedQueues.length) {
            int n = nstaged * 2;
            stagedQueues = Arrays.copyOf(stagedQueues, n);
            stagedNewest = Arrays.copyOf(stagedNewest, n);
            stagedOldest = Arrays.copyOf(stagedOldest, n);
            stagedCounts = Arrays.copyOf(stagedCounts, n);
            stagedReserved = Arrays.copyOf(stagedReserved, n);
            stagedLists = Arrays.copyOf(stagedLists, n);
        }
        stagedQueues[nstaged] = q;
        return nstaged++;
    }

    /**
     * Hands every staged chain to its queue ({@link IfQueue#publish}), which may claim the queue for this
     * section or wake its ithread. The caller holds no lock.
     */
    private void publishStaged() {
        while (nstaged > 0) { // a publish that throws leaves the rest for the caller's finally
            int i = --nstaged;
            IfQueue q = stagedQueues[i];
            Mbuf newest = stagedNewest[i];
            Mbuf oldest = stagedOldest[i];
            int k = stagedCounts[i];
            int unused = stagedReserved[i];
            Mbuf[] list = stagedLists[i];
            stagedQueues[i] = null;
            stagedNewest[i] = null;
            stagedOldest[i] = null;
            stagedCounts[i] = 0;
            stagedReserved[i] = 0;
            stagedLists[i] = null; // the queue's drainer reads it from now on
            q.publish(newest, oldest, k, unused, list);
        }
        if (stagedIntoArrays >= InputBatch.RENEW_AFTER) {
            int n = stagedQueues.length;
            stagedQueues = new IfQueue[n];
            stagedNewest = new Mbuf[n];
            stagedOldest = new Mbuf[n];
            stagedLists = new Mbuf[n][];
            stagedIntoArrays = 0;
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
