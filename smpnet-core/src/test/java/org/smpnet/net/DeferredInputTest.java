package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.NetTestSupport.mbuf;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Giant;
import org.smpnet.kern.Mtx;

class DeferredInputTest {
    private static final long STRESS_MILLIS = Long.getLong("smpnet.stress.millis", 1500);

    /** A packet carrying (sender, sequence number). */
    private static Mbuf packet(int sender, int seq) {
        return mbuf(NetTestSupport.seqPayload(sender, seq, 16));
    }

    private static void awaitSleeping(IfQueue q) throws InterruptedException {
        while (!q.ithreadSleeping()) {
            Thread.sleep(1);
        }
    }

    @Test
    @DisplayName("R-ISR-1: inside a section the sender runs the input itself at exit; outside, the ithread does")
    void senderServesItsClaim() throws InterruptedException {
        List<String> threads = new ArrayList<>();
        IfQueue q = new IfQueue("dtest", 64, DeferredInputTest.class, m -> {
            synchronized (threads) {
                threads.add(Thread.currentThread().getName());
            }
            m.freem();
        });
        try {
            awaitSleeping(q);
            boolean in = DeferredInput.enter();
            assertThat(in).isTrue();
            q.enqueue(packet(0, 0));
            q.enqueue(packet(0, 1));
            synchronized (threads) {
                assertThat(threads).as("nothing runs before the section ends").isEmpty();
            }
            DeferredInput.exit(in);
            synchronized (threads) {
                assertThat(threads).containsExactly(Thread.currentThread().getName(), Thread.currentThread().getName());
            }
            q.enqueue(packet(0, 2)); // no section: the ithread takes it
            NetTestSupport.awaitIdle(q);
            synchronized (threads) {
                assertThat(threads).hasSize(3);
                assertThat(threads.get(2)).isEqualTo("ithread dtest");
            }
            assertThat(q.delivered.get()).isEqualTo(3);
            assertThat(q.drops.get()).isZero();
        } finally {
            q.close();
        }
    }

    @Test
    @DisplayName("R-ISR-1: the ithread starts at the first packet a section does not take; a queue never woken closes without one")
    void ithreadStartsAtFirstWakeup() throws InterruptedException {
        String name = "dlazy" + System.nanoTime();
        IfQueue q = new IfQueue(name, 64, DeferredInputTest.class, Mbuf::freem);
        try {
            boolean in = DeferredInput.enter();
            q.enqueue(packet(0, 0));
            DeferredInput.exit(in);
            assertThat(q.delivered.get()).isEqualTo(1);
            assertThat(ithreadAlive(name)).as("the sender served it: no ithread yet").isFalse();
            q.enqueue(packet(0, 1)); // outside a section: wakes (starts) the ithread
            NetTestSupport.awaitIdle(q);
            assertThat(q.delivered.get()).isEqualTo(2);
            assertThat(ithreadAlive(name)).isTrue();
        } finally {
            q.close();
        }
        assertThat(ithreadAlive(name)).as("close ends it").isFalse();
        IfQueue idle = new IfQueue(name + "b", 64, DeferredInputTest.class, Mbuf::freem);
        idle.close(); // never woken: nothing to end, and nothing starts it afterwards
        assertThat(idle.enqueue(packet(0, 2))).isFalse();
        assertThat(ithreadAlive(name + "b")).isFalse();
    }

    private static boolean ithreadAlive(String queue) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("ithread " + queue) && t.isAlive());
    }

    @Test
    @DisplayName("R-ISR-1: packets queued in a section are staged and published together at its exit, in order")
    void sectionPublishesStagedPacketsAtExit() throws InterruptedException {
        NetTestSupport.SeqOrderSink order = new NetTestSupport.SeqOrderSink();
        IfQueue q = new IfQueue("dstage", 64, DeferredInputTest.class, order);
        try {
            awaitSleeping(q);
            boolean in = DeferredInput.enter();
            for (int i = 0; i < 20; i++) {
                assertThat(q.enqueue(packet(0, i))).isTrue();
            }
            assertThat(q.enqueued.get()).as("staged, not yet in the queue").isZero();
            assertThat(q.ithreadSleeping()).isTrue();
            DeferredInput.exit(in);
            assertThat(q.enqueued.get()).isEqualTo(20);
            assertThat(order.got.get()).as("the sender ran the input at exit").isEqualTo(20);
            assertThat(order.outOfOrder.get()).isZero();
            assertThat(q.drops.get()).isZero();
        } finally {
            q.close();
        }
    }

    @Test
    @DisplayName("R-ISR-1: the staging arrays are renewed after RENEW_AFTER staged packets (at a publish of all): nothing is lost or reordered across it")
    void stagingArraysRenewedWithoutLoss() throws InterruptedException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Giant.mpsafenet(), "net.mpsafenet=0: no staging");
        NetTestSupport.SeqOrderSink order = new NetTestSupport.SeqOrderSink();
        IfQueue q = new IfQueue("drenew", 256, DeferredInputTest.class, order);
        try {
            awaitSleeping(q);
            int total = InputBatch.RENEW_AFTER + 100;
            for (int sent = 0; sent < total; sent += 50) {
                sendInSection(q, 0, sent, Math.min(50, total - sent));
            }
            NetTestSupport.awaitIdle(q);
            assertThat(order.got.get()).isEqualTo(total);
            assertThat(order.outOfOrder.get()).isZero();
            assertThat(q.drops.get()).isZero();
            assertThat(DeferredInput.stagedIntoArrays()).as("more than RENEW_AFTER staged: renewed on the way")
                    .isLessThan(InputBatch.RENEW_AFTER);
        } finally {
            q.close();
        }
    }

    @Test
    @DisplayName("R-ISR-1: a section's chain is published with a list of its packets, which a drainer loads ahead once and lets go")
    void drainerLoadsStagedChainsAhead() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(IfQueue.LOAD_AHEAD, "smpnet.ifq.load_ahead=0");
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        NetTestSupport.SeqOrderSink order = new NetTestSupport.SeqOrderSink();
        IfQueue q = new IfQueue("dahead", 256, DeferredInputTest.class, m -> {
            if (NetTestSupport.intAt(m, 0) == 9) {
                holding.countDown();
                awaitQuietly(release); // the ithread holds the queue: what is published meanwhile waits
            }
            order.accept(m);
        });
        try {
            awaitSleeping(q);
            sendInSection(q, 0, 0, 20); // the sender drains: it loads all 20 ahead, then delivers them
            assertThat(q.loadedAhead.get()).isEqualTo(20);
            assertThat(order.got.get()).isEqualTo(20);
            sendInSection(q, 0, 20, 1); // a chain of one has no list
            assertThat(q.loadedAhead.get()).isEqualTo(20);
            assertThat(q.loadAheadPending()).isFalse();

            q.enqueue(packet(9, 0)); // outside a section: the ithread takes it and holds the queue
            holding.await();
            sendInSection(q, 1, 0, 5);
            assertThat(q.loadAheadPending()).as("the list waits for the next drain").isTrue();
            release.countDown();
            NetTestSupport.awaitIdle(q);
            assertThat(q.loadedAhead.get()).isEqualTo(25);
            assertThat(q.loadAheadPending()).isFalse();
            assertThat(order.got.get()).isEqualTo(27);
            assertThat(order.outOfOrder.get()).isZero();
            assertThat(q.drops.get()).isZero();
        } finally {
            release.countDown();
            q.close();
        }
    }

    @Test
    @DisplayName("R-ISR-1: close drops a published chain and lets its load-ahead list go with it")
    void closeDropsLoadAheadLists() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(IfQueue.LOAD_AHEAD, "smpnet.ifq.load_ahead=0");
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        IfQueue q = new IfQueue("daclose", 256, DeferredInputTest.class, m -> {
            holding.countDown();
            awaitQuietly(release);
            m.freem();
        });
        Thread closer = null;
        try {
            q.enqueue(packet(9, 0)); // the ithread takes it and holds the queue
            holding.await();
            sendInSection(q, 1, 0, 5);
            assertThat(q.loadAheadPending()).isTrue();
            closer = Thread.ofPlatform().name("daclose-closer").start(q::close); // it waits for the ithread
            while (q.length() > 0) {
                Thread.sleep(1);
            }
            assertThat(q.loadAheadPending()).as("close dropped the chain and its list").isFalse();
            assertThat(q.drops.get()).isEqualTo(5);
        } finally {
            release.countDown();
            if (closer != null) {
                closer.join();
            }
            q.close();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Enqueues {@code n} packets of {@code sender} from sequence number {@code from} in one section. */
    private static void sendInSection(IfQueue q, int sender, int from, int n) {
        boolean in = DeferredInput.enter();
        try {
            for (int i = 0; i < n; i++) {
                assertThat(q.enqueue(packet(sender, from + i))).isTrue();
            }
        } finally {
            DeferredInput.exit(in);
        }
    }

    @Test
    @DisplayName("R-ISR-1: the queue limit holds for packets staged by racing sections (never exceeded, no place leaked); the rest are refused and counted")
    void stagedPacketsRespectTheLimitExactly() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        NetTestSupport.SeqOrderSink order = new NetTestSupport.SeqOrderSink();
        int limit = 50;
        IfQueue q = new IfQueue("dlimit", limit, DeferredInputTest.class, m -> {
            if (holding.getCount() > 0) {
                holding.countDown();
                awaitQuietly(release); // the ithread holds its first batch: nothing drains meanwhile
            }
            order.accept(m);
        });
        try {
            q.enqueue(packet(9, 0)); // outside a section: the ithread takes it and blocks
            holding.await();
            int senders = 3;
            int each = 40;
            int[] accepted = new int[senders];
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int s = 0; s < senders; s++) {
                int id = s;
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    boolean in = DeferredInput.enter();
                    try {
                        for (int i = 0; i < each; i++) {
                            if (q.enqueue(packet(id, accepted[id]))) {
                                accepted[id]++;
                            }
                        }
                    } finally {
                        DeferredInput.exit(in);
                    }
                }));
            }
            go.countDown();
            for (Thread t : ts) {
                t.join();
            }
            int total = 0;
            for (int a : accepted) {
                total += a;
            }
            // Never over the limit; under it only by places another section still held reserved when a
            // sender was refused (at most one reservation per other sender).
            assertThat(total).as("accepted while nothing drained")
                    .isLessThanOrEqualTo(limit).isGreaterThanOrEqualTo(limit - (senders - 1) * IfQueue.STAGING_RESERVE);
            assertThat(q.drops.get()).isEqualTo((long) senders * each - total);
            assertThat(q.length()).as("no reserved place leaks").isEqualTo(total);
            release.countDown();
            NetTestSupport.awaitIdle(q);
            assertThat(order.got.get()).isEqualTo(total + 1);
            assertThat(order.outOfOrder.get()).isZero();
            assertThat(q.length()).isZero();
        } finally {
            release.countDown();
            q.close();
        }
    }

    @Test
    @DisplayName("R-ISR-1: a section's exit holding a lock is refused by WITNESS (no input under a lock)")
    void exitWithLockHeldIsRefused() throws InterruptedException {
        IfQueue q = new IfQueue("dtest2", 64, DeferredInputTest.class, Mbuf::freem);
        Mtx m = new Mtx("dtest held", "dtest held");
        try {
            awaitSleeping(q);
            boolean in = DeferredInput.enter();
            q.enqueue(packet(0, 0));
            m.lock();
            try {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> DeferredInput.exit(in))
                        .hasMessageContaining("locks held where none may be");
            } finally {
                m.unlock();
            }
            NetTestSupport.awaitIdle(q); // the claim was handed to the ithread
            assertThat(q.delivered.get()).isEqualTo(1);
        } finally {
            q.close();
        }
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-ISR-1: senders in and out of sections racing the ithread: every packet once, each sender's in order")
    void concurrentSendersKeepOrder(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            int senders = 4;
            NetTestSupport.SeqOrderSink sink = new NetTestSupport.SeqOrderSink();
            IfQueue q = new IfQueue("dstress", 1 << 16, DeferredInputTest.class, sink);
            long[] sent = new long[senders];
            long[] refused = new long[senders];
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            long end = System.nanoTime() + STRESS_MILLIS * 1_000_000L;
            for (int s = 0; s < senders; s++) {
                int id = s;
                ts.add(Thread.ofPlatform().name("dsender" + s).start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    int seq = 0;
                    while (System.nanoTime() < end) {
                        boolean in = id % 2 == 0 && DeferredInput.enter(); // half the senders use sections
                        try {
                            for (int k = 0; k < 8; k++) {
                                if (q.enqueue(packet(id, seq++))) {
                                    sent[id]++;
                                } else {
                                    refused[id]++;
                                }
                            }
                        } finally {
                            DeferredInput.exit(in);
                        }
                    }
                }));
            }
            go.countDown();
            NetTestSupport.assertEachPacketOnce(q, sink, ts, sent, refused);
        });
    }
}
