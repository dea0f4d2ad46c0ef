package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * An epoch: readers run in cheap sections without locks, and a writer waits for every section that
 * might still see an object it unlinked before freeing it (FreeBSD {@code epoch(9)};
 * {@link #NET} is {@code net_epoch_preempt}, entered with {@code NET_EPOCH_ENTER}).
 *
 * <pre>{@code
 * int et = Epoch.NET.enter();            // NET_EPOCH_ENTER(et)
 * try {
 *     Ifnet ifp = ifnetHead;             // volatile (acquire) load of the shared pointer
 *     ...                                // use ifp; must not sleep
 * } finally {
 *     Epoch.NET.exit(et);                // NET_EPOCH_EXIT(et)
 * }
 * // writer, under its own lock: unlink with a volatile store, then
 * Epoch.NET.synchronize();               // or Epoch.NET.call(ifp::free)
 * }</pre>
 *
 * <p>Read side: two sets ("parities") of counters, each striped over cache-line padded slots chosen
 * by thread id, so any thread, platform or virtual, enters without registering. {@link #enter()}
 * reads the current parity and adds to its slot with one atomic read-modify-write; the token it
 * returns names the slot, and {@link #exit(int)} subtracts from that same slot, so every slot's
 * active count is never negative and a section is counted in exactly one slot. The same add also
 * counts the section in the slot's high bits, which the statistics fold into {@link #sections()},
 * so entering costs one atomic operation in all.
 *
 * <p>Write side: {@link #synchronize()} flips the parity, so new sections count in the other set,
 * and waits until every slot of the old parity is back to zero; then it does it once more. See
 * {@link #gracePeriod()} for why twice. Concurrent callers share grace periods.
 *
 * <p>Publication: everything a thread did before calling {@code synchronize()} (in particular the
 * volatile store that unlinked an object) happens-before every read in a section that starts after
 * the store, and every action of a section that could still see the old pointer happens-before
 * {@code synchronize()} returns. So after it returns the writer may free or reuse the object.
 * Readers must read the shared pointers with volatile (or acquire) loads; a plain load may see a
 * stale pointer the grace period did not wait for.
 *
 * <p>Sections nest and may run on any thread, but must not sleep or wait for this epoch's writers
 * (a {@code synchronize()} or {@code drainCallbacks()} inside a section would wait for itself:
 * with {@code smpnet.invariants=1} this throws {@link IllegalStateException}, otherwise it hangs).
 * Every section must end: one that never exits stalls every writer and every callback.
 *
 * <p>Locking key: fields marked {@code @GuardedBy("lock")} are guarded by {@link #lock}, a mutex
 * never held across a sleep or a grace period; {@link #parity} is written only by the single
 * thread running a grace period ({@link #gpRunning}) and read by anyone; {@link #slots} are atomics.
 */
public final class Epoch {
    /** INVARIANTS: per-thread section tracking and the assertions built on it. Read once. */
    static final boolean INVARIANTS = Tunables.bool("smpnet.invariants", false);

    /** Longs per slot: 128 bytes, so no two slots share a cache line or an adjacent-line prefetch. */
    private static final int PAD = 16;
    /** Low bits of a slot: sections active now. High bits: sections entered since the last fold. */
    private static final int ACTIVE_BITS = 28;
    private static final long ACTIVE_MASK = (1L << ACTIVE_BITS) - 1;
    /** What enter adds: one active section and one entered section, in a single atomic add. */
    private static final long ENTER = (1L << ACTIVE_BITS) + 1;
    /** Token layout: bit 30 set, bits 17..29 the epoch's id, bit 16 the parity, bits 0..15 the stripe. */
    private static final int TOKEN_TAG_MASK = ~0x1FFFF;
    private static final int MAX_STRIPES = 256;
    /**
     * At least this many slots, so the few busy threads of a small program (started together, so with
     * consecutive ids) each count in a slot of their own.
     */
    private static final int MIN_STRIPES = 64;
    private static final int SPINS = 200;
    private static final int YIELDS = 20;
    private static final long MIN_PARK_NANOS = 10_000;
    private static final long MAX_PARK_NANOS = 1_000_000;
    private static final AtomicInteger IDS = new AtomicInteger();

    /**
     * The net epoch, {@code net_epoch_preempt}; its statistics are under {@code kern.epoch.net.}.
     * Declared after the constants its constructor uses.
     */
    public static final Epoch NET = new Epoch("net", Sysctl.kernel());

    private final String name;
    private final int stripeMask;
    private final int stripeShift;
    private final int tokenTag;
    /** [parity][stripe] padded counters; see the class comment. */
    private final AtomicLongArray slots;
    /** The parity new sections count in. */
    private volatile int parity;
    /** The sysctl tree the statistics are in, or null. */
    private final Sysctl tree;
    /** Flip-and-drain phases per grace period: 2 (see gracePeriod()); tests build 1 to show it fails. */
    private final int phases;
    /** Open sections of the current thread, innermost last; only with INVARIANTS. */
    private final ThreadLocal<EpochSections> mySections;

    private final Mtx lock;
    /** Signalled when a grace period ends. */
    private final Cv gpChanged;
    /** Signalled when callbacks are queued or the epoch is freed. */
    private final Cv cbWork;
    /** Signalled when a batch of callbacks has run. */
    private final Cv cbDone;
    @GuardedBy("lock") private boolean gpRunning;
    /** Grace periods started and completed; they run one at a time, so done is started or one less. */
    @GuardedBy("lock") private long gpStarted;
    @GuardedBy("lock") private long gpDone;
    @GuardedBy("lock") private ArrayList<Runnable> pending = new ArrayList<>();
    /** Callbacks ever queued, and ever finished (run or failed); they finish in queue order. */
    @GuardedBy("lock") private long cbQueued;
    @GuardedBy("lock") private long cbFinished;
    @GuardedBy("lock") private Thread daemon;
    @GuardedBy("lock") private boolean freed;

    private final Counter sections = new Counter();
    private final Counter syncCalls = new Counter();
    private final Counter gracePeriods = new Counter();
    private final Counter callbacksRun = new Counter();
    private final Counter callbacksFailed = new Counter();
    private volatile Throwable lastCallbackFailure;

    /** An epoch whose statistics are not in any sysctl tree (tests, private structures). */
    public Epoch(String name) {
        this(name, null);
    }

    /**
     * An epoch whose statistics appear in {@code tree} under {@code kern.epoch.<name>.}.
     *
     * @param tree the tree to register in, or null for none
     * @throws IllegalArgumentException if the name is not a single sysctl name component
     * @throws SysctlException EEXIST if the tree already has an epoch of that name
     */
    public Epoch(String name, Sysctl tree) {
        this(name, tree, 2);
    }

    /** With {@code phases} other than 2 only for tests that show why a grace period needs two. */
    Epoch(String name, Sysctl tree, int phases) {
        this(name, tree, phases, Math.min(MAX_STRIPES, Math.max(MIN_STRIPES, Integer.highestOneBit(
                Runtime.getRuntime().availableProcessors() * 8 - 1) << 1)));
    }

    /**
     * With {@code stripes} slots per parity (a power of two): fewer only for the model checker, which
     * explores every slot a grace period reads.
     */
    Epoch(String name, Sysctl tree, int phases, int stripes) {
        if (Integer.bitCount(stripes) != 1 || stripes > MAX_STRIPES) {
            throw new IllegalArgumentException("stripes " + stripes + ": a power of two up to " + MAX_STRIPES);
        }
        if (phases < 1 || phases > 2) {
            throw new IllegalArgumentException("phases " + phases + ": 1 (broken, tests only) or 2");
        }
        this.phases = phases;
        if (name == null || name.isEmpty()
                || !name.chars().allMatch(c -> c == '_' || c == '-' || Character.isLetterOrDigit(c))) {
            throw new IllegalArgumentException("bad epoch name '" + name + "': letters, digits, '_' and '-' only");
        }
        this.name = name;
        this.stripeMask = stripes - 1;
        this.stripeShift = Integer.numberOfTrailingZeros(stripes);
        this.tokenTag = (1 << 30) | ((IDS.getAndIncrement() & 0x1FFF) << 17);
        this.slots = new AtomicLongArray((2 * stripes + 2) * PAD);
        this.mySections = INVARIANTS ? ThreadLocal.withInitial(EpochSections::new) : null;
        this.lock = new Mtx("epoch " + name, "epoch");
        this.gpChanged = lock.newCondition();
        this.cbWork = lock.newCondition();
        this.cbDone = lock.newCondition();
        this.tree = tree;
        if (tree != null) {
            register(tree, "kern.epoch." + name + ".");
        }
    }

    private void register(Sysctl t, String p) {
        t.addProc(p + "sections", "Read sections entered", this::sections);
        t.addCounter(p + "synchronize", "Calls to synchronize (epoch_wait)", syncCalls);
        t.addCounter(p + "grace_periods", "Grace periods run (concurrent waits share them)", gracePeriods);
        t.addCounter(p + "callbacks_run", "Deferred callbacks run (epoch_call)", callbacksRun);
        t.addCounter(p + "callbacks_failed", "Deferred callbacks that threw", callbacksFailed);
        t.addProc(p + "callbacks_pending", "Deferred callbacks queued and not yet finished", this::callbacksPending);
    }

    public String name() {
        return name;
    }

    /**
     * Enters a read section ({@code NET_EPOCH_ENTER}); sections nest. Never blocks, takes no lock.
     * Pointers to epoch-protected objects read (with volatile loads) after this call stay valid
     * until the matching {@link #exit(int)}.
     *
     * @return the token to pass to {@link #exit(int)}
     */
    public int enter() {
        int s = stripe(Thread.currentThread().threadId());
        int p = parity;
        // A full-fence add: ordered before this section's pointer loads; see gracePeriod().
        slots.getAndAdd(index(p, s), ENTER);
        int token = tokenTag | (p << 16) | s;
        if (INVARIANTS) {
            mySections.get().push(token);
        }
        return token;
    }

    /**
     * Leaves the section that {@code token} came from ({@code NET_EPOCH_EXIT}). Everything the
     * section did happens-before the end of any grace period that waited for it.
     *
     * @throws IllegalArgumentException if the token did not come from this epoch's {@link #enter()}
     * @throws IllegalStateException if the token's section is not open (always detected when its
     *     slot has no open section; with INVARIANTS also when it is not this thread's innermost)
     */
    public void exit(int token) {
        int s = token & 0xFFFF;
        if ((token & TOKEN_TAG_MASK) != tokenTag || s > stripeMask) {
            throw new IllegalArgumentException("epoch " + name + ": exit with bogus token 0x"
                    + Integer.toHexString(token) + " (not returned by enter() of this epoch)");
        }
        if (INVARIANTS) {
            mySections.get().pop(this, token);
        }
        int i = index((token >>> 16) & 1, s);
        long old = slots.getAndAdd(i, -1);
        if ((old & ACTIVE_MASK) == 0) {
            slots.getAndAdd(i, 1); // undo, so the slot stays consistent
            throw new IllegalStateException("epoch " + name + ": exit of token 0x" + Integer.toHexString(token)
                    + " without a matching open section");
        }
    }

    /**
     * With INVARIANTS, fails unless the current thread is inside a section of this epoch
     * ({@code NET_EPOCH_ASSERT}); without, does nothing and costs nothing.
     *
     * @throws LockAssertionError if not in a section
     */
    public void assertInEpoch() {
        if (INVARIANTS && mySections.get().depth == 0) {
            throw new LockAssertionError("not in epoch " + name + " in thread " + Thread.currentThread().getName());
        }
    }

    /** With INVARIANTS, how many sections of this epoch the current thread has open; else -1. */
    public int depth() {
        return INVARIANTS ? mySections.get().depth : -1;
    }

    /**
     * Waits for a grace period ({@code epoch_wait}): returns once every section that was open when
     * it was called has exited. May sleep; the caller must hold no non-sleepable lock and must not be
     * in a section of this epoch. Everything before the call happens-before the rest of every section
     * that starts after it; every action of a section open at the call happens-before the return.
     * The wait is uninterruptible; an interrupt is kept for the caller.
     *
     * @throws IllegalStateException with INVARIANTS, if the caller is in a section of this epoch
     */
    public void synchronize() {
        Witness.checkSleep("epoch " + name + " synchronize", null);
        checkNotInSection("synchronize");
        syncCalls.inc();
        // A section may be waiting for Giant (a driver that needs it transmits in the net epoch), so the
        // wait releases Giant, as FreeBSD's epoch_wait_preempt does (DROP_GIANT).
        int giant = Giant.save();
        try {
            long ticket = ticket();
            while (becomeDriver(ticket)) {
                boolean ok = false;
                try {
                    gracePeriod();
                    ok = true;
                } finally {
                    gracePeriodEnded(ok);
                }
            }
        } finally {
            Giant.restore(giant);
        }
    }

    /** The number of the first grace period that starts after now: the one this caller needs. */
    private long ticket() {
        lock.lock();
        try {
            return gpStarted + 1;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns false once grace period {@code ticket} is done; true when the caller must run the
     * next one itself. Waits while another thread runs one.
     */
    private boolean becomeDriver(long ticket) {
        lock.lock();
        try {
            while (gpDone < ticket) {
                if (!gpRunning) {
                    gpRunning = true;
                    gpStarted++;
                    return true;
                }
                gpChanged.awaitUninterruptibly();
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    private void gracePeriodEnded(boolean ok) {
        lock.lock();
        try {
            gpRunning = false;
            if (ok) {
                gpDone = gpStarted;
                foldSections();
            }
            gpChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * One grace period: twice, flip the parity and wait until the old parity has no open section.
     *
     * <p>Why this is enough. All the operations involved are volatile or atomic, so they fall in one
     * total order consistent with each thread's program order. Take a section R that loaded a pointer
     * before the writer's unlink, hence before this grace period began. R's add to its slot came
     * before that load, so before the grace period, and R counts in parity q, the parity it read.
     * The two phases drain parity p (the one current at the start) and then 1-p, each with a scan
     * that starts after the grace period began; whichever q is, one scan reads R's slot after R's add
     * and so waits until R's subtract. (A scan reads a slot zero only when each section counted there
     * has exited, because a slot counts only its own sections and never goes negative.)
     *
     * <p>Why one phase is not. R can read parity p, stall, and add to parity p after an earlier grace
     * period already drained p; it then sees that period's unlink (its add follows the scan, which
     * follows the unlink), so the earlier writer is safe, but it may load a pointer that the next
     * writer unlinks. That writer's single phase would flip 1-p to p and drain only 1-p, missing R.
     *
     * <p>Why flip at all, rather than drain both counts in place: new sections go to the other
     * parity, so each drain waits only for sections that began before its flip and cannot be starved.
     */
    private void gracePeriod() {
        for (int phase = 0; phase < phases; phase++) {
            int old = parity;
            parity = old ^ 1;
            waitForReaders(old);
        }
        gracePeriods.inc();
    }

    /** Spins briefly, then yields, then parks with a growing back-off until {@code p} drains. */
    private void waitForReaders(int p) {
        boolean interrupted = false;
        long park = MIN_PARK_NANOS;
        for (int round = 0; busy(p); round++) {
            if (round < SPINS) {
                Thread.onSpinWait();
            } else if (round < SPINS + YIELDS) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(this, park);
                park = Math.min(park * 2, MAX_PARK_NANOS);
                interrupted |= Thread.interrupted(); // else every later park returns at once
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether any slot of parity {@code p} has an open section. */
    private boolean busy(int p) {
        for (int s = 0; s <= stripeMask; s++) {
            if ((slots.get(index(p, s)) & ACTIVE_MASK) != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Moves the entered-section counts out of the slots' high bits into {@link #sections}, so they
     * cannot wrap (2^36 sections per slot between folds). Under the lock: two folds at once would
     * each subtract the same count.
     */
    @GuardedBy("lock")
    private void foldSections() {
        lock.assertOwned();
        for (int i = 0; i < 2 * (stripeMask + 1); i++) {
            int at = (i + 1) * PAD;
            long entered = slots.get(at) >>> ACTIVE_BITS;
            if (entered != 0) {
                slots.getAndAdd(at, -(entered << ACTIVE_BITS));
                sections.add(entered);
            }
        }
    }

    /**
     * Runs {@code callback} on this epoch's thread after a full grace period: after every section
     * open at this call has exited ({@code epoch_call}). Never sleeps; may be called in a section and
     * with locks held. Callbacks run in call order, batched so one grace period serves many. This
     * call happens-before the callback runs. A callback that throws is counted in
     * {@code callbacks_failed}, reported on standard error and kept in {@link #lastCallbackFailure()};
     * the thread goes on with the next one.
     *
     * @throws IllegalStateException if the epoch has been {@linkplain #free() freed}
     */
    public void call(Runnable callback) {
        Objects.requireNonNull(callback, "callback");
        lock.lock();
        try {
            if (freed) {
                throw new IllegalStateException("epoch " + name + " is freed; call() refused");
            }
            pending.add(callback);
            cbQueued++;
            if (daemon == null) {
                daemon = Thread.ofPlatform().daemon().name("epoch-" + name).start(this::callbackLoop);
            }
            cbWork.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until every callback queued by {@link #call(Runnable)} before this call has finished
     * ({@code epoch_drain_callbacks}). May sleep: same rules as {@link #synchronize()}. Everything
     * those callbacks did happens-before the return.
     *
     * @throws IllegalStateException if called from a callback of this epoch, or with INVARIANTS
     *     from inside a section of it: either would wait for itself
     */
    public void drainCallbacks() {
        Witness.checkSleep("epoch " + name + " drainCallbacks", null);
        checkNotInSection("drainCallbacks");
        lock.lock();
        try {
            if (Thread.currentThread() == daemon) {
                throw new IllegalStateException("epoch " + name + ": drainCallbacks() from one of its callbacks would wait for itself");
            }
            long target = cbQueued;
            while (cbFinished < target) {
                cbDone.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The body of the epoch's thread: take every queued callback, wait a grace period, run them. */
    private void callbackLoop() {
        for (List<Runnable> batch = nextBatch(); batch != null; batch = nextBatch()) {
            synchronize();
            for (Runnable cb : batch) {
                runCallback(cb);
            }
            batchDone(batch.size());
        }
    }

    /** Waits for work; returns every queued callback, or null once freed with nothing queued. */
    private List<Runnable> nextBatch() {
        lock.lock();
        try {
            while (pending.isEmpty() && !freed) {
                cbWork.awaitUninterruptibly();
            }
            if (pending.isEmpty()) {
                return null;
            }
            List<Runnable> batch = pending;
            pending = new ArrayList<>();
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private void runCallback(Runnable cb) {
        try {
            cb.run();
            callbacksRun.inc();
        } catch (Throwable t) {
            callbacksFailed.inc();
            lastCallbackFailure = t;
            System.err.println("epoch " + name + ": callback " + cb + " threw " + t);
            t.printStackTrace();
        }
    }

    private void batchDone(int n) {
        lock.lock();
        try {
            cbFinished += n;
            cbDone.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Drains the callbacks, stops the epoch's thread and removes its sysctl nodes
     * ({@code epoch_free}). Later {@link #call(Runnable)}s are refused. May sleep. The caller must
     * make sure no section of this epoch is open or will be entered.
     *
     * @throws IllegalStateException for {@link #NET}, which lives as long as the JVM
     */
    public void free() {
        if (this == NET) {
            throw new IllegalStateException("the net epoch is never freed");
        }
        drainCallbacks();
        Thread t;
        lock.lock();
        try {
            freed = true;
            cbWork.signalAll();
            t = daemon;
        } finally {
            lock.unlock();
        }
        if (t != null) {
            Giant.joinUninterruptibly(List.of(t)); // a last callback may need Giant
        }
        if (tree != null) {
            tree.remove("kern.epoch." + name);
        }
    }

    private void checkNotInSection(String what) {
        if (INVARIANTS && mySections.get().depth != 0) {
            throw new IllegalStateException("epoch " + name + ": " + what + "() inside a section of the same epoch"
                    + " would wait for itself (" + mySections.get().depth + " open in thread "
                    + Thread.currentThread().getName() + ")");
        }
    }

    /** Read sections entered so far (exact for sections that happen-before the call). */
    public long sections() {
        lock.lock();
        try {
            foldSections();
        } finally {
            lock.unlock();
        }
        return sections.get();
    }

    /** Calls of {@link #synchronize()}, including the epoch thread's own. */
    public long synchronizeCalls() {
        return syncCalls.get();
    }

    /** Grace periods run; fewer than synchronize calls when concurrent callers share them. */
    public long gracePeriods() {
        return gracePeriods.get();
    }

    public long callbacksRun() {
        return callbacksRun.get();
    }

    public long callbacksFailed() {
        return callbacksFailed.get();
    }

    /** The exception of the latest callback that threw, or null. */
    public Throwable lastCallbackFailure() {
        return lastCallbackFailure;
    }

    /** Callbacks queued and not yet finished. */
    public long callbacksPending() {
        lock.lock();
        try {
            return cbQueued - cbFinished;
        } finally {
            lock.unlock();
        }
    }

    private int index(int p, int s) {
        return (1 + (p << stripeShift) + s) * PAD;
    }

    /**
     * Thread ids are handed out in sequence, so the id's low bits give threads created near each other
     * (a program's senders, readers and interrupt threads) distinct slots; a hash would scatter them
     * into the same slot by chance, and two busy threads sharing a slot bounce its cache line between
     * CPUs on every enter and exit.
     */
    private int stripe(long threadId) {
        return (int) threadId & stripeMask;
    }

    @Override
    public String toString() {
        return "Epoch[" + name + "]";
    }
}
