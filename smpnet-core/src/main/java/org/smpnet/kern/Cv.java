package org.smpnet.kern;

import java.util.Date;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * A condition variable tied to one {@link Mtx} (FreeBSD {@code condvar(9)}). A wait releases the
 * mutex while sleeping; WITNESS reports the wait if any other non-sleepable lock is held.
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
        condition.await();
    }

    @Override
    public void awaitUninterruptibly() {
        checkSleep();
        condition.awaitUninterruptibly();
    }

    @Override
    public long awaitNanos(long nanosTimeout) throws InterruptedException {
        checkSleep();
        return condition.awaitNanos(nanosTimeout);
    }

    @Override
    public boolean await(long time, TimeUnit unit) throws InterruptedException {
        checkSleep();
        return condition.await(time, unit);
    }

    @Override
    public boolean awaitUntil(Date deadline) throws InterruptedException {
        checkSleep();
        return condition.awaitUntil(deadline);
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
