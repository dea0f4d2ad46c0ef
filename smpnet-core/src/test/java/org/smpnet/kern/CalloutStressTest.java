package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Callouts on a real clock against threads that reset, stop and drain them. Bounded by
 * {@code smpnet.stress.millis}; invariants are checked on every operation and every firing, and
 * the accounting (every schedule fired or cancelled exactly once) is exact at the end.
 */
@Tag("stress")
class CalloutStressTest {
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);
    private static final int THREADS = 3;
    private static final int CALLOUTS = 32;

    /** One callout with a mutex and its bookkeeping; every field is touched only with {@link #m} held. */
    private static final class Locked {
        final Mtx m;
        final Callout c;
        long resets;
        long fired;
        long stopped;
        long replaced;
        long gen;
        boolean stoppedFlag;

        Locked(CalloutWheels w, int i) {
            m = new Mtx("test-stress-" + i, "test-callout-mtx");
            c = new Callout(w, m);
        }
    }

    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

    private void violation(String what) {
        if (violations.size() < 20) {
            violations.add(what + " (" + Thread.currentThread().getName() + ")");
        }
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-TCP-2/R-LOCK-3: stop under the callout mutex vs firing: no handler after stop, no stale schedule, exact accounting")
    void stopUnderMutexVsFiring(boolean mpsafenet) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafenet);
        CalloutWheels w = new CalloutWheels("test-stress-mtx", Clock.system(), 4000, 2);
        Locked[] ls = new Locked[CALLOUTS];
        AtomicLong giantRuns = new AtomicLong();
        try {
            for (int i = 0; i < CALLOUTS; i++) {
                ls[i] = new Locked(w, i);
            }
            long end = System.nanoTime() + MILLIS * 1_000_000;
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                ts.add(Thread.ofPlatform().name("test-stress-mtx-" + t).start(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < end && violations.isEmpty()) {
                        Locked l = ls[rnd.nextInt(CALLOUTS)];
                        l.m.lock();
                        try {
                            check(l);
                            if (rnd.nextBoolean()) {
                                reset(l, rnd, !mpsafenet, giantRuns);
                            } else {
                                if (l.c.stop()) {
                                    l.stopped++;
                                }
                                l.stoppedFlag = true;
                            }
                            check(l);
                        } finally {
                            l.m.unlock();
                        }
                        pause(rnd);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            for (Locked l : ls) {
                l.m.lock();
                try {
                    if (l.c.stop()) {
                        l.stopped++;
                    }
                    l.stoppedFlag = true;
                } finally {
                    l.m.unlock();
                }
                l.c.drain();
            }
            long fired = 0;
            long stopped = 0;
            long replaced = 0;
            long resets = 0;
            for (Locked l : ls) {
                l.m.lock();
                try {
                    assertThat(l.resets).as("every schedule fired or was cancelled once")
                            .isEqualTo(l.fired + l.stopped + l.replaced);
                    assertThat(l.c.pending()).isFalse();
                    fired += l.fired;
                    stopped += l.stopped;
                    replaced += l.replaced;
                    resets += l.resets;
                } finally {
                    l.m.unlock();
                }
            }
            assertThat(violations).isEmpty();
            assertThat(w.fired()).isEqualTo(fired);
            assertThat(w.stopped()).isEqualTo(stopped);
            assertThat(w.rescheduled()).isEqualTo(replaced);
            assertThat(w.errors()).isZero();
            assertThat(fired).as("handlers ran").isPositive();
            if (!mpsafenet) {
                assertThat(giantRuns.get()).isEqualTo(fired);
            }
            System.out.printf("callout stress (mpsafenet=%s): %d resets, %d fired, %d stopped, %d replaced, %d cancelled"
                    + " while blocked on the mutex%n", mpsafenet, resets, fired, stopped, replaced, w.skipped());
        } finally {
            w.close();
            Giant.setMpsafenet(saved);
        }
    }

    /** Lets callouts reach their deadlines now and then, so firing races stop and drain. */
    private static void pause(ThreadLocalRandom rnd) {
        if (rnd.nextInt(4) == 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(rnd.nextLong(100_000));
        }
    }

    private void check(Locked l) {
        long outstanding = l.resets - l.fired - l.stopped - l.replaced;
        if (outstanding < 0 || outstanding > 1) {
            violation("outstanding schedules " + outstanding + " on " + l.m.name());
        }
        if (l.c.pending() && outstanding != 1) {
            violation("pending with " + outstanding + " outstanding on " + l.m.name());
        }
    }

    private void reset(Locked l, ThreadLocalRandom rnd, boolean giant, AtomicLong giantRuns) {
        long g = ++l.gen;
        l.resets++;
        l.stoppedFlag = false;
        Runnable h = () -> fire(l, g, giant, giantRuns);
        boolean replaced = rnd.nextBoolean()
                ? l.c.reset(rnd.nextInt(3), h)
                : l.c.reset(Duration.ofNanos(rnd.nextLong(600_000)), h);
        if (replaced) {
            l.replaced++;
        }
    }

    private void fire(Locked l, long g, boolean giant, AtomicLong giantRuns) {
        if (!l.m.isHeldByCurrentThread()) {
            violation("handler without its mutex");
        }
        if (Giant.GIANT.isHeldByCurrentThread() != giant) {
            violation("handler Giant held=" + !giant + " with mpsafenet=" + !giant);
        } else if (giant) {
            giantRuns.incrementAndGet();
        }
        if (l.stoppedFlag) {
            violation("handler of " + l.m.name() + " ran after stop() under its mutex");
        }
        if (g != l.gen) {
            violation("stale schedule " + g + " of " + l.m.name() + " ran, latest is " + l.gen);
        }
        l.fired++;
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        if (rnd.nextInt(3) == 0) {
            long before = l.replaced;
            reset(l, rnd, giant, giantRuns);
            if (l.replaced != before) {
                violation("a handler's reset of its own callout cancelled something");
            }
        }
    }

    /** An MPSAFE callout with its bookkeeping: atomics, as handlers run without any test lock. */
    private static final class Free {
        final Sx owner;
        final Callout c;
        final AtomicInteger running = new AtomicInteger();
        final AtomicLong resets = new AtomicLong();
        final AtomicLong fired = new AtomicLong();
        final AtomicLong cancelled = new AtomicLong();
        volatile boolean quiet;

        Free(CalloutWheels w, int i) {
            owner = new Sx("test-owner-" + i, "test-callout-owner");
            c = new Callout(w);
        }
    }

    @Test
    @DisplayName("R-TCP-2: MPSAFE callouts: after drain() the handler is not running and does not run until reset")
    void drainMpsafe() throws Exception {
        CalloutWheels w = new CalloutWheels("test-stress-free", Clock.system(), 4000, 2);
        Free[] fs = new Free[CALLOUTS];
        try {
            for (int i = 0; i < CALLOUTS; i++) {
                fs[i] = new Free(w, i);
            }
            long end = System.nanoTime() + MILLIS * 1_000_000;
            AtomicLong drains = new AtomicLong();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                ts.add(Thread.ofPlatform().name("test-stress-free-" + t).start(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < end && violations.isEmpty()) {
                        Free f = fs[rnd.nextInt(CALLOUTS)];
                        f.owner.writeLock().lock();
                        try {
                            switch (rnd.nextInt(4)) {
                                case 0, 1 -> {
                                    f.quiet = false;
                                    f.resets.incrementAndGet();
                                    if (f.c.reset(Duration.ofNanos(rnd.nextLong(500_000)), () -> run(f))) {
                                        f.cancelled.incrementAndGet();
                                    }
                                }
                                case 2 -> {
                                    if (f.c.stop()) {
                                        f.cancelled.incrementAndGet();
                                    }
                                }
                                default -> {
                                    drains.incrementAndGet();
                                    if (f.c.drain()) {
                                        f.cancelled.incrementAndGet();
                                    }
                                    if (f.running.get() != 0) {
                                        violation("handler still running after drain");
                                    }
                                    f.quiet = true;
                                }
                            }
                        } finally {
                            f.owner.writeLock().unlock();
                        }
                        pause(rnd);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            long fired = 0;
            long cancelled = 0;
            for (Free f : fs) {
                if (f.c.drain()) {
                    f.cancelled.incrementAndGet();
                }
                assertThat(f.running.get()).isZero();
                assertThat(f.resets.get()).as("every schedule fired or was cancelled once")
                        .isEqualTo(f.fired.get() + f.cancelled.get());
                fired += f.fired.get();
                cancelled += f.cancelled.get();
            }
            assertThat(violations).isEmpty();
            assertThat(w.fired()).isEqualTo(fired);
            assertThat(w.stopped() + w.rescheduled()).isEqualTo(cancelled);
            assertThat(fired).isPositive();
            System.out.printf("callout drain stress: %d fired, %d cancelled, %d drains, %d waited for a running handler%n",
                    fired, cancelled, drains.get(), w.drainWaits());
        } finally {
            w.close();
        }
    }

    private void run(Free f) {
        if (f.quiet) {
            violation("MPSAFE handler ran after drain() and before the next reset");
        }
        if (f.running.incrementAndGet() != 1) {
            violation("handler running twice at once");
        }
        f.fired.incrementAndGet();
        if (ThreadLocalRandom.current().nextInt(8) == 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        }
        f.running.decrementAndGet();
    }
}
