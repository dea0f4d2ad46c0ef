package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Callouts in virtual time: every assertion here is exact, no real time is involved. */
class CalloutTest {
    private static final long MS = 1_000_000L;

    private final ManualClock clock = new ManualClock(12_345);
    private final CalloutWheels wheels = new CalloutWheels("test-callout", clock, 1000, 4);

    @AfterEach
    void close() {
        wheels.close();
    }

    private long elapsed() {
        return clock.nanoTime() - 12_345;
    }

    @Test
    @DisplayName("R-TCP-2: callouts fire in deadline order, at their deadline in virtual time, across wheels")
    void deadlineOrder() {
        List<String> fired = new ArrayList<>();
        List<Long> at = new ArrayList<>();
        int[] delays = {30, 10, 20, 5, 25};
        for (int d : delays) {
            new Callout(wheels).reset(Duration.ofMillis(d), () -> {
                fired.add("c" + d);
                at.add(elapsed());
            });
        }
        clock.advance(Duration.ofMillis(50));
        assertThat(fired).containsExactly("c5", "c10", "c20", "c25", "c30");
        assertThat(at).containsExactly(5 * MS, 10 * MS, 20 * MS, 25 * MS, 30 * MS);
        assertThat(elapsed()).isEqualTo(50 * MS);
        assertThat(wheels.fired()).isEqualTo(5);
        assertThat(wheels.pending()).isZero();
    }

    @Test
    @DisplayName("R-TCP-2: callouts due in the same tick fire in the order they were scheduled (FIFO)")
    void sameTickFifo() {
        List<Integer> fired = new ArrayList<>();
        List<Callout> cs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            cs.add(new Callout(wheels));
        }
        for (int i = 0; i < 40; i++) {
            int n = i;
            if (i % 2 == 0) {
                cs.get(i).reset(7, () -> fired.add(n));
            } else {
                cs.get(i).reset(Duration.ofMillis(7), () -> fired.add(n));
            }
        }
        clock.advance(Duration.ofMillis(7));
        assertThat(fired).hasSize(40).isSorted();
    }

    @Test
    @DisplayName("R-TCP-2: reset moves a pending callout (later and earlier) and reports the cancelled schedule")
    void resetMoves() {
        Callout c = new Callout(wheels);
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        assertThat(c.reset(Duration.ofMillis(10), a::incrementAndGet)).isFalse();
        assertThat(c.reset(Duration.ofMillis(30), b::incrementAndGet)).isTrue();
        clock.advance(Duration.ofMillis(29));
        assertThat(a.get() + b.get()).isZero();
        assertThat(c.pending()).isTrue();
        clock.advance(Duration.ofMillis(1));
        assertThat(a.get()).isZero();
        assertThat(b.get()).isEqualTo(1);
        assertThat(c.pending()).isFalse();

        assertThat(c.reset(Duration.ofMillis(50), b::incrementAndGet)).isFalse();
        assertThat(c.schedule(Duration.ofMillis(5))).isTrue();
        clock.advance(Duration.ofMillis(5));
        assertThat(b.get()).isEqualTo(2);
        clock.advance(Duration.ofMillis(100));
        assertThat(b.get()).isEqualTo(2);
        assertThat(wheels.rescheduled()).isEqualTo(2);
    }

    @Test
    @DisplayName("R-TCP-2: stop returns true only for a pending schedule; pending/active follow callout(9)")
    void stopAndFlags() {
        Callout c = new Callout(wheels);
        AtomicInteger n = new AtomicInteger();
        assertThat(c.stop()).isFalse();
        assertThat(c.active()).isFalse();
        c.reset(Duration.ofMillis(3), n::incrementAndGet);
        assertThat(c.pending()).isTrue();
        assertThat(c.active()).isTrue();
        assertThat(c.stop()).isTrue();
        assertThat(c.stop()).isFalse();
        assertThat(c.pending()).isFalse();
        assertThat(c.active()).isFalse();
        clock.advance(Duration.ofMillis(10));
        assertThat(n.get()).isZero();

        c.reset(Duration.ofMillis(3), n::incrementAndGet);
        clock.advance(Duration.ofMillis(3));
        assertThat(n.get()).isEqualTo(1);
        assertThat(c.pending()).isFalse();
        assertThat(c.active()).as("firing leaves the active flag to the handler").isTrue();
        c.deactivate();
        assertThat(c.active()).isFalse();
        assertThat(c.stop()).as("stop after the handler ran").isFalse();
        assertThat(c.drain()).isFalse();
        assertThat(wheels.stopped()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-TCP-2: long delays wrap the wheel many times and fire exactly at their deadline")
    void longDelaysWrap() {
        int ticks = 10 * CalloutWheel.SIZE + 3;
        Callout byTicks = new Callout(wheels);
        Callout byTime = new Callout(wheels);
        AtomicInteger n = new AtomicInteger();
        byTicks.reset(ticks, n::incrementAndGet);
        byTime.reset(Duration.ofHours(2), n::incrementAndGet);
        for (int i = 0; i < ticks - 1; i += 97) {
            clock.advance(Duration.ofMillis(Math.min(97, ticks - 1 - i)));
            assertThat(n.get()).isZero();
        }
        assertThat(elapsed()).isEqualTo((ticks - 1) * MS);
        clock.advance(Duration.ofNanos(MS - 1));
        assertThat(n.get()).isZero();
        clock.advance(Duration.ofNanos(1));
        assertThat(n.get()).isEqualTo(1);
        clock.advance(Duration.ofHours(2).minusMillis(ticks).minusNanos(1));
        assertThat(n.get()).isEqualTo(1);
        clock.advance(Duration.ofNanos(1));
        assertThat(n.get()).isEqualTo(2);
    }

    @Test
    @DisplayName("R-TCP-2: many random deadlines over hours fire at the first tick at or after each, in order")
    void randomDeadlines() {
        Random rnd = new Random(42);
        int count = 2000;
        long[] deadline = new long[count];
        long[] firedAt = new long[count];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long delay = rnd.nextInt(4) == 0 ? rnd.nextLong(3 * MS) : rnd.nextLong(Duration.ofHours(3).toNanos());
            long start = elapsed();
            long due = Math.ceilDiv(start + delay, MS) * MS;
            deadline[i] = Math.max(due, (start / MS + 1) * MS);
            int n = i;
            new Callout(wheels).reset(Duration.ofNanos(delay), () -> {
                firedAt[n] = elapsed();
                order.add(n);
            });
            if (rnd.nextInt(10) == 0) {
                clock.advance(Duration.ofNanos(rnd.nextLong(2 * MS)));
            }
        }
        while (order.size() < count) {
            clock.advance(Duration.ofNanos(rnd.nextLong(Duration.ofMinutes(7).toNanos())));
        }
        for (int i = 0; i < count; i++) {
            assertThat(firedAt[i]).as("callout %d", i).isEqualTo(deadline[i]);
        }
        for (int k = 1; k < count; k++) {
            int p = order.get(k - 1);
            int q = order.get(k);
            assertThat(deadline[p] < deadline[q] || (deadline[p] == deadline[q] && p < q))
                    .as("%d (due %d) before %d (due %d)", p, deadline[p], q, deadline[q]).isTrue();
        }
    }

    @Test
    @DisplayName("R-TCP-2: a handler that reschedules itself runs periodically until stopped")
    void periodic() {
        Mtx m = new Mtx("test-periodic", "test-callout-mtx");
        Callout c = new Callout(wheels, m);
        List<Long> at = new ArrayList<>();
        Runnable[] tick = new Runnable[1];
        tick[0] = () -> {
            m.assertOwned();
            at.add(elapsed() / MS);
            assertThat(c.reset(7, tick[0])).isFalse();
        };
        c.reset(7, tick[0]);
        clock.advance(Duration.ofSeconds(1));
        assertThat(at).hasSize(142);
        for (int i = 0; i < at.size(); i++) {
            assertThat(at.get(i)).isEqualTo(7L * (i + 1));
        }
        m.lock();
        try {
            assertThat(c.stop()).isTrue();
        } finally {
            m.unlock();
        }
        clock.advance(Duration.ofSeconds(1));
        assertThat(at).hasSize(142);
    }

    @Test
    @DisplayName("R-TCP-2: no firing before the deadline, even when scheduled between ticks")
    void neverEarly() {
        clock.advance(Duration.ofNanos(MS / 2));
        AtomicReference<Long> at = new AtomicReference<>();
        new Callout(wheels).reset(Duration.ofMillis(10), () -> at.set(elapsed()));
        clock.advance(Duration.ofMillis(10).minusNanos(1));
        assertThat(at.get()).isNull();
        clock.advance(Duration.ofNanos(1));
        assertThat(at.get()).as("not yet at a tick boundary").isNull();
        clock.advance(Duration.ofMillis(1));
        assertThat(at.get()).isEqualTo(11 * MS);

        AtomicInteger zero = new AtomicInteger();
        new Callout(wheels).reset(0, zero::incrementAndGet);
        new Callout(wheels).reset(Duration.ZERO, zero::incrementAndGet);
        assertThat(elapsed()).isEqualTo(11 * MS + MS / 2);
        clock.advance(Duration.ofNanos(MS / 2 - 1));
        assertThat(zero.get()).as("zero delay still waits for the next tick").isEqualTo(0);
        clock.advance(Duration.ofNanos(1));
        assertThat(zero.get()).isEqualTo(2);
    }

    @Test
    @DisplayName("R-TCP-2: a firing blocked on the callout mutex is cancelled by stop or reset under that mutex")
    void stopWhileFiringWaitsForMutex() throws Exception {
        Mtx m = new Mtx("test-race", "test-callout-mtx");
        Callout c = new Callout(wheels, m);
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        for (boolean viaReset : new boolean[] {false, true}) {
            c.reset(Duration.ofMillis(5), first::incrementAndGet);
            m.lock();
            Thread advancer;
            try {
                advancer = Thread.ofPlatform().start(() -> clock.advance(Duration.ofMillis(5)));
                while (!m.hasQueuedThread(advancer)) {
                    Thread.onSpinWait();
                }
                assertThat(c.pending()).as("taken off the wheel already").isFalse();
                if (viaReset) {
                    assertThat(c.reset(Duration.ofMillis(20), second::incrementAndGet)).isTrue();
                } else {
                    assertThat(c.stop()).isTrue();
                }
            } finally {
                m.unlock();
            }
            advancer.join();
            assertThat(first.get()).isZero();
        }
        assertThat(wheels.skipped()).isEqualTo(2);
        assertThat(second.get()).isZero();
        clock.advance(Duration.ofMillis(20));
        assertThat(second.get()).isEqualTo(1);
        assertThat(first.get()).isZero();
    }

    @Test
    @DisplayName("R-LOCK-3: drain under Giant of a firing blocked on Giant (mpsafenet=0) cancels it instead of deadlocking")
    void drainUnderGiantCancelsBlockedFiring() throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(false);
        AtomicInteger ran = new AtomicInteger();
        Callout c = new Callout(wheels, new Mtx("test-giant-drain", "test-callout-mtx"));
        c.reset(1, ran::incrementAndGet);
        Thread advancer;
        Giant.GIANT.lock();
        try {
            advancer = Thread.ofPlatform().start(() -> clock.advance(Duration.ofMillis(1)));
            while (!Giant.GIANT.hasQueuedThread(advancer)) {
                Thread.onSpinWait();
            }
            assertThat(c.drain()).isTrue();
        } finally {
            Giant.GIANT.unlock();
            Giant.setMpsafenet(saved);
        }
        advancer.join();
        assertThat(ran.get()).isZero();
    }

    @Test
    @DisplayName("R-TCP-2: drain with the callout mutex held, or from the handler itself, is refused")
    void drainMisuse() {
        Mtx m = new Mtx("test-drain-held", "test-callout-mtx");
        Callout c = new Callout(wheels, m);
        m.lock();
        try {
            assertThatThrownBy(c::drain).isInstanceOf(LockAssertionError.class).hasMessageContaining("test-drain-held");
        } finally {
            m.unlock();
        }
        Callout self = new Callout(wheels);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        self.reset(1, () -> {
            try {
                self.drain();
            } catch (IllegalStateException e) {
                seen.set(e);
            }
        });
        clock.advance(Duration.ofMillis(1));
        assertThat(seen.get()).hasMessageContaining("own handler");
    }

    @Test
    @DisplayName("R-TCP-2: a drain waits for the running handler, which may not re-arm itself meanwhile")
    void drainRefusesReArm() throws Exception {
        Callout c = new Callout(wheels);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        AtomicBoolean rearmed = new AtomicBoolean(true);
        AtomicBoolean finished = new AtomicBoolean();
        c.reset(1, () -> {
            started.countDown();
            try {
                go.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            rearmed.set(c.reset(1, () -> {}) || c.pending());
            finished.set(true);
        });
        Thread advancer = Thread.ofPlatform().start(() -> clock.advance(Duration.ofMillis(1)));
        started.await();
        long waits = wheels.drainWaits();
        AtomicBoolean drainSawFinished = new AtomicBoolean();
        Thread drainer = Thread.ofPlatform().start(() -> {
            c.drain();
            drainSawFinished.set(finished.get());
        });
        while (wheels.drainWaits() == waits) {
            Thread.onSpinWait();
        }
        go.countDown();
        drainer.join();
        advancer.join();
        assertThat(drainSawFinished).isTrue();
        assertThat(rearmed).isFalse();
        assertThat(c.pending()).isFalse();
    }

    @Test
    @DisplayName("R-TCP-2: a failing handler does not stop the others; advance rethrows after running them")
    void handlerFailure() {
        AtomicInteger ran = new AtomicInteger();
        new Callout(wheels).reset(1, () -> {
            throw new IllegalStateException("boom");
        });
        new Callout(wheels).reset(2, ran::incrementAndGet);
        assertThatThrownBy(() -> clock.advance(Duration.ofMillis(5))).hasMessage("boom");
        assertThat(ran.get()).isEqualTo(1);
        assertThat(wheels.errors()).isEqualTo(1);
        assertThat(elapsed()).isEqualTo(5 * MS);
    }

    @NeedsGiant("test component that is not MPSAFE")
    static final class GiantComponent {}

    @Test
    @DisplayName("R-LOCK-3: handlers run under Giant with net.mpsafenet=0 or for a NEEDSGIANT component, before the callout mutex")
    void giant() {
        boolean saved = Giant.mpsafenet();
        Mtx m = new Mtx("test-giant", "test-callout-mtx");
        List<Boolean> held = new ArrayList<>();
        Runnable probe = () -> {
            m.assertOwned();
            held.add(Giant.GIANT.isHeldByCurrentThread());
        };
        try {
            Giant.setMpsafenet(true);
            new Callout(wheels, m).reset(1, probe);
            new Callout(wheels, m, GiantComponent.class).reset(2, probe);
            clock.advance(Duration.ofMillis(2));
            Giant.setMpsafenet(false);
            new Callout(wheels, m).reset(1, probe);
            clock.advance(Duration.ofMillis(1));
        } finally {
            Giant.setMpsafenet(saved);
        }
        assertThat(held).containsExactly(false, true, true);
        assertThat(Witness.order()).contains("Giant -> test-callout-mtx", "test-callout-mtx -> callout");
    }

    @Test
    @DisplayName("R-TCP-2: bad arguments and closed wheels fail with clear messages")
    void badArguments() {
        Callout c = new Callout(wheels);
        assertThatThrownBy(() -> c.reset(Duration.ofMillis(-1), () -> {})).hasMessageContaining("negative");
        assertThatThrownBy(() -> c.reset(-1, () -> {})).hasMessageContaining("negative");
        assertThatThrownBy(() -> c.schedule(1)).hasMessageContaining("handler");
        assertThatThrownBy(() -> new CalloutWheels("x", clock, 0, 1)).hasMessageContaining("hz");
        assertThatThrownBy(() -> new CalloutWheels("x", clock, 100, 0)).hasMessageContaining("wheel");
        assertThatThrownBy(() -> clock.advance(Duration.ofNanos(-1))).hasMessageContaining("negative");
        wheels.close();
        assertThatThrownBy(() -> c.reset(1, () -> {})).hasMessageContaining("closed");
        assertThatThrownBy(() -> new Callout(wheels)).hasMessageContaining("closed");
    }

    @Test
    @DisplayName("R-TCP-2: tick arithmetic at other rates (hz=100, hz=1024) never fires early")
    void otherRates() {
        for (int hz : new int[] {100, 1024, 1}) {
            ManualClock mc = new ManualClock();
            try (CalloutWheels w = new CalloutWheels("test-hz", mc, hz, 2)) {
                Random rnd = new Random(hz);
                for (int i = 0; i < 200; i++) {
                    long delay = rnd.nextLong(3_000_000_000L);
                    long start = mc.nanoTime();
                    AtomicReference<Long> at = new AtomicReference<>();
                    new Callout(w).reset(Duration.ofNanos(delay), () -> at.set(mc.nanoTime()));
                    mc.advance(Duration.ofSeconds(4));
                    assertThat(at.get()).isNotNull().isGreaterThanOrEqualTo(start + delay);
                    assertThat(at.get() - (start + delay)).isLessThanOrEqualTo(1_000_000_000L / hz + 1);
                }
                assertThat(w.toTicks(Duration.ofSeconds(1))).isEqualTo(hz);
            }
        }
    }

    @Test
    @DisplayName("R-TCP-2: kern.hz and kern.callout.* are exported for the system callout wheels")
    void sysctl() {
        CalloutWheels sys = CalloutWheels.system();
        assertThat(Sysctl.kernel().get("kern.hz")).isEqualTo(Integer.toString(sys.hz()));
        assertThatThrownBy(() -> Sysctl.kernel().set("kern.hz", "100")).isInstanceOf(SysctlException.class);
        long before = sys.fired();
        Callout c = new Callout(sys);
        CountDownLatch done = new CountDownLatch(1);
        long start = System.nanoTime();
        AtomicReference<Long> at = new AtomicReference<>();
        c.reset(Duration.ofMillis(3), () -> {
            at.set(System.nanoTime());
            done.countDown();
        });
        c.drain();
        assertThat(c.pending()).isFalse();
        c.reset(Duration.ofMillis(3), () -> {
            at.set(System.nanoTime());
            done.countDown();
        });
        try {
            done.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertThat(at.get() - start).as("real clock: not before the deadline").isGreaterThanOrEqualTo(3 * MS);
        assertThat(Long.parseLong(Sysctl.kernel().get("kern.callout.fired"))).isGreaterThan(before);
        assertThat(Sysctl.kernel().get("kern.callout.wheels")).isEqualTo(Integer.toString(sys.wheels()));
    }
}
