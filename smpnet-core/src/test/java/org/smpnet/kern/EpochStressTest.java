package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Readers in sections check, over and over, that the object they reached was not freed, while a
 * writer keeps replacing it and freeing the old one after a grace period. Bounded by
 * {@code smpnet.stress.millis} per variant.
 */
@Tag("stress")
class EpochStressTest {
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);

    /** The epoch-protected object: freed only after a grace period, so no reader may see it freed. */
    static final class Obj {
        final long serial;
        volatile boolean freed;

        Obj(long serial) {
            this.serial = serial;
        }
    }

    private final Epoch epoch = new Epoch("t-stress");
    private volatile Obj current = new Obj(0);
    private volatile boolean stop;
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong nestedReads = new AtomicLong();
    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

    @Test
    @DisplayName("R-IF-1: readers (platform and virtual threads) never see an object freed after synchronize()")
    void synchronizeThenFree() throws Exception {
        long frees = run(() -> {
            Obj old = current;
            current = new Obj(old.serial + 1); // unlink: volatile store
            epoch.synchronize();
            old.freed = true;
        });
        assertThat(epoch.gracePeriods()).isPositive();
        assertThat(frees).isPositive();
    }

    @Test
    @DisplayName("R-IF-1: readers (platform and virtual threads) never see an object freed by an epoch callback")
    void callThenFree() throws Exception {
        long[] calls = {0};
        long frees = run(() -> {
            Obj old = current;
            current = new Obj(old.serial + 1);
            epoch.call(() -> old.freed = true);
            if (++calls[0] % 64 == 0) {
                epoch.drainCallbacks(); // bound the queue; also exercises drain under load
            }
        });
        epoch.drainCallbacks();
        assertThat(epoch.callbacksRun()).isEqualTo(frees);
        assertThat(epoch.callbacksFailed()).isZero();
        assertThat(epoch.gracePeriods()).isPositive();
        epoch.free();
    }

    /** Runs readers against {@code replace} until the deadline; returns how often it replaced. */
    private long run(Runnable replace) throws Exception {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            threads.add(Thread.ofPlatform().name("epoch-reader-" + i).start(this::platformReader));
        }
        threads.add(Thread.ofPlatform().name("epoch-vspawner").start(this::virtualReaders));
        long deadline = System.nanoTime() + MILLIS * 1_000_000;
        long replaced = 0;
        while (System.nanoTime() < deadline && violations.isEmpty()) {
            replace.run();
            replaced++;
        }
        stop = true;
        for (Thread t : threads) {
            t.join();
        }
        assertThat(violations).as("objects seen freed inside a section").isEmpty();
        assertThat(reads.get()).isPositive();
        assertThat(nestedReads.get()).isPositive();
        assertThat(epoch.sections()).isGreaterThanOrEqualTo(reads.get());
        System.out.printf("epoch stress: %d reads (%d nested), %d replacements, %d grace periods, %d synchronize calls%n",
                reads.get(), nestedReads.get(), replaced, epoch.gracePeriods(), epoch.synchronizeCalls());
        return replaced;
    }

    private void platformReader() {
        for (long n = 0; !stop; n++) {
            section(n % 8 == 0);
            if (n % 256 == 0) {
                Thread.yield(); // on a small machine, leave the writer some time to flip
            }
        }
    }

    /** Many short-lived virtual threads, a few sections each, as an accept loop would make. */
    private void virtualReaders() {
        while (!stop) {
            List<Thread> batch = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                batch.add(Thread.ofVirtual().start(() -> {
                    for (int k = 0; k < 50 && !stop; k++) {
                        section(k % 4 == 0);
                    }
                }));
            }
            for (Thread t : batch) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** One section: read the pointer, check it repeatedly, spin a little, check again. */
    private void section(boolean nested) {
        int t = epoch.enter();
        try {
            Obj o = current;
            check(o, "after load");
            for (int spin = 0; spin < 64; spin++) {
                Thread.onSpinWait();
                if ((spin & 15) == 0) {
                    check(o, "while spinning");
                }
            }
            if (nested) {
                int inner = epoch.enter();
                Obj o2 = current;
                check(o2, "nested");
                check(o, "outer object, from nested section");
                epoch.exit(inner);
                nestedReads.incrementAndGet();
            }
            check(o, "before exit");
            reads.incrementAndGet();
        } finally {
            epoch.exit(t);
        }
    }

    private void check(Obj o, String where) {
        if (o.freed) {
            violations.add("object " + o.serial + " freed, seen " + where + " in " + Thread.currentThread());
            stop = true;
        }
    }
}
