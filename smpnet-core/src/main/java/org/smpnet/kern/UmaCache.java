package org.smpnet.kern;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.List;

/**
 * One platform thread's cache in one zone (FreeBSD {@code uma_cache}, per CPU there): an alloc
 * bucket and a free bucket, and the thread's alloc/free counters.
 *
 * <p>Public only as an opaque handle: {@link UmaZone#cache()} hands it out so a caller that
 * remembers it with an item can free that item back without a second thread-local lookup
 * ({@link UmaZone#free(UmaCache, Object)}).
 *
 * <p>Locking: every field is written only by the owning thread, with release stores, and read by
 * other threads (statistics, under the zone lock) with acquire loads. Once the owner has died
 * ({@link #ownerDead()}, which establishes happens-before with its last action), the zone may take
 * the cache's contents under the zone lock.
 */
public final class UmaCache {
    /** Marks threads that bypass caches (virtual threads). */
    static final UmaCache DIRECT = new UmaCache();

    private static final VarHandle ALLOC;
    private static final VarHandle FREE;
    private static final VarHandle ALLOCS;
    private static final VarHandle FREES;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ALLOC = l.findVarHandle(UmaCache.class, "alloc", UmaBucket.class);
            FREE = l.findVarHandle(UmaCache.class, "free", UmaBucket.class);
            ALLOCS = l.findVarHandle(UmaCache.class, "allocCount", long.class);
            FREES = l.findVarHandle(UmaCache.class, "freeCount", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final WeakReference<Thread> owner;
    /** The owner's {@link Thread#threadId()} (never reused), so the owner is recognised without the referent. */
    private final long ownerId;
    UmaBucket alloc;
    UmaBucket free;
    private long allocCount;
    private long freeCount;

    /** Owner only: slow-path visits of an uncached thread left before it asks for a cache again. */
    private int retryIn;

    /** The direct marker: empty buckets of size 0, so both fast paths fall to the slow ones. */
    private UmaCache() {
        owner = new WeakReference<>(null);
        ownerId = -1;
        alloc = new UmaBucket(0);
        free = new UmaBucket(0);
    }

    /** An uncached thread's marker: like {@link #DIRECT}, but it knows its owner and when to retry. */
    private UmaCache(Thread owner) {
        this.owner = new WeakReference<>(owner);
        this.ownerId = owner.threadId();
        alloc = new UmaBucket(0);
        free = new UmaBucket(0);
        retryIn = RETRY_VISITS;
    }

    /** Slow-path visits after which a thread refused a cache asks again (a slot may have freed). */
    static final int RETRY_VISITS = 1024;

    /** A marker for {@code owner}, which the zone refused a cache (too many threads hold one). */
    static UmaCache uncached(Thread owner) {
        return new UmaCache(owner);
    }

    /** Whether this is a marker (no buckets): every alloc and free goes to the depot under the zone lock. */
    boolean uncached() {
        return alloc.items.length == 0;
    }

    /** Owner only, on an uncached thread's marker: counts a slow-path visit; true when it is time to retry. */
    boolean retryDue() {
        if (ownerId == -1 || --retryIn > 0) {
            return false;
        }
        retryIn = RETRY_VISITS;
        return true;
    }

    UmaCache(Thread owner, int bucketSize) {
        this.owner = new WeakReference<>(owner);
        this.ownerId = owner.threadId();
        this.alloc = new UmaBucket(bucketSize);
        this.free = new UmaBucket(bucketSize);
    }

    void countAlloc() {
        ALLOCS.setRelease(this, allocCount + 1);
    }

    void countFree() {
        FREES.setRelease(this, freeCount + 1);
    }

    long allocs() {
        return (long) ALLOCS.getAcquire(this);
    }

    long frees() {
        return (long) FREES.getAcquire(this);
    }

    /** Owner only: the free bucket {@code f} becomes the alloc bucket and {@code a} the free one. */
    void swap(UmaBucket f, UmaBucket a) {
        ALLOC.setRelease(this, f);
        FREE.setRelease(this, a);
    }

    void setAlloc(UmaBucket b) {
        ALLOC.setRelease(this, b);
    }

    void setFree(UmaBucket b) {
        FREE.setRelease(this, b);
    }

    /** Items in both buckets, as seen from another thread. */
    long cachedItems() {
        UmaBucket a = (UmaBucket) ALLOC.getAcquire(this);
        UmaBucket f = (UmaBucket) FREE.getAcquire(this);
        return (long) a.countAcquire() + f.countAcquire();
    }

    /** The owner's thread id, or -1 for {@link #DIRECT}. */
    long ownerId() {
        return ownerId;
    }

    /** Whether the calling thread owns this cache. */
    boolean ownedByCurrentThread() {
        return ownerId == Thread.currentThread().threadId();
    }

    /** Whether the owning thread has terminated (or been collected). */
    boolean ownerDead() {
        Thread t = owner.get();
        return t == null || !t.isAlive();
    }

    /** A dead owner's buckets, handed to the depot; the cache is unusable afterwards. */
    UmaBucket[] release() {
        UmaBucket[] b = {alloc, free};
        alloc = null;
        free = null;
        return b;
    }

    /** Moves every cached item to {@code out}; the owner's own thread only. */
    void takeAll(List<Object> out) {
        take(alloc, out);
        take(free, out);
    }

    private static void take(UmaBucket b, List<Object> out) {
        for (int i = 0; i < b.count; i++) {
            out.add(b.items[i]);
            b.items[i] = null;
        }
        b.setCount(0);
    }
}
