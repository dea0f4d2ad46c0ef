package org.smpnet.kern;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A statistics counter with per-thread cells (FreeBSD {@code counter(9)}, whose per-CPU cells are
 * updated with a plain add in a critical section): updates take no lock, and in the common case execute
 * no atomic instruction and no fence; {@link #get()} sums the cells. No update is ever lost: once all
 * updating threads are done (or their updates happen-before the read), the sum is exact.
 *
 * <p>How: every cell has at most one writer, its owner thread, which updates it with a plain
 * (opaque) load and store. The first thread to update the counter owns its base cell. Another thread
 * inflates it to {@link #STRIPES} striped cells; a thread owns the first free one of the few its id picks
 * (so two threads whose ids collide still get cells of their own); when all of those have live owners, it
 * adds to its stripe's shared cell by atomic add. A cell whose owner has terminated is taken over by the
 * next thread that needs it: termination happens-before {@code isAlive()} returns false, so the dead
 * owner's last store is seen. Threads with
 * neighbouring ids (the threads of one benchmark or one stack) get distinct cells even when there are more
 * of them than CPUs, so a hot counter's line does not move between CPUs on every packet.
 *
 * <p>Why not atomic adds: on x86 every atomic read-modify-write is a full fence that waits for the
 * store buffer to drain, and a datagram updates over a dozen counters on its way through the stack.
 *
 * <p>Thread safety: cells are read with volatile loads and written through a {@link VarHandle} with
 * opaque (owner) or atomic (shared cell) access; ownership changes only by compare-and-set; {@code
 * stripes} is published once by compare-and-set. {@link #reset()} moves a zero point instead of writing
 * cells, so it never races with an owner's store.
 */
public final class Counter {
    /** Longs per cell pair: 128 bytes, two cache lines (the adjacent-line prefetcher pairs lines). */
    private static final int PAD = 16;
    /**
     * Stripes of an inflated counter: a power of two, at least 32 and 8 per CPU, at most 256. A small
     * stack already runs a dozen threads (interrupt, netisr, callout, epoch) besides the program's; with
     * fewer stripes a busy sender or reader found every stripe near its id owned and fell back to the
     * shared atomic cell on every update.
     */
    static final int STRIPES = Math.min(256, Integer.highestOneBit(Math.max(32, 8 * Runtime.getRuntime().availableProcessors()) * 2 - 1));
    /**
     * Stripes a thread tries, from the one its id picks: two live threads whose ids pick the same stripe
     * would otherwise share its atomic cell (and check both owners alive) on every update. The owned
     * stripe is usually the first tried: thread ids are sequential, so neighbours pick different stripes.
     */
    private static final int PROBES = 8;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle OWNER = MethodHandles.arrayElementVarHandle(Thread[].class);
    private static final VarHandle STRIPES_REF;
    private static final VarHandle BASE_OWNER;

    static {
        try {
            STRIPES_REF = MethodHandles.lookup().findVarHandle(Counter.class, "stripes", long[].class);
            BASE_OWNER = MethodHandles.lookup().findVarHandle(Counter.class, "baseOwner", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Longs of padding on each side of the base cell: one cache line. */
    private static final int BASE_PAD = 8;
    /** The base cell, at index {@link #BASE_PAD}, alone on its cache line; written only by {@link #baseOwner}. */
    private final long[] base = new long[2 * BASE_PAD + 1];
    /** The thread that writes the base cell, or null before the first update. */
    private volatile Thread baseOwner;
    /**
     * Null until a second thread updates; then stripe i's owned cell at {@code (i + 1) * PAD} and its
     * shared (atomic) cell right after it.
     */
    private volatile long[] stripes;
    /** Owners of the stripes' owned cells; allocated with {@link #stripes}. */
    private volatile Thread[] owners;
    /** What {@link #get()} subtracts: the sum at the last {@link #reset()}. */
    private volatile long zero;

    public void inc() {
        add(1);
    }

    public void add(long n) {
        Thread t = Thread.currentThread();
        if (baseOwner == t) {
            CELL.setOpaque(base, BASE_PAD, (long) CELL.getOpaque(base, BASE_PAD) + n);
            return;
        }
        addOther(t, n);
    }

    private void addOther(Thread t, long n) {
        long[] s = stripes;
        int h = (int) t.threadId();
        if (s != null) {
            Thread[] own = owners;
            for (int k = 0; k < PROBES; k++) { // the common case once inflated: our own stripe, found in a few reads
                int i = (h + k) & (STRIPES - 1);
                if (OWNER.getVolatile(own, i) == t) {
                    int cell = (i + 1) * PAD;
                    CELL.setOpaque(s, cell, (long) CELL.getOpaque(s, cell) + n);
                    return;
                }
            }
        }
        claimAndAdd(t, h, n);
    }

    /** The thread owns no cell yet: takes the base cell if its owner died, else a free or dead owner's stripe. */
    private void claimAndAdd(Thread t, int h, long n) {
        Thread bo = baseOwner;
        if ((bo == null || !bo.isAlive()) && BASE_OWNER.compareAndSet(this, bo, t)) {
            CELL.setOpaque(base, BASE_PAD, (long) CELL.getVolatile(base, BASE_PAD) + n);
            return;
        }
        long[] s = stripes;
        if (s == null) {
            s = inflate();
        }
        Thread[] own = owners;
        for (int k = 0; k < PROBES; k++) {
            int i = (h + k) & (STRIPES - 1);
            Thread o = (Thread) OWNER.getVolatile(own, i);
            if (o == t || ((o == null || !o.isAlive()) && OWNER.compareAndSet(own, i, o, t))) {
                // volatile load on a take-over: it must see the dead owner's last store (isAlive synchronised with it)
                int cell = (i + 1) * PAD;
                CELL.setOpaque(s, cell, (o == t ? (long) CELL.getOpaque(s, cell) : (long) CELL.getVolatile(s, cell)) + n);
                return;
            }
        }
        CELL.getAndAdd(s, (h & (STRIPES - 1)) * PAD + PAD + 1, n); // every stripe in reach has a live owner: share
    }

    private long[] inflate() {
        // owners first: a thread that sees stripes non-null reads owners after it (both volatile)
        Thread[] fresh = new Thread[STRIPES];
        long[] cells = new long[(STRIPES + 2) * PAD];
        synchronized (this) {
            if (owners == null) {
                owners = fresh;
            }
        }
        long[] won = (long[]) STRIPES_REF.compareAndExchange(this, (long[]) null, cells);
        return won == null ? cells : won;
    }

    /** The shared (atomic) cells' part of the sum: updates by threads that found no cell of their own. */
    long sharedSum() {
        long[] s = stripes;
        long sum = 0;
        if (s != null) {
            for (int i = 1; i <= STRIPES; i++) {
                sum += (long) CELL.getVolatile(s, i * PAD + 1);
            }
        }
        return sum;
    }

    /** The sum of all updates that happen-before this call, plus any subset of concurrent ones, since the last reset. */
    public long get() {
        return sum() - zero;
    }

    private long sum() {
        long sum = (long) CELL.getVolatile(base, BASE_PAD);
        long[] s = stripes;
        if (s != null) {
            for (int i = 1; i <= STRIPES; i++) {
                sum += (long) CELL.getVolatile(s, i * PAD) + (long) CELL.getVolatile(s, i * PAD + 1);
            }
        }
        return sum;
    }

    /**
     * Sets the counter to zero (a sysctl write of 0): later reads count from here. Updates concurrent
     * with the reset may land on either side of it.
     */
    public synchronized void reset() {
        zero = sum();
    }

    @Override
    public String toString() {
        return Long.toString(get());
    }
}
