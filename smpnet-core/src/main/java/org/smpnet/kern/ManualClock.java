package org.smpnet.kern;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock that moves only when told to: tests advance virtual time and every callout that falls
 * due runs synchronously in the advancing thread, in deadline order. TCP timers thus run
 * deterministically and as fast as the CPU allows.
 *
 * <p>Threads: {@link #nanoTime()} may be read from any thread (a volatile read). {@link #advance}
 * runs handlers in the calling thread; one thread may advance at a time, and a handler must not
 * advance the clock it runs under (both throw {@link IllegalStateException}). The caller of
 * {@code advance} must hold no lock a handler takes. Everything a handler did happens-before
 * {@code advance} returns.
 */
public final class ManualClock implements Clock {
    /**
     * Something driven by this clock, such as a {@link CalloutWheels} set: it reports when it next
     * has work and runs the work due at a given time.
     */
    interface Driven {
        /** The time its earliest pending work falls due, or {@link Long#MAX_VALUE} if none. */
        long nextDueNanos();

        /** Runs everything due at or before {@code now}; handler failures go to {@code errors}. */
        void runDue(long now, List<Throwable> errors);
    }

    private volatile long now;
    private final List<Driven> driven = new CopyOnWriteArrayList<>();
    private final AtomicReference<Thread> advancing = new AtomicReference<>();

    /** A clock reading 0. */
    public ManualClock() {
        this(0);
    }

    /** A clock reading {@code startNanos}. */
    public ManualClock(long startNanos) {
        this.now = startNanos;
    }

    @Override
    public long nanoTime() {
        return now;
    }

    /**
     * Moves time forward by {@code d}, stopping at each instant something driven by this clock
     * falls due and running it there, earliest first. Callouts scheduled by those handlers run too
     * if they fall due within {@code d}.
     *
     * <p>Must not be called holding any lock a handler may take; may run arbitrary handlers.
     *
     * @throws IllegalArgumentException if {@code d} is negative
     * @throws IllegalStateException if another thread is advancing, or called from a handler
     * @throws RuntimeException or Error: the first failure of a handler, after all due work ran
     *     (later failures are attached as suppressed)
     */
    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("cannot advance a clock by a negative duration: " + d);
        }
        Thread me = Thread.currentThread();
        Thread other = advancing.compareAndExchange(null, me);
        if (other != null) {
            throw new IllegalStateException(other == me
                    ? "ManualClock.advance called from a handler run by advance"
                    : "ManualClock is being advanced by " + other.getName() + " already");
        }
        List<Throwable> errors = new ArrayList<>();
        try {
            long target = Math.addExact(now, d.toNanos());
            runUntil(target, errors);
            now = target;
        } finally {
            advancing.set(null);
        }
        rethrow(errors);
    }

    private void runUntil(long target, List<Throwable> errors) {
        while (true) {
            Driven next = null;
            long due = Long.MAX_VALUE;
            for (Driven dr : driven) {
                long t = dr.nextDueNanos();
                if (t <= target && t < due) {
                    due = t;
                    next = dr;
                }
            }
            if (next == null) {
                return;
            }
            if (due > now) {
                now = due;
            }
            next.runDue(now, errors);
        }
    }

    private static void rethrow(List<Throwable> errors) {
        if (errors.isEmpty()) {
            return;
        }
        Throwable first = errors.getFirst();
        for (Throwable t : errors.subList(1, errors.size())) {
            first.addSuppressed(t);
        }
        if (first instanceof RuntimeException re) {
            throw re;
        }
        if (first instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("callout handler failed", first);
    }

    void attach(Driven d) {
        driven.add(d);
    }

    void detach(Driven d) {
        driven.remove(d);
    }

    @Override
    public String toString() {
        return "ManualClock[" + now + " ns]";
    }
}
