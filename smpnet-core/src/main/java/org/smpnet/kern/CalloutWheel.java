package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One CPU's callout wheel (FreeBSD {@code struct callout_cpu}): a hashed timing wheel of
 * {@link #SIZE} buckets; a callout due at tick {@code t} sits in bucket {@code t & MASK}, whatever
 * the number of turns before it falls due. Processing tick {@code t} looks only at the buckets
 * between the last processed tick and {@code t}.
 *
 * <p>Locking key, every mutable field guarded by {@link #lock} (the "callout" lock class):
 * <ul>
 *   <li>{@link #buckets}: pending entries, per bucket in insertion order (same-tick FIFO);
 *   <li>{@link #dequeued}: entries taken off the wheel to fire whose handler has not started; a
 *       stop or reset removes the callout from here, and the firing thread then skips it;
 *   <li>{@link #count}, {@link #softTicks}, {@link #wakeTick}, {@link #closed}, {@link #drainWaiters}.
 * </ul>
 * The wheel lock is a leaf: nothing is acquired while it is held, and it is never held while a
 * handler runs or while the firing thread takes Giant or a callout's mutex. The lock order is
 * therefore Giant, then a callout's mutex, then the wheel lock.
 *
 * <p>Entries are immutable, so a firing thread may read them without the lock. The mutable state of
 * a {@link Callout} is kept in the callout and guarded by its wheel's lock; it is touched only by
 * {@link Callout}'s own code.
 */
final class CalloutWheel {
    static final int SIZE = 512;
    static final int MASK = SIZE - 1;

    /** A scheduled firing: immutable; {@code seq} orders entries of one tick (FIFO). */
    record Entry(Callout callout, long time, long seq, Runnable handler) {}

    static final Comparator<Entry> DEADLINE_ORDER =
            Comparator.comparingLong(Entry::time).thenComparingLong(Entry::seq);

    final CalloutWheels set;
    final int cpu;
    final Mtx lock;
    /** The daemon sleeps here until the next due tick or an earlier reset. */
    final Cv tickCv;
    /** Drains sleep here until the handler they wait for has returned. */
    final Cv doneCv;

    @GuardedBy("lock")
    private final List<LinkedHashMap<Callout, Entry>> buckets = new ArrayList<>(SIZE);
    @GuardedBy("lock")
    private final Map<Callout, Entry> dequeued = new IdentityHashMap<>();
    /** Entries in {@link #buckets}. */
    @GuardedBy("lock")
    private int count;
    /** The last tick processed: every pending entry is due after it. */
    @GuardedBy("lock")
    long softTicks;
    /** The tick the daemon sleeps until; a reset due earlier wakes it. */
    @GuardedBy("lock")
    private long wakeTick = Long.MAX_VALUE;
    @GuardedBy("lock")
    private boolean closed;
    @GuardedBy("lock")
    int drainWaiters;

    private Thread daemon;

    CalloutWheel(CalloutWheels set, int cpu, long softTicks) {
        this.set = set;
        this.cpu = cpu;
        this.lock = new Mtx(set.name() + "/" + cpu, "callout");
        this.tickCv = lock.newCondition();
        this.doneCv = lock.newCondition();
        lock.lock();
        try {
            for (int i = 0; i < SIZE; i++) {
                buckets.add(new LinkedHashMap<>());
            }
            this.softTicks = softTicks;
        } finally {
            lock.unlock();
        }
    }

    /** Starts the thread that advances this wheel with a real clock. */
    void start() {
        daemon = Thread.ofPlatform().daemon().name(set.name() + "/" + cpu).unstarted(this::softclock);
        daemon.start();
    }

    /** Puts {@code e} on the wheel; wakes the daemon if it sleeps past {@code e}'s tick. */
    @GuardedBy("lock")
    void insert(Entry e) {
        lock.assertOwned();
        if (closed) {
            throw new IllegalStateException("callout wheels \"" + set.name() + "\" are closed");
        }
        buckets.get((int) (e.time() & MASK)).put(e.callout(), e);
        count++;
        if (e.time() < wakeTick) {
            wakeTick = e.time();
            tickCv.signal();
        }
    }

    /** Takes {@code e} off the wheel if it is still there; returns whether it was. */
    @GuardedBy("lock")
    boolean remove(Entry e) {
        if (buckets.get((int) (e.time() & MASK)).remove(e.callout(), e)) {
            count--;
            return true;
        }
        return false;
    }

    /** Whether {@code e} is on the wheel. */
    @GuardedBy("lock")
    boolean isQueued(Entry e) {
        return buckets.get((int) (e.time() & MASK)).get(e.callout()) == e;
    }

    /** Cancels a firing of {@code c} that was taken off the wheel but has not started; returns whether there was one. */
    @GuardedBy("lock")
    boolean cancelFiring(Callout c) {
        return dequeued.remove(c) != null;
    }

    /** Claims the firing {@code e} for its handler; false if a stop or reset cancelled it. */
    @GuardedBy("lock")
    boolean claimFiring(Entry e) {
        return dequeued.remove(e.callout(), e);
    }

    @GuardedBy("lock")
    int pendingCount() {
        return count;
    }

    /**
     * Takes every entry due at or before {@code tick} off the wheel into {@code out} (marked as
     * dequeued) and records {@code tick} as processed.
     */
    @GuardedBy("lock")
    void collectDue(long tick, List<Entry> out) {
        lock.assertOwned();
        if (tick <= softTicks) {
            return;
        }
        long turns = Math.min(tick - softTicks, SIZE);
        for (long t = softTicks + 1; t <= softTicks + turns; t++) {
            LinkedHashMap<Callout, Entry> b = buckets.get((int) (t & MASK));
            if (b.isEmpty()) {
                continue;
            }
            for (Iterator<Entry> it = b.values().iterator(); it.hasNext(); ) {
                Entry e = it.next();
                if (e.time() <= tick) {
                    it.remove();
                    count--;
                    dequeued.put(e.callout(), e);
                    out.add(e);
                }
            }
        }
        softTicks = tick;
    }

    /** The earliest tick with a pending entry, or {@link Long#MAX_VALUE}. */
    @GuardedBy("lock")
    long nextDueTick() {
        if (count == 0) {
            return Long.MAX_VALUE;
        }
        for (long t = softTicks + 1; t <= softTicks + SIZE; t++) {
            for (Entry e : buckets.get((int) (t & MASK)).values()) {
                if (e.time() <= t) {
                    return e.time();
                }
            }
        }
        long min = Long.MAX_VALUE;
        for (LinkedHashMap<Callout, Entry> b : buckets) {
            for (Entry e : b.values()) {
                min = Math.min(min, e.time());
            }
        }
        return min;
    }

    /** Runs a batch of dequeued entries in deadline order, with no lock held. */
    static void fireAll(List<Entry> batch, List<Throwable> errors) {
        batch.sort(DEADLINE_ORDER);
        for (Entry e : batch) {
            Throwable t = e.callout().fire(e);
            if (t != null) {
                errors.add(t);
            }
        }
        batch.clear();
    }

    /** The daemon (FreeBSD's softclock swi): sleeps until the next due tick, then fires what is due. */
    private void softclock() {
        List<Entry> batch = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        while (waitForWork(batch)) {
            fireAll(batch, errors);
            for (Throwable t : errors) {
                Thread.UncaughtExceptionHandler h = Thread.currentThread().getUncaughtExceptionHandler();
                h.uncaughtException(Thread.currentThread(), t);
            }
            errors.clear();
        }
    }

    /** Sleeps until something is due and collects it; false once the wheel is closed. */
    private boolean waitForWork(List<Entry> batch) {
        lock.lock();
        try {
            while (!closed) {
                long nowTick = set.tickOf(set.clock().nanoTime());
                if (nowTick > softTicks) {
                    collectDue(nowTick, batch);
                    if (!batch.isEmpty()) {
                        wakeTick = Long.MAX_VALUE;
                        return true;
                    }
                }
                wakeTick = nextDueTick();
                if (wakeTick == Long.MAX_VALUE) {
                    tickCv.awaitUninterruptibly();
                } else {
                    long sleep = set.tickTime(wakeTick) - set.clock().nanoTime();
                    if (sleep > 0) {
                        awaitNanos(sleep);
                    }
                }
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private void awaitNanos(long nanos) {
        try {
            tickCv.awaitNanos(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /**
     * Stops the daemon (if any) and refuses new callouts; pending ones never fire. May sleep (joins
     * the daemon); must not be called from a handler of this wheel or with a non-sleepable lock held.
     */
    void close() {
        lock.lock();
        try {
            closed = true;
            tickCv.signalAll();
        } finally {
            lock.unlock();
        }
        if (daemon != null) {
            if (daemon == Thread.currentThread()) {
                throw new IllegalStateException("callout wheels closed from their own handler");
            }
            Witness.checkSleep("closing callout wheel " + lock.name(), null);
            Giant.joinUninterruptibly(List.of(daemon)); // a handler still running may need Giant (callouts run under it in mpsafenet=0 mode)
        }
    }
}
