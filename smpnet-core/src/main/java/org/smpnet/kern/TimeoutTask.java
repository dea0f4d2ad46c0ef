package org.smpnet.kern;

import java.time.Duration;

/**
 * A task enqueued after a delay ({@code timeout_task}, {@code taskqueue_enqueue_timeout}): an
 * MPSAFE {@link Callout} whose handler enqueues the task on its queue.
 *
 * <p>Threads: {@link #enqueue} and {@link #cancel} never sleep and may be called holding
 * non-sleepable locks; {@link #drain} sleeps. A timeout that fires after the queue was shut down
 * is dropped.
 */
public final class TimeoutTask {
    private final Taskqueue queue;
    private final Task task;
    private final Callout callout;

    public TimeoutTask(Taskqueue queue, CalloutWheels wheels, Task task) {
        this.queue = queue;
        this.task = task;
        this.callout = new Callout(wheels, null, task.component());
    }

    public Task task() {
        return task;
    }

    /**
     * Enqueues the task after {@code delay}, replacing a timeout still pending.
     *
     * @return whether a pending timeout was replaced
     * @throws IllegalStateException if the queue was shut down
     */
    public boolean enqueue(Duration delay) {
        if (queue.isShutdown()) {
            throw new IllegalStateException("taskqueue \"" + queue.name() + "\" is shut down; " + task + " refused");
        }
        return callout.reset(delay, () -> queue.enqueueIfRunning(task));
    }

    /**
     * Cancels a pending timeout and, if queued, the task ({@code taskqueue_cancel_timeout}).
     * The pending count of the result counts a cancelled timeout as one.
     */
    public Taskqueue.CancelResult cancel() {
        boolean timeout = callout.stop();
        Taskqueue.CancelResult r = queue.cancel(task);
        return new Taskqueue.CancelResult(r.pending() + (timeout ? 1 : 0), r.running());
    }

    /** Cancels the timeout, waits for a firing of it, then drains the task ({@code taskqueue_drain_timeout}). May sleep. */
    public void drain() {
        callout.drain();
        queue.drain(task);
    }
}
