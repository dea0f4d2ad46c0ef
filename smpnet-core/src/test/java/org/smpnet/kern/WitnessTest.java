package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class WitnessTest {
    private static final AtomicLong SEQ = new AtomicLong();

    @BeforeEach
    void quiet() {
        Witness.setPrintReports(false);
    }

    @AfterEach
    void loud() {
        Witness.setPrintReports(true);
    }

    /** A lock class name no other test uses, so each test starts from an unlearned order. */
    private static String fresh(String what) {
        return "test.witness." + what + "." + SEQ.incrementAndGet();
    }

    private static List<Witness.Reversal> reversalsOf(String a, String b) {
        List<Witness.Reversal> out = new ArrayList<>();
        for (Witness.Reversal r : Witness.reversals()) {
            if ((r.first().equals(a) && r.second().equals(b)) || (r.first().equals(b) && r.second().equals(a))) {
                out.add(r);
            }
        }
        return out;
    }

    private static void nest(Mtx outer, Mtx inner) {
        outer.lock();
        try {
            inner.lock();
            inner.unlock();
        } finally {
            outer.unlock();
        }
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: a provoked reversal is reported once, with both acquisition stacks, and readable through sysctl")
    void reversalReportedOnceWithBothStacks() {
        String a = fresh("a");
        String b = fresh("b");
        Mtx la = new Mtx("la", a);
        Mtx lb = new Mtx("lb", b);
        nest(la, lb);                       // learns a -> b
        assertThat(reversalsOf(a, b)).isEmpty();
        nest(lb, la);                       // b held while taking a: reversal
        nest(lb, la);                       // same pair again: not reported twice
        List<Witness.Reversal> found = reversalsOf(a, b);
        assertThat(found).hasSize(1);
        Witness.Reversal r = found.getFirst();
        assertThat(r.first()).isEqualTo(a);
        assertThat(r.second()).isEqualTo(b);
        assertThat(r.firstLockName()).isEqualTo("la");
        assertThat(r.secondLockName()).isEqualTo("lb");
        assertThat(r.establishedStack()).contains("WitnessTest.nest").contains("edge " + a + " -> " + b);
        assertThat(r.reversingStack()).contains("WitnessTest.nest");
        assertThat(Sysctl.kernel().get("debug.witness.reversals")).contains("lock order reversal: " + a + " -> " + b);
        assertThat(Integer.parseInt(Sysctl.kernel().get("debug.witness.reversal_count"))).isGreaterThanOrEqualTo(1);
        assertThat(Witness.order()).contains(a + " -> " + b).doesNotContain(b + " -> " + a);
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: reversals through a chain of learned edges are found (a->b, b->c, then c before a)")
    void transitiveReversal() {
        String a = fresh("ta");
        String b = fresh("tb");
        String c = fresh("tc");
        Mtx la = new Mtx("la", a);
        Mtx lb = new Mtx("lb", b);
        Mtx lc = new Mtx("lc", c);
        nest(la, lb);
        nest(lb, lc);
        nest(lc, la);
        List<Witness.Reversal> found = reversalsOf(a, c);
        assertThat(found).hasSize(1);
        assertThat(found.getFirst().establishedStack()).contains("edge " + a + " -> " + b).contains("edge " + b + " -> " + c);
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: the declared order (sockbuf before rtentry) is known before any lock is taken")
    void declaredOrderReversal() {
        Mtx sb = new Mtx("so_rcv", LockClass.of("sockbuf", LockKind.MUTEX, false));
        Mtx rt = new Mtx("rt_lock", LockClass.of("rtentry", LockKind.MUTEX, false));
        int before = reversalsOf("sockbuf", "rtentry").size();
        nest(sb, rt); // the declared way round: silent
        assertThat(reversalsOf("sockbuf", "rtentry")).hasSize(before);
        nest(rt, sb);
        List<Witness.Reversal> found = reversalsOf("sockbuf", "rtentry");
        assertThat(found).hasSize(1);
        assertThat(found.getFirst().establishedStack()).contains("declared order");
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: taking a sleepable sx lock or waiting on a condition while holding a mutex is a violation")
    void sleepingWithMutexHeld() throws InterruptedException {
        Mtx m = new Mtx("m", fresh("mtx"));
        Sx sx = new Sx("sx", LockClass.of(fresh("sx"), LockKind.SX, false));
        int before = Witness.violations().size();
        m.lock();
        try {
            sx.writeLock().lock();
            sx.writeLock().unlock();
        } finally {
            m.unlock();
        }
        Mtx interlock = new Mtx("interlock", fresh("interlock"));
        Cv cv = interlock.newCondition();
        m.lock();
        try {
            interlock.lock();
            try {
                cv.await(1, TimeUnit.MILLISECONDS);
            } finally {
                interlock.unlock();
            }
        } finally {
            m.unlock();
        }
        List<Witness.Violation> v = Witness.violations().subList(before, Witness.violations().size());
        assertThat(v).extracting(Witness.Violation::kind)
                .containsExactly("sleepable lock after non-sleepable", "sleeping with non-sleepable lock held");
        assertThat(v.get(0).message()).contains("\"sx\"").contains("\"m\"");
        assertThat(v.get(1).message()).contains("\"m\"").doesNotContain("\"interlock\" (");
    }

    @Test
    @DisplayName("R-LOCK-2: waiting on a condition with only its interlock (and Giant) held is fine")
    void sleepingWithInterlockOnly() throws InterruptedException {
        Mtx interlock = new Mtx("interlock", fresh("interlock"));
        Cv cv = interlock.newCondition();
        Giant.GIANT.lock();
        try {
            interlock.lock();
            try {
                assertThat(cv.await(1, TimeUnit.MILLISECONDS)).isFalse();
            } finally {
                interlock.unlock();
            }
        } finally {
            Giant.GIANT.unlock();
        }
        Sx sx = new Sx("sx-under-giant", LockClass.of(fresh("sx"), LockKind.SX, false));
        Giant.GIANT.lock();
        try {
            sx.readLock().lock();
            sx.readLock().unlock();
        } finally {
            Giant.GIANT.unlock();
        }
    }

    @Test
    @DisplayName("R-LOCK-2: assertUnowned and the held-lock list follow acquisitions and out-of-order releases")
    void heldListFollowsLocks() {
        Mtx a = new Mtx("ha", fresh("ha"));
        Mtx b = new Mtx("hb", fresh("hb"));
        Witness.assertUnowned();
        a.lock();
        b.lock();
        assertThat(Witness.heldByCurrentThread()).hasSize(2);
        a.unlock(); // release out of order
        assertThat(Witness.heldByCurrentThread()).containsExactly("hb (" + b.lockClass().name() + ")");
        org.assertj.core.api.Assertions.assertThatThrownBy(Witness::assertUnowned)
                .isInstanceOf(LockAssertionError.class).hasMessageContaining("hb");
        b.unlock();
        Witness.assertUnowned();
    }

    @Test
    @DisplayName("R-LOCK-2: with WITNESS off nothing is learned or reported")
    void disabledLearnsNothing() {
        String a = fresh("off-a");
        String b = fresh("off-b");
        Mtx la = new Mtx("la", a);
        Mtx lb = new Mtx("lb", b);
        Witness.setEnabled(false);
        try {
            nest(la, lb);
            nest(lb, la);
        } finally {
            Witness.setEnabled(true);
        }
        assertThat(reversalsOf(a, b)).isEmpty();
        assertThat(Witness.order()).doesNotContain(a + " -> " + b, b + " -> " + a);
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2 stress: many threads learning one consistent order concurrently see no reversal; "
            + "a provoked one is reported exactly once")
    void concurrentLearning() throws Exception {
        int classes = 6;
        List<Mtx> locks = new ArrayList<>();
        String base = fresh("chain");
        for (int i = 0; i < classes; i++) {
            locks.add(new Mtx("chain" + i, base + "." + i));
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(1000, Long.getLong("smpnet.stress.millis", 1500)));
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong rounds = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int seed = t;
            workers.add(Thread.ofPlatform().start(() -> {
                java.util.Random rnd = new java.util.Random(seed);
                try {
                    start.await();
                    while (System.nanoTime() < deadline) {
                        // take a random increasing subsequence: always consistent with index order
                        List<Mtx> taken = new ArrayList<>();
                        for (Mtx m : locks) {
                            if (rnd.nextBoolean()) {
                                m.lock();
                                taken.add(m);
                            }
                        }
                        for (int i = taken.size() - 1; i >= 0; i--) {
                            taken.get(i).unlock();
                        }
                        rounds.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(rounds.get()).isPositive();
        for (int i = 0; i < classes; i++) {
            for (int j = i + 1; j < classes; j++) {
                assertThat(reversalsOf(base + "." + i, base + "." + j)).isEmpty();
            }
        }
        // now reverse the outermost and innermost pair from several threads at once
        Mtx first = locks.getFirst();
        Mtx last = locks.getLast();
        // make sure the edge first -> last is learned, whatever the random walk did
        nest(first, last);
        List<Thread> reversers = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        for (int t = 0; t < threads; t++) {
            reversers.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    nest(last, first);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        go.countDown();
        for (Thread r : reversers) {
            r.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(reversalsOf(base + ".0", base + "." + (classes - 1))).hasSize(1);
    }
}
