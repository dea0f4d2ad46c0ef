package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A UMA zone (FreeBSD {@code uma(9)}): a pool of same-typed items with per-thread caches of
 * buckets over a shared depot, so the common alloc and free take no lock.
 *
 * <p>Layers, as in FreeBSD: the <em>keg</em> creates items ({@link Import}, then {@code init}) and
 * destroys them ({@code fini}; the item is then left to the garbage collector); the <em>depot</em>
 * keeps buckets of free, initialised items under {@link #lock}; each platform thread has a
 * {@link UmaCache} of two buckets (alloc, free) that only it touches. {@code ctor}/{@code dtor} run
 * on every alloc/free. Virtual threads have no cache (they are too many and too short-lived): they
 * alloc and free straight from the depot under the lock, as does every thread of a zone built
 * without per-thread caches (the "single locked zone").
 *
 * <p>Limit: at most {@link #limit()} items exist in the keg (in use + cached). Beyond it an
 * {@link #M_NOWAIT} alloc returns {@code null} and counts a failure ({@code uz_fails}); an
 * {@link #M_WAITOK} alloc sleeps until an item is freed. While a thread sleeps, frees go to the
 * depot so the sleeper sees them; a free that races with a sleeper's arrival may still land in the
 * freeing thread's cache, and the sleeper then waits for the next free. The sleep is not
 * interruptible. Items cached by another live thread are that thread's alone (Java has no way to
 * run code on another thread's behalf, as FreeBSD drains other CPUs), so they do not help an
 * allocation at the limit. To bound what idle threads can hold, at most {@link Builder#maxCaches}
 * live threads hold a cache at once (FreeBSD's bound is the CPU count); the rest go through the depot.
 *
 * <p>Statistics are exact once the threads that used the zone are quiescent (joined or otherwise
 * ordered before the read): each cache's counters are written only by its owner (release stores)
 * and summed on read (acquire loads); depot and keg counters are guarded by {@link #lock}. A dead
 * thread's cache (its owner is held by a weak reference) is folded in, counters and items, by
 * {@link #drain()}, when a new thread makes its cache, or when an allocation reaches the limit.
 *
 * <p>A zone built with {@link Builder#recycle recycle(false)} keeps no free items: each alloc creates a new
 * item and each free runs {@code fini} and leaves it to the garbage collector. It counts with per-thread
 * counter cells instead of its per-thread caches (no thread-local lookup per item); it has no limit.
 *
 * <p>Test mode ({@code -Dsmpnet.invariants=1}, {@link #INVARIANTS}): freed items' bytes (see
 * {@link Builder#trash}) are filled with a pattern checked on the next alloc (use-after-free write),
 * a free of an item not allocated (double free) throws naming the zone and the item, and
 * {@link #leaks()} lists items allocated and never freed with the allocating stack.
 *
 * <p>Fast path: {@link #alloc}/{@link #free} keep only the bucket pop/push and the owner's counter
 * inline; refills, depot exchanges, hooks and test-mode checks are out of line. A caller may keep the
 * {@link #cache()} handle an item came from and free with it ({@link #free(UmaCache, Object)}): on
 * the owning thread that skips the thread-local lookup; on any other thread it is a plain free.
 *
 * <p>Locking key: fields marked {@code @GuardedBy("lock")} are guarded by {@link #lock} (a leaf
 * mutex: no other lock is taken while it is held, and {@code Import}, {@code init}, {@code fini},
 * {@code ctor} and {@code dtor} run without it); cache fields are owner-thread-only; {@link #sleepers} is written under
 * {@link #lock} and read without it.
 *
 * @param <T> the item type
 */
public final class UmaZone<T> {
    /** May not sleep: fail instead (FreeBSD {@code M_NOWAIT}). */
    public static final int M_NOWAIT = 0x0001;
    /** May sleep until an item is available (FreeBSD {@code M_WAITOK}). */
    public static final int M_WAITOK = 0x0002;
    /** Test-mode checks ({@code -Dsmpnet.invariants=1}), read once at class load. */
    public static final boolean INVARIANTS = Tunables.bool("smpnet.invariants", false);
    /** Default number of items per bucket. */
    public static final int DEFAULT_BUCKET_SIZE = 128;
    /**
     * Default cap on threads holding a cache in one zone: four per CPU and sixteen more (tunable
     * {@code smpnet.uma.max_caches}), enough for a stack's netisr, interrupt and busy application threads.
     */
    public static final int DEFAULT_MAX_CACHES =
            Tunables.integer("smpnet.uma.max_caches", 4 * Runtime.getRuntime().availableProcessors() + 16);

    private static final byte[] TRASH = {(byte) 0xde, (byte) 0xad, (byte) 0xc0, (byte) 0xde};

    /** Creates a new item for the keg, or returns {@code null} if it cannot (its own limit). */
    @FunctionalInterface
    public interface Import<T> {
        T create(int how);
    }

    /** One item allocated and not freed, found by {@link #leaks()}. */
    public record Leak(String zone, Object item, Throwable allocatedAt) {
        public String stack() {
            StringBuilder sb = new StringBuilder();
            for (StackTraceElement e : allocatedAt.getStackTrace()) {
                sb.append("\tat ").append(e).append('\n');
            }
            return sb.toString();
        }

        @Override
        public String toString() {
            return "zone \"" + zone + "\": " + describe(item) + " allocated and never freed, at\n" + stack();
        }
    }

    private final String name;
    private final int itemSize;
    private final Import<T> importer;
    private final Consumer<? super T> ctor;
    private final Consumer<? super T> dtor;
    private final Consumer<? super T> init;
    private final Consumer<? super T> fini;
    private final Function<? super T, byte[]> trashView;
    /** Null when the zone has no per-thread caches. */
    private final CacheLocal caches;
    /**
     * The caches again, each in the slot its owner's thread id picks ({@link #cache()}'s fast path: a
     * thread-local lookup costs a hash probe and a weak-reference check, a third of an mbuf's alloc and
     * free). A slot is claimed by compare-and-set, by the first live thread of its ids; a thread whose
     * slot another live thread holds uses the thread-local. A dead owner's cache stays until a thread
     * claims the slot: thread ids are never reused, so it never matches again. Null without caches.
     */
    private final UmaCache[] slots;
    /** False: items are never reused ({@link Builder#recycle}). */
    private final boolean recycle;

    /** The zone lock: depot, keg and zone-level counters. */
    final Mtx lock;
    private final Cv notFull;

    @GuardedBy("lock") private final ArrayDeque<UmaBucket> depotFull = new ArrayDeque<>();
    @GuardedBy("lock") private final ArrayDeque<UmaBucket> depotEmpty = new ArrayDeque<>();
    @GuardedBy("lock") private long depotItems;
    @GuardedBy("lock") private final List<UmaCache> cacheList = new ArrayList<>();
    @GuardedBy("lock") private long kegSize;
    @GuardedBy("lock") private long limit;
    @GuardedBy("lock") private long fails;
    /** Allocs and frees done without a cache, plus those folded in from dead threads' caches. */
    @GuardedBy("lock") private long lockedAllocs;
    /** Allocations and frees of a zone without recycling (which keeps no per-thread caches' counts). */
    private final Counter newAllocs = new Counter();
    private final Counter newFrees = new Counter();
    @GuardedBy("lock") private long lockedFrees;
    private volatile int sleepers;
    private volatile int bucketSize;
    private final int maxCaches;
    /** Threads refused a cache because {@link #maxCaches} were held. */
    @GuardedBy("lock") private long cacheRefusals;

    /** Items allocated and not yet freed, with their allocating stack (test mode only). */
    private final ConcurrentHashMap<Ident, Throwable> live;

    private UmaZone(Builder<T> b) {
        this.name = b.name;
        this.itemSize = b.itemSize;
        this.importer = b.importer;
        this.ctor = b.ctor;
        this.dtor = b.dtor;
        this.init = b.init;
        this.fini = b.fini;
        this.trashView = b.trash;
        this.bucketSize = b.bucketSize;
        this.maxCaches = b.maxCaches;
        this.lock = new Mtx("uma zone " + b.name, "uma zone");
        this.notFull = lock.newCondition();
        this.caches = b.perThreadCaches ? new CacheLocal(this) : null;
        this.slots = b.perThreadCaches ? new UmaCache[CACHE_SLOTS] : null;
        this.recycle = b.recycle;
        this.live = INVARIANTS ? new ConcurrentHashMap<>() : null;
        lock.lock();
        try {
            this.limit = b.limit;
        } finally {
            lock.unlock();
        }
    }

    /** The per-thread caches; a final class, so the JIT calls {@code get} without a type check. */
    private static final class CacheLocal extends ThreadLocal<UmaCache> {
        private final UmaZone<?> zone;

        CacheLocal(UmaZone<?> zone) {
            this.zone = zone;
        }

        @Override
        protected UmaCache initialValue() {
            return zone.newCache();
        }
    }

    /** Starts building a zone named {@code name} whose keg creates items with {@code importer}. */
    public static <T> Builder<T> builder(String name, Import<T> importer) {
        return new Builder<>(name, importer);
    }

    /** Zone parameters (FreeBSD {@code uma_zcreate} arguments). */
    public static final class Builder<T> {
        private final String name;
        private final Import<T> importer;
        private int itemSize;
        private Consumer<? super T> ctor;
        private Consumer<? super T> dtor;
        private Consumer<? super T> init;
        private Consumer<? super T> fini;
        private Function<? super T, byte[]> trash;
        private long limit = Long.MAX_VALUE;
        private int bucketSize = DEFAULT_BUCKET_SIZE;
        private boolean perThreadCaches = true;
        private int maxCaches = DEFAULT_MAX_CACHES;
        private boolean recycle = true;

        private Builder(String name, Import<T> importer) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("uma zone needs a name");
            }
            this.name = name;
            this.importer = Objects.requireNonNull(importer, "importer");
        }

        /** Bytes per item, as {@code vm.uma.<zone>.size} shows it. */
        public Builder<T> itemSize(int bytes) {
            this.itemSize = bytes;
            return this;
        }

        /** Runs on every alloc, after the item leaves the cache. */
        public Builder<T> ctor(Consumer<? super T> c) {
            this.ctor = c;
            return this;
        }

        /** Runs on every free, before the item enters the cache. */
        public Builder<T> dtor(Consumer<? super T> c) {
            this.dtor = c;
            return this;
        }

        /** Runs once when an item is created in the keg. */
        public Builder<T> init(Consumer<? super T> c) {
            this.init = c;
            return this;
        }

        /** Runs once when an item leaves the keg for good ({@link UmaZone#drain()}). */
        public Builder<T> fini(Consumer<? super T> c) {
            this.fini = c;
            return this;
        }

        /** The bytes to trash-fill on free and check on alloc in test mode (may return null). */
        public Builder<T> trash(Function<? super T, byte[]> view) {
            this.trash = view;
            return this;
        }

        /** At most this many items in the keg. */
        public Builder<T> limit(long items) {
            if (items < 0) {
                throw new IllegalArgumentException("uma zone " + name + ": negative limit " + items);
            }
            this.limit = items;
            return this;
        }

        public Builder<T> bucketSize(int items) {
            checkBucketSize(name, items);
            this.bucketSize = items;
            return this;
        }

        /** With {@code false} every alloc and free takes the zone lock. */
        public Builder<T> perThreadCaches(boolean on) {
            this.perThreadCaches = on;
            return this;
        }

        /**
         * At most this many threads hold a cache at once (FreeBSD has one per CPU). Free items in a live
         * thread's cache are out of every other thread's reach, so an unbounded number of caches could
         * hold a limited resource hostage: thousands of idle pool threads, each with a few dozen
         * packets cached, once held every 2 KiB cluster. Threads past the cap alloc and free through
         * the depot and ask again every {@value UmaCache#RETRY_VISITS} visits.
         */
        public Builder<T> maxCaches(int caches) {
            if (caches < 0) {
                throw new IllegalArgumentException("uma zone " + name + ": negative cache count " + caches);
            }
            this.maxCaches = caches;
            return this;
        }

        /**
         * With {@code false} the zone keeps no free items: alloc creates one (import, then {@code init})
         * and free destroys it ({@code fini}) for the garbage collector to take. For small items that
         * one thread allocates and another frees (a packet header sent on one CPU and consumed on the
         * other), this is faster on the JVM: a new object comes from the allocating thread's own
         * allocation buffer, already in its CPU's cache, while a reused one must first be pulled from
         * the cache of the CPU that freed it. Cannot be combined with a {@link #limit}.
         */
        public Builder<T> recycle(boolean on) {
            this.recycle = on;
            return this;
        }

        public UmaZone<T> build() {
            if (!recycle && limit != Long.MAX_VALUE) {
                throw new IllegalArgumentException("uma zone " + name + ": a zone without recycling has no limit");
            }
            return new UmaZone<>(this);
        }
    }

    private static void checkBucketSize(String name, int items) {
        if (items < 1 || items > 65536) {
            throw new IllegalArgumentException("uma zone " + name + ": bucket size " + items + " not in [1, 65536]");
        }
    }

    public String name() {
        return name;
    }

    public int itemSize() {
        return itemSize;
    }

    // ---- alloc / free ----------------------------------------------------------------------

    /**
     * Allocates an item (FreeBSD {@code uma_zalloc}). Takes no lock when the calling thread's cache
     * has one. With {@link #M_WAITOK} it may sleep (the caller must hold no non-sleepable lock);
     * with {@link #M_NOWAIT} it returns {@code null} at the zone's limit.
     *
     * @return the item, or {@code null} (M_NOWAIT at the limit, or the keg could not create one)
     */
    public T alloc(int how) {
        if (!recycle) {
            return allocNew(how);
        }
        return alloc(cache(), how);
    }

    /**
     * Frees an item to the zone (FreeBSD {@code uma_zfree}); takes no lock when the calling
     * thread's cache has room. Never sleeps. The item must not be used afterwards.
     *
     * @throws IllegalStateException in test mode, on a double free (naming the zone and the item)
     */
    public void free(T item) {
        if (!recycle) {
            destroy(item);
            return;
        }
        if (INVARIANTS || dtor != null) {
            beforeFree(item);
        }
        if (caches != null && sleepers == 0) {
            UmaCache c = cache();
            if (push(c.alloc, item)) {
                c.countFree();
                return;
            }
        }
        freeSlow(item);
    }

    /**
     * The calling thread's cache of this zone: a handle for {@link #alloc(UmaCache, int)} and
     * {@link #free(UmaCache, Object)}, so a caller can remember it with an item; it stays valid for
     * as long as its thread lives. Never null: a thread without a cache (a zone without per-thread
     * caches, or a virtual thread) gets a shared marker that no thread owns. Takes no lock (except
     * once per thread, to make the cache).
     */
    public UmaCache cache() {
        UmaCache[] sl = slots;
        if (sl == null) {
            return UmaCache.DIRECT;
        }
        long id = Thread.currentThread().threadId();
        // A racy read is enough: ownerId is final, and a match means this thread made the cache.
        UmaCache c = sl[slotOf(id)];
        return c != null && c.ownerId() == id ? c : cacheSlow(sl, id);
    }

    /** {@link #cache()} past its slot: the thread-local, whose cache then claims the slot if it is free. */
    private UmaCache cacheSlow(UmaCache[] sl, long id) {
        UmaCache c = caches.get();
        if (c.ownerId() == id && !c.uncached()) { // not a marker, which the thread-local may replace
            int i = slotOf(id);
            UmaCache held = (UmaCache) SLOT.getAcquire(sl, i);
            if (held == null || held.ownerDead()) {
                SLOT.compareAndSet(sl, i, held, c);
            }
        }
        return c;
    }

    /** The owner id of the cache in the slot thread {@code id} picks, or -1 when it is empty (for tests). */
    long slotOwner(long id) {
        UmaCache c = slots == null ? null : (UmaCache) SLOT.getAcquire(slots, slotOf(id));
        return c == null ? -1 : c.ownerId();
    }

    /** The slot of {@link #slots} that thread {@code id} picks. */
    static int slotOf(long id) {
        return (int) id & (CACHE_SLOTS - 1);
    }

    /** Slots of {@link #slots}: a power of two; the threads of one program have nearby ids. */
    static final int CACHE_SLOTS = 256;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(UmaCache[].class);

    /**
     * {@link #alloc(int)} through {@code c}, which must be what {@link #cache()} of this zone
     * returned on the calling thread.
     */
    @SuppressWarnings("unchecked")
    public T alloc(UmaCache c, int how) {
        if (!recycle) {
            return allocNew(how);
        }
        UmaBucket b = c.alloc; // the marker's buckets are empty, so it goes the slow way
        int n = b.count - 1;
        Object[] items = b.items;
        if (Integer.compareUnsigned(n, items.length) < 0) { // n >= 0, in one test with the bounds check
            T item = (T) items[n];
            b.setCount(n);
            c.countAlloc();
            if (INVARIANTS || ctor != null) {
                finishAlloc(item);
            }
            return item;
        }
        return allocSlow(how);
    }

    /**
     * {@link #free(Object)} with a hint: {@code hint} is what {@link #cache()} of this zone
     * returned on any thread. When it is the calling thread's cache, the item goes straight into it
     * (no thread-local lookup); otherwise this is {@link #free(Object)}.
     */
    public void free(UmaCache hint, T item) {
        if (!recycle) {
            destroy(item);
            return;
        }
        if (!hint.ownedByCurrentThread()) {
            free(item);
            return;
        }
        if (INVARIANTS || dtor != null) {
            beforeFree(item);
        }
        if (sleepers == 0 && push(hint.alloc, item)) {
            hint.countFree();
            return;
        }
        freeSlow(item);
    }

    /** Owner only: pushes {@code item} onto {@code b} if it has room. */
    private static boolean push(UmaBucket b, Object item) {
        int n = b.count;
        Object[] items = b.items;
        if (Integer.compareUnsigned(n, items.length) < 0) { // n < length, in one test with the bounds check
            // Alloc leaves popped slots filled, so a LIFO free finds its item already there
            // and skips the reference store and its GC barrier.
            if (items[n] != item) {
                items[n] = item;
            }
            b.setCount(n + 1);
            return true;
        }
        return false;
    }

    private void beforeFree(T item) {
        if (INVARIANTS) {
            checkFree(item);
        }
        if (dtor != null) {
            dtor.accept(item);
        }
        if (INVARIANTS) {
            trashFill(item);
        }
    }

    /** Test-mode checks and the ctor, after the item left the cache, depot or keg. */
    private T finishAlloc(T item) {
        if (INVARIANTS) {
            trashCheck(item);
        }
        return handOut(item);
    }

    /** Records the item as live (test mode) and runs the ctor: the last step of every alloc. */
    private T handOut(T item) {
        if (INVARIANTS) {
            live.put(new Ident(item), new Throwable("allocated from zone \"" + name + "\""));
        }
        if (ctor != null) {
            ctor.accept(item);
        }
        return item;
    }

    /**
     * A zone without recycling: a new item, counted in {@link #newAllocs} (a per-thread-cell counter, not
     * the thread's cache: a thread-local lookup per packet cost more than the count).
     */
    private T allocNew(int how) {
        T item = importer.create(how);
        if (item == null) {
            lock.lock();
            try {
                fails++;
            } finally {
                lock.unlock();
            }
            return null;
        }
        if (init != null) {
            init.accept(item);
        }
        newAllocs.inc();
        return handOut(item); // never freed, so nothing to check for trash
    }

    /** A zone without recycling: the item's free ({@code dtor}, test-mode checks) and its end ({@code fini}). */
    private void destroy(T item) {
        beforeFree(item);
        if (fini != null) {
            fini.accept(item);
        }
        newFrees.inc();
    }

    /** The alloc bucket was empty, or the thread has no cache. */
    private T allocSlow(int how) {
        if (caches == null) {
            return allocDirect(how);
        }
        return allocRefill(caches.get(), how);
    }

    @SuppressWarnings("unchecked")
    private T allocRefill(UmaCache c, int how) {
        if (c.uncached() && (c = retryCache(c)).uncached()) {
            return allocDirect(how);
        }
        UmaBucket a = c.alloc;
        UmaBucket f = c.free;
        if (f.count > 0) {
            c.swap(f, a);
            int n = f.count - 1;
            Object item = f.items[n];
            f.setCount(n);
            c.countAlloc();
            return finishAlloc((T) item);
        }
        UmaBucket full;
        lock.lock();
        try {
            full = depotFull.pollLast();
            if (full != null) {
                depotItems -= full.count;
                depotEmpty.addLast(a);
                c.setAlloc(full);
            }
        } finally {
            lock.unlock();
        }
        if (full != null) {
            int n = full.count - 1;
            Object item = full.items[n];
            full.setCount(n);
            c.countAlloc();
            return finishAlloc((T) item);
        }
        T item = kegAlloc(how);
        if (item == null) {
            return null;
        }
        c.countAlloc();
        return finishAlloc(item);
    }

    private T allocDirect(int how) {
        T item;
        lock.lock();
        try {
            item = depotPop();
            if (item != null) {
                lockedAllocs++;
            }
        } finally {
            lock.unlock();
        }
        if (item != null) {
            return finishAlloc(item); // ctor runs without the zone lock
        }
        item = kegAlloc(how);
        if (item == null) {
            return null;
        }
        lock.lock();
        try {
            lockedAllocs++;
        } finally {
            lock.unlock();
        }
        return finishAlloc(item);
    }

    /** Takes an item from the keg: a free depot item if one appeared, else a new one. */
    private T kegAlloc(int how) {
        lock.lock();
        try {
            if (kegSize >= limit) {
                reapDeadLocked(); // items cached by dead threads count against the limit
            }
            while (kegSize >= limit) {
                T item = depotPop();
                if (item != null) {
                    return item;
                }
                if ((how & M_WAITOK) == 0) {
                    fails++;
                    return null;
                }
                Witness.checkSleep("uma zone \"" + name + "\" at its limit of " + limit, lock);
                sleepers++;
                try {
                    notFull.awaitUninterruptibly();
                } finally {
                    sleepers--;
                }
            }
            kegSize++;
        } finally {
            lock.unlock();
        }
        T item = importer.create(how);
        if (item == null) {
            lock.lock();
            try {
                kegSize--;
                fails++;
                notFull.signal();
            } finally {
                lock.unlock();
            }
            return null;
        }
        if (init != null) {
            init.accept(item);
        }
        if (INVARIANTS) {
            trashFill(item);
        }
        return item;
    }

    /** The alloc bucket was full, the thread has no cache, or threads sleep at the limit. */
    private void freeSlow(T item) {
        if (caches == null || sleepers != 0) {
            freeDirect(item);
            return;
        }
        UmaCache c = caches.get();
        if (c.uncached() && (c = retryCache(c)).uncached()) {
            freeDirect(item);
            return;
        }
        c.countFree();
        freeToFreeBucket(c, item);
    }

    private void freeToFreeBucket(UmaCache c, Object item) {
        UmaBucket f = c.free;
        int n = f.count;
        if (n < f.items.length) {
            f.items[n] = item;
            f.setCount(n + 1);
            return;
        }
        lock.lock();
        try {
            depotFull.addLast(f);
            depotItems += f.count;
            UmaBucket e = emptyBucket();
            e.items[0] = item;
            e.setCount(1);
            c.setFree(e);
        } finally {
            lock.unlock();
        }
    }

    private void freeDirect(Object item) {
        lock.lock();
        try {
            lockedFrees++;
            UmaBucket top = depotFull.peekLast();
            if (top == null || top.count == top.items.length) {
                top = emptyBucket();
                depotFull.addLast(top);
            }
            top.items[top.count] = item;
            top.setCount(top.count + 1);
            depotItems++;
            if (sleepers != 0) {
                notFull.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    @SuppressWarnings("unchecked")
    private T depotPop() {
        UmaBucket top = depotFull.peekLast();
        if (top == null) {
            return null;
        }
        int n = top.count - 1;
        Object item = top.items[n];
        top.items[n] = null;
        top.setCount(n);
        depotItems--;
        if (n == 0) {
            depotFull.pollLast();
            depotEmpty.addLast(top);
        }
        return (T) item;
    }

    @GuardedBy("lock")
    private UmaBucket emptyBucket() {
        UmaBucket e = depotEmpty.pollLast();
        return e != null ? e : new UmaBucket(bucketSize);
    }

    private UmaCache newCache() {
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            return UmaCache.DIRECT;
        }
        UmaCache c = tryNewCache(t);
        return c != null ? c : UmaCache.uncached(t);
    }

    /** A cache for {@code t}, or {@code null} while {@link #maxCaches} live threads hold one. */
    private UmaCache tryNewCache(Thread t) {
        UmaCache c = new UmaCache(t, bucketSize);
        lock.lock();
        try {
            reapDeadLocked(); // so thread churn does not grow the cache list, and frees slots
            if (cacheList.size() >= maxCaches) {
                cacheRefusals++;
                return null;
            }
            cacheList.add(c);
        } finally {
            lock.unlock();
        }
        return c;
    }

    /**
     * On an uncached thread's slow path: every {@value UmaCache#RETRY_VISITS} visits, asks for a cache
     * again and installs it if given. Returns the thread's cache or its marker.
     */
    private UmaCache retryCache(UmaCache marker) {
        if (!marker.retryDue()) {
            return marker;
        }
        UmaCache c = tryNewCache(Thread.currentThread());
        if (c == null) {
            return marker;
        }
        caches.set(c);
        return c;
    }

    // ---- drain, limit, tuning ------------------------------------------------------------

    /**
     * Returns free items to the keg, where {@code fini} runs and they are dropped (FreeBSD
     * {@code zone_drain}): the depot's items, the calling thread's cached items, and the caches of
     * threads that have died (whose counters are folded into the zone's). Other live threads'
     * caches are theirs alone and are left alone. (Dead threads' caches are also moved to the depot,
     * without fini, whenever a thread makes its cache and when an allocation reaches the limit.)
     * Takes the zone lock; never sleeps; call it with
     * no lock held, since {@code fini} may free into other zones.
     *
     * @return the number of items returned to the keg
     */
    public int drain() {
        List<Object> out = new ArrayList<>();
        UmaCache own = caches == null ? null : caches.get();
        lock.lock();
        try {
            if (own != null && !own.uncached()) {
                own.takeAll(out);
            }
            reapDeadLocked();
            for (UmaBucket b : depotFull) {
                for (int i = 0; i < b.count; i++) {
                    out.add(b.items[i]);
                    b.items[i] = null;
                }
                b.setCount(0);
            }
            depotFull.clear();
            depotEmpty.clear();
            depotItems = 0;
            kegSize -= out.size();
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
        for (Object o : out) {
            @SuppressWarnings("unchecked")
            T item = (T) o;
            if (INVARIANTS) {
                trashCheck(item);
            }
            if (fini != null) {
                fini.accept(item);
            }
        }
        return out.size();
    }

    /**
     * Moves the caches of dead threads into the depot (their items stay in the keg, free) and folds
     * their counters into the zone's. The owner's death happens-before this (see
     * {@link UmaCache#ownerDead()}).
     */
    @GuardedBy("lock")
    private void reapDeadLocked() {
        for (Iterator<UmaCache> it = cacheList.iterator(); it.hasNext(); ) {
            UmaCache c = it.next();
            if (c.ownerDead()) {
                for (UmaBucket b : c.release()) {
                    if (b.count > 0) {
                        depotFull.addLast(b);
                        depotItems += b.count;
                    } else {
                        depotEmpty.addLast(b);
                    }
                }
                lockedAllocs += c.allocs();
                lockedFrees += c.frees();
                it.remove();
            }
        }
    }

    /** The keg limit ({@link Long#MAX_VALUE} for none). */
    public long limit() {
        lock.lock();
        try {
            return limit;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sets the keg limit. Lowering it below the current keg size frees nothing; allocations from the
     * keg fail (or sleep) until frees bring it under. Wakes sleepers when raised.
     *
     * @throws IllegalArgumentException if {@code items} is negative, or not {@link Long#MAX_VALUE} in a
     *     zone without recycling
     */
    public void setLimit(long items) {
        if (items < 0) {
            throw new IllegalArgumentException("uma zone " + name + ": negative limit " + items);
        }
        if (!recycle && items != Long.MAX_VALUE) {
            throw new IllegalArgumentException("uma zone " + name + ": a zone without recycling has no limit");
        }
        lock.lock();
        try {
            limit = items;
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public int bucketSize() {
        return bucketSize;
    }

    /** Sets the size of buckets created from now on (existing buckets keep theirs). */
    public void setBucketSize(int items) {
        checkBucketSize(name, items);
        bucketSize = items;
    }

    /** Threads asleep in an {@link #M_WAITOK} alloc at the limit. */
    public int sleepers() {
        return sleepers;
    }

    // ---- statistics ------------------------------------------------------------------------

    /** Successful allocations. Exact when the zone's users are quiescent. */
    public long allocs() {
        lock.lock();
        try {
            return allocsLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Frees. Exact when the zone's users are quiescent. */
    public long frees() {
        lock.lock();
        try {
            return freesLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Allocations that returned {@code null} (FreeBSD {@code uz_fails}). */
    public long fails() {
        lock.lock();
        try {
            return fails;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Items allocated and not freed. All alloc counters are read before all free counters, so a
     * concurrent read never exceeds the true count at some instant during the read, hence never
     * the limit; it is exact when the zone's users are quiescent.
     */
    public long inUse() {
        lock.lock();
        try {
            long a = allocsLocked();
            return a - freesLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Free items held in caches and the depot. Exact when the zone's users are quiescent. */
    public long cached() {
        lock.lock();
        try {
            long n = depotItems;
            for (UmaCache c : cacheList) {
                n += c.cachedItems();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Live threads holding a cache here (dead ones are counted until reaped). */
    public int caches() {
        lock.lock();
        try {
            return cacheList.size();
        } finally {
            lock.unlock();
        }
    }

    /** The most threads that may hold a cache here at once. */
    public int maxCaches() {
        return maxCaches;
    }

    /** Times a thread was refused a cache because {@link #maxCaches()} threads held one. */
    public long cacheRefusals() {
        lock.lock();
        try {
            return cacheRefusals;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Items the keg has created and not yet destroyed (in use + cached). Always exact, except in a zone
     * without recycling, where it is {@link #inUse()}.
     */
    public long kegSize() {
        if (!recycle) {
            return inUse();
        }
        lock.lock();
        try {
            return kegSize;
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private long allocsLocked() {
        long n = lockedAllocs + newAllocs.get();
        for (UmaCache c : cacheList) {
            n += c.allocs();
        }
        return n;
    }

    @GuardedBy("lock")
    private long freesLocked() {
        long n = lockedFrees + newFrees.get();
        for (UmaCache c : cacheList) {
            n += c.frees();
        }
        return n;
    }

    /**
     * Adds {@code <prefix>.<zone>.{size,limit,allocs,frees,fails,inuse,cached,keg,caches,cache_refusals}} read-only nodes
     * (FreeBSD {@code vm.uma}), e.g. with prefix {@code vm.uma}.
     */
    public void registerSysctl(Sysctl s, String prefix) {
        String p = prefix + "." + name + ".";
        s.addProc(p + "size", "Item size in bytes", this::itemSize);
        s.addProc(p + "limit", "Maximum items in the keg (0 for no limit)", () -> {
            long l = limit();
            return l == Long.MAX_VALUE ? 0 : l;
        });
        s.addProc(p + "allocs", "Successful allocations", this::allocs);
        s.addProc(p + "frees", "Frees", this::frees);
        s.addProc(p + "fails", "Failed allocations", this::fails);
        s.addProc(p + "inuse", "Items allocated and not freed", this::inUse);
        s.addProc(p + "cached", "Free items in per-thread caches and the depot", this::cached);
        s.addProc(p + "keg", "Items created by the keg", this::kegSize);
        s.addProc(p + "caches", "Threads holding a cache", this::caches);
        s.addProc(p + "cache_refusals", "Threads refused a cache because the most allowed held one", this::cacheRefusals);
    }

    // ---- test mode -------------------------------------------------------------------------

    /** Items allocated and never freed, with their allocating stacks (test mode; else empty). */
    public List<Leak> leaks() {
        if (!INVARIANTS) {
            return List.of();
        }
        List<Leak> out = new ArrayList<>();
        live.forEach((k, stack) -> out.add(new Leak(name, k.item, stack)));
        return out;
    }

    private void checkFree(T item) {
        if (item == null) {
            throw new IllegalArgumentException("uma zone \"" + name + "\": free of null");
        }
        if (live.remove(new Ident(item)) == null) {
            throw new IllegalStateException("uma zone \"" + name + "\": double free (or free of an item not allocated"
                    + " from this zone) of " + describe(item));
        }
    }

    private void trashFill(T item) {
        byte[] b = trashView == null ? null : trashView.apply(item);
        if (b == null) {
            return;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = TRASH[i & 3];
        }
    }

    private void trashCheck(T item) {
        byte[] b = trashView == null ? null : trashView.apply(item);
        if (b == null) {
            return;
        }
        for (int i = 0; i < b.length; i++) {
            if (b[i] != TRASH[i & 3]) {
                throw new IllegalStateException("uma zone \"" + name + "\": use after free: " + describe(item)
                        + " was written at byte " + i + " while free");
            }
        }
    }

    private static String describe(Object item) {
        return item.getClass().getSimpleName() + "@" + Integer.toHexString(System.identityHashCode(item));
    }

    /** Identity key for the test-mode live map. */
    private record Ident(Object item) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Ident other && other.item == item;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(item);
        }
    }

    @Override
    public String toString() {
        return "UmaZone[" + name + "]";
    }
}
