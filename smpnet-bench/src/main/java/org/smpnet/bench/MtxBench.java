package org.smpnet.bench;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Witness;

/**
 * Cost of one {@link Mtx} lock/unlock pair around a one-field critical section, against a bare
 * {@link ReentrantLock} doing the same, with WITNESS off and on.
 *
 * <p>Each benchmark returns the counter it bumped under the lock, so JMH consumes it and the pair
 * cannot be elided. The {@code *Contended} variants run two threads on one shared lock; they are
 * for information (their score is dominated by cache-line transfer and parking).
 *
 * <p>WITNESS is a JVM-wide switch: each state sets it in its trial setup, which is safe because
 * every benchmark runs in its own forked JVM (and sequentially when forks are 0).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MtxBench {

    /** A bare ReentrantLock and the counter it guards. */
    public static class PlainLock {
        final ReentrantLock lock = new ReentrantLock();
        @GuardedBy("lock") long count;

        long bump() {
            lock.lock();
            try {
                return ++count;
            } finally {
                lock.unlock();
            }
        }
    }

    /** An Mtx and the counter it guards; {@link #witness} is set by the subclass. */
    public abstract static class MtxLock {
        final Mtx mtx = new Mtx("bench mtx", "bench_mtx");
        @GuardedBy("mtx") long count;

        abstract boolean witness();

        @Setup(Level.Trial)
        public void setWitness() {
            Witness.setEnabled(witness());
        }

        long bump() {
            mtx.lock();
            try {
                return ++count;
            } finally {
                mtx.unlock();
            }
        }
    }

    @State(Scope.Thread)
    public static class PlainOwn extends PlainLock {}

    @State(Scope.Thread)
    public static class WitnessOffOwn extends MtxLock {
        @Override
        boolean witness() {
            return false;
        }
    }

    @State(Scope.Thread)
    public static class WitnessOnOwn extends MtxLock {
        @Override
        boolean witness() {
            return true;
        }
    }

    /**
     * WITNESS on while the measuring thread holds a mutex of another class, so every lock runs the
     * order check against one held lock. The outer mutex is taken and dropped per iteration, in
     * the worker thread that runs the iteration.
     */
    @State(Scope.Thread)
    public static class WitnessOnHeldOwn extends MtxLock {
        final Mtx outer = new Mtx("bench outer", "bench_outer");

        @Override
        boolean witness() {
            return true;
        }

        @Setup(Level.Iteration)
        public void holdOuter() {
            outer.lock();
            if (Witness.heldByCurrentThread().size() != 1) {
                throw new IllegalStateException("WITNESS does not see the outer mutex: " + Witness.heldByCurrentThread());
            }
        }

        @TearDown(Level.Iteration)
        public void dropOuter() {
            outer.unlock();
        }

        @TearDown(Level.Trial)
        public void checkClean() {
            if (!Witness.reversals().isEmpty() || !Witness.violations().isEmpty()) {
                throw new IllegalStateException("WITNESS reported " + Witness.reversals() + " " + Witness.violations());
            }
        }
    }

    @State(Scope.Benchmark)
    public static class PlainShared extends PlainLock {}

    @State(Scope.Benchmark)
    public static class WitnessOffShared extends MtxLock {
        @Override
        boolean witness() {
            return false;
        }
    }

    @State(Scope.Benchmark)
    public static class WitnessOnShared extends MtxLock {
        @Override
        boolean witness() {
            return true;
        }
    }

    @Benchmark
    @Threads(1)
    public long reentrantLock(PlainOwn s) {
        return s.bump();
    }

    @Benchmark
    @Threads(1)
    public long mtxWitnessOff(WitnessOffOwn s) {
        return s.bump();
    }

    @Benchmark
    @Threads(1)
    public long mtxWitnessOn(WitnessOnOwn s) {
        return s.bump();
    }

    @Benchmark
    @Threads(1)
    public long mtxWitnessOnHeld(WitnessOnHeldOwn s) {
        return s.bump();
    }

    @Benchmark
    @Threads(2)
    public long reentrantLockContended(PlainShared s) {
        return s.bump();
    }

    @Benchmark
    @Threads(2)
    public long mtxWitnessOffContended(WitnessOffShared s) {
        return s.bump();
    }

    @Benchmark
    @Threads(2)
    public long mtxWitnessOnContended(WitnessOnShared s) {
        return s.bump();
    }
}
