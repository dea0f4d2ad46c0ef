package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;

/**
 * The select/poll waiters of one object (FreeBSD {@code struct selinfo}), guarded by the object's
 * own mutex, passed in: a file that is not ready calls {@link #record} under that lock in the same
 * critical section as its readiness check; whatever makes it ready calls {@link #wakeup()} under
 * that lock. So a wake-up can never fall between a check and a record (see {@link PollWaiter}).
 *
 * <p>Locking key: {@link #waiters} is guarded by {@link #lock}. Lock order: {@link #lock}, then the
 * waiters' "select" locks (leaves).
 */
public final class SelInfo {
    private final Mtx lock;
    @GuardedBy("lock")
    private final List<PollWaiter> waiters = new ArrayList<>(2);

    /** Waiter records guarded by {@code lock}, the object's mutex. */
    public SelInfo(Mtx lock) {
        if (lock == null) {
            throw new IllegalArgumentException("a selinfo needs its object's mutex");
        }
        this.lock = lock;
    }

    public Mtx lock() {
        return lock;
    }

    /**
     * Records {@code w} to be woken by the next {@link #wakeup()} ({@code selrecord}). Called by
     * the waiter's own thread, from {@link File#poll}, with {@link #lock} held, after finding the
     * object not ready. A null waiter (a poll that will not sleep) records nothing. Never sleeps.
     */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public void record(PollWaiter w) {
        lock.assertOwned();
        if (w == null || waiters.contains(w)) {
            return;
        }
        waiters.add(w);
        w.recorded(this);
    }

    /**
     * Wakes every recorded waiter and forgets them ({@code selwakeup}): each re-scans, and records
     * again if it must wait again. Called with {@link #lock} held. Never sleeps.
     */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public void wakeup() {
        lock.assertOwned();
        if (waiters.isEmpty()) {
            return; // the common case on a busy socket or pipe: nobody selects
        }
        for (PollWaiter w : waiters) {
            w.wake();
        }
        waiters.clear();
    }

    /** Whether any waiter is recorded; {@link #lock} held. */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public boolean hasWaiters() {
        lock.assertOwned();
        return !waiters.isEmpty();
    }

    /** Removes {@code w}; takes {@link #lock}, which the caller must not hold. */
    void forget(PollWaiter w) {
        lock.lock();
        try {
            waiters.remove(w);
        } finally {
            lock.unlock();
        }
    }
}
