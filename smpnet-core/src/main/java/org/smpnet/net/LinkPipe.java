package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.smpnet.kern.Callout;
import org.smpnet.kern.CalloutWheels;
import org.smpnet.kern.Clock;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Cv;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.ManualClock;
import org.smpnet.kern.Mtx;

/**
 * An impairment pipe (dummynet-style) between a transmitter and a receiver: delay, jitter, loss,
 * duplication, reordering and a rate limit, decided by a seeded generator in the order packets enter.
 * Packets are handed to the receiver at their departure time, with no lock held: by a delivery thread
 * on the wall clock (the default), or by a {@link Callout} on the {@link CalloutWheels} given at
 * construction, whose {@link org.smpnet.kern.Clock} then is the pipe's time, so with a
 * {@link org.smpnet.kern.ManualClock} a test decides exactly when each packet arrives.
 *
 * <p>A perfect pipe ({@link PipeConfig#isPerfect}) with nothing in flight hands a packet to the receiver
 * in the sender's thread (the receiver must therefore be a queue's enqueue, never another stack's input):
 * a wire with no delay needs no thread hop, and order is kept because a packet only passes when none
 * queued before it is still in the pipe.
 *
 * <p>Locking key: {@code heap}, {@code rnd}, {@code busyUntil}, {@code seq}, {@code closed},
 * {@code busy} and {@code timerDue} are guarded by {@link #lock} (class "ifq"; the callout's wheel
 * lock is taken below it when the timer is armed).
 */
public final class LinkPipe {
    private static final LockClass IFQ = LockClass.of("ifq", LockKind.MUTEX, false);

    private record Pending(long due, long seq, Mbuf m) {}

    private final String name;
    private final Consumer<Mbuf> receiver;
    private final Mtx lock;
    private final Cv changed;
    @GuardedBy("lock") private PipeConfig config;
    @GuardedBy("lock") private SplittableRandom rnd;
    @GuardedBy("lock") private final PriorityQueue<Pending> heap = new PriorityQueue<>(
            (a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
    @GuardedBy("lock") private long busyUntil;
    @GuardedBy("lock") private long seq;
    @GuardedBy("lock") private boolean closed;
    @GuardedBy("lock") private boolean busy;
    @GuardedBy("lock") private long timerDue = Long.MAX_VALUE;
    private final Cv idle;
    private final Clock clock;
    private final Callout timer;  // null: the delivery thread runs instead
    private final Thread thread;  // null: the callout delivers

    /**
     * Perfect config, nothing queued or being delivered, not closed: senders hand packets over without the
     * lock. Written under the lock by {@link #publishLocked} after every change of those.
     */
    private volatile boolean idleWire;

    public final Counter entered = new Counter();
    public final Counter delivered = new Counter();
    public final Counter lost = new Counter();
    public final Counter duplicated = new Counter();
    public final Counter reordered = new Counter();
    public final Counter queueDrops = new Counter();

    /** A pipe on the wall clock, with its own delivery thread. */
    public LinkPipe(String name, PipeConfig config, Consumer<Mbuf> receiver) {
        this(name, config, receiver, null);
    }

    /**
     * A pipe timed by {@code wheels}' clock, delivering from a callout on them; null: wall clock and a
     * delivery thread.
     */
    public LinkPipe(String name, PipeConfig config, Consumer<Mbuf> receiver, CalloutWheels wheels) {
        this.name = name;
        this.receiver = receiver;
        this.lock = new Mtx("pipe " + name, IFQ);
        this.changed = lock.newCondition();
        this.idle = lock.newCondition();
        lock.lock();
        try {
            this.config = config;
            this.rnd = new SplittableRandom(config.seed());
            publishLocked();
        } finally {
            lock.unlock();
        }
        if (wheels == null) {
            this.clock = Clock.system();
            this.timer = null;
            this.thread = Thread.ofPlatform().daemon().name("pipe " + name).start(this::run);
        } else {
            this.clock = wheels.clock();
            this.timer = new Callout(wheels);
            this.thread = null;
        }
    }

    /** Replaces the impairment; the generator restarts from the new seed. */
    public void configure(PipeConfig c) {
        lock.lock();
        try {
            config = c;
            rnd = new SplittableRandom(c.seed());
            changed.signalAll();
            publishLocked();
        } finally {
            lock.unlock();
        }
    }

    public PipeConfig config() {
        lock.lock();
        try {
            return config;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sends {@code m} into the pipe; consumes it. Called inside a net-epoch section (a driver's transmit
     * is), which covers a hand-over in the sender's thread for {@link #drain}.
     */
    public void send(Mbuf m) {
        Epoch.NET.assertInEpoch();
        entered.inc();
        if (idleWire) {
            deliver(m);
            return;
        }
        Mbuf copy = null;
        boolean pass = false;
        lock.lock();
        try {
            if (!closed && heap.isEmpty() && !busy && config.isPerfect()) {
                pass = true;
                return;
            }
            if (closed || heap.size() >= config.queueLimit()) {
                queueDrops.inc();
                m.freem();
                return;
            }
            if (config.loss() > 0 && rnd.nextDouble() < config.loss()) {
                lost.inc();
                m.freem();
                return;
            }
            long now = clock.nanoTime();
            long depart = now;
            if (config.bandwidthBps() > 0) {
                long tx = (long) m.pktLen() * 8L * 1_000_000_000L / config.bandwidthBps();
                busyUntil = Math.max(busyUntil, now) + tx;
                depart = busyUntil;
            }
            long due = depart + delay();
            if (config.reorder() > 0 && rnd.nextDouble() < config.reorder()) {
                reordered.inc();
                due += config.reorderGap().toNanos();
            }
            heap.add(new Pending(due, seq++, m));
            if (config.duplicate() > 0 && rnd.nextDouble() < config.duplicate()) {
                copy = m.dup(Mbuf.M_NOWAIT);
                if (copy != null) {
                    duplicated.inc();
                    heap.add(new Pending(depart + delay(), seq++, copy));
                }
            }
            changed.signalAll();
            armLocked();
            publishLocked();
        } finally {
            lock.unlock();
            if (pass) {
                deliver(m);
            }
        }
    }

    /**
     * {@link #send} for a batch linked through {@code nextpkt}; consumes them all, in order. While the pipe
     * is an idle perfect wire the whole batch is handed over in the sender's thread and counted once, as
     * if its packets were sent at one instant (a reconfiguration racing with it takes effect from the next
     * batch); otherwise each packet goes through {@link #send}.
     */
    public void sendList(Mbuf first) {
        Epoch.NET.assertInEpoch();
        boolean wire = idleWire;
        int n = 0;
        int ok = 0;
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                if (!wire) {
                    send(cur);
                    continue;
                }
                n++;
                try {
                    receiver.accept(cur);
                    ok++;
                } catch (RuntimeException e) {
                    queueDrops.inc();
                }
            }
        } finally {
            Mbuf.freeList(m);
            entered.add(n);
            delivered.add(ok);
        }
    }

    @GuardedBy("lock")
    private void publishLocked() {
        idleWire = !closed && heap.isEmpty() && !busy && config.isPerfect();
    }

    @GuardedBy("lock")
    private long delay() {
        long d = config.delay().toNanos();
        long j = config.jitter().toNanos();
        if (j > 0) {
            d += rnd.nextLong(-j, j + 1);
        }
        return Math.max(0, d);
    }

    /** Callout mode: (re)arms the timer for the earliest packet if it is not armed for that time already. */
    @GuardedBy("lock")
    private void armLocked() {
        Pending head = heap.peek();
        if (timer == null || head == null || head.due >= timerDue) {
            return;
        }
        timerDue = head.due;
        timer.reset(Duration.ofNanos(Math.max(0, head.due - clock.nanoTime())), this::deliverDue);
    }

    /** Callout mode: delivers every packet that is due, in order, then re-arms for the next. */
    private void deliverDue() {
        List<Mbuf> due = new ArrayList<>();
        lock.lock();
        try {
            timerDue = Long.MAX_VALUE;
            long now = clock.nanoTime();
            while (!closed && !heap.isEmpty() && heap.peek().due <= now) {
                due.add(heap.poll().m);
            }
            busy = !due.isEmpty();
            armLocked();
            publishLocked();
        } finally {
            lock.unlock();
        }
        for (Mbuf m : due) {
            deliver(m);
        }
        lock.lock();
        try {
            busy = false;
            if (heap.isEmpty() || closed) {
                idle.signalAll();
            }
            publishLocked();
        } finally {
            lock.unlock();
        }
    }

    private void deliver(Mbuf m) {
        try {
            receiver.accept(m);
            delivered.inc();
        } catch (RuntimeException e) {
            queueDrops.inc();
        }
    }

    private void run() {
        while (true) {
            Mbuf m;
            lock.lock();
            try {
                busy = false;
                while (true) {
                    if (closed) {
                        idle.signalAll();
                        return;
                    }
                    Pending p = heap.peek();
                    if (p == null) {
                        idle.signalAll();
                        publishLocked();
                        changed.awaitUninterruptibly();
                        continue;
                    }
                    long wait = p.due - clock.nanoTime();
                    if (wait <= 0) {
                        heap.poll();
                        m = p.m;
                        busy = true;
                        break;
                    }
                    try {
                        changed.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                }
                publishLocked();
            } finally {
                lock.unlock();
            }
            deliver(m);
        }
    }

    /**
     * Waits until every packet in the pipe has been delivered or dropped. May sleep; hold no lock and be in
     * no net-epoch section.
     *
     * @throws IllegalStateException on a {@link ManualClock} with packets still in flight: virtual time does
     *     not pass while this waits, so advance the clock past the last departure first
     */
    public void drain() {
        lock.lock();
        try {
            if (clock instanceof ManualClock && !heap.isEmpty()) {
                throw new IllegalStateException("pipe " + name + " has " + heap.size()
                        + " packets in flight on a manual clock: advance the clock, draining would wait forever");
            }
            while ((!heap.isEmpty() || busy) && !closed) {
                idle.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
        // Senders inside a hand-over: each is in a net-epoch section (see send), so a grace period of the
        // net epoch waits for them, and senders pay no section of their own per packet.
        Epoch.NET.synchronize();
    }

    /** Packets in flight. */
    public int inFlight() {
        lock.lock();
        try {
            return heap.size();
        } finally {
            lock.unlock();
        }
    }

    /** Stops the pipe: packets still in flight are dropped and counted. May sleep. */
    public void close() {
        lock.lock();
        try {
            closed = true;
            Pending p;
            while ((p = heap.poll()) != null) {
                queueDrops.inc();
                p.m.freem();
            }
            changed.signalAll();
            publishLocked();
        } finally {
            lock.unlock();
        }
        if (timer != null) {
            timer.stop();
            timer.drain();
        } else if (Thread.currentThread() != thread) {
            int giant = Giant.save(); // a sleep releases Giant, whatever the delivery thread will need
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                Giant.restore(giant);
            }
        }
    }

    @Override
    public String toString() {
        return "LinkPipe[" + name + " " + config() + "]";
    }
}
