package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.NetTestSupport.mbuf;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Giant;

/** Busy polling of a driver queue by waiting readers ({@link IfQueue#busyPoll}). */
class IfQueueBusyPollTest {
    private static final long STRESS_MILLIS = Long.getLong("smpnet.stress.millis", 1500);

    private static Mbuf packet(int sender, int seq) {
        return mbuf(NetTestSupport.seqPayload(sender, seq, 16));
    }

    private static void awaitSleeping(IfQueue q) throws InterruptedException {
        while (!q.ithreadSleeping()) {
            Thread.sleep(1);
        }
    }

    /** A consumer that holds the first packet's drainer inside it until {@link #release} opens. */
    private static final class HoldFirst implements java.util.function.Consumer<Mbuf> {
        final CountDownLatch inConsumer = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicLong got = new AtomicLong();

        @Override
        public void accept(Mbuf m) {
            if (got.getAndIncrement() == 0) {
                inConsumer.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            m.freem();
        }
    }

    @Test
    @DisplayName("R-ISR-1: while a reader polls, producers leave packets to it; it runs their input in its own thread")
    void pollerTakesWhatProducersQueue() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            List<String> threads = new ArrayList<>();
            IfQueue q = new IfQueue("bptest", 64, IfQueueBusyPollTest.class, m -> {
                synchronized (threads) {
                    threads.add(Thread.currentThread().getName());
                }
                m.freem();
            });
            try {
                awaitSleeping(q);
                assertThat(q.pollerEnter()).isTrue();
                boolean in = DeferredInput.enter(); // a sending thread's section does not claim a polled queue
                for (int i = 0; i < 3; i++) {
                    assertThat(q.enqueue(packet(0, i))).isTrue();
                }
                DeferredInput.exit(in);
                assertThat(q.busyPoll()).isTrue();
                assertThat(q.busyPoll()).as("nothing left").isFalse();
                q.pollerExit();
                synchronized (threads) {
                    assertThat(threads).containsOnly(Thread.currentThread().getName()).hasSize(3);
                }
            } finally {
                q.close();
            }
        });
    }

    /** A consumer that records which threads ran the input. */
    private static final class ThreadsSeen implements java.util.function.Consumer<Mbuf> {
        final List<String> names = new ArrayList<>();

        @Override
        public void accept(Mbuf m) {
            synchronized (names) {
                names.add(Thread.currentThread().getName());
            }
            m.freem();
        }

        int count() {
            synchronized (names) {
                return names.size();
            }
        }

        List<String> snapshot() {
            synchronized (names) {
                return List.copyOf(names);
            }
        }
    }

    private static final long LONG_LINGER = 60_000_000_000L;

    /** Sends {@code n} packets from one section in the calling thread (its exit serves what it claimed). */
    private static void sendSection(IfQueue q, int from, int n) {
        boolean in = DeferredInput.enter();
        for (int i = from; i < from + n; i++) {
            assertThat(q.enqueue(packet(0, i))).isTrue();
        }
        DeferredInput.exit(in);
    }

    @Test
    @DisplayName("R-ISR-1: a reader woken out of its poll leaves its registration lingering: senders go on leaving it the input")
    void lingeringReaderIsLeftTheInput() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            ThreadsSeen seen = new ThreadsSeen();
            IfQueue q = new IfQueue("bplinger1", 64, IfQueueBusyPollTest.class, seen, false, LONG_LINGER);
            try {
                assertThat(q.pollerEnter()).isTrue();
                q.pollerLeave(true); // woken: it polls again soon
                assertThat(q.lingerStarts.get()).isEqualTo(1);
                sendSection(q, 0, 3);
                assertThat(seen.count()).as("the sender left the input to the lingering reader").isZero();
                assertThat(q.length()).isEqualTo(3);
                assertThat(q.pollerEnter()).isTrue();
                assertThat(q.busyPoll()).isTrue();
                q.pollerLeave(true); // renews the linger, takes no second one
                assertThat(seen.snapshot()).containsOnly(Thread.currentThread().getName()).hasSize(3);
                assertThat(q.lingerStarts.get()).isEqualTo(1);
                assertThat(q.lingerEnds.get()).isZero();
                assertThat(q.toString()).contains("lingering");
            } finally {
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-ISR-1: a linger nobody renews ends within two periods, and what it was left is delivered")
    void lingerOfAGoneReaderEnds() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            ThreadsSeen seen = new ThreadsSeen();
            IfQueue q = new IfQueue("bplinger2", 64, IfQueueBusyPollTest.class, seen, false, 1_000_000);
            try {
                assertThat(q.pollerEnter()).isTrue();
                q.pollerLeave(true);
                sendSection(q, 0, 5); // left to the reader, which never comes back
                NetTestSupport.awaitIdle(q);
                assertThat(seen.count()).isEqualTo(5);
                assertThat(seen.snapshot()).allMatch(n -> n.startsWith("ithread bplinger2"));
                assertThat(q.lingerEnds.get()).isEqualTo(1);
                sendSection(q, 5, 2); // no linger now: the sender serves its own section
                assertThat(seen.count()).isEqualTo(7);
                assertThat(seen.snapshot().subList(5, 7)).containsOnly(Thread.currentThread().getName());
            } finally {
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-ISR-1: a reader about to sleep ends the linger, so nothing waits for a poll that will not come")
    void sleepingReaderEndsTheLinger() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            ThreadsSeen seen = new ThreadsSeen();
            IfQueue q = new IfQueue("bplinger3", 64, IfQueueBusyPollTest.class, seen, false, LONG_LINGER);
            try {
                assertThat(q.pollerEnter()).isTrue();
                q.pollerLeave(true);
                assertThat(q.pollerEnter()).isTrue();
                q.pollerLeave(false); // its spin timed out: it goes to sleep
                assertThat(q.lingerEnds.get()).isEqualTo(1);
                assertThat(q.toString()).doesNotContain("lingering").doesNotContain("pollers");
                sendSection(q, 0, 2);
                assertThat(seen.snapshot()).containsOnly(Thread.currentThread().getName()).hasSize(2);
            } finally {
                q.close();
            }
        });
    }

    @ParameterizedTest(name = "reader renews the linger: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("R-ISR-1: a sender past the backlog waits for a lingering reader only while the queue drains; a stalled one (even one that renews without polling) gets no wait")
    void senderStopsWaitingForAStalledReader(boolean renewing) throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            ThreadsSeen seen = new ThreadsSeen();
            IfQueue q = new IfQueue("bplinger4", 4096, IfQueueBusyPollTest.class, seen, false, LONG_LINGER);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread renewer = Thread.ofPlatform().name("bprenewer").start(() -> {
                while (renewing && !stop.get()) {
                    q.renewLinger(); // reads its socket, fed from elsewhere: never polls this queue
                    Thread.onSpinWait();
                }
            });
            try {
                assertThat(q.pollerEnter()).isTrue();
                q.pollerLeave(true);
                int burst = IfQueue.POLL_BACKLOG + 10;
                long t0 = System.nanoTime();
                sendSection(q, 0, burst); // at exit: waits for the reader, sees no batch taken, serves itself
                long waited = System.nanoTime() - t0;
                assertThat(q.senderWaits.get()).isEqualTo(1);
                assertThat(q.lingerEnds.get()).as("the sender ended the stalled reader's linger").isEqualTo(1);
                NetTestSupport.awaitIdle(q);
                assertThat(seen.count()).isEqualTo(burst);
                assertThat(seen.snapshot().get(0)).isEqualTo(Thread.currentThread().getName());
                assertThat(q.drops.get()).isZero();
                System.out.printf("stalled reader (renewing %s): the sender's section of %d took %d us%n", renewing, burst,
                        waited / 1000);
            } finally {
                stop.set(true);
                renewer.join();
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-ISR-1: a reader busy delivering a long batch is not taken for a stalled one: the waiting sender leaves it the input")
    void readerDeliveringALongBatchIsNotStalled() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            HoldFirst hold = new HoldFirst();
            IfQueue q = new IfQueue("bplinger5", 4096, IfQueueBusyPollTest.class, hold, false, LONG_LINGER);
            try {
                assertThat(q.pollerEnter()).isTrue();
                q.pollerLeave(true); // the reader's linger
                assertThat(q.enqueue(packet(0, 0))).isTrue();
                Thread reader = Thread.ofPlatform().name("bpreader").start(() -> {
                    assertThat(q.pollerEnter()).isTrue();
                    q.busyPoll(); // held in the consumer: a batch that takes long
                    while (q.busyPoll()) {
                        Thread.onSpinWait();
                    }
                    q.pollerLeave(true);
                });
                hold.inConsumer.await();
                int burst = IfQueue.POLL_BACKLOG + 10;
                sendSection(q, 1, burst); // waits its bounded while for the reader, which is busy: no stall
                assertThat(q.senderWaits.get()).isEqualTo(1);
                assertThat(q.lingerEnds.get()).as("the busy reader's linger stays").isZero();
                assertThat(hold.got.get()).as("the sender ran no input").isEqualTo(1);
                hold.release.countDown();
                reader.join();
                NetTestSupport.awaitIdle(q);
                assertThat(hold.got.get()).isEqualTo(burst + 1);
            } finally {
                hold.release.countDown();
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-ISR-1: the last poller to leave delivers what it was left; nothing waits for a gone poller")
    void lastPollerLeavingDrains() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            AtomicLong got = new AtomicLong();
            IfQueue q = new IfQueue("bptest2", 64, IfQueueBusyPollTest.class, m -> {
                got.incrementAndGet();
                m.freem();
            });
            try {
                awaitSleeping(q);
                assertThat(q.pollerEnter()).isTrue();
                for (int i = 0; i < 5; i++) {
                    q.enqueue(packet(0, i));
                }
                q.pollerExit();
                NetTestSupport.awaitIdle(q);
                assertThat(got.get()).isEqualTo(5);
                assertThat(q.delivered.get()).isEqualTo(5);
            } finally {
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-ISR-1: a packet queued while a drainer is mid-batch (the producer wakes nobody) is taken when it steps down")
    void packetQueuedDuringABatchIsNotStranded() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            HoldFirst hold = new HoldFirst();
            IfQueue q = new IfQueue("bptest5", 64, IfQueueBusyPollTest.class, hold);
            try {
                awaitSleeping(q);
                Thread sender = Thread.ofPlatform().start(() -> {
                    boolean in = DeferredInput.enter();
                    q.enqueue(packet(0, 0));
                    DeferredInput.exit(in); // drains packet 0 in this thread: the consumer holds it there
                });
                hold.inConsumer.await();
                assertThat(q.enqueue(packet(0, 1))).isTrue(); // sees the busy drainer: claims nothing, wakes nobody
                hold.release.countDown();
                sender.join();
                NetTestSupport.awaitIdle(q); // the drainer stepping down must have re-read the queue
                assertThat(hold.got.get()).isEqualTo(2);
            } finally {
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-ISR-1: a sender that overfills a queue another drainer holds waits at its section exit, but boundedly, and loses nothing")
    void overfillingSenderWaitsBoundedly() throws Exception {
        NetTestSupport.inGiantMode(true, () -> {
            HoldFirst hold = new HoldFirst();
            IfQueue q = new IfQueue("bptest6", 4096, IfQueueBusyPollTest.class, hold);
            try {
                awaitSleeping(q);
                Thread holder = Thread.ofPlatform().start(() -> {
                    boolean in = DeferredInput.enter();
                    q.enqueue(packet(0, 0));
                    DeferredInput.exit(in); // drains packet 0 and is held in the consumer
                });
                hold.inConsumer.await();
                int burst = IfQueue.SENDER_WAIT_BACKLOG + 50;
                Thread sender = Thread.ofPlatform().start(() -> {
                    boolean in = DeferredInput.enter();
                    for (int i = 1; i <= burst; i++) {
                        q.enqueue(packet(0, i));
                    }
                    DeferredInput.exit(in); // over the mark with the queue held: waits, then gives up
                });
                sender.join(10_000);
                assertThat(sender.isAlive()).as("the sender's wait is bounded while the drainer is held").isFalse();
                assertThat(q.senderWaits.get()).isEqualTo(1);
                assertThat(q.length()).isEqualTo(burst);
                hold.release.countDown();
                holder.join();
                NetTestSupport.awaitIdle(q);
                assertThat(hold.got.get()).isEqualTo(burst + 1);
                assertThat(q.drops.get()).isZero();
            } finally {
                hold.release.countDown();
                q.close();
            }
        });
    }

    @Test
    @DisplayName("R-LOCK-3: with net.mpsafenet=0 nobody polls: the ithreads do all input under Giant")
    void noPollingUnderGiant() throws Exception {
        NetTestSupport.inGiantMode(false, () -> {
            IfQueue q = new IfQueue("bptest3", 64, IfQueueBusyPollTest.class, Mbuf::freem);
            try {
                assertThat(Giant.mpsafenet()).isFalse();
                assertThat(q.pollerEnter()).isFalse();
            } finally {
                q.close();
            }
        });
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-ISR-1: producers, pollers coming and going, senders' sections and the ithread: every packet once, in order")
    void pollersProducersAndIthreadRace(boolean mpsafenet) throws Exception {
        race(mpsafenet, 8, 0);
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-ISR-1: the same race with sections that overfill a slow queue (senders wait at exit): nothing lost or reordered")
    void overfillingSendersRace(boolean mpsafenet) throws Exception {
        race(mpsafenet, IfQueue.SENDER_WAIT_BACKLOG + 64, 2_000);
    }

    /** Senders push {@code perSection} packets per section; the consumer spins {@code consumeNanos} per packet. */
    private static void race(boolean mpsafenet, int perSection, long consumeNanos) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            int senders = 3;
            NetTestSupport.SeqOrderSink order = new NetTestSupport.SeqOrderSink();
            java.util.function.Consumer<Mbuf> sink = m -> {
                long until = System.nanoTime() + consumeNanos;
                while (consumeNanos > 0 && System.nanoTime() - until < 0) {
                    Thread.onSpinWait();
                }
                order.accept(m);
            };
            IfQueue q = new IfQueue("bpstress", 1 << 16, IfQueueBusyPollTest.class, sink, false, 100_000);
            long[] sent = new long[senders];
            long[] refused = new long[senders];
            AtomicLong polled = new AtomicLong();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            long end = System.nanoTime() + STRESS_MILLIS * 1_000_000L;
            for (int s = 0; s < senders; s++) {
                int id = s;
                ts.add(Thread.ofPlatform().name("bpsender" + s).start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    int seq = 0;
                    while (System.nanoTime() < end) {
                        boolean in = id != 0 && DeferredInput.enter();
                        try {
                            for (int k = 0; k < perSection; k++) {
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
            for (int p = 0; p < 2; p++) {
                int poller = p;
                ts.add(Thread.ofPlatform().name("bppoller" + p).start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int round = 0; System.nanoTime() < end; round++) {
                        if (!q.pollerEnter()) {
                            Thread.onSpinWait();
                            continue;
                        }
                        try {
                            for (int i = 0; i < 50; i++) {
                                if (q.busyPoll()) {
                                    polled.incrementAndGet();
                                }
                            }
                        } finally {
                            // Poller 0 lingers (and renews, or goes away for a while); poller 1 leaves or sleeps.
                            if (poller == 1) {
                                q.pollerExit();
                            } else if (round % 64 == 63) {
                                q.pollerLeave(false);
                            } else {
                                q.pollerLeave(true);
                                if (round % 16 == 0) {
                                    java.util.concurrent.locks.LockSupport.parkNanos(300_000); // gone: the watch ends it
                                } else {
                                    q.renewLinger();
                                }
                            }
                        }
                    }
                }));
            }
            go.countDown();
            long total = NetTestSupport.assertEachPacketOnce(q, order, ts, sent, refused);
            System.out.printf("queue race mpsafenet=%s section=%d: %d delivered, %d busy polls delivered, %d sender waits, "
                    + "%d lingers%n", mpsafenet, perSection, total, polled.get(), q.senderWaits.get(), q.lingerStarts.get());
            if (mpsafenet) {
                assertThat(q.lingerStarts.get()).as("lingers begun").isPositive();
                assertThat(q.lingerStarts.get() - q.lingerEnds.get()).as("lingers open at the end").isBetween(0L, 1L);
                if (consumeNanos == 0) {
                    // With a slow consumer a drainer holds the queue so long that pollers may never win it;
                    // overfillingSenderWaitsBoundedly proves the wait deterministically instead.
                    assertThat(polled.get()).as("busy polls that delivered").isPositive();
                }
            } else {
                assertThat(polled.get()).isZero();
                assertThat(q.senderWaits.get()).as("no sections under Giant, so no waits").isZero();
            }
        });
    }
}
