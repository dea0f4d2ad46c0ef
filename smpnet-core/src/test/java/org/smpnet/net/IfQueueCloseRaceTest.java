package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.NetTestSupport.mbuf;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The lock-free {@link IfQueue} closed while producers, a poller and senders' sections use it. */
class IfQueueCloseRaceTest {
    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IF-1: close racing producers and drainers: every accepted packet is delivered or counted as a drop, nothing hangs")
    void closeWhileBusy(boolean mpsafenet) throws Exception {
        closeWhileBusy(mpsafenet, false);
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IF-1: the same race on a queue whose drainers hand batches over whole (IfQueue.forLists)")
    void closeWhileBusyWithLists(boolean mpsafenet) throws Exception {
        closeWhileBusy(mpsafenet, true);
    }

    private static void closeWhileBusy(boolean mpsafenet, boolean lists) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            for (int round = 0; round < 40; round++) {
                AtomicLong got = new AtomicLong();
                IfQueue q = lists
                        ? IfQueue.forLists("closerace", 256, IfQueueCloseRaceTest.class, first -> {
                            for (Mbuf m = first; m != null; ) {
                                Mbuf next = m.nextpkt();
                                m.setNextpkt(null);
                                got.incrementAndGet();
                                m.freem();
                                m = next;
                            }
                        })
                        : new IfQueue("closerace", 256, IfQueueCloseRaceTest.class, m -> {
                            got.incrementAndGet();
                            m.freem();
                        });
                int producers = 3;
                long[] accepted = new long[producers];
                long[] refused = new long[producers];
                CountDownLatch go = new CountDownLatch(1);
                List<Thread> ts = new ArrayList<>();
                for (int p = 0; p < producers; p++) {
                    int id = p;
                    ts.add(Thread.ofPlatform().start(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        for (int i = 0; i < 2000; i++) {
                            boolean in = id == 1 && DeferredInput.enter();
                            try {
                                if (q.enqueue(mbuf(NetTestSupport.seqPayload(id, i, 16)))) {
                                    accepted[id]++;
                                } else {
                                    refused[id]++;
                                }
                            } finally {
                                DeferredInput.exit(in);
                            }
                        }
                    }));
                }
                ts.add(Thread.ofPlatform().start(() -> { // a poller
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < 200; i++) {
                        if (q.pollerEnter()) {
                            q.busyPoll();
                            q.pollerExit();
                        }
                    }
                }));
                go.countDown();
                Thread.sleep(round % 4); // close early, mid-way or late
                q.close();
                for (Thread t : ts) {
                    t.join();
                }
                long acc = 0;
                long ref = 0;
                for (int p = 0; p < producers; p++) {
                    acc += accepted[p];
                    ref += refused[p];
                }
                assertThat(q.length()).isZero();
                assertThat(got.get()).isEqualTo(q.delivered.get());
                assertThat(q.delivered.get() + q.drops.get() - ref).as("round %d: accepted packets accounted", round)
                        .isEqualTo(acc);
            }
        });
    }

    @org.junit.jupiter.api.Test
    @DisplayName("R-LOCK-3: closing a queue while holding Giant (a driver's detach in net.mpsafenet=0) does not deadlock with an ithread that waits for Giant to deliver its batch")
    void closeUnderGiantWhileTheIthreadWaitsForIt() throws Exception {
        NetTestSupport.inGiantMode(false, () -> {
            AtomicLong consumed = new AtomicLong();
            IfQueue q = new IfQueue("giantclose", 16, IfQueueCloseRaceTest.class, m -> {
                consumed.incrementAndGet();
                m.freem();
            });
            boolean[] taken = new boolean[1];
            NetTestSupport.inThreadUnderGiant("giant-closer", () -> {
                q.enqueue(mbuf(new byte[8])); // wakes the ithread: it takes the batch, then waits for Giant
                long until = System.nanoTime() + 10_000_000_000L;
                while (q.length() > 0 && System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                taken[0] = q.length() == 0;
                q.close();
            });
            assertThat(taken[0]).as("the ithread took the batch before the close").isTrue();
            assertThat(consumed.get() + q.drops.get()).as("the batch delivered or counted as dropped").isEqualTo(1);
        });
    }
}
