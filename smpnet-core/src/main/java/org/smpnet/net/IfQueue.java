package org.smpnet.net;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;
import org.smpnet.kern.Tunables;
import org.smpnet.kern.Witness;

/**
 * A bounded packet queue drained by its own thread: a driver's receive ring and its interrupt thread
 * ({@code ithread}). Producers {@link #enqueue} from any thread; a drainer takes everything queued at once
 * (like a driver's rx ring cleaned per interrupt) and hands each packet to the consumer in order with no
 * lock held, under Giant when the driver is not MPSAFE (R-IF-5); a queue made by {@link #forLists} hands
 * the batch over whole, as a list, so the stack reads per-batch state once. Producers wake the ithread only when no
 * drainer is active, so a busy ithread costs them no wake-up.
 *
 * <p>Drainers: the ithread, a sender serving its {@link DeferredInput} claim, and busy pollers (Linux's
 * {@code SO_BUSY_POLL}/{@code net.core.busy_read}): a reader about to sleep on a socket fed by this queue
 * may {@linkplain #busyPoll poll} it and run the input itself. While someone polls, producers neither wake
 * the ithread nor claim the queue unless it grows past {@link #POLL_BACKLOG}: the receive work moves to
 * the reader's CPU and the sender's thread only sends. The last poller to leave takes what is left (a
 * few batches) and wakes the ithread for the rest, so none is stranded.
 *
 * <p>Lingering (Linux's {@code SO_PREFER_BUSY_POLL}): a reader whose poll ended with a wakeup will be back
 * within microseconds, and if producers took the input in the gap they would fight it for its own socket
 * buffer across CPUs. So such a reader may {@linkplain #pollerLeave leave} its registration behind, one
 * per queue, renewed by each poll that ends the same way and each take from the reader's socket buffer:
 * producers go on leaving packets to pollers. The ithread keeps the promise meanwhile: it wakes every
 * {@link #LINGER_NANOS} and ends a linger that nobody renewed for that long, and a sender kept waiting
 * past the backlog by a queue that makes no progress ends it too; after that the usual drainers take over.
 * So a packet waits at most about two periods for a reader that went away, and a reader going to sleep
 * ends the linger itself.
 *
 * <p>Lock-free: producers push onto a Treiber stack ({@link #stack}, linked through {@code nextpkt}); a
 * drainer, the one thread that won {@link #busy}, swaps the whole stack out and reverses it, so packets
 * leave in the order they were pushed (each producer's in its own order). Producers never block a drainer
 * and drainers never block producers. No packet is left without a drainer by two handshakes, each a
 * pair of sequentially consistent (volatile/atomic) accesses: a producer pushes and then reads
 * {@code busy}/{@code pollers}; a drainer clears {@code busy} (a poller decrements {@code pollers}) and
 * then reads the stack. At least one of the two sees the other, so either the producer arranges a drainer
 * or the leaving one takes the packet. The ithread sleeps by parking after publishing {@link #parked} and
 * re-reading the stack, the same handshake. It starts at the first wake-up, so a queue whose packets
 * senders and pollers always take (most of a multi-queue device's) costs no thread.
 *
 * <p>Inside a {@link DeferredInput} section, {@link #enqueue} stages the packet in the section instead of
 * pushing it: the section {@linkplain #publish publishes} each queue's packets in one push at its exit (a
 * driver's doorbell rung once per batch), after which the same decisions are taken once. Places under the
 * limit are {@linkplain #reserve reserved} for staged packets a few at a time, so the limit still holds
 * exactly and a staged packet is refused (counted) when the queue is full, as an unstaged one is.
 */
public final class IfQueue {
    /**
     * Places a section reserves at a time for the packets it stages after its first (see {@link #reserve});
     * the first reserves one, so a single send costs no more atomics than an unstaged one.
     */
    static final int STAGING_RESERVE = 16;
    /**
     * Queued packets beyond which a producer serves the queue itself although a reader polls it (tunable
     * {@code smpnet.busy_poll.backlog}): a reader serving its own input takes whole batches, but one that
     * falls this far behind gets help.
     */
    static final int POLL_BACKLOG = Math.max(1, Tunables.integer("smpnet.busy_poll.backlog", 1024));
    /**
     * How long a {@linkplain #pollerLeave lingering} poller registration lasts without a renewal, and the
     * ithread's period while one lasts (tunable {@code smpnet.busy_poll.linger.usecs}; 0: readers never
     * linger). It bounds the wait of a packet left to a reader that went away (about two periods), and each
     * period costs the ithread a wake-up: 1 ms, a clock tick, gave the best packet rates (epair, 64-byte UDP,
     * 2 flows on 2 CPUs, batched: 5.9M datagrams/s against 4.4M with 200 us).
     */
    static final long LINGER_NANOS = Tunables.integer("smpnet.busy_poll.linger.usecs", 1000) * 1_000L;
    /** Batches one deferred serve or leaving poller delivers before it hands the rest to the ithread. */
    private static final int ROUNDS = 4;
    /** Packets one deferred serve or leaving poller may deliver in more than {@link #ROUNDS} small batches. */
    private static final int DRAIN_BUDGET = 64;
    /** Queued packets beyond which a sender in a {@link DeferredInput} section waits at its exit (back-pressure). */
    static final int SENDER_WAIT_BACKLOG = 256;
    /**
     * A sender waiting for a reader's polls ends the linger and serves the queue itself when the queue made
     * no progress for this long (no batch taken, no drainer at work, no renewal: the reader has no CPU), or
     * when its whole wait saw no batch taken (the reader renews but does not poll: its socket is fed from
     * elsewhere). The sender's own CPU then does the input better than waiting.
     */
    private static final long READER_STALL_NANOS = 50_000;
    /**
     * Periods the ithread goes on watching after a linger ends before it sleeps for good: readers that
     * lose a linger (their thread was descheduled) mostly take the next within a few milliseconds.
     */
    private static final int WATCHES_AFTER_LINGER = 16;
    /** The longest a sender waits for the backlog to drain. */
    private static final long SENDER_WAIT_NANOS = 1_000_000;

    private final String name;
    private final int limit;
    /** The driver is marked NeedsGiant (looked up once, not per batch). */
    private final boolean driverNeedsGiant;
    /** Receives each packet, or null when {@link #listConsumer} receives whole batches. */
    private final Consumer<Mbuf> consumer;
    /** Receives each batch as a list, or null. */
    private final Consumer<Mbuf> listConsumer;
    /** Packets in the batch the drainer took last ({@link #takeAll(boolean)}). Confined to the drainer (the {@link #busy} holder). */
    private int taken;
    /** The linger period of this queue: {@link #LINGER_NANOS} unless a test set another. */
    private final long lingerNanos;
    private final boolean netEpoch;
    /** Packets pushed and not yet taken by a drainer, newest first. */
    private final AtomicReference<Mbuf> stack = new AtomicReference<>();
    /** Packets pushed and not yet taken: the queue length, for the limit. */
    private final AtomicInteger pending = new AtomicInteger();
    /**
     * Load-ahead lists of the chains senders' sections pushed (see {@link #loadAhead}), newest first.
     * Advisory only: a list may name packets another drainer took already, and a chain may have none.
     */
    private final AtomicReference<LoadAhead> loadAhead = new AtomicReference<>();
    /** What {@link #loadAhead} read, so the JIT keeps the loads. Confined to the drainer. */
    private int loadedSink;
    /** A drainer is taking or delivering a batch; only the thread that set it clears it. */
    private final AtomicBoolean busy = new AtomicBoolean();
    /** Readers busy-polling this queue now. */
    private final AtomicInteger pollers = new AtomicInteger();
    /** A poller registration is left behind by a reader ({@link #pollerLeave}); it counts in {@link #pollers}. */
    private final AtomicBoolean lingering = new AtomicBoolean();
    /**
     * Renewals of the linger: bumped by readers (a racy increment: any change counts), read by the ithread
     * once a period. A release store, so the reader's hot path costs no fence and its line stays local.
     */
    private final AtomicLong lingerRenewals = new AtomicLong();
    /**
     * The ithread sleeps in periods of the linger (it watches one, or did lately), so a new linger needs no
     * unpark. Written by the ithread only.
     */
    private volatile boolean watching;
    /** Batches drainers took: a waiting sender's sign of progress ({@link #awaitBacklog}). */
    private final AtomicLong batchesTaken = new AtomicLong();
    /** {@link #lingerRenewals} at the ithread's previous look. Confined to the ithread. */
    private long lingerRenewalsSeen = -1;
    /** Senders whose {@link DeferredInput} sections claimed this queue and have not yet served it. */
    private final AtomicInteger claimants = new AtomicInteger();
    /** The ithread was started (at the first wake-up), or close() made sure it never will be. */
    private final AtomicBoolean started = new AtomicBoolean();
    /** The ithread is parked (or about to park) waiting for packets. */
    private volatile boolean parked;
    private volatile boolean closed;
    private final Thread ithread;

    public final Counter enqueued = new Counter();
    public final Counter drops = new Counter();
    public final Counter delivered = new Counter();
    /** Times a sender waited at its section's exit for the backlog to drain (back-pressure). */
    public final Counter senderWaits = new Counter();
    /** Packets a drainer loaded ahead of its walk from the lists of published chains ({@link #loadAhead()}). */
    public final Counter loadedAhead = new Counter();
    /** Lingers begun ({@link #pollerLeave}): one per reader episode of back-to-back polls. */
    public final Counter lingerStarts = new Counter();
    /** Lingers ended: by the ithread's watch, a reader going to sleep, or a sender the queue kept waiting. */
    public final Counter lingerEnds = new Counter();

    /**
     * @param driverClass the driver, whose {@link org.smpnet.kern.NeedsGiant} decides whether delivery takes Giant
     * @param consumer    receives each packet (consumes it); exceptions are counted as drops and the thread goes on
     */
    public IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer) {
        this(name, limit, driverClass, consumer, false);
    }

    /**
     * @param netEpoch each batch is handed over inside one net-epoch section (entered after Giant), as a
     *     driver enters it once per interrupt: for consumers such as {@link Ifnet#inputInEpoch}
     */
    public IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer, boolean netEpoch) {
        this(name, limit, driverClass, consumer, netEpoch, LINGER_NANOS);
    }

    /** As above, with the {@linkplain #pollerLeave linger} period (0: none) set for this queue (for tests). */
    IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer, boolean netEpoch, long lingerNanos) {
        this(name, limit, driverClass, consumer, null, netEpoch, lingerNanos);
    }

    /**
     * A queue whose drainers hand each batch over whole, inside one net-epoch section: {@code listConsumer}
     * gets the batch as a list linked through {@code nextpkt}, oldest first (for {@link Ifnet#inputListInEpoch}),
     * and must consume every packet; if it throws, that is counted as one drop.
     */
    public static IfQueue forLists(String name, int limit, Class<?> driverClass, Consumer<Mbuf> listConsumer) {
        return new IfQueue(name, limit, driverClass, null, java.util.Objects.requireNonNull(listConsumer), true, LINGER_NANOS);
    }

    private IfQueue(String name, int limit, Class<?> driverClass, Consumer<Mbuf> consumer, Consumer<Mbuf> listConsumer,
            boolean netEpoch, long lingerNanos) {
        this.lingerNanos = lingerNanos;
        if (limit < 1) {
            throw new IllegalArgumentException("queue limit must be positive, not " + limit);
        }
        this.netEpoch = netEpoch;
        this.name = name;
        this.limit = limit;
        this.driverNeedsGiant = Giant.needs(driverClass);
        this.consumer = consumer;
        this.listConsumer = listConsumer;
        this.ithread = Thread.ofPlatform().daemon().name("ithread " + name).unstarted(this::run);
    }

    /** Queues {@code m}; consumes it. Returns false (and counts a drop) when full or closed. Lock-free. */
    public boolean enqueue(Mbuf m) {
        if (closed) {
            drops.inc();
            m.freem();
            return false;
        }
        DeferredInput section = DeferredInput.staging();
        if (section != null) {
            if (section.stage(this, m)) {
                return true; // published at the section's exit (publish)
            }
            drops.inc();
            m.freem();
            return false;
        }
        int n = pending.incrementAndGet();
        if (n > limit) {
            pending.decrementAndGet();
            drops.inc();
            m.freem();
            return false;
        }
        push(m, m);
        enqueued.inc();
        afterPush(n);
        return true;
    }

    /**
     * Reserves up to {@code want} places under the limit for a section's staged packets; returns how many
     * it got (0 when the queue is full). Reserved places count in {@link #pending} until published or
     * returned, so the limit holds exactly however many sections stage at once. Lock-free.
     */
    int reserve(int want) {
        int n = pending.addAndGet(want);
        int over = n - limit;
        if (over <= 0) {
            return want;
        }
        int back = Math.min(want, over);
        pending.addAndGet(-back);
        return want - back;
    }

    /**
     * Queues a chain a {@link DeferredInput} section staged: {@code k} packets linked through {@code nextpkt},
     * newest first, ending at {@code oldest}, whose places were {@linkplain #reserve reserved}, and returns
     * {@code unused} reserved places. One push for all of them; then what {@link #enqueue} does after its
     * push (claim the queue for the section, leave it to a poller or the active drainer, or wake the
     * ithread). After close, the chain is freed (counted as drops). Lock-free; the caller holds no lock.
     */
    void publish(Mbuf newest, Mbuf oldest, int k, int unused) {
        publish(newest, oldest, k, unused, null);
    }

    /**
     * {@link #publish(Mbuf, Mbuf, int, int)} with the chain's packets also in {@code packets[0 .. k)} (or
     * null), which the drainer uses to load them all at once ahead of its walk down the chain.
     */
    void publish(Mbuf newest, Mbuf oldest, int k, int unused, Mbuf[] packets) {
        int n = unused == 0 ? pending.get() : pending.addAndGet(-unused);
        if (k == 0) {
            return;
        }
        if (closed) {
            pending.addAndGet(-k);
            dropChain(newest);
            return;
        }
        push(newest, oldest);
        if (packets != null && LOAD_AHEAD) {
            LoadAhead h = new LoadAhead(packets, Math.min(k, packets.length));
            LoadAhead top;
            do {
                top = loadAhead.get();
                h.next = top;
            } while (!loadAhead.compareAndSet(top, h));
        }
        enqueued.add(k);
        afterPush(n);
    }

    /** The decisions after a push that left {@code n} packets pending (see the class comment). */
    private void afterPush(int n) {
        if (closed) {
            freeAll(); // close() may have swept before our push: nothing may stay behind
            return;
        }
        if (busy.get()) {
            if (n > SENDER_WAIT_BACKLOG) {
                DeferredInput.claim(this); // a sender in a section waits at its exit (see serveDeferred)
            }
            return; // the active drainer re-reads the stack after it steps down
        }
        if (pollers.get() > 0) {
            if (n > POLL_BACKLOG) {
                DeferredInput.claim(this); // a sender in a section keeps pace with the poller at its exit
            }
            return; // a busy poller takes it (or, leaving, re-reads the stack; a linger's ithread watches)
        }
        if (!DeferredInput.claim(this)) {
            wakeIthread();
        }
    }

    /** Pushes a chain linked through {@code nextpkt}, newest first, ending at {@code oldest} (one packet: both the same). */
    private void push(Mbuf newest, Mbuf oldest) {
        Mbuf top;
        do {
            top = stack.get();
            oldest.setNextpkt(top);
        } while (!stack.compareAndSet(top, newest));
    }

    /** Takes every pushed packet, oldest first, or null. Only a drainer (or close) calls it. */
    private Mbuf takeAll() {
        return takeAll(false);
    }

    /**
     * {@link #takeAll()}; the drainer's call ({@code drainer}) also stamps each packet with this queue
     * (see {@link Mbuf#rxQueue}) and leaves the batch's length in {@link #taken}.
     */
    private Mbuf takeAll(boolean drainer) {
        Mbuf top = stack.getAndSet(null);
        if (top == null) {
            return null;
        }
        if (drainer && LOAD_AHEAD) {
            loadAhead();
        }
        batchesTaken.lazySet(batchesTaken.get() + 1); // the drainer (close may race it: any change counts)
        Mbuf oldest = null;
        int k = 0;
        while (top != null) { // reverse: the stack is newest first
            Mbuf next = top.nextpkt();
            top.setNextpkt(oldest);
            if (drainer && top.rxQueue != this) {
                top.rxQueue = this; // recycled mbufs mostly come back through the same queue: skip the store
            }
            oldest = top;
            top = next;
            k++;
        }
        pending.addAndGet(-k);
        if (drainer) {
            taken = k;
        }
        return oldest;
    }

    /**
     * Whether senders' sections publish load-ahead lists (tunable {@code smpnet.ifq.load_ahead}, default
     * on). The packets of a chain were written by the sender's CPU; a drainer on another CPU that walks the
     * chain waits for one cache miss per packet in turn, since each packet's address is in the one before.
     * From a list it has every address at once, so the misses overlap.
     */
    static final boolean LOAD_AHEAD = !"0".equals(System.getProperty("smpnet.ifq.load_ahead", "1"));

    /** A chain's packets as a list, for {@link #loadAhead()}. */
    private static final class LoadAhead {
        final Mbuf[] packets;
        final int n;
        LoadAhead next;

        LoadAhead(Mbuf[] packets, int n) {
            this.packets = packets;
            this.n = n;
        }
    }

    /**
     * Reads the header fields and the first and last data bytes of every packet on the load-ahead lists,
     * in two passes of independent loads (the data's address is in the header), and drops the lists. The
     * drainer's walk and the protocols' input then find them in this CPU's cache. Only a drainer calls it.
     * A list may name packets another drainer took already (lists and chains are taken apart): reading them
     * is harmless, and their fields are only read, each once, with the data index checked.
     */
    private void loadAhead() {
        LoadAhead lists = loadAhead.get() == null ? null : loadAhead.getAndSet(null); // no swap (a fence) when none
        if (lists == null) {
            return;
        }
        int sum = 0;
        int packets = 0;
        for (LoadAhead h = lists; h != null; h = h.next) {
            Mbuf[] a = h.packets;
            for (int i = 0; i < h.n; i++) {
                Mbuf m = a[i];
                sum += m.len + m.pktLen + m.flags;
            }
            packets += h.n;
        }
        for (LoadAhead h = lists; h != null; h = h.next) {
            Mbuf[] a = h.packets;
            for (int i = 0; i < h.n; i++) {
                Mbuf m = a[i];
                byte[] b = m.buf;
                int off = m.off;
                int end = off + m.len - 1;
                // Racy: a packet another drainer took may be changing meanwhile, so only bytes inside its buffer.
                if (b != null && off >= 0 && end >= off && end < b.length) {
                    sum += b[off] + b[end];
                }
            }
        }
        loadedSink = sum;
        loadedAhead.add(packets);
    }

    /** Whether load-ahead lists wait for a drainer (for tests). */
    boolean loadAheadPending() {
        return loadAhead.get() != null;
    }

    private void freeAll() {
        dropChain(takeAll());
        loadAhead.set(null); // the lists only name packets: let the dropped ones go
    }

    /** Frees a chain linked through {@code nextpkt}, counting each packet as a drop. */
    private void dropChain(Mbuf m) {
        while (m != null) {
            Mbuf next = m.nextpkt();
            m.setNextpkt(null);
            drops.inc();
            m.freem();
            m = next;
        }
    }

    private void wakeIthread() {
        if (parked) {
            LockSupport.unpark(ithread);
        } else if (!started.get() && started.compareAndSet(false, true)) {
            ithread.start(); // it reads the stack before it first parks
        }
    }

    private void run() {
        try {
            serve();
        } finally {
            closed = true; // an Error (an INVARIANTS assertion) ended the thread: fail soft, never hang drain()
            freeAll();
        }
    }

    private void serve() {
        int watchesLeft = 0;
        while (true) {
            if (lingering.get() && !closed) {
                watchLinger();
                watchesLeft = WATCHES_AFTER_LINGER;
                continue;
            }
            if (busy.compareAndSet(false, true)) {
                boolean had = drainOnceAsDrainer() > 0;
                if (had || stack.get() != null) {
                    continue; // more came while we delivered (or while we stepped down)
                }
            }
            if (closed) {
                if (!busy.get()) {
                    freeAll();
                    return;
                }
                LockSupport.parkNanos(10_000); // another drainer is finishing its batch
                continue;
            }
            parked = true;
            if ((stack.get() == null || busy.get()) && !closed) {
                if (watchesLeft > 0) {
                    watchesLeft--;
                    if (!lingering.get()) {
                        LockSupport.parkNanos(this, lingerNanos); // still watching: a new linger needs no unpark
                    }
                } else {
                    watching = false; // then read lingering: a new lingerer sets it, then reads watching
                    if (!lingering.get()) {
                        LockSupport.park(this); // woken by a producer, a drainer handing over, a new linger, or close
                    }
                }
            }
            parked = false;
        }
    }

    /**
     * The ithread's watch over a linger, one period: sleeps for {@link #lingerNanos}, then ends the linger
     * if no reader renewed it meanwhile. It delivers nothing while the linger lasts: the reader's next poll
     * takes all that is queued, for every socket. After the linger ends, the serve loop reads the stack
     * (the handshake of a leaving poller).
     */
    private void watchLinger() {
        watching = true;
        parked = true;
        if (lingering.get() && !closed) {
            LockSupport.parkNanos(this, lingerNanos);
        }
        parked = false;
        long renewals = lingerRenewals.get();
        if (renewals != lingerRenewalsSeen) {
            lingerRenewalsSeen = renewals;
        } else {
            endLinger();
        }
    }

    /**
     * Drains in the calling thread what a {@link DeferredInput} section claimed: at most a few batches, then
     * whatever is left goes to the ithread. Returns at once if another drainer (the ithread, a poller or
     * another sender) is delivering: that drainer picks up what is queued. The caller holds no lock.
     */
    void serveDeferred() {
        claimants.decrementAndGet(); // before the stack is read: see wakeIthreadIfUnattended
        if (pollers.get() > 0) {
            if (pending.get() > POLL_BACKLOG) {
                awaitBacklog(true);
            }
            return; // a polling reader takes them: it re-reads the stack as it leaves
        }
        drainRounds();
        if (pending.get() > SENDER_WAIT_BACKLOG) {
            awaitBacklog(false);
        }
    }

    /**
     * Back-pressure on a sender that outruns the drainers (as a full transmit ring stalls one): with no lock
     * held, at the exit of the section whose sends overfilled the queue, wait until the backlog is down to
     * half the mark, draining batches whenever no other drainer is active, for at most
     * {@link #SENDER_WAIT_NANOS}. Without it the sender only queues packets to be dropped at the limit
     * after all their output work was done. Never waits for a packet that has no drainer: it drains itself
     * when none is active. With {@code toPoller} (a reader polls the queue, past {@link #POLL_BACKLOG}) it
     * waits for the backlog to fall under half that mark and drains only once no reader polls: a sender
     * that ran the input itself would fight the reader for its socket buffer and overfill it.
     */
    private void awaitBacklog(boolean toPoller) {
        senderWaits.inc();
        long progressed = System.nanoTime();
        long end = progressed + SENDER_WAIT_NANOS;
        int mark = toPoller ? POLL_BACKLOG / 2 : SENDER_WAIT_BACKLOG / 2;
        long takenAtStart = batchesTaken.get();
        long taken = takenAtStart;
        long renewals = lingerRenewals.get();
        for (int i = 1; pending.get() > mark && !closed; i++) {
            if ((!toPoller || pollers.get() == 0) && stack.get() != null && busy.compareAndSet(false, true)) {
                drainOnceAsDrainer(); // bounded by the deadline too: others' sends must not trap this thread
                if (System.nanoTime() - end >= 0) {
                    break;
                }
                continue;
            }
            if ((i & 15) != 0) {
                Thread.onSpinWait();
                continue;
            }
            long now = System.nanoTime();
            if (toPoller) { // before the deadline: a yield may have taken it all
                long t = batchesTaken.get();
                long r = lingerRenewals.get();
                // Progress: a batch taken, a drainer at work (a long batch), or the reader at its socket.
                if (t != taken || busy.get() || r != renewals) {
                    taken = t;
                    renewals = r;
                    progressed = now;
                }
                boolean late = now - end >= 0;
                if (now - progressed >= READER_STALL_NANOS || late && t == takenAtStart && !busy.get()) {
                    // The reader has no CPU now (more busy threads than CPUs), or it reads its socket but
                    // does not poll (fed from elsewhere): the sender's own CPU does the input instead.
                    toPoller = false;
                    endLinger();
                    continue;
                }
            }
            if (now - end >= 0) {
                break;
            }
            Thread.yield(); // the drainer may be waiting for this CPU
        }
        wakeIthreadIfUnattended();
    }

    /**
     * Batches as the drainer, {@link #ROUNDS} of them or as many as {@link #DRAIN_BUDGET} packets take,
     * whichever is more (a sender of single datagrams leaves batches of one or two); what is left then
     * is the ithread's.
     */
    private void drainRounds() {
        try {
            int packets = 0;
            for (int round = 0; round < ROUNDS || packets < DRAIN_BUDGET; round++) {
                if (stack.get() == null || !busy.compareAndSet(false, true)) {
                    return;
                }
                packets += drainOnceAsDrainer();
            }
            wakeIthreadIfUnattended();
        } catch (Error e) {
            wakeIthreadIfPending(); // an INVARIANTS assertion in the input: the ithread takes what is left
            throw e;
        }
    }

    /**
     * Called by the thread that won {@link #busy}: takes and delivers one batch, then steps down (also when
     * the input throws an Error). Returns the packets in the batch (0: there was none).
     */
    private int drainOnceAsDrainer() {
        try {
            Mbuf batch = takeAll(true);
            if (batch == null) {
                return 0;
            }
            return deliver(batch, taken);
        } finally {
            busy.set(false);
        }
    }

    /** A {@link DeferredInput} section claimed this queue: it will serve it or abandon the claim. */
    void claimed() {
        claimants.incrementAndGet();
    }

    /** A claim that will not be served (its section's input threw, or ran out of rounds): the ithread takes over. */
    void abandonClaim() {
        claimants.decrementAndGet();
        wakeIthreadIfPending();
    }

    /**
     * Called by a drainer that has stepped down and leaves packets queued: wakes the ithread for them unless
     * a reader polls the queue or a sender's section has claimed it, either of which takes them: pollers
     * re-read the stack as they leave, claimants as they serve, each after announcing its leaving (SC
     * atomics both sides), so a packet seen here while one was counted is seen by it.
     */
    private void wakeIthreadIfUnattended() {
        if (pollers.get() == 0 && claimants.get() == 0) {
            wakeIthreadIfPending();
        }
    }

    /** Wakes the ithread if packets wait (a claim that will not be served). */
    void wakeIthreadIfPending() {
        if (stack.get() != null) {
            wakeIthread();
        }
    }

    /**
     * Starts a busy-poll episode of the calling reader (see the class comment); pair with
     * {@link #pollerExit()}. Returns false, and the caller must not poll, when the queue is closed or
     * the stack runs under Giant ({@code net.mpsafenet=0}: the ithreads do all input).
     */
    public boolean pollerEnter() {
        if (!Giant.mpsafenet()) {
            return false;
        }
        Witness.assertUnowned(); // the polls run protocol input in this thread
        if (closed) {
            return false;
        }
        pollers.incrementAndGet();
        return true;
    }

    /**
     * Ends a busy-poll episode. The last poller to leave delivers what producers left for it (a few
     * batches at most, in the calling thread) and wakes the ithread for anything beyond that, so no
     * packet waits for a poller that is gone. The caller holds no lock; may run protocol input.
     */
    public void pollerExit() {
        if (pollers.decrementAndGet() == 0) {
            drainRounds();
        }
    }

    /**
     * Ends a busy-poll episode of a reader that will {@code soon} poll again (its poll ended with a wakeup):
     * its registration stays behind as the queue's linger (see the class comment) unless there is one
     * already, which this renews. Otherwise, and with {@code soon} false, as {@link #pollerExit()}, also
     * ending a linger: a reader about to sleep must not leave packets waiting for a poll. The caller holds no
     * lock; may run protocol input.
     */
    public void pollerLeave(boolean soon) {
        if (lingerNanos > 0) {
            if (soon) {
                renewLinger();
                if (!lingering.get() && lingering.compareAndSet(false, true)) {
                    lingerStarts.inc();
                    if (!watching) {
                        wakeIthreadToWatch(); // this registration is the linger's now
                    }
                    return;
                }
            } else {
                endLinger(); // the linger's count; ours goes below
            }
        }
        pollerExit();
    }

    /**
     * Tells the queue that a reader fed from it is at work (it took data from its socket buffer), so a
     * linger lasts on: that reader polls again once its buffer is empty. Lock-free and fence-free.
     */
    public void renewLinger() {
        lingerRenewals.lazySet(lingerRenewals.get() + 1);
    }

    /** Ends the linger if there is one; the caller then reads the stack (a leaving poller's handshake). */
    private void endLinger() {
        if (lingering.get() && lingering.compareAndSet(true, false)) {
            pollers.decrementAndGet();
            lingerEnds.inc();
        }
    }

    /** Makes the ithread take up a new linger's watch: it sleeps without a timeout, or has not started. */
    private void wakeIthreadToWatch() {
        if (!started.get() && started.compareAndSet(false, true)) {
            ithread.start();
        } else {
            LockSupport.unpark(ithread); // a timed or untimed park, or a permit for the next
        }
    }

    /**
     * One busy poll, between {@link #pollerEnter()} and {@link #pollerExit()}: if packets wait and nobody
     * is delivering, takes them and runs their input in the calling thread. Returns whether it delivered
     * any. The caller holds no lock; may run protocol input (and so wake other threads); does not sleep.
     */
    public boolean busyPoll() {
        if (stack.get() == null || !busy.compareAndSet(false, true)) {
            return false;
        }
        boolean had;
        try {
            had = drainOnceAsDrainer() > 0;
        } catch (Error e) {
            wakeIthreadIfPending();
            throw e;
        }
        if (pollers.get() == 0) {
            wakeIthreadIfPending(); // only for a call outside pollerEnter/pollerExit: pollers re-read at exit
        }
        return had;
    }

    /**
     * Hands a taken batch of {@code k} packets (oldest first) to the consumer in order, or whole to the list
     * consumer, and returns {@code k}; after close, the rest is freed (counted). If the consumer throws an
     * Error, the rest of the batch is freed (counted) before it propagates.
     */
    private int deliver(Mbuf batch, int k) {
        boolean giant = Giant.pickup(driverNeedsGiant);
        int et = netEpoch ? Epoch.NET.enter() : 0;
        InputBatch ib = InputBatch.open(); // protocols' deferred appends run at its close, under this epoch and Giant
        Mbuf m = batch;
        int ok = 0;
        try {
            if (listConsumer != null) {
                m = null;
                ok = handList(batch, k);
            } else {
                while (m != null) {
                    Mbuf cur = m;
                    m = cur.nextpkt();
                    cur.setNextpkt(null);
                    if (closed) { // closed while this batch was out: drop the rest, as close() drops the queue
                        drops.inc();
                        cur.freem();
                        continue;
                    }
                    try {
                        consumer.accept(cur);
                        ok++;
                    } catch (RuntimeException e) {
                        drops.inc();
                    }
                }
            }
        } finally {
            try {
                if (ib != null) {
                    ib.close();
                }
            } catch (RuntimeException e) {
                drops.inc(); // a protocol's deferred append failed (its packets were freed): as a consumer's failure
            } finally {
                delivered.add(ok); // once per batch, not per packet
                dropChain(m); // the rest of the batch, only after an Error
            }
            if (netEpoch) {
                Epoch.NET.exit(et);
            }
            Giant.drop(giant);
        }
        return k;
    }

    /**
     * Gives a batch of {@code k} packets to the list consumer, which consumes it all, and returns how many
     * were handed over: none after close (they are freed and counted as drops). A failure of the consumer's
     * own counts as one drop.
     */
    private int handList(Mbuf batch, int k) {
        if (closed) { // closed while this batch was out, as close() drops the queue
            drops.add(k);
            Mbuf.freeList(batch);
            return 0;
        }
        try {
            listConsumer.accept(batch);
        } catch (RuntimeException e) {
            drops.inc();
        }
        return k;
    }

    /**
     * Waits until the queue is empty and no drainer is delivering. May sleep; hold no lock. It wakes nobody:
     * every packet already has a drainer coming (the handshakes in the class comment), and a wait here
     * that never ends is that guarantee broken.
     */
    public void drain() {
        Witness.checkSleep("drain " + name, null);
        int giant = Giant.save(); // the drainer may need Giant to finish its batch (a sleep releases it)
        try {
            while (!idle()) {
                LockSupport.parkNanos(20_000);
            }
        } finally {
            Giant.restore(giant);
        }
    }

    /** Whether nothing is queued and no drainer is delivering. Lock-free. */
    boolean idle() {
        return stack.get() == null && !busy.get();
    }

    /**
     * Stops accepting packets, frees those queued (counted as drops) and ends the ithread. May sleep; a
     * caller holding Giant (a driver's detach runs under it in {@code net.mpsafenet=0} mode) releases it
     * while it waits for the ithread, which may need Giant to finish the batch it is delivering.
     */
    public void close() {
        closed = true;
        freeAll();
        if (started.compareAndSet(false, true)) {
            return; // never woken, and now it never will be
        }
        while (ithread.getState() == Thread.State.NEW) {
            Thread.onSpinWait(); // a waker won the start and is about to call it
        }
        LockSupport.unpark(ithread);
        if (Thread.currentThread() != ithread) {
            int giant = Giant.save();
            try {
                ithread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                Giant.restore(giant);
            }
        }
    }

    /** Whether the ithread sleeps waiting for packets, or was never started (for tests). */
    boolean ithreadSleeping() {
        return !started.get() || (parked && ithread.getState() == Thread.State.WAITING);
    }

    public int length() {
        return pending.get();
    }

    @Override
    public String toString() {
        return "IfQueue[" + name + " limit " + limit + " queued " + pending.get() + (busy.get() ? " busy" : "")
                + (pollers.get() > 0 ? " pollers " + pollers.get() : "") + (lingering.get() ? " lingering" : "")
                + (parked || !started.get() ? " ithread sleeping" : "") + "]";
    }
}
