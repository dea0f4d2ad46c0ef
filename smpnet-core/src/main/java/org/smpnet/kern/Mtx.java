package org.smpnet.kern;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A named mutex (FreeBSD {@code mtx(9)}, MTX_DEF). Its holder must not sleep or take a sleepable
 * lock. Recursion is allowed only when the lock's class is recursive; otherwise it throws
 * {@link LockAssertionError} naming the lock instead of deadlocking.
 *
 * <p>Adaptive, as FreeBSD's default mutexes: a thread that finds the mutex held spins briefly (holders
 * keep it for well under a microsecond) before it blocks, because blocking and being woken costs two
 * context switches, far more than the hold time ({@code smpnet.mtx.spins} tries, none on one CPU).
 *
 * <p>It is a {@link ReentrantLock}, so Error Prone's {@code GuardedBy} check follows
 * {@code lock()/unlock()} pairs on it. Memory effects are those of {@link ReentrantLock}.
 */
public class Mtx extends ReentrantLock implements NamedLock {
    private static final long serialVersionUID = 1L;
    /** Spin-wait tries before blocking on a held mutex; 0 on a uniprocessor, where the holder cannot run meanwhile. */
    static final int ADAPTIVE_SPINS = Runtime.getRuntime().availableProcessors() > 1
            ? Tunables.integer("smpnet.mtx.spins", 100) : 0;

    private final String name;
    private final transient LockClass lockClass;

    /** A non-recursive mutex whose class has the same name as the lock. */
    public Mtx(String name) {
        this(name, LockClass.of(name, LockKind.MUTEX, false));
    }

    /** A mutex of the named class (created non-recursive on first use). */
    public Mtx(String name, String className) {
        this(name, LockClass.of(className, LockKind.MUTEX, false));
    }

    public Mtx(String name, LockClass lockClass) {
        if (lockClass.kind() != LockKind.MUTEX && lockClass.kind() != LockKind.GIANT) {
            throw new IllegalArgumentException("class " + lockClass + " is not a mutex class");
        }
        this.name = name;
        this.lockClass = lockClass;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public LockClass lockClass() {
        return lockClass;
    }

    @Override
    public boolean ownedByCurrentThread() {
        return isHeldByCurrentThread();
    }

    @Override
    public void lock() {
        if (isHeldByCurrentThread()) {
            recurse();
            super.lock();
            return;
        }
        if (Witness.enabled) {
            Witness.checkOrder(this);
            acquire();
            Witness.acquired(this);
        } else {
            acquire();
        }
    }

    /** Takes the (not recursed) mutex: at once if free, else after a bounded spin, else blocking. */
    private void acquire() {
        if (super.tryLock()) {
            return;
        }
        for (int i = 0; i < ADAPTIVE_SPINS; i++) {
            Thread.onSpinWait();
            if (!isLocked() && super.tryLock()) {
                return;
            }
        }
        super.lock();
    }

    @Override
    public void lockInterruptibly() throws InterruptedException {
        if (isHeldByCurrentThread()) {
            recurse();
            super.lockInterruptibly();
            return;
        }
        boolean w = Witness.enabled;
        if (w) {
            Witness.checkOrder(this);
        }
        super.lockInterruptibly();
        if (w) {
            Witness.acquired(this);
        }
    }

    @Override
    public boolean tryLock() {
        if (isHeldByCurrentThread()) {
            recurse();
            return super.tryLock();
        }
        boolean got = super.tryLock();
        if (got && Witness.enabled) {
            Witness.acquired(this); // a try-lock cannot deadlock, so it teaches no order
        }
        return got;
    }

    @Override
    public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
        if (isHeldByCurrentThread()) {
            recurse();
            return super.tryLock(time, unit);
        }
        boolean got = super.tryLock(time, unit);
        if (got && Witness.enabled) {
            Witness.acquired(this);
        }
        return got;
    }

    @Override
    public void unlock() {
        if (!isHeldByCurrentThread()) {
            throw new LockAssertionError("unlock of mutex \"" + name + "\" not owned by " + Thread.currentThread().getName());
        }
        if (Witness.enabled && getHoldCount() == 1) {
            Witness.released(this);
        }
        super.unlock();
    }

    /** A condition variable whose waits release this mutex; see {@link Cv}. */
    @Override
    public Cv newCondition() {
        return new Cv(this, super.newCondition());
    }

    private void recurse() {
        if (!lockClass.recursable()) {
            throw new LockAssertionError("recursed on non-recursive mutex \"" + name + "\" (" + lockClass.name() + ")");
        }
    }

    @Override
    public String toString() {
        return "Mtx[" + name + " (" + lockClass.name() + ")" + (isLocked() ? " locked by " + getOwner() : "") + "]";
    }
}
