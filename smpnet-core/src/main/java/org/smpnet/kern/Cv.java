package org.smpnet.kern;

import java.util.Date;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * A condition variable tied to one {@link Mtx} (FreeBSD {@code condvar(9)}). A wait releases the
 * mutex while sleeping; WITNESS reports the wait if any other non-sleepable lock is held.
 *
 * <p>A waiter that holds {@link Giant} releases every hold of it while it sleeps and takes them back
 * after (FreeBSD's {@code cv_wait} does {@code DROP_GIANT}/{@code PICKUP_GIANT}), so a sleeper never stops
 * the Giant-locked world, such as the ithread that would deliver what it waits for. Giant comes before
 * every mutex, so on the way back the mutex is released, Giant taken, then the mutex taken again: the
 * condition the caller re-checks may have changed meanwhile, as after any wakeup.
 */
public final class Cv implements Condition {
    private final Mtx interlock;
    private final Condition condition;

    Cv(Mtx interlock, Condition condition) {
        this.interlock = interlock;
        this.condition = condition;
    }

    private void checkSleep() {
        interlock.assertOwned();
        Witness.checkSleep("waiting on a condition of \"" + interlock.name() + "\"", interlock);
    }

    @Override
    public void await() throws InterruptedException {
        checkSleep();
        int giant = dropGiant();
        try {
            condition.await();
        } finally {
            pickupGiant(giant);
        }
    }

    @Override
    public void awaitUninterruptibly() {
        checkSleep();
        int giant = dropGiant();
        try {
            condition.awaitUninterruptibly();
        } finally {
            pickupGiant(giant);
        }
    }

    @Override
    public long awaitNanos(long nanosTimeout) throws InterruptedException {
        checkSleep();
        int giant = dropGiant();
        try {
            return condition.awaitNanos(nanosTimeout);
        } finally {
            pickupGiant(giant);
        }
    }

    @Override
    public boolean await(long time, TimeUnit unit) throws InterruptedException {
        checkSleep();
        int giant = dropGiant();
        try {
            return condition.await(time, unit);
        } finally {
            pickupGiant(giant);
        }
    }

    @Override
    public boolean awaitUntil(Date deadline) throws InterruptedException {
        checkSleep();
        int giant = dropGiant();
        try {
            return condition.awaitUntil(deadline);
        } finally {
            pickupGiant(giant);
        }
    }

    /** Releases every hold of Giant the waiter has (none if the interlock is Giant itself: the wait releases it). */
    private int dropGiant() {
        return interlock != Giant.GIANT && Giant.GIANT.isHeldByCurrentThread() ? Giant.save() : 0;
    }

    /** Takes back {@code holds} of Giant after a wait, in lock order: Giant before the interlock. */
    private void pickupGiant(int holds) {
        if (holds > 0) {
            int own = interlock.getHoldCount();
            for (int i = 0; i < own; i++) {
                interlock.unlock();
            }
            Giant.restore(holds);
            for (int i = 0; i < own; i++) {
                interlock.lock();
            }
        }
    }

    @Override
    public void signal() {
        condition.signal();
    }

    @Override
    public void signalAll() {
        condition.signalAll();
    }
}
