package org.smpnet.kern;

/** What every smpnet lock has: a name (this instance) and a class (its place in the lock order). */
public interface NamedLock {
    /** The instance name, e.g. {@code "so_rcv"}. */
    String name();

    /** The class WITNESS orders this lock by. */
    LockClass lockClass();

    /** Whether the current thread holds this lock (exclusively, or shared for shared locks). */
    boolean ownedByCurrentThread();

    /** Fails with {@link LockAssertionError} unless the current thread holds this lock. */
    default void assertOwned() {
        if (!ownedByCurrentThread()) {
            throw new LockAssertionError("lock \"" + name() + "\" (" + lockClass().name() + ") not owned by "
                    + Thread.currentThread().getName());
        }
    }

    /** Fails with {@link LockAssertionError} if the current thread holds this lock. */
    default void assertNotOwned() {
        if (ownedByCurrentThread()) {
            throw new LockAssertionError("lock \"" + name() + "\" (" + lockClass().name() + ") owned by "
                    + Thread.currentThread().getName());
        }
    }
}
