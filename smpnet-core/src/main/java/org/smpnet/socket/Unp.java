package org.smpnet.socket;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.File;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.Task;
import org.smpnet.kern.Taskqueue;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Sockaddr;

import static org.smpnet.socket.SocketConst.PR_ADDR;
import static org.smpnet.socket.SocketConst.PR_ATOMIC;
import static org.smpnet.socket.SocketConst.PR_CONNREQUIRED;
import static org.smpnet.socket.SocketConst.PR_RIGHTS;
import static org.smpnet.socket.SocketConst.PR_WANTRCVD;
import static org.smpnet.socket.SocketConst.SOCK_DGRAM;
import static org.smpnet.socket.SocketConst.SOCK_SEQPACKET;
import static org.smpnet.socket.SocketConst.SOCK_STREAM;

/**
 * UNIX-domain sockets of one Vnet ({@code uipc_usrreq.c}): stream, datagram and seqpacket protocols,
 * the name space of bound paths (a map, no host file system), connections and socketpairs, and
 * SCM_RIGHTS / SCM_CREDS passing.
 *
 * <p>Data path. Datagrams go straight into the receiver's {@code so_rcv} ({@code ENOBUFS} when it is
 * full, as BSD). Stream and seqpacket data is first queued in the sender's {@code so_snd}, whose space
 * gives the sender its flow control, blocking and EVFILT_WRITE state with no mirrored counters; the
 * pump ({@link #pump}) then moves what fits into the peer's {@code so_rcv}, at send time and again
 * when the reader takes data ({@code pru_rcvd}). At disconnect whatever is still queued is moved
 * regardless of space, so nothing sent before a close is lost.
 *
 * <p>Locking key: {@link #link} ("unp_link", class "unp_link", FreeBSD's {@code UNP_LINK} lock) guards
 * the name space, {@link #flown}, and every {@link UnpCb}'s {@code addr}, {@code conn}, {@code refs},
 * {@code peercred}, {@code file}, the garbage collector's {@code gcDead}/{@code gcRefs}, and the
 * changes of {@code msgcount} (an atomic, so it can be read without the lock as a hint).
 * Order: sbsx → unp_link → sockbuf; socket-buffer mutexes are taken one at a time under it. Never
 * sleeps while holding it. Only the collector holds several Vnets' {@code unp_link}s, taking them in
 * Vnet creation order. The collector's task queue lock ("unp_gc", class "taskqueue") and the registry
 * of Vnets' UNIX domains ("unp_registry", taken with no other lock) are leaves.
 *
 * <p>Garbage collection ({@code unp_gc}). A UNIX socket whose file is held only by SCM_RIGHTS messages
 * queued in the buffers of other such sockets (or its own) is unreachable once no descriptor names it:
 * a descriptor cycle. The collector runs in the task queue "unp_gc" when a descriptor of a socket in
 * flight is closed and only messages still hold it ({@link File#openDropped}), and when a UNIX socket
 * is detached while sockets of this Vnet are in flight. Under {@code unp_link} it takes as candidates
 * the sockets whose open references ({@link File#openCount}) all are messages ({@code msgcount}),
 * subtracts the references found in messages on their way to candidates (in a candidate's receive
 * buffer or its stream peer's send queue), then restores, transitively, the
 * candidates still referenced from elsewhere (by descriptors, by live sockets' buffers, or by messages
 * in transit in a thread, which it cannot see and so conservatively counts as live). What is left is
 * garbage: after dropping the lock it flushes the buffers on their way to those sockets and disposes
 * the rights, which closes them (without lingering: the collector marks them non-blocking first). Every change of {@code msgcount} takes {@code unp_link}, so no candidate can gain a
 * descriptor while the lock is held. Scope: every Vnet at once, as FreeBSD's collector is global: a
 * socket passed into another Vnet's socket (a process with descriptors in both) can close a cycle through
 * several Vnets. A run takes the {@code unp_link} of every Vnet that has UNIX sockets, in the order the
 * Vnets were made (no other thread holds two of them), so none of their candidates can gain a descriptor
 * while it marks.
 */
final class Unp {
    private final Domains domains;
    final Mtx link = new Mtx("unp_link", "unp_link");
    @GuardedBy("link") private final Map<String, UnpCb> names = new HashMap<>();
    /** Control of data discarded under the link lock, disposed after it is released ({@link #disposeDeferred}). */
    @GuardedBy("link") private List<Cmsg> deferred = new ArrayList<>();
    private final Domain domain;
    /** Files sent in SCM_RIGHTS messages in this Vnet (a running total). */
    final Counter rightsSent = new Counter();
    /** Files in flight in SCM_RIGHTS messages sent in this Vnet ({@code net.local.inflight}). */
    final Counter inflight = new Counter();
    /** Control messages whose disposal waited for {@code unp_link} to be released ({@code net.local.deferred}). */
    final Counter deferredDisposals = new Counter();
    /** Collector runs ({@code net.local.taskcount}) and sockets it reclaimed ({@code net.local.recycled}). */
    final Counter gcRuns = new Counter();
    final Counter gcRecycled = new Counter();
    /** Sum of every UNIX socket's {@code msgcount}, all Vnets: messages in flight holding a UNIX socket. */
    private static final AtomicLong sockMsgRefs = new AtomicLong();
    /** Sockets of this Vnet that have been in flight and are not detached: the collector's candidates. */
    @GuardedBy("link") private final Set<UnpCb> flown = Collections.newSetFromMap(new IdentityHashMap<>());
    /** The order in which a collection takes the Vnets' {@code unp_link}s: the order they were made. */
    private final long seq;

    /** The collector: one task for all Vnets in its own queue (FreeBSD uses {@code taskqueue_thread}); started on first use. */
    private static final class GcQueue {
        static final Taskqueue TQ = new Taskqueue("unp_gc", 1);
        static final Task TASK = new Task("unp_gc", Unp.class, pending -> gc());
    }

    /**
     * Every Vnet's UNIX domain that may still have sockets, for the collector. Weak: a closed Vnet's domain
     * stays while any of its sockets does (each holds it), and goes with the last.
     */
    private static final Mtx REGISTRY_LOCK = new Mtx("unp_registry", "unp_registry");
    @GuardedBy("REGISTRY_LOCK") private static final Set<Unp> REGISTRY = Collections.newSetFromMap(new WeakHashMap<>());
    @GuardedBy("REGISTRY_LOCK") private static long nextSeq;

    Unp(Domains domains) {
        this.domains = domains;
        REGISTRY_LOCK.lock();
        try {
            this.seq = nextSeq++;
            REGISTRY.add(this);
        } finally {
            REGISTRY_LOCK.unlock();
        }
        this.domain = new Domain(Sockaddr.AF_UNIX, "local");
        domain.add(new Proto(SOCK_STREAM, PR_CONNREQUIRED | PR_WANTRCVD | PR_RIGHTS, "unix stream"));
        domain.add(new Proto(SOCK_DGRAM, PR_ATOMIC | PR_ADDR | PR_RIGHTS, "unix dgram"));
        domain.add(new Proto(SOCK_SEQPACKET, PR_ATOMIC | PR_ADDR | PR_CONNREQUIRED | PR_WANTRCVD | PR_RIGHTS,
                "unix seqpacket"));
    }

    Domain domain() {
        return domain;
    }

    /**
     * Disposes control discarded while the link lock was held; called right after releasing it, since
     * closing a passed socket re-enters this protocol, which takes the link lock again.
     */
    private void disposeDeferred() {
        List<Cmsg> z;
        link.lock();
        try {
            if (deferred.isEmpty()) {
                return;
            }
            z = deferred;
            deferred = new ArrayList<>();
        } finally {
            link.unlock();
        }
        deferredDisposals.add(z.size());
        Cmsg.disposeAll(z);
    }

    /** The protocol control block of a UNIX socket ({@code struct unpcb}); fields guarded by {@link Unp#link}. */
    static final class UnpCb {
        final Socket so;
        final Unp unp;
        Sockaddr.Un addr;
        UnpCb conn;
        /** Datagram sockets connected to this one. */
        final List<UnpCb> refs = new ArrayList<>();
        Ucred peercred;
        boolean detached;
        /** SCM_RIGHTS messages holding this socket's file ({@code f_msgcount}); changed under {@code unp.link}. */
        final AtomicInteger msgcount = new AtomicInteger();
        /** This socket's file, known once it went in flight ({@code unp_file}). */
        File file;
        /** Collector state of one run: still a candidate, and its references not yet accounted for. */
        boolean gcDead;
        int gcRefs;

        UnpCb(Socket so, Unp unp) {
            this.so = so;
            this.unp = unp;
        }
    }

    /** The control block of {@code f} when it is a UNIX socket's file, else null. */
    static UnpCb cbOf(File f) {
        return f instanceof SocketFile sf && sf.socket().pcb() instanceof UnpCb u ? u : null;
    }

    /**
     * Counts {@code d} (+1 or -1) SCM_RIGHTS messages holding each of {@code files} that is a UNIX
     * socket ({@code unp_internalize_fp}/{@code unp_externalize_fp}'s {@code f_msgcount}), each under
     * its own Vnet's {@code unp_link}. Caller holds no socket lock. Never sleeps.
     */
    static void msgref(List<File> files, int d) {
        for (File f : files) {
            UnpCb u = cbOf(f);
            if (u != null) {
                u.unp.msgref(u, f, d);
            }
        }
    }

    private void msgref(UnpCb u, File f, int d) {
        link.lock();
        try {
            u.msgcount.addAndGet(d);
            sockMsgRefs.addAndGet(d);
            if (d > 0 && !u.detached) {
                u.file = f;
                flown.add(u);
            }
        } finally {
            link.unlock();
        }
    }

    /** A descriptor of {@code u}'s file went and {@code opensLeft} open references remain: collect if all are messages. */
    void gcIfOnlyInFlight(UnpCb u, int opensLeft) {
        if (opensLeft > 0 && u.msgcount.get() == opensLeft) {
            gcSchedule();
        }
    }

    private static void gcSchedule() {
        GcQueue.TQ.enqueue(GcQueue.TASK);
    }

    /** Waits until no collection is queued or running. May sleep; hold no lock. */
    void gcDrain() {
        GcQueue.TQ.drain(GcQueue.TASK);
    }

    void registerSysctl(Sysctl sysctl) {
        sysctl.addProc("net.local.inflight", "File descriptors in flight in SCM_RIGHTS messages", inflight::get);
        sysctl.addCounter("net.local.deferred", "In-flight control disposed after unp_link was released", deferredDisposals);
        sysctl.addCounter("net.local.taskcount", "Runs of the garbage collector", gcRuns);
        sysctl.addCounter("net.local.recycled", "Unreachable sockets reclaimed by the garbage collector", gcRecycled);
        sysctl.addProc("net.local.gc_tracked", "Open UNIX sockets that have been in flight (the collector's candidates)", this::sockCount);
    }

    private int sockCount() {
        link.lock();
        try {
            return flown.size();
        } finally {
            link.unlock();
        }
    }

    /** The Vnets' UNIX domains, in the order a collection locks them. */
    private static List<Unp> registered() {
        REGISTRY_LOCK.lock();
        try {
            List<Unp> all = new ArrayList<>(REGISTRY);
            all.sort(Comparator.comparingLong(u -> u.seq));
            return all;
        } finally {
            REGISTRY_LOCK.unlock();
        }
    }

    /**
     * One collection ({@code unp_gc}) over every Vnet: mark with all their {@code unp_link}s held, then
     * sweep without them. Runs in the "unp_gc" queue.
     */
    @SuppressWarnings("GuardedBy") // every unp.link is held across the mark (taken in the loop above it)
    private static void gc() {
        List<Unp> all = registered();
        List<UnpCb> dead;
        List<File> held = new ArrayList<>();
        List<Sockbuf> toFlush = new ArrayList<>();
        int locked = 0;
        try {
            for (Unp unp : all) {
                unp.link.lock();
                locked++;
                unp.gcRuns.inc();
            }
            dead = markLocked(all);
            for (UnpCb u : dead) {
                held.add(u.file.hold()); // keeps the file object until the sweep is done (fhold)
                toFlush.addAll(u.unp.inbound(u));
            }
        } finally {
            for (int i = locked - 1; i >= 0; i--) {
                all.get(i).link.unlock();
            }
        }
        if (dead.isEmpty()) {
            return;
        }
        for (UnpCb u : dead) {
            u.unp.gcRecycled.inc();
            u.so.socantrcvmore(); // nothing more reaches it: a pump now drops what was on its way
            u.so.setNbio(true); // its close, run by the disposal below, must not linger in this thread
        }
        List<Cmsg> z = new ArrayList<>();
        for (Sockbuf sb : toFlush) {
            z.addAll(flush(sb));
        }
        Cmsg.disposeAll(z); // closes the garbage sockets: their last open references were in these messages
        held.forEach(File::drop);
    }

    /**
     * The buffers holding messages on their way to {@code u}: its receive buffer and, for a connected
     * stream or seqpacket socket, its peer's send queue, which the pump moves into it (FreeBSD has
     * only the receive buffer; here stream data waits in the sender's {@code so_snd}).
     */
    @GuardedBy("link")
    private List<Sockbuf> inbound(UnpCb u) {
        if (u.so.type() != SOCK_DGRAM && u.conn != null) {
            return List.of(u.so.rcv, u.conn.so.snd);
        }
        return List.of(u.so.rcv);
    }

    private static List<Cmsg> flush(Sockbuf sb) {
        sb.mtx.lock();
        try {
            sb.sbflush();
            return sb.sbtakeZombies();
        } finally {
            sb.mtx.unlock();
        }
    }

    /** The mark phase over every Vnet in {@code all}, whose links the caller holds; returns the unreachable sockets. */
    @SuppressWarnings("GuardedBy") // the caller holds every unp.link of all
    private static List<UnpCb> markLocked(List<Unp> all) {
        List<UnpCb> cand = new ArrayList<>();
        for (Unp unp : all) {
            for (UnpCb u : unp.flown) {
                u.gcDead = false;
                int mc = u.msgcount.get();
                if (u.file != null && mc > 0 && u.file.openCount() == mc) {
                    u.gcDead = true;
                    u.gcRefs = mc;
                    cand.add(u);
                }
            }
        }
        for (UnpCb u : cand) {
            scanLocked(u, -1); // unp_remove_dead_ref
        }
        boolean marked;
        do {
            marked = false;
            for (UnpCb u : cand) {
                if (u.gcDead && u.gcRefs > 0) {
                    u.gcDead = false; // reachable from outside the candidates: so is all it holds
                    marked = true;
                    scanLocked(u, 1); // unp_restore_undead_ref
                }
            }
        } while (marked);
        List<UnpCb> dead = new ArrayList<>();
        for (UnpCb u : cand) {
            if (u.gcDead) {
                u.gcDead = false;
                dead.add(u);
            }
        }
        return dead;
    }

    /**
     * Adds {@code d} to the {@code gcRefs} of every candidate (of any Vnet) named by rights on their way to
     * {@code u} ({@link #inbound}). The caller holds every Vnet's link.
     */
    @SuppressWarnings("GuardedBy") // the caller holds every unp.link
    private static void scanLocked(UnpCb u, int d) {
        for (Sockbuf sb : u.unp.inbound(u)) {
            sb.mtx.lock();
            try {
                scanBuffer(sb, d);
            } finally {
                sb.mtx.unlock();
            }
        }
    }

    @SuppressWarnings("GuardedBy") // sb.mtx and every unp.link are held by the caller: Error Prone cannot follow them
    private static void scanBuffer(Sockbuf sb, int d) {
        for (Sockbuf.Record r = sb.first(); r != null; r = r.next) {
            if (r.control == null) {
                continue;
            }
            for (Cmsg c : r.control) {
                if (c instanceof Cmsg.Rights rights) {
                    for (File f : rights.files()) {
                        UnpCb t = cbOf(f);
                        if (t != null && t.gcDead) {
                            t.gcRefs += d;
                        }
                    }
                }
            }
        }
    }

    static UnpCb cb(Socket so) throws ErrnoException {
        Object p = so.pcb();
        if (p instanceof UnpCb u) {
            return u;
        }
        throw new ErrnoException(Errno.EINVAL, "socket has no UNIX-domain control block");
    }

    private static final Sockaddr.Un NONAME = new Sockaddr.Un("");

    /** One UNIX-domain protocol; the behaviour differs by type. */
    final class Proto implements Protosw {
        private final int type;
        private final int flags;
        private final String name;

        Proto(int type, int flags, String name) {
            this.type = type;
            this.flags = flags;
            this.name = name;
        }

        @Override
        public int type() {
            return type;
        }

        @Override
        public int protocol() {
            return 0;
        }

        @Override
        public int flags() {
            return flags;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void pru_attach(Socket so, int proto) throws ErrnoException {
            if (proto != 0) {
                throw new ErrnoException(Errno.EPROTONOSUPPORT, "UNIX-domain protocol " + proto);
            }
            if (type == SOCK_DGRAM) {
                so.soreserve(8192, 16384);
            } else {
                so.soreserve(8192, 8192);
            }
            so.setPcb(new UnpCb(so, Unp.this));
        }

        @Override
        public void pru_detach(Socket so) {
            UnpCb u = (UnpCb) so.pcb();
            if (u == null) {
                return;
            }
            List<Socket> toDisconnect = new ArrayList<>();
            boolean gc;
            link.lock();
            try {
                if (u.detached) {
                    return;
                }
                u.detached = true;
                flown.remove(u);
                gc = sockMsgRefs.get() > 0;
                if (u.addr != null && names.get(u.addr.path()) == u) {
                    names.remove(u.addr.path());
                }
                disconnectLocked(u, toDisconnect);
                for (UnpCb r : u.refs) {
                    r.conn = null;
                    toDisconnect.add(r.so);
                }
                u.refs.clear();
            } finally {
                link.unlock();
                disposeDeferred();
            }
            if (gc) {
                gcSchedule(); // FreeBSD uipc_detach: a socket went while others are in flight
            }
            for (Socket s : toDisconnect) {
                if (s.type() == SOCK_DGRAM) {
                    s.clearConnected();
                } else {
                    s.soisdisconnected();
                }
            }
        }

        @Override
        public void pru_bind(Socket so, Sockaddr nam) throws ErrnoException {
            Sockaddr.Un sun = unAddr(nam);
            if (sun.path().isEmpty()) {
                throw new ErrnoException(Errno.EINVAL, "empty UNIX-domain path");
            }
            UnpCb u = cb(so);
            link.lock();
            try {
                if (u.addr != null) {
                    throw new ErrnoException(Errno.EINVAL, "already bound to " + u.addr);
                }
                if (names.containsKey(sun.path())) {
                    throw new ErrnoException(Errno.EADDRINUSE, sun.path());
                }
                names.put(sun.path(), u);
                u.addr = sun;
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }

        @Override
        public void pru_listen(Socket so, int backlog) throws ErrnoException {
            if (type == SOCK_DGRAM) {
                throw new ErrnoException(Errno.EOPNOTSUPP, "listen on a datagram socket");
            }
            UnpCb u = cb(so);
            link.lock();
            try {
                if (u.addr == null) {
                    throw new ErrnoException(Errno.EINVAL, "listen on an unbound UNIX socket");
                }
                u.peercred = so.cred();
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }

        @Override
        public void pru_connect(Socket so, Sockaddr nam) throws ErrnoException {
            Sockaddr.Un sun = unAddr(nam);
            UnpCb u = cb(so);
            Socket accepted = null;
            link.lock();
            try {
                UnpCb target = names.get(sun.path());
                if (target == null) {
                    throw new ErrnoException(Errno.ENOENT, sun.path());
                }
                if (target.so.type() != type) {
                    throw new ErrnoException(Errno.EPROTOTYPE, sun.path() + " is a " + target.so.proto.name());
                }
                if (u.conn != null) {
                    throw new ErrnoException(Errno.EISCONN, "already connected");
                }
                if (type == SOCK_DGRAM) {
                    u.conn = target;
                    target.refs.add(u);
                } else {
                    Socket nso = target.so.sonewconn(false);
                    if (nso == null) {
                        throw new ErrnoException(Errno.ECONNREFUSED, sun.path());
                    }
                    UnpCb nu = (UnpCb) nso.pcb();
                    nu.addr = target.addr;
                    nu.peercred = so.cred();
                    u.peercred = target.peercred;
                    u.conn = nu;
                    nu.conn = u;
                    accepted = nso;
                }
            } finally {
                link.unlock();
                disposeDeferred();
            }
            if (accepted != null) {
                accepted.soisconnected();
            }
            so.soisconnected();
        }

        @Override
        public void pru_connect2(Socket so1, Socket so2) throws ErrnoException {
            UnpCb u1 = cb(so1);
            UnpCb u2 = cb(so2);
            link.lock();
            try {
                if (u1.conn != null || u2.conn != null) {
                    throw new ErrnoException(Errno.EISCONN, "socketpair end already connected");
                }
                u1.conn = u2;
                u2.conn = u1;
                if (type == SOCK_DGRAM) {
                    u1.refs.add(u2);
                    u2.refs.add(u1);
                }
                u1.peercred = so2.cred();
                u2.peercred = so1.cred();
            } finally {
                link.unlock();
                disposeDeferred();
            }
            so1.soisconnected();
            so2.soisconnected();
        }

        /**
         * Disconnects. A stream or seqpacket socket closed with SO_LINGER time 0 ({@link Socket#lingerAbort})
         * aborts: its unsent data (still in its send queue) is dropped and counted, and the peer gets
         * ECONNRESET once it has read what was already delivered to it.
         */
        @Override
        public void pru_disconnect(Socket so) throws ErrnoException {
            UnpCb u = cb(so);
            boolean abort = type != SOCK_DGRAM && so.lingerAbort();
            List<Socket> gone = new ArrayList<>();
            Socket reset = null;
            link.lock();
            try {
                if (abort && u.conn != null) {
                    reset = u.conn.so;
                    so.snd.mtx.lock();
                    try {
                        so.snd.sbflush();
                        deferred.addAll(so.snd.sbtakeZombies());
                    } finally {
                        so.snd.mtx.unlock();
                    }
                }
                disconnectLocked(u, gone);
            } finally {
                link.unlock();
                disposeDeferred();
            }
            if (reset != null) {
                reset.setError(Errno.ECONNRESET); // before the EOF below, so a waiting reader sees the reset
            }
            for (Socket s : gone) {
                if (s.type() == SOCK_DGRAM) {
                    s.clearConnected();
                } else {
                    s.soisdisconnected();
                }
            }
        }

        @Override
        public void pru_abort(Socket so) {
            try {
                pru_disconnect(so);
            } catch (ErrnoException noPcb) {
                // never attached: nothing to abort
            }
        }

        @Override
        public void pru_shutdown(Socket so) throws ErrnoException {
            if (type == SOCK_DGRAM) {
                return;
            }
            UnpCb u = cb(so);
            link.lock();
            try {
                pump(u, false);
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }

        /** Moves more of the peer's queued data in and wakes the peer if it lingers in close. */
        @Override
        public void pru_rcvd(Socket so, int flags) throws ErrnoException {
            UnpCb u = cb(so);
            Socket sender = null;
            link.lock();
            try {
                if (u.conn != null) {
                    pump(u.conn, false);
                    sender = u.conn.so;
                }
            } finally {
                link.unlock();
                disposeDeferred();
            }
            if (sender != null) {
                sender.solingerwakeup();
            }
        }

        /**
         * Stream and seqpacket: bytes (data and control) still in this socket's send queue plus those
         * unread in the peer's receive buffer, which holds only this socket's data.
         */
        @Override
        @SuppressWarnings("GuardedBy") // each buffer's mutex is held around its reads
        public int pru_unread(Socket so) {
            if (type == SOCK_DGRAM || !(so.pcb() instanceof UnpCb u)) {
                return 0;
            }
            link.lock();
            try {
                long n = 0;
                so.snd.mtx.lock();
                try {
                    n += so.snd.cc() + so.snd.ctl();
                } finally {
                    so.snd.mtx.unlock();
                }
                if (u.conn != null) {
                    Sockbuf prcv = u.conn.so.rcv;
                    prcv.mtx.lock();
                    try {
                        n += prcv.cc() + prcv.ctl();
                    } finally {
                        prcv.mtx.unlock();
                    }
                }
                return (int) Math.min(n, Integer.MAX_VALUE);
            } finally {
                link.unlock();
            }
        }

        @Override
        public void pru_send(Socket so, int flags, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException {
            List<Cmsg> c = internalizeCreds(so, control);
            try {
                if (type == SOCK_DGRAM) {
                    sendDgram(so, m, addr, c);
                } else {
                    sendStream(so, flags, m, addr, c);
                }
                m = null;
                c = null;
            } finally {
                Mbuf.freeChain(m);
                Cmsg.disposeAll(c);
            }
            if ((flags & SocketConst.PRUS_EOF) != 0) {
                so.socantsendmore();
                pru_shutdown(so);
            }
        }

        private void sendDgram(Socket so, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException {
            UnpCb u = cb(so);
            link.lock();
            try {
                UnpCb to;
                if (addr != null) {
                    if (u.conn != null) {
                        throw new ErrnoException(Errno.EISCONN, "sendto on a connected datagram socket");
                    }
                    to = names.get(unAddr(addr).path());
                    if (to == null) {
                        throw new ErrnoException(Errno.ENOENT, unAddr(addr).path());
                    }
                    if (to.so.type() != SOCK_DGRAM) {
                        throw new ErrnoException(Errno.EPROTOTYPE, addr + " is not a datagram socket");
                    }
                } else {
                    to = u.conn;
                    if (to == null) {
                        throw new ErrnoException(Errno.ENOTCONN, "datagram socket not connected");
                    }
                }
                Sockaddr from = u.addr != null ? u.addr : NONAME;
                Socket tso = to.so;
                tso.rcv.mtx.lock();
                try {
                    if ((tso.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0) {
                        throw new ErrnoException(Errno.ECONNREFUSED, "receiver closed");
                    }
                    if (!tso.rcv.sbappendaddr(from, m, control)) {
                        throw new ErrnoException(Errno.ENOBUFS, "receiver's buffer full");
                    }
                    countRights(control);
                    tso.sorwakeupLocked();
                } finally {
                    tso.rcv.mtx.unlock();
                }
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }

        private void sendStream(Socket so, int flags, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException {
            if (addr != null) {
                throw new ErrnoException(Errno.EISCONN, "sendto on a connected " + name);
            }
            UnpCb u = cb(so);
            link.lock();
            try {
                if (u.conn == null) {
                    throw new ErrnoException(Errno.EPIPE, "peer gone");
                }
                so.snd.mtx.lock();
                try {
                    so.snd.sbappendUnchecked(m, control, type == SOCK_SEQPACKET);
                } finally {
                    so.snd.mtx.unlock();
                }
                countRights(control);
                pump(u, false);
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }

        @Override
        public Sockaddr pru_sockaddr(Socket so) throws ErrnoException {
            UnpCb u = cb(so);
            link.lock();
            try {
                return u.addr != null ? u.addr : NONAME;
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }

        @Override
        public Sockaddr pru_peeraddr(Socket so) throws ErrnoException {
            UnpCb u = cb(so);
            link.lock();
            try {
                if (u.conn == null) {
                    throw new ErrnoException(Errno.ENOTCONN, name);
                }
                return u.conn.addr != null ? u.conn.addr : NONAME;
            } finally {
                link.unlock();
                disposeDeferred();
            }
        }
    }

    /** SCM_CREDS from a sender are replaced by the kernel's view of its credentials (never trusted). */
    private static List<Cmsg> internalizeCreds(Socket so, List<Cmsg> control) {
        if (control == null) {
            return null;
        }
        List<Cmsg> out = new ArrayList<>(control.size());
        for (Cmsg c : control) {
            if (c.level() == SocketConst.SOL_SOCKET && c.type() == SocketConst.SCM_CREDS) {
                out.add(new Cmsg.Creds(so.cred()));
            } else {
                out.add(c);
            }
        }
        return out;
    }

    private void countRights(List<Cmsg> control) {
        if (control != null) {
            for (Cmsg c : control) {
                if (c instanceof Cmsg.Rights r) {
                    rightsSent.add(r.count());
                }
            }
        }
    }

    private static Sockaddr.Un unAddr(Sockaddr nam) throws ErrnoException {
        if (nam instanceof Sockaddr.Un sun) {
            return sun;
        }
        throw new ErrnoException(Errno.EAFNOSUPPORT, "not a UNIX-domain address: " + nam);
    }

    /**
     * Cuts {@code u}'s connection ({@code unp_disconnect}); the sockets whose state must change are
     * added to {@code gone} for the caller to tell outside the link lock. A stream's queued data is
     * moved to the peer first.
     */
    @GuardedBy("link")
    private void disconnectLocked(UnpCb u, List<Socket> gone) {
        UnpCb peer = u.conn;
        if (peer == null) {
            return;
        }
        if (u.so.type() == SOCK_DGRAM) {
            u.conn = null;
            peer.refs.remove(u);
            gone.add(u.so);
            return;
        }
        pump(u, true);
        pump(peer, true);
        u.conn = null;
        if (peer.conn == u) {
            peer.conn = null;
        }
        gone.add(u.so);
        gone.add(peer.so);
    }

    /**
     * Moves stream/seqpacket data from {@code u}'s send buffer into its peer's receive buffer, as much
     * as fits (or everything when {@code force}); tells the peer EOF once {@code u}'s sending side is
     * shut and drained. Takes the two buffer mutexes one at a time.
     */
    @GuardedBy("link")
    private void pump(UnpCb u, boolean force) {
        UnpCb peer = u.conn;
        if (peer == null) {
            return;
        }
        Socket so = u.so;
        Socket pso = peer.so;
        boolean seq = so.type() == SOCK_SEQPACKET;
        while (true) {
            int space;
            boolean peerEmpty;
            pso.rcv.mtx.lock();
            try {
                if ((pso.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0) {
                    space = -1;
                    peerEmpty = false;
                } else {
                    space = force ? Integer.MAX_VALUE : pso.rcv.sbspace();
                    peerEmpty = pso.rcv.cc() == 0 && pso.rcv.records() == 0;
                }
            } finally {
                pso.rcv.mtx.unlock();
            }
            Mbuf m;
            List<Cmsg> control;
            boolean drained;
            so.snd.mtx.lock();
            try {
                if (space < 0) {
                    so.snd.sbflush();
                    deferred.addAll(so.snd.sbtakeZombies());
                    so.sowwakeupLocked();
                    return;
                }
                Sockbuf.Record r = so.snd.first();
                if (r == null) {
                    drained = true;
                    m = null;
                    control = null;
                } else {
                    drained = false;
                    int clen = Cmsg.spaceOf(r.control);
                    if (seq) {
                        if (r.len + clen > space && !peerEmpty) {
                            return;
                        }
                        Sockbuf.Record d = so.snd.sbdequeue();
                        m = d.m;
                        control = d.control;
                    } else {
                        int n = Math.min(r.len, space - clen);
                        if (n <= 0 && (r.control == null || clen > space)) {
                            if (r.len == 0 && r.control == null && r.next != null) {
                                so.snd.sbdroprecord();
                                continue;
                            }
                            return;
                        }
                        control = so.snd.takeControl(r);
                        m = so.snd.sbcut(Math.max(0, n));
                        if (r.len == 0 && so.snd.first() == r && r.next != null) {
                            so.snd.sbdroprecord();
                        }
                    }
                    so.sowwakeupLocked();
                }
            } finally {
                so.snd.mtx.unlock();
            }
            if (drained) {
                if (so.sndShut()) {
                    pso.socantrcvmore();
                }
                return;
            }
            pso.rcv.mtx.lock();
            try {
                if ((pso.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0) {
                    domains.sbDropBytes.add(Sockbuf.lengthOf(m));
                    Mbuf.freeChain(m);
                    if (control != null) {
                        deferred.addAll(control);
                    }
                } else {
                    pso.rcv.sbappendUnchecked(m, control, seq);
                    pso.sorwakeupLocked();
                }
            } finally {
                pso.rcv.mtx.unlock();
            }
        }
    }
}
