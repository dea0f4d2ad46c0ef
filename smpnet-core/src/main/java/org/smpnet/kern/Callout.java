package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;

/**
 * A callout: a function to run once, later (FreeBSD {@code callout(9)}). It lives on one wheel of a
 * {@link CalloutWheels} set for its whole life.
 *
 * <p>Two kinds, as in BSD:
 * <ul>
 *   <li>With a mutex ({@code callout_init_mtx}): the firing thread takes the mutex and runs the
 *       handler with it held. {@link #stop()} or {@link #reset} called with that mutex held
 *       guarantees the handler of the previous schedule will not run: if the firing thread has
 *       already taken the callout off the wheel and is blocked on the mutex, it finds the firing
 *       cancelled once it gets the mutex and skips the handler.
 *   <li>Without a mutex (MPSAFE, {@code callout_init(c, 1)}): {@code stop()} cannot exclude a
 *       handler that has already started; it returns false then, and {@link #drain()} waits for it.
 * </ul>
 * If {@link Giant#required} says the component (or, without one, the handler's class) needs Giant,
 * the handler runs under {@link Giant#GIANT}, taken before the callout's mutex.
 *
 * <p>Every schedule ends exactly one way: its handler runs, or a {@code stop}/{@code drain}
 * returns true for it, or a {@code reset} returns true for it, or its set is closed.
 *
 * <p>Locking key: the fields below marked {@code @GuardedBy("wheel.lock")} are guarded by the
 * wheel's mutex, taken by this class only; {@link #mtx}, {@link #component} and {@link #wheel} are
 * final. Lock order: Giant, then {@link #mtx}, then the wheel lock (a leaf). So {@code reset},
 * {@code stop}, {@code pending}, {@code active} and {@code deactivate} may be called holding the
 * callout's mutex or any other non-sleepable lock; they never sleep. {@code drain} may sleep.
 *
 * <p>Memory effects: actions before a {@code reset} happen-before the handler it schedules runs;
 * the handler's actions happen-before a {@code drain} that waited for it returns.
 */
public final class Callout {
    final CalloutWheel wheel;
    private final Mtx mtx;
    private final Class<?> component;

    /** The entry of the latest schedule; it is pending while the wheel holds it. */
    @GuardedBy("wheel.lock")
    private CalloutWheel.Entry scheduled;
    /** The handler of the latest reset, for {@link #schedule}. */
    @GuardedBy("wheel.lock")
    private Runnable handler;
    @GuardedBy("wheel.lock")
    private boolean active;
    /** The thread running the handler now, or null. */
    @GuardedBy("wheel.lock")
    private Thread runner;
    /** Handler runs begun so far: tells a drain that the run it waits for is over. */
    @GuardedBy("wheel.lock")
    private long runs;
    /** Drains waiting for the running handler: while any, the handler may not re-arm itself. */
    @GuardedBy("wheel.lock")
    private int drainers;

    /** An MPSAFE callout: no mutex ({@code callout_init(c, 1)}). */
    public Callout(CalloutWheels wheels) {
        this(wheels, null, null);
    }

    /** A callout whose handler runs with {@code mtx} held ({@code callout_init_mtx}). */
    public Callout(CalloutWheels wheels, Mtx mtx) {
        this(wheels, mtx, null);
    }

    /**
     * A callout of {@code component} (a class Giant decisions are made for; null: the handler's
     * class), with an optional mutex.
     */
    public Callout(CalloutWheels wheels, Mtx mtx, Class<?> component) {
        this.wheel = wheels.pick();
        this.mtx = mtx;
        this.component = component;
    }

    /** The mutex the handler runs under, or null for an MPSAFE callout. */
    public Mtx mtx() {
        return mtx;
    }

    /**
     * Schedules {@code handler} to run after {@code delay} (rounded up to a tick, at least one tick
     * ahead), cancelling any pending schedule ({@code callout_reset}). Marks the callout active.
     * Never sleeps. A handler may reset its own callout, except while a {@link #drain()} waits for
     * it: then, as in BSD, the reset is refused (nothing is scheduled) and returns false.
     *
     * @return whether a pending schedule was cancelled
     * @throws IllegalArgumentException if {@code delay} is negative
     * @throws IllegalStateException if the set is closed
     */
    public boolean reset(Duration delay, Runnable handler) {
        return resetAt(wheel.set.deadline(delay), handler);
    }

    /** As {@link #reset(Duration, Runnable)}, {@code ticks} ticks from now (0 counts as 1). */
    public boolean reset(int ticks, Runnable handler) {
        return resetAt(wheel.set.deadline(ticks), handler);
    }

    /** Reschedules the handler of the latest reset ({@code callout_schedule}). */
    public boolean schedule(Duration delay) {
        return resetAt(wheel.set.deadline(delay), null);
    }

    /** Reschedules the handler of the latest reset {@code ticks} ticks from now. */
    public boolean schedule(int ticks) {
        return resetAt(wheel.set.deadline(ticks), null);
    }

    private boolean resetAt(long deadline, Runnable h) {
        wheel.lock.lock();
        try {
            Runnable run = h != null ? h : handler;
            if (run == null) {
                throw new IllegalStateException("callout scheduled before any reset gave it a handler");
            }
            if (drainers > 0 && runner == Thread.currentThread()) {
                return false;
            }
            boolean cancelled = cancelLocked();
            scheduled = new CalloutWheel.Entry(this, Math.max(deadline, wheel.softTicks + 1), wheel.set.nextSeq(), run);
            wheel.insert(scheduled);
            handler = run;
            active = true;
            if (cancelled) {
                wheel.set.rescheduled.inc();
            }
            return cancelled;
        } finally {
            wheel.lock.unlock();
        }
    }

    /** Cancels the latest schedule: off the wheel, or its firing if the handler has not started. */
    @GuardedBy("wheel.lock")
    private boolean cancelLocked() {
        boolean cancelled = false;
        if (scheduled != null) {
            cancelled = wheel.remove(scheduled);
            scheduled = null;
        }
        if (wheel.cancelFiring(this)) {
            cancelled = true;
        }
        return cancelled;
    }

    /**
     * Cancels the pending schedule and clears the active flag ({@code callout_stop}). Never sleeps.
     * Called with the callout's mutex held, the handler is neither running (unless this is the
     * handler) nor will it run until the next reset.
     *
     * @return whether a schedule was cancelled (false: none, or its handler already started)
     */
    public boolean stop() {
        wheel.lock.lock();
        try {
            active = false;
            boolean cancelled = cancelLocked();
            if (cancelled) {
                wheel.set.stopped.inc();
            }
            return cancelled;
        } finally {
            wheel.lock.unlock();
        }
    }

    /**
     * Stops the callout and waits until a handler that is running has returned
     * ({@code callout_drain}). Afterwards the handler does not run until the next reset. May sleep.
     *
     * @return whether a schedule was cancelled
     * @throws LockAssertionError if the caller holds the callout's mutex (the handler could never finish)
     * @throws IllegalStateException if called from the callout's own handler
     */
    public boolean drain() {
        if (mtx != null && mtx.isHeldByCurrentThread()) {
            throw new LockAssertionError("callout drain with its mutex \"" + mtx.name()
                    + "\" held: the handler could never finish");
        }
        Witness.checkSleep("draining a callout", null);
        wheel.lock.lock();
        try {
            if (runner == Thread.currentThread()) {
                throw new IllegalStateException("callout drained from its own handler");
            }
            active = false;
            boolean cancelled = cancelLocked();
            if (cancelled) {
                wheel.set.stopped.inc();
            }
            if (runner != null) {
                wheel.set.drainWaits.inc();
                long run = runs;
                wheel.drainWaiters++;
                drainers++;
                try {
                    while (runner != null && runs == run) {
                        wheel.doneCv.awaitUninterruptibly();
                    }
                } finally {
                    drainers--;
                    wheel.drainWaiters--;
                }
            }
            return cancelled;
        } finally {
            wheel.lock.unlock();
        }
    }

    /** Whether a schedule waits on the wheel ({@code callout_pending}). Never sleeps. */
    public boolean pending() {
        wheel.lock.lock();
        try {
            return scheduled != null && wheel.isQueued(scheduled);
        } finally {
            wheel.lock.unlock();
        }
    }

    /**
     * Whether the callout was reset and not stopped or deactivated since ({@code callout_active}).
     * Firing does not clear it: a handler may test and clear it with {@link #deactivate()}.
     */
    public boolean active() {
        wheel.lock.lock();
        try {
            return active;
        } finally {
            wheel.lock.unlock();
        }
    }

    /** Clears the active flag ({@code callout_deactivate}). Never sleeps. */
    public void deactivate() {
        wheel.lock.lock();
        try {
            active = false;
        } finally {
            wheel.lock.unlock();
        }
    }

    /**
     * Runs the firing {@code e} in the firing thread, which holds no lock: takes Giant if needed,
     * then the mutex, then skips the handler if a stop or reset cancelled the firing meanwhile.
     * Returns what the handler threw, or null.
     */
    Throwable fire(CalloutWheel.Entry e) {
        Throwable failure = null;
        boolean ran = false;
        try {
            boolean giant = Giant.pickup(component != null ? component : e.handler().getClass());
            try {
                if (mtx != null) {
                    mtx.lock();
                }
                try {
                    ran = claim(e);
                    if (ran) {
                        e.handler().run();
                    }
                } finally {
                    if (mtx != null) {
                        mtx.unlock();
                    }
                }
            } finally {
                Giant.drop(giant);
            }
        } catch (Throwable t) {
            failure = t;
            wheel.set.errors.inc();
        }
        if (ran) {
            finish();
        }
        return failure;
    }

    private boolean claim(CalloutWheel.Entry e) {
        wheel.lock.lock();
        try {
            if (!wheel.claimFiring(e)) {
                wheel.set.skipped.inc();
                return false;
            }
            runner = Thread.currentThread();
            runs++;
            wheel.set.fired.inc();
            return true;
        } finally {
            wheel.lock.unlock();
        }
    }

    private void finish() {
        wheel.lock.lock();
        try {
            runner = null;
            if (wheel.drainWaiters > 0) {
                wheel.doneCv.signalAll();
            }
        } finally {
            wheel.lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Callout[" + wheel.lock.name() + (mtx != null ? ", mtx " + mtx.name() : ", mpsafe") + "]";
    }
}
