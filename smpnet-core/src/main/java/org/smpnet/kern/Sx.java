package org.smpnet.kern;

/**
 * A named shared/exclusive lock whose holder may sleep (FreeBSD {@code sx(9)}), such as the socket
 * I/O serialisation lock. Taking it while holding a mutex is a WITNESS violation.
 */
public final class Sx extends SharedExclusiveLock {
    /** A non-recursive sx lock whose class has the same name as the lock. */
    public Sx(String name) {
        this(name, LockClass.of(name, LockKind.SX, false));
    }

    public Sx(String name, String className) {
        this(name, LockClass.of(className, LockKind.SX, false));
    }

    public Sx(String name, LockClass lockClass) {
        super(name, lockClass, LockKind.SX);
    }
}
