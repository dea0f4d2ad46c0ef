package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A named queue of {@link Task}s run by its own worker threads (FreeBSD {@code taskqueue(9)}).
 * Tasks run in the order first enqueued; enqueueing a task that is already queued only raises its
 * pending count (coalescing) and keeps its place. With several threads, different tasks run in
 * parallel, and a task enqueued again while it runs may run again on another thread at once.
 * A task whose component needs Giant ({@link Giant#required}) runs under Giant.
 *
 * <p>Locking key: every mutable field is guarded by {@link #lock} (class "taskqueue"), a leaf
 * lock: nothing is acquired under it and it is never held while a task runs. So {@link #enqueue}
 * and {@link #cancel} may be called holding any non-sleepable lock (from a callout handler, say);
 * {@link #drain}, {@link #drainAll} and {@link #shutdown} sleep. Workers are platform daemon
 * threads named "queue-name/i".
 *
 * <p>Memory effects: actions before an enqueue happen-before the run that consumes it; a task's
 * run happens-before a drain that waited for it returns.
 */
public final class Taskqueue {
    /** What {@link #cancel} found: the pending count it removed (0: was not queued), and whether the task was running. */
    public record CancelResult(int pending, boolean running) {
        public boolean wasPending() {
            return pending > 0;
        }
    }

    /** A queued task: its coalesced count and the sequence number of its first enqueue. */
    private record Queued(int pending, long seq) {}

    /** A task being run by a worker. */
    private record Running(Task task, long seq, Thread thread) {}

    private final String name;
    private final Mtx lock;
    private final Cv workCv;
    private final Cv doneCv;
    private final List<Thread> threads = new ArrayList<>();

    @GuardedBy("lock")
    private final LinkedHashMap<Task, Queued> queue = new LinkedHashMap<>();
    @GuardedBy("lock")
    private final List<Running> running = new ArrayList<>();
    @GuardedBy("lock")
    private long nextSeq;
    @GuardedBy("lock")
    private boolean shutdown;
    @GuardedBy("lock")
    private int waiters;

    private final Counter enqueued = new Counter();
    private final Counter coalesced = new Counter();
    private final Counter runs = new Counter();
    private final Counter cancelled = new Counter();
    private final Counter errors = new Counter();

    /**
     * Creates the queue and starts {@code nthreads} workers.
     *
     * @throws IllegalArgumentException if {@code nthreads} is less than 1
     */
    public Taskqueue(String name, int nthreads) {
        if (nthreads < 1) {
            throw new IllegalArgumentException("taskqueue \"" + name + "\" needs at least one thread, not " + nthreads);
        }
        this.name = name;
        this.lock = new Mtx(name, "taskqueue");
        this.workCv = lock.newCondition();
        this.doneCv = lock.newCondition();
        for (int i = 0; i < nthreads; i++) {
            threads.add(Thread.ofPlatform().daemon().name(name + "/" + i).unstarted(this::worker));
        }
        threads.forEach(Thread::start);
    }

    public String name() {
        return name;
    }

    /**
     * Queues {@code task}, or raises its pending count if it is queued already. Never sleeps.
     *
     * @return true if the task was newly queued, false if coalesced into a queued one
     * @throws IllegalStateException if the queue was shut down
     */
    public boolean enqueue(Task task) {
        lock.lock();
        try {
            if (shutdown) {
                throw new IllegalStateException("taskqueue \"" + name + "\" is shut down; " + task + " refused");
            }
            return enqueueLocked(task);
        } finally {
            lock.unlock();
        }
    }

    /** Enqueues unless shut down; returns false if refused. For timeout tasks. */
    boolean enqueueIfRunning(Task task) {
        lock.lock();
        try {
            if (shutdown) {
                return false;
            }
            enqueueLocked(task);
            return true;
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private boolean enqueueLocked(Task task) {
        enqueued.inc();
        Queued q = queue.get(task);
        if (q != null) {
            coalesced.inc();
            queue.put(task, new Queued(q.pending() == Integer.MAX_VALUE ? q.pending() : q.pending() + 1, q.seq()));
            return false;
        }
        queue.put(task, new Queued(1, nextSeq++));
        workCv.signal();
        return true;
    }

    /** The pending count of {@code task} on this queue (0 if not queued). Never sleeps. */
    public int pending(Task task) {
        lock.lock();
        try {
            Queued q = queue.get(task);
            return q == null ? 0 : q.pending();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes {@code task} from the queue if it is queued ({@code taskqueue_cancel}). Never
     * sleeps. A run already started is not stopped; the result says whether one was going on.
     */
    public CancelResult cancel(Task task) {
        lock.lock();
        try {
            Queued q = queue.remove(task);
            if (q != null) {
                cancelled.inc();
                wakeWaiters();
            }
            return new CancelResult(q == null ? 0 : q.pending(), isRunning(task));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until {@code task} is neither queued nor running ({@code taskqueue_drain}). May sleep.
     * If the task keeps being re-enqueued this may wait for ever, as in BSD.
     *
     * @throws IllegalStateException if called from a worker of this queue running {@code task}
     */
    public void drain(Task task) {
        Witness.checkSleep("draining task " + task.name() + " of taskqueue \"" + name + "\"", null);
        lock.lock();
        try {
            for (Running r : running) {
                if (r.task() == task && r.thread() == Thread.currentThread()) {
                    throw new IllegalStateException(task + " drained from its own handler");
                }
            }
            waiters++;
            try {
                while (queue.containsKey(task) || isRunning(task)) {
                    doneCv.awaitUninterruptibly();
                }
            } finally {
                waiters--;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until every task queued or running when called has finished ({@code
     * taskqueue_drain_all}); tasks enqueued later are not waited for. May sleep.
     *
     * @throws IllegalStateException if called from a worker of this queue
     */
    public void drainAll() {
        checkNotWorker("drainAll");
        Witness.checkSleep("draining taskqueue \"" + name + "\"", null);
        lock.lock();
        try {
            long upTo = nextSeq;
            waiters++;
            try {
                while (hasWorkBefore(upTo)) {
                    doneCv.awaitUninterruptibly();
                }
            } finally {
                waiters--;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new tasks from now on ({@link #enqueue} throws), runs what is queued, and waits for
     * the workers to exit ({@code taskqueue_free}). Idempotent. May sleep.
     *
     * @throws IllegalStateException if called from a worker of this queue
     */
    public void shutdown() {
        checkNotWorker("shutdown");
        Witness.checkSleep("shutting down taskqueue \"" + name + "\"", null);
        lock.lock();
        try {
            shutdown = true;
            workCv.signalAll();
        } finally {
            lock.unlock();
        }
        Giant.joinUninterruptibly(threads); // a task still running may need Giant
    }

    /** Whether {@link #shutdown} was called. */
    public boolean isShutdown() {
        lock.lock();
        try {
            return shutdown;
        } finally {
            lock.unlock();
        }
    }

    /** Enqueue calls, including coalesced ones. */
    public long enqueued() {
        return enqueued.get();
    }

    /** Enqueue calls merged into a queued task. */
    public long coalesced() {
        return coalesced.get();
    }

    /** Handler runs. */
    public long runs() {
        return runs.get();
    }

    /** Queued tasks removed by {@link #cancel}. */
    public long cancelled() {
        return cancelled.get();
    }

    /** Handlers that threw. */
    public long errors() {
        return errors.get();
    }

    /** Adds read-only counters {@code prefix.enqueued}, {@code .coalesced}, {@code .runs}... to {@code tree}. */
    public void registerSysctl(Sysctl tree, String prefix) {
        tree.addCounter(prefix + ".enqueued", "Enqueue calls", enqueued);
        tree.addCounter(prefix + ".coalesced", "Enqueues merged into a queued task", coalesced);
        tree.addCounter(prefix + ".runs", "Task handler runs", runs);
        tree.addCounter(prefix + ".cancelled", "Queued tasks cancelled", cancelled);
        tree.addCounter(prefix + ".errors", "Task handlers that threw", errors);
    }

    private void checkNotWorker(String what) {
        if (threads.contains(Thread.currentThread())) {
            throw new IllegalStateException(what + " of taskqueue \"" + name + "\" called from its own worker");
        }
    }

    @GuardedBy("lock")
    private boolean isRunning(Task task) {
        for (Running r : running) {
            if (r.task() == task) {
                return true;
            }
        }
        return false;
    }

    @GuardedBy("lock")
    private boolean hasWorkBefore(long seq) {
        for (Running r : running) {
            if (r.seq() < seq) {
                return true;
            }
        }
        for (Queued q : queue.values()) {
            if (q.seq() < seq) {
                return true;
            }
        }
        return false;
    }

    @GuardedBy("lock")
    private void wakeWaiters() {
        if (waiters > 0) {
            doneCv.signalAll();
        }
    }

    private void worker() {
        while (true) {
            Running r;
            int pending;
            lock.lock();
            try {
                while (queue.isEmpty() && !shutdown) {
                    workCv.awaitUninterruptibly();
                }
                if (queue.isEmpty()) {
                    return;
                }
                Iterator<Map.Entry<Task, Queued>> it = queue.entrySet().iterator();
                Map.Entry<Task, Queued> first = it.next();
                it.remove();
                pending = first.getValue().pending();
                r = new Running(first.getKey(), first.getValue().seq(), Thread.currentThread());
                running.add(r);
            } finally {
                lock.unlock();
            }
            run(r.task(), pending);
            lock.lock();
            try {
                running.remove(r);
                wakeWaiters();
            } finally {
                lock.unlock();
            }
        }
    }

    private void run(Task task, int pending) {
        runs.inc();
        try {
            Giant.run(task.component(), () -> task.handler().run(pending));
        } catch (Throwable t) {
            errors.inc();
            Thread.currentThread().getUncaughtExceptionHandler().uncaughtException(Thread.currentThread(), t);
        }
    }

    @Override
    public String toString() {
        return "Taskqueue[" + name + ", " + threads.size() + " threads]";
    }
}
