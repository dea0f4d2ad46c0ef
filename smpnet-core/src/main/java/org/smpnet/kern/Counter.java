package org.smpnet.kern;

import java.util.concurrent.atomic.LongAdder;

/**
 * A statistics counter striped over CPUs (FreeBSD {@code counter(9)}): updates take no lock and
 * rarely contend; {@link #get()} sums the stripes. No update is ever lost: once all updating threads
 * are done (or their updates happen-before the read), the sum is exact.
 */
public final class Counter {
    private final LongAdder cells = new LongAdder();

    public void inc() {
        cells.increment();
    }

    public void add(long n) {
        cells.add(n);
    }

    /** The sum of all updates that happen-before this call, plus any subset of concurrent ones. */
    public long get() {
        return cells.sum();
    }

    /** Sets the counter to zero (a sysctl write of 0); concurrent updates may survive. */
    public void reset() {
        cells.reset();
    }

    @Override
    public String toString() {
        return Long.toString(get());
    }
}
