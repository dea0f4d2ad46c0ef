package org.smpnet.net;

import java.util.Arrays;

/**
 * The batch an {@link IfQueue} drainer is delivering, for work a protocol may put off to its end (Linux's
 * listified receive; FreeBSD appends packet by packet). UDP defers appending a datagram to its socket: at
 * the end, each run of consecutive datagrams for one socket is appended under one hold of the receive
 * buffer's mutex with one wake-up, so a reader on another CPU takes the mutex's and the buffer's cache
 * lines from the drainer once per run instead of once per datagram.
 *
 * <p>A batch is open from {@link #open} to {@link #close} on the drainer's thread, inside its net epoch
 * section and with whatever Giant it picked up, so deferred work runs under the same conditions as the
 * packet's own input did; it runs in the order it was deferred, and every {@value #CAPACITY} deferrals the
 * batch flushes early, so no packet waits long. Outside an open batch {@link #current} is null and
 * protocols do their work at once.
 *
 * <p>Threads: confined to the thread that opened it (a thread-local); not for use by any other thread.
 */
public final class InputBatch {
    /** Appends a run of deferred packets that share a sink and a key, in deferral order. */
    @FunctionalInterface
    public interface Sink {
        /**
         * Consumes {@code packets[from, to)}: appends or frees each, and sets its slot to null. A packet
         * left in its slot (the sink threw) is freed by the batch. The attachments are the sink's own.
         * Called with no lock held by the batch; it must not defer more work.
         */
        void appendRun(Object key, Mbuf[] packets, Object[] first, Object[] second, int from, int to);
    }

    /** Deferrals after which a batch flushes before it ends. */
    static final int CAPACITY = 64;

    private static final ThreadLocal<InputBatch> CURRENT = ThreadLocal.withInitial(InputBatch::new);

    private boolean open;
    /**
     * A one-entry memo of a protocol's last lookup in this batch ({@link #recall}): its owner, key and
     * result. Cleared at each flush, so a memo is never older than the deferred packets it serves.
     */
    private Object memoOwner;
    private long memoKey1;
    private long memoKey2;
    private Object memoValue;
    private int count;
    /** Deferrals into the current arrays; at {@link #RENEW_AFTER} the next flush replaces them. */
    private int deferredIntoArrays;
    private Sink[] sinks;
    private Object[] keys;
    private Mbuf[] packets;
    private Object[] first;
    private Object[] second;

    /**
     * Deferrals after which a flush replaces the arrays with new ones instead of clearing them. A deferral
     * stores four or five references; into an array the collector has moved to the old generation, each
     * such store runs G1's post-write barrier to its StoreLoad fence (JDK 25), while into a young one it
     * stops at the young card. Arrays renewed this often die young.
     */
    static final int RENEW_AFTER = 4096;

    private InputBatch() {
        newArrays();
    }

    private void newArrays() {
        sinks = new Sink[CAPACITY];
        keys = new Object[CAPACITY];
        packets = new Mbuf[CAPACITY];
        first = new Object[CAPACITY];
        second = new Object[CAPACITY];
        deferredIntoArrays = 0;
    }

    /** The calling thread's open batch, or null when none is open (then do the work at once). */
    public static InputBatch current() {
        InputBatch b = CURRENT.get();
        return b.open ? b : null;
    }

    /**
     * Opens the calling thread's batch; returns it, or null if one is already open (a drainer's input that
     * drains another queue: the outer batch flushes everything, in order).
     */
    static InputBatch open() {
        InputBatch b = CURRENT.get();
        if (b.open) {
            return null;
        }
        b.open = true;
        return b;
    }

    /** Runs what was deferred and closes the batch. */
    void close() {
        try {
            flush();
        } finally {
            open = false;
        }
    }

    /** Puts off {@code sink}'s work on {@code m} (with {@code key} and two attachments) to the batch's end. */
    public void defer(Sink sink, Object key, Mbuf m, Object a, Object b) {
        if (count == CAPACITY) {
            flush();
        }
        int i = count++;
        deferredIntoArrays++;
        sinks[i] = sink;
        keys[i] = key;
        packets[i] = m;
        first[i] = a;
        second[i] = b;
    }

    /** Deferred packets not yet handed to their sink. */
    /**
     * What {@code owner} {@linkplain #remember remembered} for this key since the batch's last flush, or
     * null. A protocol that defers its packets' delivery to the flush, and checks there that what it found
     * is still current, may look up a run of packets of one flow once: as if all were looked up at the first.
     */
    public Object recall(Object owner, long key1, long key2) {
        return memoOwner == owner && memoKey1 == key1 && memoKey2 == key2 ? memoValue : null;
    }

    /** Remembers {@code value} (not null) for {@code owner}'s key until the next flush or another remember. */
    public void remember(Object owner, long key1, long key2, Object value) {
        memoOwner = owner;
        memoKey1 = key1;
        memoKey2 = key2;
        memoValue = value;
    }

    int pending() {
        return count;
    }

    /** Deferrals into the arrays in use (tests: they are renewed after {@link #RENEW_AFTER}). */
    int deferredIntoArrays() {
        return deferredIntoArrays;
    }

    private void flush() {
        memoOwner = null;
        memoValue = null;
        int n = count;
        int i = 0;
        try {
            while (i < n) {
                int lo = i;
                Sink s = sinks[lo];
                Object k = keys[lo];
                do {
                    i++;
                } while (i < n && sinks[i] == s && keys[i] == k);
                try {
                    s.appendRun(k, packets, first, second, lo, i);
                } finally {
                    for (int j = lo; j < i; j++) {
                        if (packets[j] != null) { // the sink threw before it got to these
                            Mbuf m = packets[j];
                            packets[j] = null;
                            m.freem();
                        }
                    }
                }
            }
        } finally {
            for (int j = i; j < n; j++) { // runs not reached because a sink threw
                if (packets[j] != null) {
                    packets[j].freem();
                }
            }
            count = 0;
            if (deferredIntoArrays >= RENEW_AFTER) {
                newArrays();
            } else {
                Arrays.fill(sinks, 0, n, null);
                Arrays.fill(keys, 0, n, null);
                Arrays.fill(packets, 0, n, null);
                Arrays.fill(first, 0, n, null);
                Arrays.fill(second, 0, n, null);
            }
        }
    }
}
