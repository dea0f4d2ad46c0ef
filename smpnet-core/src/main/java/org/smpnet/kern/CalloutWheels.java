package org.smpnet.kern;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A set of callout wheels, one per "CPU" (FreeBSD's {@code cc_cpu[]} of {@code kern_timeout.c}),
 * driven by a {@link Clock} at {@link #hz()} ticks a second. Each {@link Callout} is bound to one
 * wheel, chosen by hashing a sequence number when it is created.
 *
 * <p>With a real clock every wheel has a daemon thread ("name/cpu") that sleeps until its next due
 * tick and then fires what is due, in deadline order. With a {@link ManualClock} there are no
 * threads: {@link ManualClock#advance} fires every due callout of every wheel in the calling
 * thread, in deadline order across the wheels (same tick: in the order they were scheduled).
 *
 * <p>Time: tick {@code n} begins {@code n / hz} seconds after the set was created. A callout
 * scheduled with a {@link Duration} falls due at the first tick that begins at or after the
 * requested instant (never early); one scheduled in ticks falls due that many ticks after the
 * current one (as {@code callout_reset(9)}: at most one tick early in real time). Either way a
 * callout never falls due in the tick it was scheduled in.
 *
 * <p>Locking: each wheel has its own mutex (class "callout"), see {@link CalloutWheel}; the set
 * itself holds only final fields and atomics. Statistics are {@link Counter}s; the default set
 * {@link #system()} exports them as {@code kern.callout.*} and its tick rate as {@code kern.hz}.
 */
public final class CalloutWheels implements AutoCloseable {
    /** Default tick rate (FreeBSD's HZ). */
    public static final int DEFAULT_HZ = 1000;
    private static final long NANOS = 1_000_000_000L;

    private final String name;
    private final Clock clock;
    private final int hz;
    private final long origin;
    private final CalloutWheel[] wheels;
    private final AtomicLong seq = new AtomicLong();
    private final AtomicInteger nextCallout = new AtomicInteger();
    private volatile boolean closed;
    /** How a manual clock drives this set (kept off the public API). */
    private final ManualClock.Driven driver = new ManualClock.Driven() {
        @Override
        public long nextDueNanos() {
            return CalloutWheels.this.nextDueNanos();
        }

        @Override
        public void runDue(long now, List<Throwable> errs) {
            CalloutWheels.this.runDue(now, errs);
        }
    };

    final Counter fired = new Counter();
    final Counter stopped = new Counter();
    final Counter rescheduled = new Counter();
    final Counter skipped = new Counter();
    final Counter drainWaits = new Counter();
    final Counter errors = new Counter();

    /**
     * Creates a set and, with a real clock, starts its threads.
     *
     * @param name names the wheel locks and threads
     * @param clock the time source; a {@link ManualClock} makes the set run in virtual time
     * @param hz ticks per second, 1 to 1,000,000
     * @param nwheels number of wheels ("CPUs"), at least 1
     */
    public CalloutWheels(String name, Clock clock, int hz, int nwheels) {
        if (hz < 1 || hz > 1_000_000) {
            throw new IllegalArgumentException("hz must be between 1 and 1000000, not " + hz);
        }
        if (nwheels < 1) {
            throw new IllegalArgumentException("a callout wheel set needs at least one wheel, not " + nwheels);
        }
        this.name = name;
        this.clock = clock;
        this.hz = hz;
        this.origin = clock.nanoTime();
        this.wheels = new CalloutWheel[nwheels];
        for (int i = 0; i < nwheels; i++) {
            wheels[i] = new CalloutWheel(this, i, 0);
        }
        if (clock instanceof ManualClock manual) {
            manual.attach(driver);
        } else {
            for (CalloutWheel w : wheels) {
                w.start();
            }
        }
    }

    /** A set driven by {@code clock} at {@link #DEFAULT_HZ} with one wheel: the usual test set-up. */
    public CalloutWheels(String name, Clock clock) {
        this(name, clock, DEFAULT_HZ, 1);
    }

    private static final class SystemHolder {
        static final CalloutWheels SYSTEM = createSystem();
    }

    /**
     * The JVM-wide set on the real clock: {@code kern.hz} ticks a second (tunable by the system
     * property {@code kern.hz}, default 1000), one wheel per available processor. Created, with its
     * sysctl nodes, on first use.
     */
    public static CalloutWheels system() {
        return SystemHolder.SYSTEM;
    }

    private static CalloutWheels createSystem() {
        int hz = Integer.getInteger("kern.hz", DEFAULT_HZ);
        CalloutWheels s = new CalloutWheels("callout", Clock.system(), hz, Runtime.getRuntime().availableProcessors());
        s.registerSysctl(Sysctl.kernel(), "kern.callout");
        Sysctl.kernel().addInt("kern.hz", "Number of clock ticks per second", hz, 1, 1_000_000, false);
        return s;
    }

    /** Adds read-only nodes {@code prefix.fired}, {@code .stopped}... for this set to {@code tree}. */
    public void registerSysctl(Sysctl tree, String prefix) {
        tree.addCounter(prefix + ".fired", "Callout handlers run", fired);
        tree.addCounter(prefix + ".stopped", "Pending callouts cancelled by stop or drain", stopped);
        tree.addCounter(prefix + ".rescheduled", "Pending callouts moved by reset", rescheduled);
        tree.addCounter(prefix + ".skipped", "Firings cancelled after leaving the wheel, before the handler ran", skipped);
        tree.addCounter(prefix + ".drain_waits", "Drains that waited for a running handler", drainWaits);
        tree.addCounter(prefix + ".errors", "Handlers that threw", errors);
        tree.addProc(prefix + ".pending", "Callouts on the wheels now", this::pending);
        tree.addInt(prefix + ".wheels", "Number of callout wheels", wheels.length, 1, Integer.MAX_VALUE, false);
    }

    public String name() {
        return name;
    }

    public Clock clock() {
        return clock;
    }

    /** Ticks per second. */
    public int hz() {
        return hz;
    }

    /** Number of wheels. */
    public int wheels() {
        return wheels.length;
    }

    /** The current tick by the clock. */
    public long ticks() {
        return tickOf(clock.nanoTime());
    }

    /** Callouts on the wheels now (a snapshot; takes each wheel lock in turn). */
    public int pending() {
        int n = 0;
        for (CalloutWheel w : wheels) {
            w.lock.lock();
            try {
                n += w.pendingCount();
            } finally {
                w.lock.unlock();
            }
        }
        return n;
    }

    public long fired() {
        return fired.get();
    }

    public long stopped() {
        return stopped.get();
    }

    public long rescheduled() {
        return rescheduled.get();
    }

    public long skipped() {
        return skipped.get();
    }

    public long drainWaits() {
        return drainWaits.get();
    }

    public long errors() {
        return errors.get();
    }

    /** The wheel for a new callout. */
    CalloutWheel pick() {
        if (closed) {
            throw new IllegalStateException("callout wheels \"" + name + "\" are closed");
        }
        int h = nextCallout.getAndIncrement() * 0x9E3779B9;
        return wheels[Math.floorMod(h ^ (h >>> 16), wheels.length)];
    }

    long nextSeq() {
        return seq.getAndIncrement();
    }

    /** The tick containing {@code nanos}. */
    long tickOf(long nanos) {
        long d = nanos - origin;
        if (d < 0) {
            return -1;
        }
        return d / NANOS * hz + d % NANOS * hz / NANOS;
    }

    /** The instant tick {@code tick} begins. */
    long tickTime(long tick) {
        if (tick > Long.MAX_VALUE / NANOS * hz) {
            return Long.MAX_VALUE;
        }
        return origin + tick / hz * NANOS + Math.ceilDiv(tick % hz * NANOS, hz);
    }

    /** The deadline tick of a callout scheduled now with {@code delay}. */
    long deadline(Duration delay) {
        long now = clock.nanoTime();
        return Math.max(ceilTicks(now - origin + nanos(delay)), tickOf(now) + 1);
    }

    /** The deadline tick of a callout scheduled now {@code ticks} ticks ahead (0 means 1, as in BSD). */
    long deadline(int ticks) {
        if (ticks < 0) {
            throw new IllegalArgumentException("callout ticks must not be negative: " + ticks);
        }
        return tickOf(clock.nanoTime()) + Math.max(1, ticks);
    }

    /** Converts a duration to ticks, rounding up (FreeBSD's tvtohz), at most Integer.MAX_VALUE. */
    public int toTicks(Duration d) {
        return (int) Math.min(Integer.MAX_VALUE, ceilTicks(nanos(d)));
    }

    /** Nanoseconds of a non-negative delay, capped at about 73 years so deadlines cannot overflow. */
    private static long nanos(Duration delay) {
        if (delay.isNegative()) {
            throw new IllegalArgumentException("callout delay must not be negative: " + delay);
        }
        long cap = Long.MAX_VALUE / 4;
        return delay.compareTo(Duration.ofNanos(cap)) > 0 ? cap : delay.toNanos();
    }

    /** Ticks in {@code nanos}, rounded up. */
    private long ceilTicks(long nanos) {
        return nanos / NANOS * hz + Math.ceilDiv(nanos % NANOS * hz, NANOS);
    }

    /** The instant the earliest pending callout of any wheel falls due, or {@link Long#MAX_VALUE}. */
    long nextDueNanos() {
        long min = Long.MAX_VALUE;
        for (CalloutWheel w : wheels) {
            w.lock.lock();
            try {
                min = Math.min(min, w.nextDueTick());
            } finally {
                w.lock.unlock();
            }
        }
        return min == Long.MAX_VALUE ? Long.MAX_VALUE : tickTime(min);
    }

    /** Fires, in this thread and in deadline order, every callout due at {@code now}. */
    void runDue(long now, List<Throwable> errs) {
        long tick = tickOf(now);
        List<CalloutWheel.Entry> batch = new ArrayList<>();
        for (CalloutWheel w : wheels) {
            w.lock.lock();
            try {
                w.collectDue(tick, batch);
            } finally {
                w.lock.unlock();
            }
        }
        CalloutWheel.fireAll(batch, errs);
    }

    /**
     * Stops the threads (or detaches from the manual clock) and refuses new callouts; pending ones
     * never fire. May sleep; must not be called from a handler of this set.
     */
    @Override
    public void close() {
        closed = true;
        if (clock instanceof ManualClock manual) {
            manual.detach(driver);
        }
        for (CalloutWheel w : wheels) {
            w.close();
        }
    }

    @Override
    public String toString() {
        return "CalloutWheels[" + name + ", hz=" + hz + ", wheels=" + wheels.length + "]";
    }
}
