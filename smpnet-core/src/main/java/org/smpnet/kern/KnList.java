package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;

/**
 * The knotes watching one object (FreeBSD {@code struct knlist}): a pipe end, a socket buffer, a
 * kqueue. It is guarded by the object's own mutex, passed in, so the object can
 * {@link #knote(long)} from code that already holds it (a socket-buffer append, a pipe write).
 *
 * <p>Locking key: {@link #knotes} and every knote's list membership are guarded by {@link #lock}.
 * Lock order: {@link #lock}, then a kqueue's lock (activation); a kqueue never takes a list
 * lock while holding its own.
 *
 * <p>Memory effects: what the object did under {@link #lock} before {@link #knote(long)}
 * happens-before a {@link Kqueue#kevent} that reports the activation.
 */
public final class KnList {
    private final Mtx lock;
    @GuardedBy("lock")
    private final List<Knote> knotes = new ArrayList<>();

    /** A list guarded by {@code lock}, the watched object's mutex. */
    public KnList(Mtx lock) {
        if (lock == null) {
            throw new IllegalArgumentException("a knote list needs its object's mutex");
        }
        this.lock = lock;
    }

    /** The object's mutex guarding this list. */
    public Mtx lock() {
        return lock;
    }

    /**
     * Adds {@code kn} ({@code knlist_add}); called from {@link File#kqfilter} with {@link #lock}
     * held, after {@link Knote#setFop}. A knote joins one list in its life.
     *
     * @throws IllegalStateException if the knote was on a list before
     */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public void add(Knote kn) {
        lock.assertOwned();
        if (kn.knlist() != null) {
            throw new IllegalStateException(kn + " is already attached to a knote list");
        }
        if (kn.fop() == null) {
            throw new IllegalStateException(kn + " has no filter ops: call setFop before adding it");
        }
        kn.setKnlist(this);
        kn.onList = true;
        knotes.add(kn);
    }

    /** Removes {@code kn} if it is still on this list ({@code knlist_remove}); {@link #lock} held. */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public void remove(Knote kn) {
        lock.assertOwned();
        if (kn.onList) {
            kn.onList = false;
            knotes.remove(kn);
        }
    }

    /** Removes {@code kn}, taking {@link #lock} unless the caller holds it. Never sleeps. */
    void detach(Knote kn) {
        boolean held = lock.isHeldByCurrentThread();
        if (!held) {
            lock.lock();
        }
        try {
            remove(kn);
        } finally {
            if (!held) {
                lock.unlock();
            }
        }
    }

    /**
     * Runs every knote's filter with {@code hint} and activates those that say ready ({@code KNOTE_LOCKED}).
     * The caller holds {@link #lock}, and no kqueue lock. Never sleeps.
     */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public void knote(long hint) {
        lock.assertOwned();
        for (int i = 0; i < knotes.size(); i++) {
            Knote kn = knotes.get(i);
            if (kn.fop().event(kn, hint)) {
                kn.activate();
            }
        }
    }

    /**
     * The object is going away ({@code knlist_clear}): every knote is taken off the list, marked
     * {@link KEvent#EV_EOF} and activated, so its kqueue reports the end and then drops it. The
     * filters are not called again for these knotes. The caller holds {@link #lock}. Never sleeps.
     * Safe against the knotes' kqueues being closed at the same time: dropping a knote that is no
     * longer on the list does nothing here.
     */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public void clear() {
        lock.assertOwned();
        List<Knote> gone = new ArrayList<>(knotes);
        knotes.clear();
        for (Knote kn : gone) {
            kn.onList = false;
            kn.setEof(true);
            kn.activate();
        }
    }

    /** Whether no knote is on the list; {@link #lock} held. */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public boolean isEmpty() {
        lock.assertOwned();
        return knotes.isEmpty();
    }

    /** Knotes on the list; {@link #lock} held. */
    @SuppressWarnings("GuardedBy") // the caller holds lock (asserted): Error Prone cannot see another object's lock
    public int size() {
        lock.assertOwned();
        return knotes.size();
    }
}
