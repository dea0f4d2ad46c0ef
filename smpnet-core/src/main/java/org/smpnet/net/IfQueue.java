package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Cv;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Witness;

/**
 * A bounded packet queue drained by its own thread: a driver's receive ring and its interrupt thread
 * ({@code ithread}). Producers {@link #enqueue} from any thread; the ithread takes everything queued at
 * once (one lock round trip per batch, like a driver's rx ring cleaned per interrupt) and hands each
 * packet to the consumer in order with no lock held, under Giant when the driver is not MPSAFE (R-IF-5).
 * Producers signal only when the ithread sleeps, so a busy ithread costs them no wake-up.
 *
 * <p>Busy polling (Linux's {@code SO_BUSY_POLL}/{@code net.core.busy_read}): a reader about to sleep on a
 * socket fed by this queue may {@linkplain #busyPoll poll} it meanwhile and run the input itself, as a
 * drainer like any other. While someone polls, producers neither wake the ithread nor claim the queue for
 * their own {@link DeferredInput} unless the queue grows past {@link #POLL_BACKLOG}: the receive work moves
 * to the reader's CPU and the sender's thread only sends. The last poller to leave wakes the ithread if
 * packets are left, so none is stranded.
 *
 * <p>Locking key: {@code queue}, {@code closed}, {@code busy} and {@code sleeping} are guarded by
 * {@link #lock} (class "ifq", the innermost lock of the declared order). {@code batch} belongs to the
 * drainer, the one thread that set {@code busy}: the ithread, or a sender serving its
 * {@link DeferredInput} claim. One drainer at a time keeps packets in order.
 */
public final class IfQueue {
    private static final LockClass IFQ = LockClass.of("ifq", LockKind.MUTEX, false);
    /** Queued packets beyond which a producer serves the queue itself although a reader polls it. */
    static final int POLL_BACKLOG = 64;

    private final String name;
    private final int limit;
    private final Class<?> driverClass;
    private final Consumer<Mbuf> consumer;
    private final boolean netEpoch;
    private final Mtx lock;
    private final Cv nonEmpty;
    private final Cv idle;
    @GuardedBy("lock") private ArrayDeque<Mbuf> queue = new ArrayDeque<>();
    private volatile boolean closedHint; // a copy of closed for the ithread's batch loop
    @GuardedBy("lock") private boolean closed;
    @GuardedBy("lock") private boolean busy;
    @GuardedBy("lock") private Thread drainer; // the thread that set busy
    @GuardedBy("lock") private boolean sleeping;
    /** Threads waiting in {@link #drain}: a drainer ending its batch signals only when there are some. */
    @GuardedBy("lock") private int drainWaiters;
    /**
     * Readers busy-polling this queue now. Atomic, not under the lock, so a poller coming or going does
     * not contend with producers; a producer reads it under the lock after publishing {@code queuedHint},
     * a leaving poller reads {@code queuedHint} after decrementing it, so at least one of them sees the
     * other (both are volatile: sequentially consistent) and no packet is left without a drainer.
     */
    private final java.util.concurrent.atomic.AtomicInteger pollers = new java.util.concurrent.atomic.AtomicInteger();
    /** {@code queue.size()}, published for pollers' lock-free look. */
    private volatile int queuedHint;
    private ArrayDeque<Mbuf> batch = new ArrayDeque<>(); // the drainer's (busy set by it): swapped with queue under lock
    private final Thread ithread;

    public final Counter enqueued = new Counter();
    public final Counter drops = new Counter();
    public final Counter delivered = new Counter();

    /**
     * @param driverClass the driver, whose {@link org.smpnet.kern.NeedsGiant} decides whether delivery takes Giant
     * @param consumer    receives each packet (consumes it); exceptions are counted as drops and the thread goes on
     */
    public IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer) {
        this(name, limit, driverClass, consumer, false);
    }

    /**
     * @param netEpoch each batch is handed over inside one net-epoch section (entered after Giant), as a
     *     driver enters it once per interrupt: for consumers such as {@link Ifnet#inputInEpoch}
     */
    public IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer, boolean netEpoch) {
        this.netEpoch = netEpoch;
        if (limit < 1) {
            throw new IllegalArgumentException("queue limit must be positive, not " + limit);
        }
        this.name = name;
        this.limit = limit;
        this.driverClass = driverClass;
        this.consumer = consumer;
        this.lock = new Mtx(name, IFQ);
        this.nonEmpty = lock.newCondition();
        this.idle = lock.newCondition();
        this.ithread = Thread.ofPlatform().daemon().name("ithread " + name).start(this::run);
    }

    /** Queues {@code m} for the ithread; consumes it. Returns false (and counts a drop) when full or closed. */
    public boolean enqueue(Mbuf m) {
        lock.lock();
        try {
            if (closed || queue.size() >= limit) {
                drops.inc();
                m.freem();
                return false;
            }
            queue.add(m);
            int n = queue.size();
            queuedHint = n;
            enqueued.inc();
            if (n <= POLL_BACKLOG && pollers.get() > 0) {
                return true; // a busy poller takes it
            }
            if (sleeping && !busy && !DeferredInput.claim(this)) {
                nonEmpty.signal();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        try {
            serve();
        } finally {
            dead(); // an Error (an INVARIANTS assertion) ended the thread: fail soft, never hang drain()
        }
    }

    /** The ithread has ended: the queue closes itself, frees what is queued (counted) and wakes drainers. */
    private void dead() {
        lock.lock();
        try {
            closed = true;
            closedHint = true;
            Mbuf m;
            while ((m = queue.poll()) != null) {
                drops.inc();
                m.freem();
            }
            queuedHint = 0;
            if (drainer == Thread.currentThread()) { // the Error came out of this thread's batch
                while ((m = batch.poll()) != null) {
                    drops.inc();
                    m.freem();
                }
                endBatchLocked();
            }
            idle.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void serve() {
        boolean delivered = false;
        while (true) {
            lock.lock();
            try {
                if (delivered) {
                    endBatchLocked();
                }
                while ((queue.isEmpty() || busy) && !closed) {
                    sleeping = true;
                    nonEmpty.awaitUninterruptibly();
                    sleeping = false;
                }
                if (queue.isEmpty() || busy) { // closed, and empty or another drainer finishing
                    return;
                }
                takeBatchLocked();
            } finally {
                lock.unlock();
            }
            deliverBatch();
            delivered = true;
        }
    }

    /**
     * Drains in the calling thread what a {@link DeferredInput} section claimed: at most a few batches, then
     * whatever is left goes to the ithread. Returns at once if another drainer (the ithread or another
     * sender) is delivering: that drainer picks up what is queued. The caller holds no lock.
     */
    void serveDeferred() {
        for (int round = 0; round < 4; round++) {
            lock.lock();
            try {
                if (round > 0) {
                    endBatchLocked();
                }
                if (busy || queue.isEmpty() || closed) {
                    return;
                }
                takeBatchLocked();
            } finally {
                lock.unlock();
            }
            try {
                deliverBatch();
            } catch (Error e) {
                abandonBatch();
                throw e;
            }
        }
        lock.lock();
        try {
            endBatchLocked();
            if (!queue.isEmpty() && sleeping) {
                nonEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** An Error (an INVARIANTS assertion) left this drainer's batch half done: free the rest, step down. */
    private void abandonBatch() {
        lock.lock();
        try {
            Mbuf m;
            while ((m = batch.poll()) != null) {
                drops.inc();
                m.freem();
            }
            endBatchLocked();
            if (!queue.isEmpty() && sleeping) {
                nonEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts a busy-poll episode of the calling reader (see the class comment); pair with
     * {@link #pollerExit()}. Returns false, and the caller must not poll, when the queue is closed or
     * the stack runs under Giant ({@code net.mpsafenet=0}: the ithreads do all input).
     */
    public boolean pollerEnter() {
        if (!Giant.mpsafenet()) {
            return false;
        }
        Witness.assertUnowned(); // the polls run protocol input in this thread
        if (closedHint) {
            return false;
        }
        pollers.incrementAndGet();
        return true;
    }

    /**
     * Ends a busy-poll episode. The last poller to leave delivers what producers left for it (a few
     * batches at most, in the calling thread) and wakes the ithread for anything beyond that, so no
     * packet waits for a poller that is gone. The caller holds no lock; may run protocol input.
     */
    public void pollerExit() {
        if (pollers.decrementAndGet() > 0 || queuedHint == 0) {
            return; // another poller stays, or nothing waits (a producer from now on sees no poller)
        }
        lock.lock();
        try {
            if (pollers.get() > 0 || queue.isEmpty() || busy || closed) {
                return;
            }
            takeBatchLocked();
        } finally {
            lock.unlock();
        }
        for (int round = 0; ; round++) {
            try {
                deliverBatch();
            } catch (Error e) {
                abandonBatch();
                throw e;
            }
            lock.lock();
            try {
                endBatchLocked();
                if (busy || queue.isEmpty() || closed) {
                    return;
                }
                if (round == 3 || pollers.get() > 0) { // enough: the ithread (or the new poller) takes the rest
                    if (pollers.get() == 0 && sleeping) {
                        nonEmpty.signal();
                    }
                    return;
                }
                takeBatchLocked();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * One busy poll, between {@link #pollerEnter()} and {@link #pollerExit()}: if packets wait and nobody
     * is delivering, takes them and runs their input in the calling thread. Returns whether it delivered
     * any. The caller holds no lock; may run protocol input (and so wake other threads); does not sleep.
     */
    public boolean busyPoll() {
        if (queuedHint == 0) {
            return false;
        }
        lock.lock();
        try {
            if (busy || queue.isEmpty() || closed) {
                return false;
            }
            takeBatchLocked();
        } finally {
            lock.unlock();
        }
        try {
            deliverBatch();
        } catch (Error e) {
            abandonBatch();
            throw e;
        }
        lock.lock();
        try {
            endBatchLocked();
            if (!queue.isEmpty() && pollers.get() == 0 && sleeping) {
                nonEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
        return true;
    }

    /** Wakes the ithread if packets wait and nobody is delivering (a claim that will not be served). */
    void wakeIthread() {
        lock.lock();
        try {
            if (!queue.isEmpty() && !busy && sleeping) {
                nonEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Makes the caller the drainer: it owns {@code batch} (now holding the queued packets) until endBatch. */
    @GuardedBy("lock")
    private void takeBatchLocked() {
        ArrayDeque<Mbuf> full = queue;
        queue = batch;
        batch = full;
        queuedHint = 0;
        busy = true;
        drainer = Thread.currentThread();
    }

    /** The drainer is done with its batch; wakes drain() waiters when nothing is left. */
    @GuardedBy("lock")
    private void endBatchLocked() {
        busy = false;
        drainer = null;
        if (queue.isEmpty() && drainWaiters > 0) {
            idle.signalAll();
        }
    }

    /** Hands the taken batch to the consumer in order; after close, what is left of it is freed (counted). */
    private void deliverBatch() {
        boolean giant = Giant.pickup(driverClass);
        int et = netEpoch ? Epoch.NET.enter() : 0;
        try {
            Mbuf m;
            while ((m = batch.poll()) != null) {
                m.rxQueue = this;
                if (closedHint) { // closed while this batch was out: drop the rest, as close() drops the queue
                    drops.inc();
                    m.freem();
                    continue;
                }
                try {
                    consumer.accept(m);
                    delivered.inc();
                } catch (RuntimeException e) {
                    drops.inc();
                }
            }
        } finally {
            if (netEpoch) {
                Epoch.NET.exit(et);
            }
            Giant.drop(giant);
        }
    }

    /** Waits until the queue is empty and the ithread idle. May sleep; hold no lock. */
    public void drain() {
        lock.lock();
        try {
            while (!queue.isEmpty() || busy) {
                drainWaiters++;
                try {
                    idle.awaitUninterruptibly();
                } finally {
                    drainWaiters--;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Stops accepting packets, frees those queued (counted as drops) and ends the ithread. May sleep. */
    public void close() {
        lock.lock();
        try {
            closed = true;
            closedHint = true;
            Mbuf m;
            while ((m = queue.poll()) != null) {
                drops.inc();
                m.freem();
            }
            queuedHint = 0;
            nonEmpty.signalAll();
        } finally {
            lock.unlock();
        }
        if (Thread.currentThread() != ithread) {
            try {
                ithread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Whether the ithread sleeps waiting for packets (for tests). */
    boolean ithreadSleeping() {
        lock.lock();
        try {
            return sleeping;
        } finally {
            lock.unlock();
        }
    }

    public int length() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        lock.lock();
        try {
            return "IfQueue[" + name + " limit " + limit + " queued " + queue.size() + (busy ? " busy" : "")
                    + (pollers.get() > 0 ? " pollers " + pollers.get() : "") + (sleeping ? " ithread sleeping" : "") + "]";
        } finally {
            lock.unlock();
        }
    }
}
