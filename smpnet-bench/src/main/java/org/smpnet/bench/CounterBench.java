package org.smpnet.bench;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Mtx;

/**
 * R-LOCK-4: the cost of one statistics update on the packet path. smpnet's {@link Counter} (per-thread
 * cells, each updated by its one owner with a plain store: FreeBSD's counter(9)) against a shared
 * {@link AtomicLong} (one atomic add per update, the line bouncing between CPUs), the JDK's striped
 * {@link LongAdder}, and a counter under a mutex (what a stat costs when it takes a lock). One shared
 * counter per benchmark, updated by one thread and by two at once.
 *
 * <p>Each trial checks afterwards that its updates were counted; that none is lost under concurrency is
 * {@code CounterTest}'s job (exact totals with racing threads).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CounterBench {
    @State(Scope.Benchmark)
    public static class Shared {
        final Counter counter = new Counter();
        final AtomicLong atomic = new AtomicLong();
        final LongAdder adder = new LongAdder();
        final Mtx mtx = new Mtx("bench counter", "bench_counter");
        @GuardedBy("mtx") long locked;

        @TearDown(Level.Trial)
        public void check() {
            long n = counter.get() + atomic.get() + adder.sum();
            mtx.lock();
            try {
                n += locked;
            } finally {
                mtx.unlock();
            }
            if (n <= 0) {
                throw new IllegalStateException("no update was counted");
            }
        }

        void lockedInc() {
            mtx.lock();
            try {
                locked++;
            } finally {
                mtx.unlock();
            }
        }
    }

    @Benchmark
    @Threads(1)
    public void counter1T(Shared s) {
        s.counter.inc();
    }

    @Benchmark
    @Threads(1)
    public void atomicLong1T(Shared s) {
        s.atomic.incrementAndGet();
    }

    @Benchmark
    @Threads(1)
    public void longAdder1T(Shared s) {
        s.adder.increment();
    }

    @Benchmark
    @Threads(1)
    public void locked1T(Shared s) {
        s.lockedInc();
    }

    @Benchmark
    @Threads(2)
    public void counter2T(Shared s) {
        s.counter.inc();
    }

    @Benchmark
    @Threads(2)
    public void atomicLong2T(Shared s) {
        s.atomic.incrementAndGet();
    }

    @Benchmark
    @Threads(2)
    public void longAdder2T(Shared s) {
        s.adder.increment();
    }

    @Benchmark
    @Threads(2)
    public void locked2T(Shared s) {
        s.lockedInc();
    }
}
