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
    @DisplayName("R-LOCK-2: the declared order is a set of chains whose edges WITNESS knows from the start, plus leaves")
    void declaredChainsAndLeaves() {
        for (java.util.List<String> chain : Witness.DECLARED_ORDER) {
            assertThat(chain).hasSizeGreaterThanOrEqualTo(2);
            for (int i = 0; i + 1 < chain.size(); i++) {
                assertThat(Witness.order()).contains(chain.get(i) + " -> " + chain.get(i + 1));
            }
        }
        assertThat(Witness.declaredClasses()).contains("Giant", "sbsx", "unp_link", "in_multi", "kqueue", "ipq")
                .containsAll(Witness.DECLARED_LEAVES);
        for (String leaf : Witness.DECLARED_LEAVES) {
            assertThat(Witness.order()).noneMatch(e -> e.startsWith(leaf + " -> "));
        }
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: a declared chain orders a new class: in_multi -> pcbinfo -> inp -> x, then x before in_multi")
    void declaredChainOrdersNewClass() {
        String x = fresh("after-inp");
        Mtx inp = new Mtx("inp", LockClass.of("inp", LockKind.MUTEX, false));
        Mtx inMulti = new Mtx("in_multi", LockClass.of("in_multi", LockKind.MUTEX, false));
        Mtx lx = new Mtx("lx", x);
        nest(inp, lx);
        assertThat(reversalsOf("in_multi", x)).isEmpty();
        nest(lx, inMulti);
        List<Witness.Reversal> found = reversalsOf("in_multi", x);
        assertThat(found).hasSize(1);
        // in_multi -> pcbinfo -> inp is declared; other tests may have taught in_multi -> inp directly
        assertThat(found.getFirst().establishedStack()).contains("edge in_multi -> ").contains("edge inp -> " + x);
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: taking any lock while holding a declared leaf (select) is a reversal; the leaf under anything is fine")
    void leafHoldsNothing() {
        String x = fresh("under-leaf");
        Mtx leaf = new Mtx("seltd", LockClass.of("select", LockKind.MUTEX, false));
        Mtx lx = new Mtx("lx", x);
        nest(lx, leaf);
        assertThat(reversalsOf("select", x)).isEmpty();
        nest(leaf, lx);
        List<Witness.Reversal> found = reversalsOf("select", x);
        assertThat(found).hasSize(1);
        assertThat(found.getFirst().first()).isEqualTo(x);
        assertThat(found.getFirst().second()).isEqualTo("select");
        assertThat(found.getFirst().establishedStack()).contains("declared a leaf");
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-3: Giant may follow a sleepable lock (sx -> Giant and Giant -> sx are both silent), "
            + "but a mutex held while taking Giant is still a reversal, also through an sx")
    void giantAfterSleepable() {
        Sx sx = new Sx("sx", LockClass.of(fresh("sbsx-like"), LockKind.SX, false));
        Mtx m = new Mtx("m", fresh("after-giant"));
        int before = Witness.reversals().size();
        sx.writeLock().lock();
        try {
            Giant.GIANT.lock();             // sx -> Giant: exempt
            Giant.GIANT.unlock();
        } finally {
            sx.writeLock().unlock();
        }
        Giant.GIANT.lock();
        try {
            sx.writeLock().lock();          // Giant -> sx: exempt too
            sx.writeLock().unlock();
            m.lock();                       // Giant -> m: learned
            m.unlock();
        } finally {
            Giant.GIANT.unlock();
        }
        sx.writeLock().lock();
        try {
            m.lock();                       // sx -> m: learned
            m.unlock();
        } finally {
            sx.writeLock().unlock();
        }
        assertThat(Witness.reversals()).hasSize(before);
        assertThat(Witness.order()).contains("Giant -> " + m.lockClass().name())
                .noneMatch(e -> e.equals(sx.lockClass().name() + " -> Giant") || e.equals("Giant -> " + sx.lockClass().name()));
        sx.writeLock().lock();
        try {
            m.lock();
            try {
                Giant.GIANT.lock();         // m held: Giant after a mutex is a real reversal
                Giant.GIANT.unlock();
            } finally {
                m.unlock();
            }
        } finally {
            sx.writeLock().unlock();
        }
        List<Witness.Reversal> found = reversalsOf("Giant", m.lockClass().name());
        assertThat(found).hasSize(1);
        assertThat(found.getFirst().first()).isEqualTo("Giant");
        assertThat(reversalsOf("Giant", sx.lockClass().name())).isEmpty();
    }

    @Test
    @DisplayName("R-LOCK-3: a Giant holder blocking on an sx drops Giant until it has the sx (GIANT_SAVE), "
            + "so sx -> Giant in one thread and Giant -> sx in another cannot deadlock")
    void giantDroppedWhileBlockedOnSx() throws Exception {
        Sx sx = new Sx("sx", LockClass.of(fresh("giant-save"), LockKind.SX, false));
        CountDownLatch sxHeld = new CountDownLatch(1);
        CountDownLatch giantWaiterBlocked = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int[] holdsAfter = new int[1];
        // daemon threads: if Giant were not dropped they would stay deadlocked, and must not keep the JVM up
        Thread sxFirst = Thread.ofPlatform().daemon(true).start(() -> {
            sx.writeLock().lock();
            try {
                sxHeld.countDown();
                giantWaiterBlocked.await();
                Giant.GIANT.lock();         // only possible because the other thread let Giant go
                Giant.GIANT.unlock();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                sx.writeLock().unlock();
            }
        });
        Thread giantFirst = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                sxHeld.await();
                Giant.GIANT.lock();
                Giant.GIANT.lock();         // recursed: both holds are dropped and restored
                try {
                    giantWaiterBlocked.countDown();
                    sx.writeLock().lock();
                    try {
                        holdsAfter[0] = Giant.GIANT.getHoldCount();
                    } finally {
                        sx.writeLock().unlock();
                    }
                } finally {
                    Giant.GIANT.unlock();
                    Giant.GIANT.unlock();
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        sxFirst.join(TimeUnit.SECONDS.toMillis(30));
        giantFirst.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(sxFirst.isAlive() || giantFirst.isAlive()).as("deadlock between Giant and the sx").isFalse();
        assertThat(failure.get()).isNull();
        assertThat(holdsAfter[0]).isEqualTo(2);
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
