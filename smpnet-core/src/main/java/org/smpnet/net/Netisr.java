package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Cv;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sysctl;

/**
 * The network input dispatcher ({@code net/netisr.c}, R-ISR-1): protocols register a handler; the link
 * layer hands each packet to {@link #dispatch}, which runs the handler in the caller (direct), queues the
 * packet to one of the netisr threads (deferred), or does direct dispatch unless that would overtake
 * packets of the same flow already queued (hybrid). Packets of one flow always go to the same thread, so
 * one flow stays in order.
 *
 * <p>Locking key: each thread's per-protocol queues and its {@code running} flag are guarded by that
 * thread's {@code Workstream.lock} ("netisr_ws", below the stack's protocol locks: it is never held while
 * a handler runs). Protocol registrations are an atomic array written once per protocol.
 */
public final class Netisr {
    /** Dispatch policies ({@code NETISR_DISPATCH_*}). */
    public enum Policy { DIRECT, DEFERRED, HYBRID }

    /** Protocol numbers ({@code NETISR_*}). */
    public static final int IP = 1;
    public static final int ROUTE = 2;
    public static final int ARP = 4;
    public static final int IPV6 = 6;
    public static final int ETHER = 9;
    public static final int KEY = 10;
    public static final int MAXPROT = 16;

    /** A registered protocol with its statistics. */
    public static final class Proto {
        final int id;
        final String name;
        final Handler handler;
        final Policy policy;
        final int qlimit;
        final Class<?> component;
        /** {@code component} is marked NeedsGiant (looked up once, not per packet). */
        final boolean needsGiant;
        public final Counter dispatched = new Counter();
        public final Counter hybridDirect = new Counter();
        public final Counter queued = new Counter();
        public final Counter handled = new Counter();
        public final Counter qdrops = new Counter();
        public final Counter errors = new Counter();

        Proto(int id, String name, Handler handler, Policy policy, int qlimit, Class<?> component) {
            this.id = id;
            this.name = name;
            this.handler = handler;
            this.policy = policy;
            this.qlimit = qlimit;
            this.component = component;
            this.needsGiant = Giant.needs(component);
        }

        public String name() {
            return name;
        }

        public Policy policy() {
            return policy;
        }
    }

    /** A protocol's input routine. Consumes the packet. Called with no netisr lock held. */
    @FunctionalInterface
    public interface Handler {
        void handle(Mbuf m);
    }

    private static final LockClass WS = LockClass.of("netisr_ws", LockKind.MUTEX, false);
    /** {@code Workstream.busy}: the thread is handling a batch. */
    private static final int RUNNING = 1 << 31;

    private final class Workstream {
        final Mtx lock;
        final Cv work;
        @GuardedBy("lock") final ArrayDeque<Mbuf>[] queues;
        @GuardedBy("lock") int pending;
        @GuardedBy("lock") boolean running;
        @GuardedBy("lock") boolean closed;
        /**
         * A copy of the hybrid policy's inputs, written under {@link #lock} whenever they change and read
         * without it by {@link #idleFor}: bit p set while protocol p's queue is non-empty, {@link #RUNNING}
         * while the thread handles a batch.
         */
        @GuardedBy("lock") volatile int busy;
        final Thread thread;

        @SuppressWarnings("unchecked")
        Workstream(int i) {
            lock = new Mtx(name + " netisr" + i, WS);
            work = lock.newCondition();
            queues = new ArrayDeque[MAXPROT];
            for (int p = 0; p < MAXPROT; p++) {
                queues[p] = new ArrayDeque<>();
            }
            thread = Thread.ofPlatform().daemon().name(name + " netisr " + i).start(this::run);
        }

        /** Queues {@code m} for {@code p}; false when the protocol's queue is full or closed. */
        boolean enqueue(Proto p, Mbuf m) {
            lock.lock();
            try {
                if (closed || queues[p.id].size() >= p.qlimit) {
                    return false;
                }
                queues[p.id].add(m);
                pending++;
                busy |= 1 << p.id;
                work.signal();
                return true;
            } finally {
                lock.unlock();
            }
        }

        /**
         * Hybrid: true if nothing of this protocol is queued or running here, so direct dispatch keeps order.
         * Lock-free (the volatile {@link #busy}): as current as a read under the lock, which is stale
         * once the lock is dropped either way.
         */
        @SuppressWarnings("GuardedBy") // volatile read of a field written only under lock
        boolean idleFor(Proto p) {
            return (busy & ((1 << p.id) | RUNNING)) == 0;
        }

        /** Recomputes {@link #busy} after the queues or {@code running} changed. */
        @GuardedBy("lock")
        private void publishBusy() {
            int b = running ? RUNNING : 0;
            for (int p = 0; p < MAXPROT; p++) {
                if (!queues[p].isEmpty()) {
                    b |= 1 << p;
                }
            }
            busy = b;
        }

        private void run() {
            Mbuf[] batch = new Mbuf[64];
            while (true) {
                int proto = -1;
                int n = 0;
                lock.lock();
                try {
                    while (pending == 0 && !closed) {
                        running = false;
                        publishBusy();
                        work.awaitUninterruptibly();
                    }
                    if (pending == 0) {
                        running = false;
                        publishBusy();
                        return;
                    }
                    running = true;
                    for (int p = 0; p < MAXPROT && n == 0; p++) {
                        ArrayDeque<Mbuf> q = queues[p];
                        while (n < batch.length && !q.isEmpty()) {
                            batch[n++] = q.poll();
                            proto = p;
                        }
                    }
                    pending -= n;
                    publishBusy();
                } finally {
                    lock.unlock();
                }
                Proto p = protos.get(proto);
                for (int i = 0; i < n; i++) {
                    Mbuf m = batch[i];
                    batch[i] = null;
                    if (p == null) {
                        m.freem();
                        continue;
                    }
                    try {
                        runHandlerInEpoch(p, m);
                        p.handled.inc();
                    } catch (RuntimeException e) {
                        p.errors.inc(); // a handler bug must not kill the thread serving every flow hashed here
                    }
                }
            }
        }

        void close() {
            lock.lock();
            try {
                closed = true;
                work.signalAll();
            } finally {
                lock.unlock();
            }
            int giant = Giant.save(); // the thread may need Giant to finish its packet (a sleep releases it)
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                Giant.restore(giant);
            }
        }
    }

    private final String name;
    private final AtomicReferenceArray<Proto> protos = new AtomicReferenceArray<>(MAXPROT);
    private final List<Workstream> streams;
    private final Sysctl sysctl;
    private final Sysctl.StringOid dispatchOverride;
    /**
     * The override as last read from {@link #dispatchOverride} and what it means: a dispatch compares the
     * sysctl's string with {@code text} by identity instead of matching it by name per packet. Racy and
     * safe: a holder is immutable, and a dispatch that sees an older one re-parses the current string.
     */
    private volatile ParsedOverride parsedOverride = new ParsedOverride(null, null);

    /** {@code net.isr.dispatch}'s value {@code text} and its policy, null for "default" (each protocol's own). */
    private record ParsedOverride(String text, Policy policy) {}

    /**
     * Starts {@code threads} netisr threads for the stack instance {@code name}, with sysctl nodes in
     * {@code sysctl} under {@code net.isr}.
     */
    public Netisr(String name, int threads, Sysctl sysctl) {
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("netisr threads must be in [1, 256], not " + threads);
        }
        this.name = name;
        this.sysctl = sysctl;
        Workstream[] ws = new Workstream[threads];
        for (int i = 0; i < threads; i++) {
            ws[i] = new Workstream(i);
        }
        this.streams = List.of(ws);
        sysctl.addInt("net.isr.numthreads", "Number of netisr threads", threads, 1, 256, false);
        this.dispatchOverride = sysctl.addString("net.isr.dispatch",
                "Dispatch policy for all protocols: default (each protocol's own), direct, deferred or hybrid", "default", true,
                List.of("default", "direct", "deferred", "hybrid"));
    }

    /**
     * Registers protocol {@code id} ({@code netisr_register}).
     *
     * @param component the class whose {@link org.smpnet.kern.NeedsGiant} decides if the handler needs Giant
     */
    public Proto register(int id, String protoName, Handler handler, Policy policy, int qlimit, Class<?> component) {
        if (id <= 0 || id >= MAXPROT) {
            throw new IllegalArgumentException("netisr protocol number " + id + " out of range [1, " + (MAXPROT - 1) + "]");
        }
        if (qlimit < 1) {
            throw new IllegalArgumentException("netisr queue limit must be positive, not " + qlimit);
        }
        Proto p = new Proto(id, protoName, handler, policy, qlimit, component);
        if (!protos.compareAndSet(id, null, p)) {
            throw new IllegalStateException("netisr protocol " + id + " already registered as " + protos.get(id).name);
        }
        String base = "net.isr.proto." + protoName + ".";
        sysctl.addString(base + "policy", "Dispatch policy", policy.name().toLowerCase(Locale.ROOT), false);
        sysctl.addInt(base + "qlimit", "Queue limit per thread", qlimit, 1, Integer.MAX_VALUE, false);
        sysctl.addCounter(base + "dispatched", "Packets handed to netisr", p.dispatched);
        sysctl.addCounter(base + "hybrid_dispatched", "Packets dispatched directly under the hybrid policy", p.hybridDirect);
        sysctl.addCounter(base + "queued", "Packets queued to a netisr thread", p.queued);
        sysctl.addCounter(base + "handled", "Packets handled from the queues", p.handled);
        sysctl.addCounter(base + "qdrops", "Packets dropped because the queue was full", p.qdrops);
        sysctl.addCounter(base + "errors", "Handler failures (exceptions), direct or queued", p.errors);
        return p;
    }

    public Proto proto(int id) {
        return protos.get(id);
    }

    /**
     * Hands {@code m} to protocol {@code id} ({@code netisr_dispatch}). Consumes it. Packets of one flow
     * (the mbuf's flow id, or else its receiving interface) go to one thread, in order. An unregistered
     * protocol or a full queue drops the packet and counts it.
     */
    public void dispatch(int id, Mbuf m) {
        Proto p = id > 0 && id < MAXPROT ? protos.get(id) : null;
        if (p == null) {
            m.freem();
            throw new IllegalArgumentException("netisr protocol " + id + " is not registered");
        }
        p.dispatched.inc();
        switch (policy(p)) {
            case DIRECT -> runDirect(p, m);
            case HYBRID -> {
                Workstream ws = workstreamOf(m);
                if (Thread.currentThread() != ws.thread && ws.idleFor(p)) {
                    p.hybridDirect.inc();
                    runDirect(p, m);
                } else {
                    enqueue(ws, p, m);
                }
            }
            case DEFERRED -> enqueue(workstreamOf(m), p, m);
        }
    }

    /**
     * Hands a list of packets linked through {@code nextpkt}, oldest first, to protocol {@code id}: each
     * goes where {@link #dispatch} would send it, in list order, but the protocol, the policy and Giant are
     * looked up once per list and the counters updated once (a driver's batch, {@code netisr_dispatch} of an
     * {@code mbufq}). Consumes them all; a handler that throws for one packet is counted in {@code errors}
     * and the rest still go. An unregistered protocol frees the list and throws.
     */
    public void dispatchList(int id, Mbuf first) {
        Proto p = id > 0 && id < MAXPROT ? protos.get(id) : null;
        if (p == null) {
            Mbuf.freeList(first);
            throw new IllegalArgumentException("netisr protocol " + id + " is not registered");
        }
        Policy policy = policy(p);
        Thread self = Thread.currentThread();
        int n = 0;
        int direct = 0;
        Mbuf m = first;
        boolean giant = Giant.pickup(p.needsGiant);
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                n++;
                if (policy == Policy.DIRECT) {
                    handleDirect(p, cur);
                    continue;
                }
                Workstream ws = workstreamOf(cur);
                if (policy == Policy.HYBRID && self != ws.thread && ws.idleFor(p)) {
                    direct++;
                    handleDirect(p, cur);
                } else {
                    enqueue(ws, p, cur);
                }
            }
        } finally {
            Giant.drop(giant);
            p.dispatched.add(n);
            if (direct > 0) {
                p.hybridDirect.add(direct);
            }
            Mbuf.freeList(m); // only after an Error: the packets not reached
        }
    }

    /** A direct dispatch's handler call, Giant already settled by the caller; failures as in {@link #runDirect}. */
    private static void handleDirect(Proto p, Mbuf m) {
        try {
            p.handler.handle(m);
        } catch (RuntimeException e) {
            p.errors.inc();
        }
    }

    private Policy policy(Proto p) {
        String text = dispatchOverride.get();
        ParsedOverride o = parsedOverride;
        if (o.text() != text) {
            o = new ParsedOverride(text, switch (text) {
                case "direct" -> Policy.DIRECT;
                case "deferred" -> Policy.DEFERRED;
                case "hybrid" -> Policy.HYBRID;
                default -> null;
            });
            parsedOverride = o;
        }
        return o.policy() != null ? o.policy() : p.policy;
    }

    private static int flowKey(Mbuf m) {
        return m.hashType() != Mbuf.M_HASHTYPE_NONE ? m.flowid() : m.rcvifIndex();
    }

    private void enqueue(Workstream ws, Proto p, Mbuf m) {
        if (ws.enqueue(p, m)) {
            p.queued.inc();
        } else {
            p.qdrops.inc();
            m.freem();
        }
    }

    /**
     * Direct dispatch: a handler failure is the protocol's bug, not the driver's, so it is counted in
     * {@code errors} and does not reach the caller (an ithread or another stack's pipe), exactly as on the
     * netisr threads. The mbuf is not freed here: the handler owned it and may have freed or queued it.
     */
    private static void runDirect(Proto p, Mbuf m) {
        try {
            runHandler(p, m);
        } catch (RuntimeException e) {
            p.errors.inc();
        }
    }

    /** The workstream (thread) of the packet's flow; only queued and hybrid dispatch need one. */
    private Workstream workstreamOf(Mbuf m) {
        return streams.get(Math.floorMod(flowKey(m), streams.size()));
    }

    /** Direct dispatch: the caller (a driver's input, {@code if_input}) is in the net epoch already. */
    private static void runHandler(Proto p, Mbuf m) {
        boolean giant = Giant.pickup(p.needsGiant);
        try {
            p.handler.handle(m);
        } finally {
            Giant.drop(giant);
        }
    }

    /**
     * A netisr thread's call: handlers run in the net epoch, as {@code swi_net} enters it around its work.
     * Giant first, so no thread ever waits for Giant inside a section it opened itself.
     */
    private static void runHandlerInEpoch(Proto p, Mbuf m) {
        boolean giant = Giant.pickup(p.needsGiant);
        int et = Epoch.NET.enter();
        try {
            p.handler.handle(m);
        } finally {
            Epoch.NET.exit(et);
            Giant.drop(giant);
        }
    }

    /** Stops the threads; queued packets are handled first. May sleep. */
    public void close() {
        for (Workstream ws : streams) {
            ws.close();
        }
    }
}
