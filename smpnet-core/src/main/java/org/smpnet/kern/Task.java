package org.smpnet.kern;

import java.util.Objects;

/**
 * A unit of deferred work for a {@link Taskqueue} (FreeBSD {@code task(9)}). A task is immutable;
 * its queueing state (the pending count) lives in the queue it is enqueued on. Enqueueing a task
 * that is already queued only raises its pending count, and the handler is told that count.
 *
 * <p>Identity matters: two Task objects are two tasks even with the same handler.
 */
public final class Task {
    /** The work: called in a queue thread with the number of enqueues coalesced into this run. */
    @FunctionalInterface
    public interface Handler {
        void run(int pending);
    }

    private final String name;
    private final Handler handler;
    private final Class<?> component;

    /** A task whose Giant needs are those of {@code handler}'s class. */
    public Task(String name, Handler handler) {
        this(name, null, handler);
    }

    /**
     * A task of {@code component}: it runs under Giant when {@link Giant#required} says so for the
     * component (null: for the handler's class).
     */
    public Task(String name, Class<?> component, Handler handler) {
        this.name = Objects.requireNonNull(name, "task name");
        this.handler = Objects.requireNonNull(handler, "task handler");
        this.component = component;
    }

    public String name() {
        return name;
    }

    Handler handler() {
        return handler;
    }

    /** The class whose Giant needs apply. */
    Class<?> component() {
        return component != null ? component : handler.getClass();
    }

    @Override
    public String toString() {
        return "Task[" + name + "]";
    }
}
