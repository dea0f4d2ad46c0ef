package org.smpnet.kern;

/**
 * A named reader/writer lock (FreeBSD {@code rwlock(9)}): for read-mostly data. Like a mutex, its
 * holder must not sleep. Take it with {@code readLock().lock()} or {@code writeLock().lock()}.
 */
public final class RwLock extends SharedExclusiveLock {
    /** A non-recursive rw lock whose class has the same name as the lock. */
    public RwLock(String name) {
        this(name, LockClass.of(name, LockKind.RW, false));
    }

    public RwLock(String name, String className) {
        this(name, LockClass.of(className, LockKind.RW, false));
    }

    public RwLock(String name, LockClass lockClass) {
        super(name, lockClass, LockKind.RW);
    }
}
