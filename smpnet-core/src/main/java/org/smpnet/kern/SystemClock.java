package org.smpnet.kern;

/** The real clock: {@link System#nanoTime()}. Stateless, safe from any thread. */
public final class SystemClock implements Clock {
    /** The one instance. */
    public static final SystemClock INSTANCE = new SystemClock();

    private SystemClock() {}

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public String toString() {
        return "SystemClock";
    }
}
