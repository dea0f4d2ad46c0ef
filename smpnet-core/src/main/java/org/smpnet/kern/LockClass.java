package org.smpnet.kern;

import java.util.concurrent.ConcurrentHashMap;

/**
 * A class of locks: all locks of one class take the same place in the lock order (all socket
 * buffer locks are one class, {@code "sockbuf"}). WITNESS keys its order graph by class.
 *
 * <p>Classes are interned by name; asking again for a name returns the same class, and asking with
 * a different kind or recursion flag is an error (two meanings for one name).
 */
public final class LockClass {
    private static final ConcurrentHashMap<String, LockClass> CLASSES = new ConcurrentHashMap<>();

    private final String name;
    private final LockKind kind;
    private final boolean recursable;
    final Witness.Node node;

    private LockClass(String name, LockKind kind, boolean recursable) {
        this.name = name;
        this.kind = kind;
        this.recursable = recursable;
        this.node = Witness.node(name);
    }

    /**
     * Returns the class called {@code name}, creating it on first use.
     *
     * @throws IllegalArgumentException if the name is blank or already names a class of another kind
     *     or recursion
     */
    public static LockClass of(String name, LockKind kind, boolean recursable) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("lock class name must not be blank");
        }
        LockClass c = CLASSES.computeIfAbsent(name, n -> new LockClass(n, kind, recursable));
        if (c.kind != kind || c.recursable != recursable) {
            throw new IllegalArgumentException("lock class \"" + name + "\" is already a "
                    + c.describe() + ", not a " + describe(kind, recursable));
        }
        return c;
    }

    public String name() {
        return name;
    }

    public LockKind kind() {
        return kind;
    }

    /** Whether a lock of this class may be taken again by the thread that holds it. */
    public boolean recursable() {
        return recursable;
    }

    private String describe() {
        return describe(kind, recursable);
    }

    private static String describe(LockKind kind, boolean recursable) {
        return (recursable ? "recursive " : "") + kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public String toString() {
        return name;
    }
}
