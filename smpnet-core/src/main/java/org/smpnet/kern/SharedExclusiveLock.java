package org.smpnet.kern;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Common body of {@link RwLock} and {@link Sx}: a named reader/writer lock checked by WITNESS.
 * Shared holds may recurse; an exclusive hold recurses only if the class is recursive; taking the
 * exclusive side while holding the shared side would deadlock and throws instead.
 *
 * <p>It is a {@link ReadWriteLock}, so Error Prone's {@code GuardedBy} check understands
 * {@code lock.readLock().lock()} and {@code lock.writeLock().lock()}.
 */
public abstract sealed class SharedExclusiveLock implements ReadWriteLock, NamedLock permits RwLock, Sx {
    private final String name;
    private final LockClass lockClass;
    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
    private final Shared shared = new Shared();
    private final Exclusive exclusive = new Exclusive();

    SharedExclusiveLock(String name, LockClass lockClass, LockKind kind) {
        if (lockClass.kind() != kind) {
            throw new IllegalArgumentException("class " + lockClass + " is not a " + kind + " class");
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

    /** Whether the current thread holds this lock exclusively. */
    public boolean ownedExclusively() {
        return rw.isWriteLockedByCurrentThread();
    }

    /** Whether the current thread holds this lock shared (and not exclusively). */
    public boolean ownedShared() {
        return rw.getReadHoldCount() > 0;
    }

    @Override
    public boolean ownedByCurrentThread() {
        return ownedExclusively() || ownedShared();
    }

    /** Fails unless the current thread holds this lock exclusively. */
    public void assertExclusive() {
        if (!ownedExclusively()) {
            throw new LockAssertionError("lock \"" + name + "\" (" + lockClass.name() + ") not held exclusively by "
                    + Thread.currentThread().getName());
        }
    }

    @Override
    public Lock readLock() {
        return shared;
    }

    @Override
    public Lock writeLock() {
        return exclusive;
    }

    /**
     * Turns an exclusive hold into a shared one without letting a writer in between.
     * The caller must hold the lock exclusively, once.
     */
    public void downgrade() {
        assertExclusive();
        if (rw.getWriteHoldCount() != 1) {
            throw new LockAssertionError("downgrade of recursed lock \"" + name + "\"");
        }
        rw.readLock().lock();
        rw.writeLock().unlock(); // WITNESS still sees one hold of this lock: shared now
    }

    private void beforeShared() {
        if (rw.isWriteLockedByCurrentThread() && !lockClass.recursable()) {
            throw new LockAssertionError("shared acquire of \"" + name + "\" (" + lockClass.name()
                    + ") while holding it exclusively: recursion on a non-recursive lock");
        }
    }

    private void beforeExclusive() {
        if (rw.isWriteLockedByCurrentThread()) {
            if (!lockClass.recursable()) {
                throw new LockAssertionError("recursed on non-recursive " + lockClass.kind().name().toLowerCase(java.util.Locale.ROOT)
                        + " \"" + name + "\" (" + lockClass.name() + ")");
            }
        } else if (rw.getReadHoldCount() > 0) {
            throw new LockAssertionError("exclusive acquire of \"" + name + "\" while holding it shared would deadlock");
        }
    }

    /** Whether this acquisition is the thread's first hold (so WITNESS must see it). */
    private boolean firstHold() {
        return !rw.isWriteLockedByCurrentThread() && rw.getReadHoldCount() == 0;
    }

    private boolean lastHold() {
        return rw.getWriteHoldCount() + rw.getReadHoldCount() == 1;
    }

    /**
     * Whether a blocking acquisition may have to release Giant: the lock is sleepable and this
     * thread holds Giant. Such an acquisition that cannot get the lock at once releases every
     * hold of Giant while it waits and takes them back once it has the lock, as FreeBSD's
     * {@code _sx_xlock_hard} does ({@code GIANT_SAVE}/{@code GIANT_RESTORE}). So no thread ever
     * waits for an sx while holding Giant, Giant and sx locks cannot deadlock in either order, and
     * WITNESS does not order them ({@link Witness#giantExempt}). Callers that hold Giant must not
     * expect it to stay held across an sx acquisition, as across a sleep.
     */
    private boolean sleepableUnderGiant() {
        return lockClass.kind().sleepable() && Giant.GIANT.isHeldByCurrentThread();
    }

    /** Takes {@code side}, releasing Giant while blocked on a sleepable lock. */
    private void block(Lock side) {
        if (!sleepableUnderGiant()) {
            side.lock();
        } else if (!side.tryLock()) {
            int giant = Giant.save();
            try {
                side.lock();
            } finally {
                Giant.restore(giant);
            }
        }
    }

    private void blockInterruptibly(Lock side) throws InterruptedException {
        if (!sleepableUnderGiant()) {
            side.lockInterruptibly();
        } else if (!side.tryLock()) {
            int giant = Giant.save();
            try {
                side.lockInterruptibly();
            } finally {
                Giant.restore(giant);
            }
        }
    }

    private final class Shared implements Lock {
        @Override
        public void lock() {
            beforeShared();
            boolean track = Witness.enabled && firstHold();
            if (track) {
                Witness.checkOrder(SharedExclusiveLock.this);
            }
            block(rw.readLock());
            if (track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            beforeShared();
            boolean track = Witness.enabled && firstHold();
            if (track) {
                Witness.checkOrder(SharedExclusiveLock.this);
            }
            blockInterruptibly(rw.readLock());
            if (track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
        }

        @Override
        public boolean tryLock() {
            beforeShared();
            boolean track = Witness.enabled && firstHold();
            boolean got = rw.readLock().tryLock();
            if (got && track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
            return got;
        }

        @Override
        public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
            beforeShared();
            boolean track = Witness.enabled && firstHold();
            boolean got = rw.readLock().tryLock(time, unit);
            if (got && track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
            return got;
        }

        @Override
        public void unlock() {
            if (rw.getReadHoldCount() == 0) {
                throw new LockAssertionError("shared unlock of \"" + name + "\" not held shared by " + Thread.currentThread().getName());
            }
            if (Witness.enabled && lastHold()) {
                Witness.released(SharedExclusiveLock.this);
            }
            rw.readLock().unlock();
        }

        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("shared locks have no conditions");
        }
    }

    private final class Exclusive implements Lock {
        @Override
        public void lock() {
            beforeExclusive();
            boolean track = Witness.enabled && firstHold();
            if (track) {
                Witness.checkOrder(SharedExclusiveLock.this);
            }
            block(rw.writeLock());
            if (track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            beforeExclusive();
            boolean track = Witness.enabled && firstHold();
            if (track) {
                Witness.checkOrder(SharedExclusiveLock.this);
            }
            blockInterruptibly(rw.writeLock());
            if (track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
        }

        @Override
        public boolean tryLock() {
            beforeExclusive();
            boolean track = Witness.enabled && firstHold();
            boolean got = rw.writeLock().tryLock();
            if (got && track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
            return got;
        }

        @Override
        public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
            beforeExclusive();
            boolean track = Witness.enabled && firstHold();
            boolean got = rw.writeLock().tryLock(time, unit);
            if (got && track) {
                Witness.acquired(SharedExclusiveLock.this);
            }
            return got;
        }

        @Override
        public void unlock() {
            if (!rw.isWriteLockedByCurrentThread()) {
                throw new LockAssertionError("exclusive unlock of \"" + name + "\" not held exclusively by "
                        + Thread.currentThread().getName());
            }
            if (Witness.enabled && lastHold()) {
                Witness.released(SharedExclusiveLock.this);
            }
            rw.writeLock().unlock();
        }

        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("use an Mtx and Cv for condition waits");
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + name + " (" + lockClass.name() + ") " + rw + "]";
    }
}
