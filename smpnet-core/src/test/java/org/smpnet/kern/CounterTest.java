package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CounterTest {
    @Test
    @DisplayName("R-LOCK-4: striped counters lose no update under concurrent increments")
    void exactUnderConcurrency() throws Exception {
        Counter c = new Counter();
        int threads = 4;
        int per = 200_000;
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < per; i++) {
                    c.inc();
                }
            }));
        }
        for (int t = 0; t < 2; t++) {
            ts.add(Thread.ofVirtual().start(() -> c.add(per)));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(c.get()).isEqualTo((long) threads * per + 2L * per);
    }

    @Test
    @DisplayName("R-LOCK-4: two live threads whose ids pick the same stripe each get a cell of their own (no shared atomic adds)")
    void collidingThreadsGetOwnCells() throws Exception {
        Counter c = new Counter();
        c.inc(); // the test thread owns the base cell, so the others stripe
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        int per = 100_000;
        Runnable count = () -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            for (int i = 0; i < per; i++) {
                c.inc();
            }
        };
        Thread a = Thread.ofPlatform().unstarted(count);
        Thread b;
        do { // thread ids only grow: make threads until one's id picks a's stripe
            b = Thread.ofPlatform().unstarted(count);
        } while (((b.threadId() - a.threadId()) & (Counter.STRIPES - 1)) != 0);
        a.start();
        b.start();
        go.countDown();
        a.join();
        b.join();
        assertThat(c.get()).isEqualTo(1 + 2L * per);
        assertThat(c.sharedSum()).isZero();
    }

    @Test
    @DisplayName("R-LOCK-4: cells of terminated threads are taken over without losing their updates")
    void deadOwnersCellsTakenOver() throws Exception {
        Counter c = new Counter();
        long expected = 0;
        for (int round = 0; round < 300; round++) {
            int n = round % 7 + 1;
            Thread t = Thread.ofPlatform().start(() -> c.add(n)); // owns the base cell or a stripe, then dies
            t.join();
            expected += n;
            assertThat(c.get()).isEqualTo(expected);
        }
        c.inc(); // the test thread takes a dead owner's cell
        assertThat(c.get()).isEqualTo(expected + 1);
    }

    @Test
    @DisplayName("R-LOCK-4: short-lived threads come and go while long-lived ones count: exact sum")
    void churningThreadsExact() throws Exception {
        Counter c = new Counter();
        int per = 100_000;
        List<Thread> longLived = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            longLived.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < per; i++) {
                    c.inc();
                }
            }));
        }
        int shortLived = 200;
        List<Thread> others = new ArrayList<>();
        for (int t = 0; t < shortLived; t++) {
            Thread s = (t % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual()).start(() -> {
                for (int i = 0; i < 100; i++) {
                    c.inc();
                }
            });
            others.add(s);
            if (t % 10 == 0) {
                s.join(); // some die before others start, so their cells get taken over
            }
        }
        for (Thread t : longLived) {
            t.join();
        }
        for (Thread t : others) {
            t.join();
        }
        assertThat(c.get()).isEqualTo(3L * per + shortLived * 100L);
    }

    @Test
    @DisplayName("reset moves the zero point: later updates count from it")
    void resetCountsFromZero() throws Exception {
        Counter c = new Counter();
        c.add(10);
        Thread t = Thread.ofPlatform().start(() -> c.add(5));
        t.join();
        assertThat(c.get()).isEqualTo(15);
        c.reset();
        assertThat(c.get()).isZero();
        c.add(3);
        assertThat(c.get()).isEqualTo(3);
    }
}
