package org.smpnet.kern;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * WITNESS: run-time verification of lock order, after FreeBSD's {@code subr_witness.c}.
 *
 * <p>Every acquisition of a smpnet lock while other locks are held adds an edge "held class before
 * new class" to a graph keyed by {@link LockClass}; the graph starts from {@link #DECLARED_ORDER}
 * (chains of classes, a partial order like FreeBSD's {@code order_lists}) and
 * {@link #DECLARED_LEAVES} (classes under which nothing may be taken). Every class the stack uses
 * is declared (a test checks the sources and a run of all kinds of traffic). Giant is not ordered
 * against sleepable (sx) locks in either direction, as in FreeBSD, because a thread blocking on an
 * sx drops Giant first ({@link #giantExempt}).
 * An acquisition that would close a cycle is a <em>lock-order reversal</em>: it is reported once
 * per pair of classes, with the stack that established the order and the stack that reversed it,
 * and kept in {@link #reversals()}. Taking a sleepable lock or sleeping while a non-sleepable lock
 * is held is a {@link Violation}.
 *
 * <p>Enabled by the system property {@code smpnet.witness=1} or the sysctl
 * {@code debug.witness.enable}. When disabled, the cost on lock and unlock is one volatile read.
 *
 * <p>Threads: all methods are safe from any thread. Per-thread held-lock lists are touched only by
 * their own thread; the graph is read without locks and written under an internal lock that is not
 * itself a WITNESS lock.
 */
public final class Witness {
    private Witness() {}

    /**
     * The declared lock order (ARCHITECTURE.md "Locks and their order"), as FreeBSD's
     * {@code order_lists} in {@code subr_witness.c}: several chains, each outermost first. Together
     * they make a partial order, a DAG checked acyclic at class load: two classes are ordered when a
     * path of declared (or learned) edges joins them, and unordered until learned otherwise. A class
     * may appear in several chains ({@code sockbuf} is in the socket and the UNIX-domain chains).
     *
     * <p>Giant heads the chains of mutexes; its order against sleepable locks is not checked at all
     * (see {@link #giantExempt}). The classes under which nothing at all may be taken are in
     * {@link #DECLARED_LEAVES}, not here.
     */
    public static final List<List<String>> DECLARED_ORDER = List.of(
            // Sockets and the UDP/IP output path: sosend holds the I/O sx, then the PCB table, the PCB,
            // the buffer; ip_output takes the route, the address list, the ARP entry, BPF, the queue.
            List.of("Giant", "sbsx", "pcbinfo", "inp", "sockbuf", "rtentry", "ifaddr", "lle", "bpfd", "ifq"),
            // UNIX-domain sockets: the link lock between the I/O sx and the peer's buffer; buffer and
            // pipe wakeups post to kqueue knotes under their own lock.
            List.of("sbsx", "unp_link", "sockbuf", "kqueue"),
            List.of("Giant", "pipe", "kqueue"),
            // IPv4 multicast (IP_ADD_MEMBERSHIP, IGMP, purge on close): membership before the PCB
            // tables, the PCB and the interface.
            List.of("Giant", "in_multi", "pcbinfo"),
            List.of("in_multi", "ifnet"),
            // Address configuration (SIOCAIFADDR): the control sx before interface routes and addresses.
            List.of("Giant", "in_control", "rtentry"),
            // Interface configuration: vlan creation attaches interfaces and sets their flags.
            List.of("vlan_sx", "ifnet_sx"),
            List.of("Giant", "vlan_sx", "ifnet"),
            // BPF: the global lock (attach, detach, setif) before descriptors and the interface.
            List.of("Giant", "bpf_global", "bpfd"),
            List.of("bpf_global", "ifnet"),
            // Reassembly queues (ipq) are taken in ip_input, with nothing but leaves under them.
            List.of("Giant", "ipq"));

    /**
     * Leaf classes: any lock may be held when one of these is taken, and no other class may be
     * taken while one is held (they guard a table or a queue for a few instructions: callout wheels,
     * epoch records, UMA zones, select waiters, the sysctl tree, descriptor tables, netisr work
     * streams, task queues, the per-Vnet and control-server registries, interface cloners, the registry
     * of UNIX domains the collector walks). Taking any lock under a leaf is reported as a reversal.
     */
    public static final List<String> DECLARED_LEAVES = List.of(
            "callout", "epoch", "uma zone", "select", "sysctl", "filedesc", "netisr_ws", "taskqueue",
            "vnet", "vnetctl", "if_cloners", "ctlclient", "unp_registry");

    /** Every declared class: those of {@link #DECLARED_ORDER} and {@link #DECLARED_LEAVES}. */
    public static Set<String> declaredClasses() {
        return DECLARED;
    }

    /** A node of the order graph: one lock class name. */
    static final class Node {
        final String name;
        /** Classes known to be taken after this one. Written under {@link #GRAPH_LOCK}. */
        final Set<Node> after = ConcurrentHashMap.newKeySet();
        /** Declared in {@link #DECLARED_LEAVES}; set once while this class initialises. */
        volatile boolean leaf;
        /** The {@link #CLASS_STAMP} of the latest acquisition of a lock of this class. */
        volatile long seen;

        Node(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A lock-order reversal, reported once per pair of classes. */
    public record Reversal(String first, String second, String firstLockName, String secondLockName,
                           String thread, Instant when, String establishedStack, String reversingStack) {
        /** FreeBSD-style text: the two locks in the order learned, then both stacks. */
        public String report() {
            return "lock order reversal: " + first + " -> " + second + " established, now " + second
                    + " (" + secondLockName + ") held while acquiring " + first + " (" + firstLockName + ")"
                    + " in thread " + thread + "\n--- order established at:\n" + establishedStack
                    + "--- reversed at:\n" + reversingStack;
        }
    }

    /** Any other broken rule: sleeping or taking a sleepable lock while holding a non-sleepable one. */
    public record Violation(String kind, String message, String thread, Instant when, String stack) {
        public String report() {
            return kind + ": " + message + " in thread " + thread + "\n" + stack;
        }
    }

    /** The held locks of one thread, in acquisition order. Touched only by that thread. */
    private static final class Held {
        NamedLock[] locks = new NamedLock[8];
        int count;
        int generation;
    }

    private static final ConcurrentHashMap<String, Node> NODES = new ConcurrentHashMap<>();
    /** Where each learned edge was first seen, keyed "from\0to". Written under GRAPH_LOCK. */
    private static final ConcurrentHashMap<String, String> EDGE_STACKS = new ConcurrentHashMap<>();
    private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();
    private static final CopyOnWriteArrayList<Reversal> REVERSALS = new CopyOnWriteArrayList<>();
    private static final CopyOnWriteArrayList<Violation> VIOLATIONS = new CopyOnWriteArrayList<>();
    /** Serialises graph writers; a plain monitor so WITNESS does not watch itself. */
    private static final Object GRAPH_LOCK = new Object();
    private static final ThreadLocal<Held> HELD = ThreadLocal.withInitial(Held::new);
    private static final AtomicInteger GENERATION = new AtomicInteger();
    /** Advanced by {@link #markClasses}; acquisitions stamp their class with it. */
    private static final java.util.concurrent.atomic.AtomicLong CLASS_STAMP = new java.util.concurrent.atomic.AtomicLong(1);

    /** Read on every lock and unlock: the only cost of WITNESS when it is off. */
    static volatile boolean enabled = Tunables.bool("smpnet.witness", false);
    private static volatile boolean printReports = Tunables.bool("smpnet.witness.print", true);

    private static final Set<String> DECLARED;

    static {
        Set<String> all = new java.util.LinkedHashSet<>();
        for (List<String> chain : DECLARED_ORDER) {
            all.addAll(chain);
            for (int i = 0; i + 1 < chain.size(); i++) {
                declare(node(chain.get(i)), node(chain.get(i + 1)));
            }
        }
        for (String leaf : DECLARED_LEAVES) {
            if (all.contains(leaf)) {
                throw new ExceptionInInitializerError("lock class " + leaf + " is declared both in a chain and a leaf");
            }
            node(leaf).leaf = true;
        }
        all.addAll(DECLARED_LEAVES);
        DECLARED = java.util.Collections.unmodifiableSet(all);
    }

    /** Adds a declared edge; a cycle among the declarations is a build error, not a report. */
    private static void declare(Node from, Node to) {
        if (from == to || path(to, from) != null) {
            throw new ExceptionInInitializerError("Witness.DECLARED_ORDER has a cycle through " + from + " -> " + to);
        }
        from.after.add(to);
        EDGE_STACKS.put(key(from, to), "\t(declared order in Witness.DECLARED_ORDER)\n");
    }

    static Node node(String className) {
        return NODES.computeIfAbsent(className, Node::new);
    }

    public static boolean isEnabled() {
        return enabled;
    }

    /**
     * Turns WITNESS on or off. Locks held across the switch are forgotten, so turning it on while
     * holding locks misses only their order.
     */
    public static void setEnabled(boolean on) {
        GENERATION.incrementAndGet();
        enabled = on;
    }

    /** Whether reports are also printed to standard error as they happen. */
    public static void setPrintReports(boolean on) {
        printReports = on;
    }

    public static List<Reversal> reversals() {
        return List.copyOf(REVERSALS);
    }

    public static List<Violation> violations() {
        return List.copyOf(VIOLATIONS);
    }

    /**
     * Forgets the listed reports (not the learned order), so a test that provokes a reversal on
     * purpose can clean up after reading it. Pairs already reported stay quiet.
     */
    public static void forget(List<?> reports) {
        REVERSALS.removeAll(reports);
        VIOLATIONS.removeAll(reports);
    }

    /**
     * Starts a window for {@link #classesAcquiredSince}: returns a mark. Acquisitions by any thread
     * after this call (while WITNESS is on) are seen in the window.
     */
    public static long markClasses() {
        return CLASS_STAMP.incrementAndGet();
    }

    /** The classes of the locks acquired (by any thread, WITNESS on) since {@code mark}, sorted. */
    public static List<String> classesAcquiredSince(long mark) {
        List<String> out = new ArrayList<>();
        for (Node n : NODES.values()) {
            if (n.seen >= mark) {
                out.add(n.name);
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** The learned order as lines "A -> B", sorted. */
    public static List<String> order() {
        List<String> out = new ArrayList<>();
        for (Node n : NODES.values()) {
            for (Node m : n.after) {
                out.add(n.name + " -> " + m.name);
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** The locks the current thread holds (as WITNESS saw them), outermost first. */
    public static List<String> heldByCurrentThread() {
        Held h = held();
        List<String> out = new ArrayList<>(h.count);
        for (int i = 0; i < h.count; i++) {
            out.add(h.locks[i].name() + " (" + h.locks[i].lockClass().name() + ")");
        }
        return out;
    }

    private static Held held() {
        Held h = HELD.get();
        int gen = GENERATION.get();
        if (h.generation != gen) {
            java.util.Arrays.fill(h.locks, 0, h.count, null);
            h.count = 0;
            h.generation = gen;
        }
        return h;
    }

    /**
     * Called before blocking on {@code lock}: checks the order against every held lock, and that a
     * sleepable lock is not taken under a non-sleepable one. Reports go to the lists; nothing throws.
     */
    static void checkOrder(NamedLock lock) {
        Held h = held();
        if (h.count == 0) {
            return;
        }
        LockClass cls = lock.lockClass();
        Node to = cls.node;
        for (int i = 0; i < h.count; i++) {
            NamedLock prior = h.locks[i];
            if (prior == lock) {
                continue; // recursion, checked by the lock itself
            }
            Node from = prior.lockClass().node;
            if (from == to || from.after.contains(to) || giantExempt(prior.lockClass(), cls)) {
                continue;
            }
            if (from.leaf) {
                leafReversal(from, to, prior, lock);
                continue;
            }
            learn(from, to, prior, lock);
        }
        if (cls.kind().sleepable() && cls.kind() != LockKind.GIANT) {
            NamedLock nonSleepable = firstNonSleepable(h, null);
            if (nonSleepable != null) {
                violation("sleepable lock after non-sleepable", "acquiring sleepable " + describe(lock)
                        + " with non-sleepable " + describe(nonSleepable) + " held");
            }
        }
    }

    /** Records {@code lock} as held by the current thread (after it was acquired). */
    static void acquired(NamedLock lock) {
        Node n = lock.lockClass().node;
        long stamp = CLASS_STAMP.get();
        if (n.seen != stamp) {
            n.seen = stamp;
        }
        Held h = held();
        if (h.count == h.locks.length) {
            h.locks = java.util.Arrays.copyOf(h.locks, h.count * 2);
        }
        h.locks[h.count++] = lock;
    }

    /** Forgets {@code lock} for the current thread (before it is released). Any order of release is fine. */
    static void released(NamedLock lock) {
        Held h = held();
        for (int i = h.count - 1; i >= 0; i--) {
            if (h.locks[i] == lock) {
                System.arraycopy(h.locks, i + 1, h.locks, i, h.count - i - 1);
                h.locks[--h.count] = null;
                return;
            }
        }
    }

    /**
     * Called where a thread may block or sleep ({@code msleep}, condition waits, drains): reports
     * a violation if it holds a non-sleepable lock other than {@code interlock} (which the sleep
     * releases) and Giant.
     */
    public static void checkSleep(String what, NamedLock interlock) {
        if (!enabled) {
            return;
        }
        NamedLock nonSleepable = firstNonSleepable(held(), interlock);
        if (nonSleepable != null) {
            violation("sleeping with non-sleepable lock held",
                    what + " with non-sleepable " + describe(nonSleepable) + " held");
        }
    }

    /** Fails unless the current thread holds no smpnet lock at all (as at the top of a syscall). */
    public static void assertUnowned() {
        if (!enabled) {
            return;
        }
        Held h = held();
        if (h.count != 0) {
            throw new LockAssertionError("locks held where none may be: " + heldByCurrentThread());
        }
    }

    private static NamedLock firstNonSleepable(Held h, NamedLock except) {
        for (int i = 0; i < h.count; i++) {
            NamedLock l = h.locks[i];
            if (l != except && !l.lockClass().kind().sleepable()) {
                return l;
            }
        }
        return null;
    }

    /**
     * Whether the pair is exempt from order checks: Giant and a sleepable lock, either way round
     * (FreeBSD's {@code witness_checkorder} skips both). Giant may follow an sx because no thread
     * ever waits for a sleepable lock while holding Giant: {@link SharedExclusiveLock} releases
     * every hold of Giant before it blocks on an sx and takes Giant back once it has the sx
     * (FreeBSD's {@code GIANT_SAVE}/{@code GIANT_RESTORE} in {@code _sx_xlock_hard}, like
     * {@code DROP_GIANT}/{@code PICKUP_GIANT} around sleeps). A wait-for cycle needs a thread that
     * waits for the sx while holding Giant, so Giant and an sx cannot deadlock whatever their order.
     * Giant against a mutex or rwlock is checked as usual: Giant comes first.
     */
    static boolean giantExempt(LockClass held, LockClass acquiring) {
        return held.kind() == LockKind.GIANT ? acquiring.kind() == LockKind.SX
                : acquiring.kind() == LockKind.GIANT && held.kind() == LockKind.SX;
    }

    /** Any lock taken while a leaf class is held: reported once per pair, like a reversal. */
    private static void leafReversal(Node leaf, Node to, NamedLock prior, NamedLock lock) {
        String pair = leaf.name.compareTo(to.name) < 0 ? leaf.name + "\0" + to.name : to.name + "\0" + leaf.name;
        if (!REPORTED.add(pair)) {
            return;
        }
        Reversal r = new Reversal(to.name, leaf.name, lock.name(), prior.name(), Thread.currentThread().getName(),
                Instant.now(), "\t(" + leaf.name + " is declared a leaf in Witness.DECLARED_LEAVES: every class"
                + " comes before it)\n", stack());
        REVERSALS.add(r);
        if (printReports) {
            System.err.println("WITNESS: lock order reversal: leaf " + leaf.name + " (" + prior.name()
                    + ") held while acquiring " + to.name + " (" + lock.name() + ")");
        }
    }

    private static void learn(Node from, Node to, NamedLock prior, NamedLock lock) {
        synchronized (GRAPH_LOCK) {
            if (from.after.contains(to)) {
                return;
            }
            List<Node> path = path(to, from);
            if (path == null) {
                EDGE_STACKS.put(key(from, to), stack());
                from.after.add(to);
                return;
            }
            String pair = from.name.compareTo(to.name) < 0 ? from.name + "\0" + to.name : to.name + "\0" + from.name;
            if (!REPORTED.add(pair)) {
                return;
            }
            StringBuilder established = new StringBuilder();
            for (int i = 0; i + 1 < path.size(); i++) {
                established.append("  edge ").append(path.get(i)).append(" -> ").append(path.get(i + 1)).append(":\n")
                        .append(EDGE_STACKS.getOrDefault(key(path.get(i), path.get(i + 1)), "\t(unknown)\n"));
            }
            Reversal r = new Reversal(to.name, from.name, lock.name(), prior.name(),
                    Thread.currentThread().getName(), Instant.now(), established.toString(), stack());
            REVERSALS.add(r);
            if (printReports) {
                System.err.println("WITNESS: lock order reversal: 1st " + to.name + " (" + lock.name() + ") 2nd "
                        + from.name + " (" + prior.name() + "): " + from.name + " held while acquiring " + to.name);
            }
        }
    }

    /** A path of edges from {@code start} to {@code goal}, or null. Caller holds GRAPH_LOCK. */
    private static List<Node> path(Node start, Node goal) {
        Map<Node, Node> parent = new java.util.HashMap<>();
        Deque<Node> queue = new ArrayDeque<>();
        Set<Node> seen = new HashSet<>();
        queue.add(start);
        seen.add(start);
        while (!queue.isEmpty()) {
            Node n = queue.poll();
            if (n == goal) {
                List<Node> path = new ArrayList<>();
                for (Node p = goal; p != null; p = parent.get(p)) {
                    path.addFirst(p);
                }
                return path;
            }
            for (Node m : n.after) {
                if (seen.add(m)) {
                    parent.put(m, n);
                    queue.add(m);
                }
            }
        }
        return null;
    }

    private static void violation(String kind, String message) {
        if (!REPORTED.add(kind + "\0" + message)) {
            return;
        }
        VIOLATIONS.add(new Violation(kind, message, Thread.currentThread().getName(), Instant.now(), stack()));
        if (printReports) {
            System.err.println("WITNESS: " + kind + ": " + message);
        }
    }

    private static String describe(NamedLock l) {
        return "\"" + l.name() + "\" (" + l.lockClass().name() + ")";
    }

    private static String key(Node from, Node to) {
        return from.name + "\0" + to.name;
    }

    private static String stack() {
        StringWriter sw = new StringWriter();
        StackTraceElement[] frames = new Throwable().getStackTrace();
        try (PrintWriter pw = new PrintWriter(sw)) {
            for (StackTraceElement f : frames) {
                String cls = f.getClassName();
                if (cls.equals(Witness.class.getName()) || cls.startsWith(Witness.class.getName() + "$")) {
                    continue;
                }
                pw.println("\tat " + f);
            }
        }
        return sw.toString();
    }
}
