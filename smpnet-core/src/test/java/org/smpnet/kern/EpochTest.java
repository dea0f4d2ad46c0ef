package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The epoch's contract, one rule per test; the races are in {@link EpochStressTest} and {@link EpochLincheckTest}. */
class EpochTest {
    @BeforeAll
    static void invariantsOn() {
        assertThat(Epoch.INVARIANTS).as("Surefire sets smpnet.invariants=1").isTrue();
    }

    @Test
    @DisplayName("threads started one after another count their sections in distinct slots (no shared line)")
    void neighbouringThreadsGetDistinctSlots() throws InterruptedException {
        Epoch e = new Epoch("t-slots");
        int n = 16;
        int[] slots = new int[n];
        for (int i = 0; i < n; i++) { // one at a time: consecutive thread ids, like a program's workers
            int k = i;
            Thread t = Thread.ofPlatform().start(() -> {
                int token = e.enter();
                slots[k] = token & 0xFFFF;
                e.exit(token);
            });
            t.join();
        }
        assertThat(java.util.Arrays.stream(slots).distinct().count()).as("slots %s", java.util.Arrays.toString(slots))
                .isEqualTo(n);
    }

    @Test
    @DisplayName("R-IF-1: sections nest, each exit takes its own token, and every enter is counted")
    void nesting() {
        Epoch e = new Epoch("t-nest");
        int outer = e.enter();
        int inner = e.enter();
        e.assertInEpoch();
        assertThat(e.depth()).isEqualTo(2);
        e.exit(inner);
        assertThat(e.depth()).isEqualTo(1);
        e.assertInEpoch();
        e.exit(outer);
        assertThat(e.depth()).isZero();
        assertThat(e.sections()).isEqualTo(2);
        e.synchronize(); // nothing open: returns
        assertThat(e.gracePeriods()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IF-1: exit with a bogus token fails with a clear message and leaves the epoch usable")
    void bogusToken() {
        Epoch e = new Epoch("t-bogus");
        Epoch other = new Epoch("t-other");
        int t = e.enter();
        assertThatThrownBy(() -> e.exit(12345))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("epoch t-bogus: exit with bogus token 0x3039");
        int foreign = other.enter();
        assertThatThrownBy(() -> e.exit(foreign))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not returned by enter() of this epoch");
        other.exit(foreign);
        e.exit(t);
        assertThatThrownBy(() -> e.exit(t))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("which has no open section");
        e.synchronize(); // the slots were left consistent: nothing is open, so this returns
        assertThat(e.sections()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IF-1: exits out of nesting order and exits on the wrong thread are caught (INVARIANTS)")
    void nestingOrderAndThread() throws Exception {
        Epoch e = new Epoch("t-order");
        int outer = e.enter();
        int inner = e.enter();
        if (outer != inner) { // same slot and parity gives equal tokens, which are interchangeable
            assertThatThrownBy(() -> e.exit(outer))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("does not match the innermost section");
        }
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread th = Thread.ofVirtual().start(() -> {
            try {
                e.exit(inner);
            } catch (Throwable x) {
                seen.set(x);
            }
        });
        th.join();
        assertThat(seen.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("no open section");
        e.exit(inner);
        e.exit(outer);
    }

    @Test
    @DisplayName("R-IF-1: synchronize and drainCallbacks inside a section of the same epoch throw instead of deadlocking")
    void selfWaitDetected() {
        Epoch e = new Epoch("t-self");
        Epoch unrelated = new Epoch("t-unrelated");
        int t = e.enter();
        try {
            assertThatThrownBy(e::synchronize)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("synchronize() inside a section of the same epoch");
            assertThatThrownBy(e::drainCallbacks)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("drainCallbacks() inside a section");
            unrelated.synchronize(); // another epoch is fine
        } finally {
            e.exit(t);
        }
        e.synchronize();
    }

    @Test
    @DisplayName("R-IF-1: assertInEpoch fails outside a section, also in a thread that never entered")
    void assertInEpoch() throws Exception {
        Epoch e = new Epoch("t-assert");
        assertThatThrownBy(e::assertInEpoch)
                .isInstanceOf(LockAssertionError.class)
                .hasMessageContaining("not in epoch t-assert");
        int t = e.enter();
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread th = Thread.ofPlatform().start(() -> {
            try {
                e.assertInEpoch();
            } catch (Throwable x) {
                seen.set(x);
            }
        });
        th.join();
        e.assertInEpoch();
        e.exit(t);
        assertThat(seen.get()).isInstanceOf(LockAssertionError.class);
    }

    @Test
    @DisplayName("R-IF-1: synchronize returns only after a section open at its call has exited")
    void synchronizeWaitsForOpenSection() throws Exception {
        Epoch e = new Epoch("t-wait");
        CountDownLatch inSection = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean readerDone = new AtomicBoolean();
        Thread reader = Thread.ofVirtual().start(() -> {
            int t = e.enter();
            inSection.countDown();
            try {
                release.await();
                Thread.sleep(20); // give a wrong synchronize time to return early
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            readerDone.set(true);
            e.exit(t);
        });
        inSection.await();
        AtomicBoolean sawDone = new AtomicBoolean();
        Thread writer = Thread.ofPlatform().start(() -> {
            e.synchronize();
            sawDone.set(readerDone.get());
        });
        release.countDown();
        writer.join();
        reader.join();
        assertThat(sawDone).as("synchronize returned while the section was still open").isTrue();
    }

    @Test
    @DisplayName("R-IF-1: concurrent synchronize calls all wait for the open section and may share grace periods")
    void concurrentSynchronize() throws Exception {
        Epoch e = new Epoch("t-concurrent");
        int t = e.enter();
        AtomicBoolean exited = new AtomicBoolean();
        AtomicInteger early = new AtomicInteger();
        List<Thread> writers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            writers.add(Thread.ofVirtual().start(() -> {
                e.synchronize();
                if (!exited.get()) {
                    early.incrementAndGet();
                }
            }));
        }
        Thread.sleep(20);
        exited.set(true);
        e.exit(t);
        for (Thread w : writers) {
            w.join();
        }
        assertThat(early).hasValue(0);
        assertThat(e.synchronizeCalls()).isEqualTo(6);
        assertThat(e.gracePeriods()).isBetween(1L, 6L);
    }

    @Test
    @DisplayName("R-IF-1: an interrupt does not cut a grace period short and is kept for the caller")
    void interruptKept() throws Exception {
        Epoch e = new Epoch("t-intr");
        int t = e.enter();
        AtomicBoolean exited = new AtomicBoolean();
        AtomicBoolean ok = new AtomicBoolean();
        Thread w = Thread.ofPlatform().start(() -> {
            e.synchronize();
            ok.set(exited.get() && Thread.currentThread().isInterrupted());
        });
        Thread.sleep(20);
        w.interrupt();
        Thread.sleep(20);
        exited.set(true);
        e.exit(t);
        w.join();
        assertThat(ok).isTrue();
    }

    @Test
    @DisplayName("R-IF-1: many short-lived virtual threads enter without registering, and their counts drain")
    void virtualThreads() throws Exception {
        Epoch e = new Epoch("t-virtual");
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            ts.add(Thread.ofVirtual().start(() -> {
                int a = e.enter();
                int b = e.enter();
                e.exit(b);
                e.exit(a);
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        e.synchronize(); // would hang if any count were left behind
        assertThat(e.sections()).isEqualTo(4000);
    }

    @Test
    @DisplayName("R-IF-1: callbacks run in call order after a grace period; drainCallbacks waits for all earlier ones")
    void callbacksOrderedAndDrained() {
        Epoch e = new Epoch("t-drain");
        List<Integer> ran = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 500; i++) {
            int n = i;
            e.call(() -> ran.add(n));
        }
        e.drainCallbacks();
        assertThat(ran).hasSize(500).isSorted();
        assertThat(e.callbacksRun()).isEqualTo(500);
        assertThat(e.callbacksPending()).isZero();
        assertThat(e.gracePeriods()).as("batched: far fewer grace periods than callbacks").isBetween(1L, 500L);
        e.drainCallbacks(); // nothing queued: returns at once
        e.free();
    }

    @Test
    @DisplayName("R-IF-1: a callback waits for a section open at call() time, and runs after it exits")
    void callbackAfterGracePeriod() throws Exception {
        Epoch e = new Epoch("t-cbwait");
        AtomicBoolean exited = new AtomicBoolean();
        AtomicBoolean ranAfterExit = new AtomicBoolean();
        CountDownLatch queued = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            int t = e.enter();
            e.call(() -> ranAfterExit.set(exited.get())); // queued from inside the section
            queued.countDown();
            try {
                Thread.sleep(30);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            exited.set(true);
            e.exit(t);
        });
        queued.await();
        e.drainCallbacks();
        reader.join();
        assertThat(ranAfterExit).isTrue();
        e.free();
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-IF-1: a callback that throws is counted and reported, and later callbacks still run")
    void callbackFailureCounted() {
        Epoch e = new Epoch("t-cbfail");
        AtomicInteger ran = new AtomicInteger();
        e.call(ran::incrementAndGet);
        e.call(() -> {
            throw new IllegalStateException("boom on purpose");
        });
        e.call(ran::incrementAndGet);
        e.drainCallbacks();
        assertThat(ran).hasValue(2);
        assertThat(e.callbacksRun()).isEqualTo(2);
        assertThat(e.callbacksFailed()).isEqualTo(1);
        assertThat(e.lastCallbackFailure()).hasMessage("boom on purpose");
        e.call(ran::incrementAndGet); // the thread survived
        e.drainCallbacks();
        assertThat(ran).hasValue(3);
        e.free();
    }

    @Test
    @DisplayName("R-IF-1: drainCallbacks from a callback is refused instead of waiting for itself")
    void drainFromCallbackRefused() {
        Epoch e = new Epoch("t-cbself");
        AtomicReference<Throwable> seen = new AtomicReference<>();
        e.call(() -> {
            try {
                e.drainCallbacks();
            } catch (Throwable x) {
                seen.set(x);
            }
        });
        e.drainCallbacks();
        assertThat(seen.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("would wait for itself");
        e.free();
        assertThatThrownBy(() -> e.call(() -> {})).isInstanceOf(IllegalStateException.class).hasMessageContaining("freed");
    }

    @Test
    @DisplayName("R-IF-1: the net epoch's statistics are in kern.epoch.net; other epochs register only on request")
    void sysctl() {
        int t = Epoch.NET.enter();
        Epoch.NET.exit(t);
        Epoch.NET.synchronize();
        Sysctl k = Sysctl.kernel();
        assertThat(Long.parseLong(k.get("kern.epoch.net.sections"))).isPositive();
        assertThat(Long.parseLong(k.get("kern.epoch.net.synchronize"))).isPositive();
        assertThat(Long.parseLong(k.get("kern.epoch.net.grace_periods"))).isPositive();
        assertThat(k.get("kern.epoch.net.callbacks_failed")).isNotNull();
        assertThatThrownBy(Epoch.NET::free).isInstanceOf(IllegalStateException.class);

        Sysctl tree = new Sysctl();
        Epoch e = new Epoch("t-sysctl", tree);
        e.exit(e.enter());
        assertThat(tree.list("kern.epoch.t-sysctl")).hasSize(6);
        assertThat(tree.get("kern.epoch.t-sysctl.sections")).isEqualTo("1");
        assertThatThrownBy(() -> new Epoch("t-sysctl", tree)).isInstanceOf(SysctlException.class);
        e.free();
        assertThatThrownBy(() -> tree.list("kern.epoch.t-sysctl")).isInstanceOf(SysctlException.class);
        assertThatThrownBy(() -> new Epoch("bad.name")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad epoch name 'bad.name'");
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: synchronize with a mutex held is a WITNESS sleep violation")
    void synchronizeUnderMutexReported() {
        Epoch e = new Epoch("t-witness");
        Mtx m = new Mtx("t-epoch-holder");
        List<Witness.Violation> before = Witness.violations();
        m.lock();
        try {
            e.synchronize();
        } finally {
            m.unlock();
        }
        List<Witness.Violation> now = new ArrayList<>(Witness.violations());
        now.removeAll(before);
        assertThat(now).anySatisfy(v -> assertThat(v.message()).contains("epoch t-witness synchronize")
                .contains("t-epoch-holder"));
    }
}
