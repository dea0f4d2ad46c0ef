package org.smpnet.kern;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A statistics counter striped over threads (FreeBSD {@code counter(9)}): updates take no lock and
 * rarely contend; {@link #get()} sums the stripes. No update is ever lost: once all updating threads
 * are done (or their updates happen-before the read), the sum is exact.
 *
 * <p>How: a counter starts as one padded cell updated by compare-and-set. The first failed CAS (two
 * threads at once) inflates it to {@link #STRIPES} cells, each on its own cache lines, picked by the
 * updating thread's id, and updated by atomic add (never retried). Unlike {@code LongAdder}, whose
 * cells are capped at the CPU count and hashed by a random probe, threads with neighbouring ids (the
 * threads of one benchmark or one stack) get distinct cells even when there are more of them than CPUs,
 * so a hot counter's line does not move between CPUs on every packet.
 *
 * <p>Thread safety: every cell is read and written through a {@link VarHandle} with volatile or atomic
 * access; {@code stripes} is published once by CAS.
 */
public final class Counter {
    /** Longs per cell: 128 bytes, two cache lines (the adjacent-line prefetcher pairs lines). */
    private static final int PAD = 16;
    /** Cells of an inflated counter: a power of two, at least 8 and 4 per CPU, at most 64. */
    static final int STRIPES = Math.min(64, Integer.highestOneBit(Math.max(8, 4 * Runtime.getRuntime().availableProcessors()) * 2 - 1));
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle STRIPES_REF;

    static {
        try {
            STRIPES_REF = MethodHandles.lookup().findVarHandle(Counter.class, "stripes", long[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Longs of padding on each side of the uncontended cell: one cache line. */
    private static final int BASE_PAD = 8;
    /** The uncontended cell, at index {@link #BASE_PAD}, alone on its cache line. */
    private final long[] base = new long[2 * BASE_PAD + 1];
    /** Null until two updates collide; then {@link #STRIPES} cells, cell i at {@code (i + 1) * PAD}. */
    private volatile long[] stripes;

    public void inc() {
        add(1);
    }

    public void add(long n) {
        long[] s = stripes;
        if (s == null) {
            long b = (long) CELL.getVolatile(base, BASE_PAD);
            if (CELL.compareAndSet(base, BASE_PAD, b, b + n)) {
                return;
            }
            s = inflate();
        }
        CELL.getAndAdd(s, (((int) Thread.currentThread().threadId() & (STRIPES - 1)) + 1) * PAD, n);
    }

    private long[] inflate() {
        long[] fresh = new long[(STRIPES + 2) * PAD];
        long[] won = (long[]) STRIPES_REF.compareAndExchange(this, (long[]) null, fresh);
        return won == null ? fresh : won;
    }

    /** The sum of all updates that happen-before this call, plus any subset of concurrent ones. */
    public long get() {
        long sum = (long) CELL.getVolatile(base, BASE_PAD);
        long[] s = stripes;
        if (s != null) {
            for (int i = 1; i <= STRIPES; i++) {
                sum += (long) CELL.getVolatile(s, i * PAD);
            }
        }
        return sum;
    }

    /** Sets the counter to zero (a sysctl write of 0); concurrent updates may survive. */
    public void reset() {
        CELL.setVolatile(base, BASE_PAD, 0L);
        long[] s = stripes;
        if (s != null) {
            for (int i = 1; i <= STRIPES; i++) {
                CELL.setVolatile(s, i * PAD, 0L);
            }
        }
    }

    @Override
    public String toString() {
        return Long.toString(get());
    }
}
