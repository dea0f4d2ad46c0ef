package org.smpnet.kern;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bucket of free items (FreeBSD {@code uma_bucket}): a stack of at most {@code items.length}.
 *
 * <p>Locking: a bucket belongs either to one thread's {@link UmaCache} (only that thread touches it)
 * or to the zone's depot (guarded by the zone lock). {@link #count} is stored with release
 * semantics so statistics readers on other threads can load it with acquire.
 */
final class UmaBucket {
    private static final VarHandle COUNT;

    static {
        try {
            COUNT = MethodHandles.lookup().findVarHandle(UmaBucket.class, "count", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Object[] items;
    /** Items held; written only by the bucket's current owner. */
    int count;

    UmaBucket(int size) {
        items = new Object[size];
    }

    void setCount(int n) {
        COUNT.setRelease(this, n);
    }

    /** The count as seen from a thread that does not own the bucket. */
    int countAcquire() {
        return (int) COUNT.getAcquire(this);
    }
}
