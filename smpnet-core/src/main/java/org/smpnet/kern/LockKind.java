package org.smpnet.kern;

/** The kinds of lock WITNESS knows; the kind decides whether a holder may sleep. */
public enum LockKind {
    /** A mutex ({@link Mtx}): its holder must not sleep or take a sleepable lock. */
    MUTEX(false),
    /** A reader/writer lock ({@link RwLock}): like a mutex, its holder must not sleep. */
    RW(false),
    /** A shared/exclusive lock ({@link Sx}): its holder may sleep. */
    SX(true),
    /** Giant: a recursive mutex that may be held across a sleep. */
    GIANT(true);

    private final boolean sleepable;

    LockKind(boolean sleepable) {
        this.sleepable = sleepable;
    }

    /** Whether a thread holding a lock of this kind may sleep. */
    public boolean sleepable() {
        return sleepable;
    }
}
