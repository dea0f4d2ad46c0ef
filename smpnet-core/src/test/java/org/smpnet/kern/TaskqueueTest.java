package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Task queues. Blocking points are latches, never sleeps: every assertion is exact. */
class TaskqueueTest {
    private final List<Taskqueue> queues = new ArrayList<>();

    private Taskqueue queue(String name, int threads) {
        Taskqueue q = new Taskqueue(name, threads);
        queues.add(q);
        return q;
    }

    @AfterEach
    void shutdown() {
        queues.forEach(Taskqueue::shutdown);
    }

    /** A task that blocks its worker until released, to hold work in the queue. */
    private static final class Gate {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final Task task = new Task("gate", p -> {
            entered.countDown();
            await(release);
        });
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    @DisplayName("taskqueue(9): enqueueing a queued task only raises its pending count; the handler gets the exact count")
    void coalescing() {
        Taskqueue q = queue("test-tq-coalesce", 1);
        Gate gate = new Gate();
        q.enqueue(gate.task);
        await(gate.entered);
        List<Integer> seen = new ArrayList<>();
        Task t = new Task("t", seen::add);
        assertThat(q.enqueue(t)).isTrue();
        for (int i = 1; i < 100; i++) {
            assertThat(q.enqueue(t)).isFalse();
        }
        assertThat(q.pending(t)).isEqualTo(100);
        gate.release.countDown();
        q.drain(t);
        assertThat(seen).containsExactly(100);
        assertThat(q.pending(t)).isZero();
        assertThat(q.coalesced()).isEqualTo(99);
        assertThat(q.runs()).isEqualTo(2);
    }

    @Test
    @DisplayName("taskqueue(9): tasks run in the order first enqueued")
    void fifo() {
        Taskqueue q = queue("test-tq-fifo", 1);
        Gate gate = new Gate();
        q.enqueue(gate.task);
        await(gate.entered);
        List<String> order = new ArrayList<>();
        Task a = new Task("a", p -> order.add("a" + p));
        Task b = new Task("b", p -> order.add("b" + p));
        Task c = new Task("c", p -> order.add("c" + p));
        q.enqueue(a);
        q.enqueue(b);
        q.enqueue(a);
        q.enqueue(c);
        gate.release.countDown();
        q.drainAll();
        assertThat(order).containsExactly("a2", "b1", "c1");
    }

    @Test
    @DisplayName("taskqueue(9): drain waits until the task is neither queued nor running")
    void drainWaitsForRun() throws Exception {
        Taskqueue q = queue("test-tq-drain", 2);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean finished = new AtomicBoolean();
        Task t = new Task("slow", p -> {
            entered.countDown();
            await(release);
            finished.set(true);
        });
        q.enqueue(t);
        await(entered);
        q.enqueue(t);
        AtomicReference<Boolean> sawFinished = new AtomicReference<>();
        AtomicInteger pendingAfter = new AtomicInteger(-1);
        Thread drainer = Thread.ofPlatform().start(() -> {
            q.drain(t);
            sawFinished.set(finished.get());
            pendingAfter.set(q.pending(t));
        });
        release.countDown();
        drainer.join();
        assertThat(sawFinished.get()).isTrue();
        assertThat(pendingAfter.get()).isZero();
        assertThat(q.runs()).isEqualTo(2);
    }

    @Test
    @DisplayName("taskqueue(9): cancel removes a queued task with its count and reports a running one")
    void cancel() {
        Taskqueue q = queue("test-tq-cancel", 1);
        Gate gate = new Gate();
        AtomicInteger ran = new AtomicInteger();
        Task t = new Task("t", p -> ran.incrementAndGet());
        q.enqueue(gate.task);
        await(gate.entered);
        q.enqueue(t);
        q.enqueue(t);
        q.enqueue(t);
        assertThat(q.cancel(t)).isEqualTo(new Taskqueue.CancelResult(3, false));
        assertThat(q.cancel(t).wasPending()).isFalse();
        assertThat(q.cancel(gate.task)).isEqualTo(new Taskqueue.CancelResult(0, true));
        gate.release.countDown();
        q.drainAll();
        assertThat(ran.get()).isZero();
        assertThat(q.cancelled()).isEqualTo(1);
    }

    @Test
    @DisplayName("taskqueue(9): drainAll waits for work queued before it, and drains from a worker are refused")
    void drainAllAndMisuse() {
        Taskqueue q = queue("test-tq-drainall", 2);
        AtomicInteger done = new AtomicInteger();
        List<Task> ts = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            ts.add(new Task("t" + i, p -> done.addAndGet(p)));
        }
        for (int round = 0; round < 3; round++) {
            ts.forEach(q::enqueue);
        }
        AtomicReference<Throwable> selfDrain = new AtomicReference<>();
        AtomicReference<Throwable> selfDrainAll = new AtomicReference<>();
        Task[] self = new Task[1];
        self[0] = new Task("self", p -> {
            try {
                q.drain(self[0]);
            } catch (IllegalStateException e) {
                selfDrain.set(e);
            }
            try {
                q.drainAll();
            } catch (IllegalStateException e) {
                selfDrainAll.set(e);
            }
        });
        q.enqueue(self[0]);
        q.drainAll();
        assertThat(done.get()).isEqualTo(150);
        assertThat(selfDrain.get()).hasMessageContaining("own handler");
        assertThat(selfDrainAll.get()).hasMessageContaining("own worker");
    }

    @Test
    @DisplayName("taskqueue(9): concurrent enqueues from several threads: every enqueue is delivered exactly once in a pending count")
    void concurrentEnqueue() throws Exception {
        long millis = Long.getLong("smpnet.stress.millis", 1500);
        Taskqueue q = queue("test-tq-stress", 3);
        int ntasks = 16;
        AtomicLong[] delivered = new AtomicLong[ntasks];
        AtomicLong[] sent = new AtomicLong[ntasks];
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        Task[] tasks = new Task[ntasks];
        for (int i = 0; i < ntasks; i++) {
            int n = i;
            delivered[i] = new AtomicLong();
            sent[i] = new AtomicLong();
            tasks[i] = new Task("s" + i, p -> {
                if (p < 1) {
                    violations.add("pending count " + p);
                }
                delivered[n].addAndGet(p);
                if (delivered[n].get() > sent[n].get()) {
                    violations.add("task " + n + " delivered more than was sent");
                }
            });
        }
        long end = System.nanoTime() + millis * 1_000_000;
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            ts.add(Thread.ofPlatform().start(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (System.nanoTime() < end && violations.isEmpty()) {
                    int n = rnd.nextInt(ntasks);
                    sent[n].incrementAndGet();
                    q.enqueue(tasks[n]);
                    if (rnd.nextInt(64) == 0) {
                        q.drain(tasks[rnd.nextInt(ntasks)]);
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        q.drainAll();
        assertThat(violations).isEmpty();
        long total = 0;
        for (int i = 0; i < ntasks; i++) {
            assertThat(delivered[i].get()).as("task %d", i).isEqualTo(sent[i].get());
            total += sent[i].get();
        }
        assertThat(q.enqueued()).isEqualTo(total);
        assertThat(q.runs() + q.coalesced()).isEqualTo(total);
        System.out.printf("taskqueue stress: %d enqueues, %d runs, %d coalesced%n", total, q.runs(), q.coalesced());
    }

    @Test
    @DisplayName("taskqueue(9): shutdown runs what is queued, stops the workers and refuses new work clearly")
    void shutdownBehaviour() throws Exception {
        Taskqueue q = new Taskqueue("test-tq-shutdown", 2);
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 20; i++) {
            q.enqueue(new Task("t" + i, p -> ran.incrementAndGet()));
        }
        assertThat(threadNames()).contains("test-tq-shutdown/0", "test-tq-shutdown/1");
        AtomicReference<Throwable> fromWorker = new AtomicReference<>();
        Task selfShutdown = new Task("self", p -> {
            try {
                q.shutdown();
            } catch (IllegalStateException e) {
                fromWorker.set(e);
            }
        });
        q.enqueue(selfShutdown);
        q.shutdown();
        assertThat(ran.get()).isEqualTo(20);
        assertThat(fromWorker.get()).hasMessageContaining("own worker");
        assertThat(threadNames()).doesNotContain("test-tq-shutdown/0", "test-tq-shutdown/1");
        assertThatThrownBy(() -> q.enqueue(new Task("late", p -> {})))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("test-tq-shutdown")
                .hasMessageContaining("shut down");
        q.shutdown();
        assertThatThrownBy(() -> new Taskqueue("test-tq-bad", 0)).hasMessageContaining("at least one thread");
    }

    private static List<String> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).toList();
    }

    @NeedsGiant("test task that is not MPSAFE")
    static final class GiantTask {}

    @Test
    @DisplayName("R-LOCK-3: tasks run under Giant with net.mpsafenet=0 or for a NEEDSGIANT component, without it otherwise")
    void giant() {
        Taskqueue q = queue("test-tq-giant", 1);
        boolean saved = Giant.mpsafenet();
        List<Boolean> held = new ArrayList<>();
        Task.Handler probe = p -> held.add(Giant.GIANT.isHeldByCurrentThread());
        try {
            Giant.setMpsafenet(true);
            q.enqueue(new Task("plain", probe));
            q.enqueue(new Task("needs-giant", GiantTask.class, probe));
            q.drainAll();
            Giant.setMpsafenet(false);
            q.enqueue(new Task("plain", probe));
            q.drainAll();
        } finally {
            Giant.setMpsafenet(saved);
        }
        assertThat(held).containsExactly(false, true, true);
    }

    @Test
    @DisplayName("taskqueue(9): a timeout task is enqueued once its callout fires in virtual time, and can be cancelled")
    void timeoutTask() {
        ManualClock clock = new ManualClock();
        try (CalloutWheels w = new CalloutWheels("test-tq-timeout", clock)) {
            Taskqueue q = queue("test-tq-timeout", 1);
            AtomicInteger ran = new AtomicInteger();
            TimeoutTask tt = new TimeoutTask(q, w, new Task("tt", p -> ran.addAndGet(p)));
            assertThat(tt.enqueue(Duration.ofMillis(10))).isFalse();
            clock.advance(Duration.ofMillis(9));
            assertThat(q.pending(tt.task())).isZero();
            clock.advance(Duration.ofMillis(1));
            tt.drain();
            assertThat(ran.get()).isEqualTo(1);

            tt.enqueue(Duration.ofMillis(10));
            assertThat(tt.enqueue(Duration.ofMillis(20))).isTrue();
            assertThat(tt.cancel()).isEqualTo(new Taskqueue.CancelResult(1, false));
            clock.advance(Duration.ofSeconds(1));
            tt.drain();
            assertThat(ran.get()).isEqualTo(1);
        }
    }
}
