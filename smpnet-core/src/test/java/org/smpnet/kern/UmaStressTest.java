package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * R-UMA-2: several threads alloc and free random batches from a limited and an unlimited zone,
 * handing some items to other threads to free; a monitor checks continuously that neither the
 * counted nor the true number in use ever exceeds the limit. At the end (threads joined) the zone's
 * allocs, frees, fails and in-use equal the true counts exactly, before and after drain.
 */
@Tag("stress")
class UmaStressTest {
    private static final int THREADS = 3;
    private static final long LIMIT = 48;

    private static final class Tally {
        long allocs;
        long frees;
        long fails;
    }

    @ParameterizedTest(name = "per-thread caches {0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-UMA-2: statistics are exact under concurrent alloc/free with cross-thread frees and a limit")
    void exactStatistics(boolean caches) throws Exception {
        long millis = Long.getLong("smpnet.stress.millis", 1500);
        UmaZone<byte[]> limited = UmaZone.<byte[]>builder("stress_limited", how -> new byte[32])
                .trash(b -> b).limit(LIMIT).bucketSize(4).perThreadCaches(caches).build();
        UmaZone<byte[]> open = UmaZone.<byte[]>builder("stress_open", how -> new byte[16])
                .bucketSize(16).perThreadCaches(caches).build();
        ConcurrentLinkedQueue<byte[]> handoffLimited = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<byte[]> handoffOpen = new ConcurrentLinkedQueue<>();
        AtomicLong trueInUse = new AtomicLong();
        AtomicReference<String> violation = new AtomicReference<>();
        Tally[] lim = new Tally[THREADS];
        Tally[] opn = new Tally[THREADS];
        long deadline = System.nanoTime() + millis * 1_000_000;

        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Tally tl = lim[t] = new Tally();
            Tally to = opn[t] = new Tally();
            long seed = 1234 + t;
            workers.add(Thread.ofPlatform().name("uma-stress-" + t).start(() -> {
                SplittableRandom rnd = new SplittableRandom(seed);
                List<byte[]> held = new ArrayList<>();
                while (System.nanoTime() < deadline && violation.get() == null) {
                    int batch = 1 + rnd.nextInt(24);
                    for (int i = 0; i < batch; i++) {
                        byte[] b = limited.alloc(UmaZone.M_NOWAIT);
                        if (b == null) {
                            tl.fails++;
                            continue;
                        }
                        tl.allocs++;
                        long now = trueInUse.incrementAndGet();
                        if (now > LIMIT) {
                            violation.compareAndSet(null, "true in-use " + now + " above the limit");
                        }
                        held.add(b);
                    }
                    for (int i = 0; i < batch; i++) {
                        byte[] o = open.alloc(UmaZone.M_NOWAIT);
                        to.allocs++;
                        if (rnd.nextInt(3) == 0) {
                            handoffOpen.add(o);
                        } else {
                            open.free(o);
                            to.frees++;
                        }
                    }
                    for (int k = rnd.nextInt(2 * batch); k > 0; k--) {
                        byte[] o = handoffOpen.poll();
                        if (o == null) {
                            break;
                        }
                        open.free(o);
                        to.frees++;
                    }
                    while (!held.isEmpty()) {
                        byte[] b = held.remove(held.size() - 1);
                        if (rnd.nextInt(4) == 0) {
                            handoffLimited.add(b); // freed by another thread (or by the test at the end)
                        } else {
                            trueInUse.decrementAndGet();
                            limited.free(b);
                            tl.frees++;
                        }
                    }
                    for (byte[] b; (b = handoffLimited.poll()) != null; ) {
                        trueInUse.decrementAndGet();
                        limited.free(b);
                        tl.frees++;
                    }
                }
            }));
        }
        Thread monitor = Thread.ofPlatform().name("uma-stress-monitor").start(() -> {
            while (workers.stream().anyMatch(Thread::isAlive)) {
                long inUse = limited.inUse();
                long keg = limited.kegSize();
                if (inUse > LIMIT || keg > LIMIT) {
                    violation.compareAndSet(null, "counted in-use " + inUse + " / keg " + keg + " above the limit " + LIMIT);
                }
            }
        });
        for (Thread w : workers) {
            w.join();
        }
        monitor.join();
        assertThat(violation.get()).isNull();

        long leftLimited = handoffLimited.size();
        long leftOpen = handoffOpen.size();
        long allocsL = 0, freesL = 0, failsL = 0, allocsO = 0, freesO = 0;
        for (int t = 0; t < THREADS; t++) {
            allocsL += lim[t].allocs;
            freesL += lim[t].frees;
            failsL += lim[t].fails;
            allocsO += opn[t].allocs;
            freesO += opn[t].frees;
        }
        assertThat(failsL).as("the limit was hit").isPositive();
        assertThat(limited.allocs()).isEqualTo(allocsL);
        assertThat(limited.frees()).isEqualTo(freesL);
        assertThat(limited.fails()).isEqualTo(failsL);
        assertThat(limited.inUse()).isEqualTo(leftLimited).isEqualTo(trueInUse.get());
        assertThat(limited.kegSize()).isEqualTo(limited.inUse() + limited.cached()).isLessThanOrEqualTo(LIMIT);
        assertThat(open.allocs()).isEqualTo(allocsO);
        assertThat(open.frees()).isEqualTo(freesO);
        assertThat(open.inUse()).isEqualTo(leftOpen);
        assertThat(open.kegSize()).isEqualTo(open.inUse() + open.cached());

        // The workers are dead: drain reclaims their caches and keeps the counts.
        handoffLimited.forEach(limited::free);
        handoffOpen.forEach(open::free);
        limited.drain();
        open.drain();
        assertThat(limited.allocs()).isEqualTo(allocsL);
        assertThat(limited.frees()).isEqualTo(freesL + leftLimited);
        assertThat(limited.inUse()).isZero();
        assertThat(limited.cached()).isZero();
        assertThat(limited.kegSize()).isZero();
        assertThat(open.frees()).isEqualTo(freesO + leftOpen);
        assertThat(open.kegSize()).isZero();
        assertThat(limited.leaks()).isEmpty();
        assertThat(open.leaks()).isEmpty();
    }
}
