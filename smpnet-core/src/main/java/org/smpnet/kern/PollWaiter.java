package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;

/**
 * One thread's wait in {@link Poll#poll} or {@link Poll#select} (FreeBSD {@code struct seltd}):
 * the {@link SelInfo}s it is recorded on and a flag their wake-ups set.
 *
 * <p>Protocol (no lost wake-up): the poller asks each file for its state with this waiter; a file
 * that is not ready records the waiter on its {@link SelInfo} under the file's lock, in the same
 * critical section as the check. Any later change calls {@link SelInfo#wakeup()} under that lock,
 * which finds the waiter and sets {@link #woken}. The poller sleeps only while {@code woken} is
 * false, then re-scans.
 *
 * <p>Locking key: {@link #woken} is guarded by {@link #lock} (class "select", a leaf: taken under
 * object locks, takes nothing). {@link #recorded} is touched only by the owning thread.
 */
public final class PollWaiter {
    private final Mtx lock = new Mtx("seltd", "select");
    private final Cv cv = lock.newCondition();
    @GuardedBy("lock")
    private boolean woken;
    /** SelInfos this waiter is on; only the owning thread touches the list. */
    private final List<SelInfo> recorded = new ArrayList<>();

    /** Called by {@link SelInfo#record} on the owning thread. */
    void recorded(SelInfo si) {
        recorded.add(si);
    }

    /** Called by {@link SelInfo#wakeup()} with the object's lock held. Never sleeps. */
    void wake() {
        lock.lock();
        try {
            woken = true;
            cv.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sleeps until a wake-up or until {@code nanos} pass ({@code < 0}: no limit). Returns at once if
     * a wake-up came since the last {@link #clear()}. Call with no lock held.
     *
     * @return whether woken (false: timed out)
     * @throws ErrnoException EINTR if the thread is interrupted (the interrupt is consumed)
     */
    public boolean await(long nanos) throws ErrnoException {
        Witness.checkSleep("poll/select wait", null);
        lock.lock();
        try {
            long left = nanos;
            while (!woken) {
                if (nanos < 0) {
                    cv.await();
                } else {
                    if (left <= 0) {
                        return false;
                    }
                    left = cv.awaitNanos(left);
                }
            }
            return true;
        } catch (InterruptedException e) {
            throw new ErrnoException(Errno.EINTR, "poll interrupted");
        } finally {
            lock.unlock();
        }
    }

    /** Whether a wake-up came since the last {@link #clear()}. */
    public boolean woken() {
        lock.lock();
        try {
            return woken;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes the waiter off every {@link SelInfo} it was recorded on and resets the wake-up flag
     * ({@code seltdclear}). Called by the owning thread with no lock held, before a re-scan and at
     * the end; takes each object's lock in turn.
     */
    public void clear() {
        for (SelInfo si : recorded) {
            si.forget(this);
        }
        recorded.clear();
        lock.lock();
        try {
            woken = false;
        } finally {
            lock.unlock();
        }
    }
}
