package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class UmaZoneTest {
    private final AtomicInteger created = new AtomicInteger();
    private final AtomicInteger ctors = new AtomicInteger();
    private final AtomicInteger dtors = new AtomicInteger();
    private final AtomicInteger inits = new AtomicInteger();
    private final AtomicInteger finis = new AtomicInteger();

    private UmaZone.Builder<byte[]> counted(String name) {
        return UmaZone.<byte[]>builder(name, how -> {
                    created.incrementAndGet();
                    return new byte[64];
                })
                .itemSize(64).trash(b -> b)
                .ctor(b -> ctors.incrementAndGet()).dtor(b -> dtors.incrementAndGet())
                .init(b -> inits.incrementAndGet()).fini(b -> finis.incrementAndGet());
    }

    @Test
    @DisplayName("R-UMA-1: invariants mode is on in tests")
    void invariantsOn() {
        assertThat(UmaZone.INVARIANTS).as("surefire sets -Dsmpnet.invariants=1").isTrue();
    }

    @Test
    @DisplayName("R-UMA-1: ctor/dtor run per alloc/free, init/fini once per keg item; drain returns items to the keg")
    void lifecycleCounts() {
        UmaZone<byte[]> z = counted("t_life").bucketSize(4).build();
        List<byte[]> held = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            held.add(z.alloc(UmaZone.M_NOWAIT));
        }
        held.forEach(z::free);
        held.clear();
        for (int i = 0; i < 10; i++) {
            held.add(z.alloc(UmaZone.M_NOWAIT));
        }
        held.forEach(z::free);
        assertThat(ctors.get()).isEqualTo(20);
        assertThat(dtors.get()).isEqualTo(20);
        assertThat(inits.get()).as("items are reused from the caches and depot").isEqualTo(10);
        assertThat(created.get()).isEqualTo(10);
        assertThat(finis.get()).isZero();
        assertThat(z.allocs()).isEqualTo(20);
        assertThat(z.frees()).isEqualTo(20);
        assertThat(z.inUse()).isZero();
        assertThat(z.kegSize()).isEqualTo(10);
        assertThat(z.cached()).isEqualTo(10);

        assertThat(z.drain()).isEqualTo(10);
        assertThat(finis.get()).isEqualTo(10);
        assertThat(z.kegSize()).isZero();
        assertThat(z.cached()).isZero();
        byte[] again = z.alloc(UmaZone.M_NOWAIT);
        assertThat(inits.get()).as("after a drain the keg creates again").isEqualTo(11);
        z.free(again);
    }

    @Test
    @DisplayName("R-UMA-2: a dead thread's cache is reclaimed by drain, its counters folded in")
    void deadThreadCacheReclaimed() throws Exception {
        UmaZone<byte[]> z = counted("t_dead").bucketSize(8).build();
        AtomicReference<byte[]> crossed = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            List<byte[]> l = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                l.add(z.alloc(UmaZone.M_NOWAIT));
            }
            crossed.set(l.remove(0));
            l.forEach(z::free);
        });
        t.join();
        assertThat(z.allocs()).isEqualTo(5);
        assertThat(z.frees()).isEqualTo(4);
        assertThat(z.cached()).as("still in the dead thread's cache").isEqualTo(4);
        assertThat(z.drain()).isEqualTo(4);
        assertThat(finis.get()).isEqualTo(4);
        assertThat(z.cached()).isZero();
        assertThat(z.allocs()).as("folded in").isEqualTo(5);
        assertThat(z.frees()).isEqualTo(4);
        assertThat(z.inUse()).isEqualTo(1);
        z.free(crossed.get());
        assertThat(z.inUse()).isZero();
        assertThat(z.kegSize()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-UMA-1: at the limit, items cached by a dead thread are reclaimed instead of failing")
    void deadThreadItemsReusedAtLimit() throws Exception {
        UmaZone<byte[]> z = counted("t_deadlimit").limit(4).build();
        Thread t = Thread.ofPlatform().start(() -> {
            List<byte[]> l = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                l.add(z.alloc(UmaZone.M_NOWAIT));
            }
            l.forEach(z::free);
        });
        t.join();
        List<byte[]> mine = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            mine.add(z.alloc(UmaZone.M_NOWAIT));
        }
        assertThat(mine).doesNotContainNull();
        assertThat(z.fails()).isZero();
        assertThat(created.get()).isEqualTo(4);
        mine.forEach(z::free);
        assertThat(z.allocs()).isEqualTo(8);
        assertThat(z.inUse()).isZero();
    }

    @Test
    @DisplayName("R-UMA-1: idle live threads cannot hold a limited zone hostage: at most maxCaches threads cache items, the rest use the depot, and a refused thread gets a cache once one frees")
    void cachesAreCappedSoIdleThreadsCannotHoldTheZone() throws Exception {
        UmaZone<byte[]> z = counted("t_capped").limit(64).bucketSize(4).maxCaches(3).build();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        List<Thread> idle = new ArrayList<>();
        for (int t = 0; t < 40; t++) { // one after another, each then parks holding whatever it cached
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicReference<Throwable> err = new java.util.concurrent.atomic.AtomicReference<>();
            idle.add(Thread.ofPlatform().start(() -> {
                try {
                    List<byte[]> l = new ArrayList<>();
                    for (int i = 0; i < 4; i++) {
                        l.add(z.alloc(UmaZone.M_NOWAIT));
                    }
                    assertThat(l).doesNotContainNull();
                    l.forEach(z::free);
                } catch (Throwable e) {
                    err.set(e);
                }
                done.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            done.await();
            assertThat(err.get()).as("thread %d", t).isNull();
        }
        assertThat(z.caches()).isEqualTo(3);
        assertThat(z.cacheRefusals()).isEqualTo(37);
        // Only the three cached threads' buckets (at most 2 x 4 each) are out of reach.
        List<byte[]> mine = new ArrayList<>();
        for (byte[] b; (b = z.alloc(UmaZone.M_NOWAIT)) != null; ) {
            mine.add(b);
        }
        assertThat(mine).hasSizeGreaterThanOrEqualTo(64 - 3 * 2 * 4);
        mine.forEach(z::free);
        release.countDown();
        for (Thread t : idle) {
            t.join();
        }
        // The main thread was refused too; it asks again after enough slow-path visits and gets a slot.
        for (int i = 0; i < 4 * UmaCache.RETRY_VISITS; i++) {
            z.free(z.alloc(UmaZone.M_NOWAIT));
        }
        assertThat(z.caches()).isEqualTo(1);
        assertThat(z.inUse()).isZero();
        assertThat(z.allocs()).isEqualTo(z.frees());
    }

    @Test
    @DisplayName("R-UMA-1: use after free: a write into a freed item is detected on the next alloc, naming the zone")
    void useAfterFree() {
        UmaZone<byte[]> z = counted("t_uaf").build();
        byte[] b = z.alloc(UmaZone.M_NOWAIT);
        z.free(b);
        b[17] = 42;
        assertThatThrownBy(() -> z.alloc(UmaZone.M_NOWAIT))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("\"t_uaf\"").hasMessageContaining("use after free").hasMessageContaining("byte 17");
    }

    @Test
    @DisplayName("R-UMA-1: double free is detected, naming the zone and the item")
    void doubleFree() {
        UmaZone<byte[]> z = counted("t_df").build();
        byte[] b = z.alloc(UmaZone.M_NOWAIT);
        z.free(b);
        String id = Integer.toHexString(System.identityHashCode(b));
        assertThatThrownBy(() -> z.free(b))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("\"t_df\"").hasMessageContaining("double free").hasMessageContaining(id);
        assertThat(z.frees()).as("the bad free is not counted").isEqualTo(1);
    }

    @Test
    @DisplayName("R-UMA-1: leak report lists items never freed with their allocating stack")
    void leakReport() {
        UmaZone<byte[]> z = counted("t_leak").build();
        byte[] freed = z.alloc(UmaZone.M_NOWAIT);
        byte[] leaked = allocateAndForget(z);
        z.free(freed);
        List<UmaZone.Leak> leaks = z.leaks();
        assertThat(leaks).hasSize(1);
        assertThat(leaks.get(0).item()).isSameAs(leaked);
        assertThat(leaks.get(0).stack()).contains("allocateAndForget");
        assertThat(leaks.get(0).toString()).contains("t_leak").contains("never freed");
        z.free(leaked);
        assertThat(z.leaks()).isEmpty();
    }

    private static byte[] allocateAndForget(UmaZone<byte[]> z) {
        return z.alloc(UmaZone.M_NOWAIT);
    }

    @Test
    @DisplayName("R-UMA-1: at its limit M_NOWAIT fails soft and counts; limits can be raised")
    void limitFailsSoft() {
        UmaZone<byte[]> z = counted("t_limit").limit(3).build();
        List<byte[]> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(z.alloc(UmaZone.M_NOWAIT));
        }
        assertThat(z.alloc(UmaZone.M_NOWAIT)).isNull();
        assertThat(z.alloc(UmaZone.M_NOWAIT)).isNull();
        assertThat(z.fails()).isEqualTo(2);
        assertThat(z.inUse()).isEqualTo(3);
        z.free(held.remove(0));
        byte[] reused = z.alloc(UmaZone.M_NOWAIT);
        assertThat(reused).as("a freed item is reused under the limit").isNotNull();
        held.add(reused);
        z.setLimit(4);
        byte[] fourth = z.alloc(UmaZone.M_NOWAIT);
        assertThat(fourth).isNotNull();
        held.add(fourth);
        assertThat(z.kegSize()).isEqualTo(4);
        held.forEach(z::free);
        assertThatThrownBy(() -> z.setLimit(-1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("t_limit");
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    @DisplayName("R-UMA-1: at its limit M_WAITOK sleeps until another thread frees an item")
    void limitWaitokSleeps() throws Exception {
        UmaZone<byte[]> z = counted("t_wait").limit(1).build();
        byte[] only = z.alloc(UmaZone.M_NOWAIT);
        AtomicReference<byte[]> got = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().start(() -> got.set(z.alloc(UmaZone.M_WAITOK)));
        while (z.sleepers() == 0) {
            Thread.sleep(1);
        }
        assertThat(got.get()).isNull();
        z.free(only);
        waiter.join();
        assertThat(got.get()).isSameAs(only);
        assertThat(z.fails()).isZero();
        z.free(got.get());
        assertThat(z.inUse()).isZero();
    }

    @Test
    @ExpectWitnessReports
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    @DisplayName("R-UMA-1: an M_WAITOK sleep at the limit under a non-sleepable lock is reported by WITNESS")
    void waitokUnderMutexReported() throws Exception {
        UmaZone<byte[]> z = counted("t_waitwitness").limit(1).build();
        byte[] only = z.alloc(UmaZone.M_NOWAIT);
        Mtx held = new Mtx("t_uma_holder");
        Thread freer = Thread.ofPlatform().start(() -> {
            while (z.sleepers() == 0) {
                Thread.onSpinWait();
            }
            z.free(only);
        });
        int before = Witness.violations().size();
        held.lock();
        byte[] got;
        try {
            got = z.alloc(UmaZone.M_WAITOK);
        } finally {
            held.unlock();
        }
        freer.join();
        assertThat(got).isSameAs(only);
        assertThat(Witness.violations().subList(before, Witness.violations().size()))
                .anySatisfy(v -> assertThat(v.message()).contains("t_waitwitness").contains("t_uma_holder"));
        z.free(got);
    }

    @Test
    @DisplayName("R-UMA-2: frees with a cache hint keep statistics exact on the owner, another thread and a virtual thread")
    void cacheHintedFrees() throws Exception {
        UmaZone<byte[]> z = counted("t_hint").bucketSize(4).build();
        UmaCache mine = z.cache();
        assertThat(z.cache()).as("one cache per thread").isSameAs(mine);
        List<byte[]> held = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            held.add(z.alloc(mine, UmaZone.M_NOWAIT)); // past one bucket: refills from the keg
        }
        for (int i = 0; i < 3; i++) {
            z.free(mine, held.remove(held.size() - 1)); // on the owner: straight into its cache
        }
        byte[] reused = z.alloc(mine, UmaZone.M_NOWAIT);
        z.free(mine, reused); // LIFO: the slot already holds it
        List<byte[]> other = new ArrayList<>(held.subList(0, 4));
        held.subList(0, 4).clear();
        Thread t = Thread.ofPlatform().start(() -> other.forEach(b -> z.free(mine, b))); // not the owner
        t.join();
        Thread v = Thread.ofVirtual().start(() -> {
            UmaCache none = z.cache();
            byte[] b = z.alloc(none, UmaZone.M_NOWAIT);
            z.free(none, b);
            z.free(mine, held.remove(0));
        });
        v.join();
        assertThat(z.allocs()).isEqualTo(12);
        assertThat(z.frees()).isEqualTo(10);
        assertThat(z.inUse()).isEqualTo(held.size()).isEqualTo(2);
        assertThat(ctors.get()).isEqualTo(12);
        assertThat(dtors.get()).isEqualTo(10);
        assertThat(z.kegSize()).isEqualTo(z.inUse() + z.cached());
        held.forEach(b -> z.free(mine, b));
        assertThat(z.inUse()).isZero();
        assertThat(z.frees()).isEqualTo(12);
        z.drain(); // the other thread is dead: its cache is reclaimed too
        assertThat(z.kegSize()).isZero();
        assertThat(finis.get()).isEqualTo(created.get());
        assertThat(z.leaks()).isEmpty();
    }

    @Test
    @DisplayName("R-UMA-1: a thread finds its cache in the slot its id picks; threads whose ids share a slot keep caches of their own, and a dead owner's slot goes to the next thread")
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void cacheSlotsByThreadId() throws Exception {
        UmaZone<byte[]> z = counted("t_slots").bucketSize(4).build();
        UmaCache mine = z.cache();
        long me = Thread.currentThread().threadId();
        assertThat(z.slotOwner(me)).as("claimed at the first lookup").isEqualTo(me);
        assertThat(z.cache()).as("the slot's cache is the thread-local's").isSameAs(mine);
        // A live thread whose id picks the same slot: made by starting threads until an id collides.
        AtomicReference<UmaCache> theirs = new AtomicReference<>();
        AtomicReference<UmaCache> theirsAgain = new AtomicReference<>();
        Thread colliding = startInSlot(UmaZone.slotOf(me), () -> {
            theirs.set(z.cache());
            byte[] b = z.alloc(theirs.get(), UmaZone.M_NOWAIT);
            z.free(b); // the unhinted free finds the same cache
            theirsAgain.set(z.cache());
        });
        colliding.join();
        assertThat(theirs.get()).isNotSameAs(mine).isSameAs(theirsAgain.get());
        assertThat(theirs.get().ownerId()).isEqualTo(colliding.threadId());
        assertThat(z.slotOwner(me)).as("a live owner keeps its slot").isEqualTo(me);
        assertThat(z.cache()).isSameAs(mine);
        // A dead owner's slot: a thread in another (so far empty) slot claims it and dies; the next one there takes it.
        int other = (UmaZone.slotOf(me) + 1) % UmaZone.CACHE_SLOTS;
        assertThat(z.slotOwner(other)).isEqualTo(-1);
        Thread first = startInSlot(other, () -> z.free(z.alloc(UmaZone.M_NOWAIT)));
        first.join();
        assertThat(z.slotOwner(first.threadId())).isEqualTo(first.threadId());
        AtomicReference<UmaCache> next = new AtomicReference<>();
        Thread second = startInSlot(other, () -> next.set(z.cache()));
        second.join();
        assertThat(z.slotOwner(other)).as("claimed from the dead owner").isEqualTo(second.threadId());
        assertThat(next.get().ownerId()).isEqualTo(second.threadId());
        assertThat(z.allocs()).isEqualTo(2);
        assertThat(z.frees()).isEqualTo(2);
        assertThat(z.inUse()).isZero();
    }

    /**
     * Makes platform threads (not started, so they cost only an object) until one has an id that picks
     * cache slot {@code slot}, and starts that one running {@code body}.
     */
    private static Thread startInSlot(int slot, Runnable body) {
        for (int tries = 0; tries < 4 * UmaZone.CACHE_SLOTS; tries++) {
            Thread t = Thread.ofPlatform().unstarted(body);
            if (UmaZone.slotOf(t.threadId()) == slot) {
                t.start();
                return t;
            }
        }
        throw new AssertionError("no thread id picked slot " + slot + " in " + 4 * UmaZone.CACHE_SLOTS + " threads");
    }

    @Test
    @DisplayName("R-UMA-1: virtual threads bypass the caches and go to the depot")
    void virtualThreadsUseDepot() throws Exception {
        UmaZone<byte[]> z = counted("t_virt").build();
        Thread v = Thread.ofVirtual().start(() -> {
            byte[] a = z.alloc(UmaZone.M_NOWAIT);
            byte[] b = z.alloc(UmaZone.M_NOWAIT);
            z.free(a);
            z.free(b);
        });
        v.join();
        assertThat(z.allocs()).isEqualTo(2);
        assertThat(z.frees()).isEqualTo(2);
        assertThat(z.cached()).as("both in the depot, no cache was made").isEqualTo(2);
        assertThat(z.drain()).isEqualTo(2);
    }

    @Test
    @DisplayName("R-UMA-1: a zone without per-thread caches works through the depot")
    void lockedZone() {
        UmaZone<byte[]> z = counted("t_locked").perThreadCaches(false).bucketSize(2).build();
        List<byte[]> held = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            held.add(z.alloc(UmaZone.M_NOWAIT));
        }
        held.forEach(z::free);
        assertThat(z.cached()).isEqualTo(7);
        for (int i = 0; i < 7; i++) {
            z.free(z.alloc(UmaZone.M_NOWAIT));
        }
        assertThat(created.get()).isEqualTo(7);
        assertThat(z.allocs()).isEqualTo(14);
        assertThat(z.inUse()).isZero();
    }

    @Test
    @DisplayName("R-UMA-1: a zone without recycling creates every item and destroys every freed one, counting both")
    void zoneWithoutRecycling() throws Exception {
        UmaZone<byte[]> z = counted("t_norecycle").recycle(false).build();
        List<byte[]> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] b = z.alloc(UmaZone.M_NOWAIT);
            assertThat(seen).as("never an item handed out before").noneMatch(x -> x == b);
            seen.add(b);
            z.free(b);
        }
        byte[] held = z.alloc(UmaZone.M_WAITOK);
        AtomicReference<byte[]> other = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            z.free(held); // freed on another thread than its allocator, as a received packet is
            other.set(z.alloc(UmaZone.M_NOWAIT));
        });
        t.join();
        assertThat(other.get()).isNotSameAs(held).isNotNull();
        Thread v = Thread.ofVirtual().start(() -> z.free(z.alloc(UmaZone.M_NOWAIT))); // counted under the lock
        v.join();
        assertThat(created.get()).isEqualTo(6);
        assertThat(inits.get()).isEqualTo(6);
        assertThat(ctors.get()).isEqualTo(6);
        assertThat(dtors.get()).isEqualTo(5);
        assertThat(finis.get()).as("each freed item is destroyed at once").isEqualTo(5);
        assertThat(z.allocs()).isEqualTo(6);
        assertThat(z.frees()).isEqualTo(5);
        assertThat(z.inUse()).isEqualTo(1);
        assertThat(z.kegSize()).isEqualTo(1);
        assertThat(z.cached()).isZero();
        assertThat(z.drain()).isZero();
        assertThatThrownBy(() -> z.free(held)).as("double free still detected")
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("double free");
        assertThat(z.frees()).isEqualTo(5);
        assertThatThrownBy(() -> z.setLimit(10)).hasMessageContaining("t_norecycle").hasMessageContaining("no limit");
        assertThatThrownBy(() -> counted("t_norecycle2").recycle(false).limit(5).build()).hasMessageContaining("no limit");
    }

    @Test
    @DisplayName("R-UMA-2: zone statistics appear in sysctl under vm.uma.<zone>")
    void sysctlNodes() {
        UmaZone<byte[]> z = counted("t_sysctl").limit(10).build();
        Sysctl s = new Sysctl();
        z.registerSysctl(s, "vm.uma");
        byte[] b = z.alloc(UmaZone.M_NOWAIT);
        assertThat(s.get("vm.uma.t_sysctl.size")).isEqualTo("64");
        assertThat(s.get("vm.uma.t_sysctl.limit")).isEqualTo("10");
        assertThat(s.get("vm.uma.t_sysctl.allocs")).isEqualTo("1");
        assertThat(s.get("vm.uma.t_sysctl.inuse")).isEqualTo("1");
        z.free(b);
        assertThat(s.get("vm.uma.t_sysctl.frees")).isEqualTo("1");
        assertThat(s.get("vm.uma.t_sysctl.cached")).isEqualTo("1");
        assertThat(s.get("vm.uma.t_sysctl.fails")).isEqualTo("0");
    }

    @Test
    @DisplayName("R-UMA-1: bad zone parameters are refused with the zone's name")
    void badArguments() {
        assertThatThrownBy(() -> counted("t_bad").bucketSize(0)).hasMessageContaining("t_bad").hasMessageContaining("bucket size");
        assertThatThrownBy(() -> counted("t_bad").limit(-2)).hasMessageContaining("negative limit");
        UmaZone<byte[]> z = counted("t_bad2").build();
        assertThatThrownBy(() -> z.free(null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("t_bad2");
        assertThatThrownBy(() -> z.free(new byte[64])).hasMessageContaining("not allocated from this zone");
    }
}
