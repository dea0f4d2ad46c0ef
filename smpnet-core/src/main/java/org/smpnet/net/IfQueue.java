package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Cv;
import org.smpnet.kern.Giant;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;

/**
 * A bounded packet queue drained by its own thread: a driver's receive ring and its interrupt thread
 * ({@code ithread}). Producers {@link #enqueue} from any thread; the ithread hands each packet to the
 * consumer with no lock held, under Giant when the driver is not MPSAFE (R-IF-5).
 *
 * <p>Locking key: {@code queue}, {@code closed} and {@code busy} are guarded by {@link #lock}
 * (class "ifq", the innermost lock of the declared order).
 */
public final class IfQueue {
    private static final LockClass IFQ = LockClass.of("ifq", LockKind.MUTEX, false);

    private final String name;
    private final int limit;
    private final Class<?> driverClass;
    private final Consumer<Mbuf> consumer;
    private final Mtx lock;
    private final Cv nonEmpty;
    private final Cv idle;
    @GuardedBy("lock") private final ArrayDeque<Mbuf> queue = new ArrayDeque<>();
    @GuardedBy("lock") private boolean closed;
    @GuardedBy("lock") private boolean busy;
    private final Thread ithread;

    public final Counter enqueued = new Counter();
    public final Counter drops = new Counter();
    public final Counter delivered = new Counter();

    /**
     * @param driverClass the driver, whose {@link org.smpnet.kern.NeedsGiant} decides whether delivery takes Giant
     * @param consumer    receives each packet (consumes it); exceptions are counted as drops and the thread goes on
     */
    public IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer) {
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
            enqueued.inc();
            nonEmpty.signal();
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
            busy = false;
            Mbuf m;
            while ((m = queue.poll()) != null) {
                drops.inc();
                m.freem();
            }
            idle.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void serve() {
        while (true) {
            Mbuf m;
            lock.lock();
            try {
                while (queue.isEmpty() && !closed) {
                    busy = false;
                    idle.signalAll();
                    nonEmpty.awaitUninterruptibly();
                }
                m = queue.poll();
                if (m == null) { // closed and empty
                    busy = false;
                    idle.signalAll();
                    return;
                }
                busy = true;
            } finally {
                lock.unlock();
            }
            boolean giant = Giant.pickup(driverClass);
            try {
                consumer.accept(m);
                delivered.inc();
            } catch (RuntimeException e) {
                drops.inc();
            } finally {
                Giant.drop(giant);
            }
        }
    }

    /** Waits until the queue is empty and the ithread idle. May sleep; hold no lock. */
    public void drain() {
        lock.lock();
        try {
            while (!queue.isEmpty() || busy) {
                idle.awaitUninterruptibly();
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
            Mbuf m;
            while ((m = queue.poll()) != null) {
                drops.inc();
                m.freem();
            }
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
        return "IfQueue[" + name + " limit " + limit + "]";
    }
}
