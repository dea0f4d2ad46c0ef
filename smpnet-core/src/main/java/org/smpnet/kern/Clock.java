package org.smpnet.kern;

/**
 * A monotonic time source in nanoseconds, as {@link System#nanoTime()}: only differences between
 * two readings mean anything. Callouts ({@link CalloutWheels}) are driven by one; tests pass a
 * {@link ManualClock} so timers run in virtual time.
 *
 * <p>Implementations are safe to read from any thread and never go backwards.
 */
public interface Clock {
    /** The current time in nanoseconds from an arbitrary origin. Never decreases. */
    long nanoTime();

    /** The JVM's monotonic clock. */
    static Clock system() {
        return SystemClock.INSTANCE;
    }
}
