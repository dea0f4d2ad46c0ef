package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GiantTest {
    /** A component that is not MPSAFE: its entry points always run under Giant. */
    @NeedsGiant("test driver that keeps its softc unlocked")
    static final class LegacyDriver {}

    static final class MpsafeDriver {}

    private final boolean saved = Giant.mpsafenet();

    @AfterEach
    void restore() {
        Giant.setMpsafenet(saved);
    }

    @Test
    @DisplayName("R-LOCK-3: with net.mpsafenet=1 only @NeedsGiant components take Giant")
    void mpsafeMode() {
        Sysctl.kernel().set("net.mpsafenet", "1");
        assertThat(Giant.required(MpsafeDriver.class)).isFalse();
        assertThat(Giant.required(LegacyDriver.class)).isTrue();
        boolean[] underGiant = new boolean[2];
        Giant.run(MpsafeDriver.class, () -> underGiant[0] = Giant.GIANT.isHeldByCurrentThread());
        Giant.run(LegacyDriver.class, () -> underGiant[1] = Giant.GIANT.isHeldByCurrentThread());
        assertThat(underGiant).containsExactly(false, true);
        assertThat(Giant.GIANT.isHeldByCurrentThread()).isFalse();
    }

    @Test
    @DisplayName("R-LOCK-3: with net.mpsafenet=0 every entry point runs under Giant, recursively")
    void giantMode() {
        Sysctl.kernel().set("net.mpsafenet", "0");
        assertThat(Giant.mpsafenet()).isFalse();
        boolean taken = Giant.pickup(MpsafeDriver.class);
        try {
            assertThat(taken).isTrue();
            Giant.run(LegacyDriver.class, () -> assertThat(Giant.GIANT.getHoldCount()).isEqualTo(2));
        } finally {
            Giant.drop(taken);
        }
        assertThat(Giant.GIANT.isHeldByCurrentThread()).isFalse();
    }

    @Test
    @DisplayName("R-LOCK-3: a thread waiting on a condition variable with Giant held (recursively) lets others take Giant meanwhile, and has it back, before its mutex, when the wait ends")
    void conditionWaitDropsGiant() throws Exception {
        Mtx m = new Mtx("cvgiant", "cvgiant test");
        Cv cv = m.newCondition();
        boolean[] ready = new boolean[1];
        int[] holdsAfter = new int[2];
        Throwable[] failure = new Throwable[1];
        java.util.concurrent.CountDownLatch waiting = new java.util.concurrent.CountDownLatch(1);
        long giveUp = System.nanoTime() + 12_000_000_000L; // bounded, so a regression fails instead of hanging
        Thread waiter = Thread.ofPlatform().daemon().name("cv-giant-waiter").start(() -> {
            try {
                Giant.GIANT.lock();
                Giant.GIANT.lock();
                m.lock();
                try {
                    waiting.countDown(); // Giant twice and the mutex held; the wait below releases them
                    while (!ready[0] && System.nanoTime() < giveUp) {
                        cv.awaitNanos(100_000_000L);
                    }
                    holdsAfter[0] = Giant.GIANT.getHoldCount();
                    holdsAfter[1] = m.getHoldCount();
                } finally {
                    m.unlock();
                    Giant.GIANT.unlock();
                    Giant.GIANT.unlock();
                }
            } catch (Throwable t) {
                failure[0] = t;
            }
        });
        assertThat(waiting.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        long deadline = System.nanoTime() + 10_000_000_000L;
        boolean gotGiant = false;
        while (!gotGiant && System.nanoTime() < deadline) { // Giant is free once the waiter sleeps
            gotGiant = Giant.GIANT.tryLock(10, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        if (!gotGiant) {
            waiter.join(); // it gives up and releases Giant: leave no lock behind for the next test
        }
        assertThat(gotGiant).as("Giant taken while the waiter sleeps").isTrue();
        m.lock(); // Giant, then the mutex: the order the waiter takes them back in
        try {
            ready[0] = true;
            cv.signalAll();
        } finally {
            m.unlock();
            Giant.GIANT.unlock();
        }
        waiter.join(10_000);
        assertThat(waiter.isAlive()).isFalse();
        assertThat(failure[0]).isNull();
        assertThat(holdsAfter).as("Giant holds, mutex holds after the wait").containsExactly(2, 1);
    }

    @Test
    @DisplayName("R-LOCK-3: an epoch synchronize with Giant held releases it while it waits, so a section waiting for Giant can end")
    void epochSynchronizeDropsGiant() throws Exception {
        assertSleepReleasesGiant("Epoch.synchronize", needsGiant -> {
            Epoch e = new Epoch("t-giant-sync");
            java.util.concurrent.CountDownLatch inSection = new java.util.concurrent.CountDownLatch(1);
            Thread reader = Thread.ofPlatform().daemon().name("giant-epoch-reader").start(() -> {
                int et = e.enter();
                try {
                    inSection.countDown();
                    needsGiant.run(); // a driver that needs Giant, transmitting in the net epoch
                } finally {
                    e.exit(et);
                }
            });
            assertThat(inSection.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            e.synchronize();
            reader.join(20_000);
            e.free();
        });
    }

    @Test
    @DisplayName("R-LOCK-3: a taskqueue shutdown with Giant held releases it while it joins the workers, so a running task that needs Giant can end")
    void taskqueueShutdownDropsGiant() throws Exception {
        assertSleepReleasesGiant("Taskqueue.shutdown", needsGiant -> {
            Taskqueue q = new Taskqueue("test-tq-giant", 1);
            java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
            q.enqueue(new Task("needs-giant", p -> {
                running.countDown();
                needsGiant.run();
            }));
            assertThat(running.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            q.shutdown();
        });
    }

    @Test
    @DisplayName("R-LOCK-3: closing callout wheels with Giant held releases it while it joins their thread, so a running handler that needs Giant can end")
    void calloutWheelsCloseDropsGiant() throws Exception {
        assertSleepReleasesGiant("CalloutWheels.close", needsGiant -> {
            CalloutWheels w = new CalloutWheels("test-giant-close", Clock.system(), 1000, 1);
            Callout c = new Callout(w);
            java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
            c.reset(java.time.Duration.ZERO, () -> {
                running.countDown();
                needsGiant.run();
            });
            assertThat(running.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            w.close();
        });
    }

    /** A wait done with Giant held twice; {@code needsGiant} is what another thread runs that it waits for. */
    private interface SleepUnderGiant {
        void run(Runnable needsGiant) throws Exception;
    }

    /**
     * Runs {@code sleep} with Giant held twice and checks that the work it waits for got Giant meanwhile and
     * that both holds are back after. The work gives up on Giant after 12 s, so a regression fails instead
     * of hanging the suite.
     */
    private static void assertSleepReleasesGiant(String what, SleepUnderGiant sleep) throws Exception {
        java.util.concurrent.atomic.AtomicBoolean got = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable needsGiant = () -> {
            try {
                if (Giant.GIANT.tryLock(12, java.util.concurrent.TimeUnit.SECONDS)) {
                    got.set(true);
                    Giant.GIANT.unlock();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        int holds;
        Giant.GIANT.lock();
        Giant.GIANT.lock();
        try {
            sleep.run(needsGiant);
            holds = Giant.GIANT.getHoldCount();
        } finally {
            Giant.GIANT.unlock();
            Giant.GIANT.unlock();
        }
        assertThat(got).as("%s: Giant taken by the work it waits for", what).isTrue();
        assertThat(holds).as("%s: Giant holds after", what).isEqualTo(2);
    }

    @Test
    @DisplayName("R-LOCK-3: the build writes the inventory of classes that need Giant, readable through sysctl")
    void inventoryWrittenByTheBuild() {
        String entry = LegacyDriver.class.getName() + ": test driver that keeps its softc unlocked";
        assertThat(Giant.inventory()).contains(entry).noneMatch(l -> l.startsWith(MpsafeDriver.class.getName()));
        assertThat(Sysctl.kernel().get("debug.giant.inventory")).contains(entry);
    }
}
