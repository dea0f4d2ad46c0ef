package org.smpnet.socket;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.smpnet.kern.Cv;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Witness;

/**
 * A socket ({@code struct socket}, {@code uipc_socket.c}): protocol, state, options, the receive and
 * send {@link Sockbuf}s, and for a listener its queues of incomplete and complete connections.
 *
 * <p>Locking key:
 * <ul>
 *   <li>(a) final after construction: {@link #domains}, {@link #domain}, {@link #proto}, {@link #cred},
 *       {@link #rcv}, {@link #snd}, {@link #head};</li>
 *   <li>(b) the socket lock, which is the receive buffer's mutex {@code rcv.mtx} ("so_rcv", class
 *       "sockbuf"): {@code state}, {@code options}, {@code error}, {@code linger}, {@code qlimit}, the
 *       listen queues and {@code lingerGen} (with {@code lingerCv}, its condition);</li>
 *   <li>(e) volatile: {@code lingering}, a hint that {@link #solingerwakeup} has a sleeper to wake;</li>
 *   <li>(b') {@code state} and {@code error} are also volatile: written only under the socket lock
 *       (key b), read without it by {@link #state()} and {@link #hasError()}, as FreeBSD's sosend reads
 *       {@code so_state}/{@code so_error} without the socket lock (a one-word snapshot either way);</li>
 *   <li>(c) the listening head's socket lock: this socket's {@code qstate} while on its queues;</li>
 *   <li>(d) the protocol: {@link #pcb()} (volatile; set by {@code pru_attach}).</li>
 * </ul>
 * Order: the send buffer's mutex may be held while taking the socket lock (sosend's checks, write
 * filters), never the reverse; up-calls that change both take them one after the other. Nothing here
 * sleeps while holding a mutex except in {@link Sockbuf#sbwait} and the SO_LINGER wait in
 * {@link #soclose}, which release their own.
 */
public final class Socket {
    // so_state
    public static final int SS_NOFDREF = 0x0001;
    public static final int SS_ISCONNECTED = 0x0002;
    public static final int SS_ISCONNECTING = 0x0004;
    public static final int SS_ISDISCONNECTING = 0x0008;
    public static final int SS_NBIO = 0x0100;
    public static final int SS_ISCONFIRMING = 0x0400;
    public static final int SS_ISDISCONNECTED = 0x2000;

    // so_qstate
    static final int SQ_INCOMP = 0x0800;
    static final int SQ_COMP = 0x1000;

    final Domains domains;
    final Domain domain;
    final Protosw proto;
    final Ucred cred;
    final Sockbuf rcv;
    final Sockbuf snd;
    /** The listener this socket was created for by {@link #sonewconn}, or null. */
    final Socket head;
    private volatile Object pcb;

    @GuardedBy("rcv.mtx") private volatile int state;
    @GuardedBy("rcv.mtx") private int options;
    @GuardedBy("rcv.mtx") private volatile Errno error;
    /** SO_LINGER seconds, or -1 when off. */
    @GuardedBy("rcv.mtx") private int linger = -1;
    @GuardedBy("rcv.mtx") private int qlimit;
    @GuardedBy("rcv.mtx") private final ArrayDeque<Socket> incomp = new ArrayDeque<>();
    @GuardedBy("rcv.mtx") private final ArrayDeque<Socket> comp = new ArrayDeque<>();
    /** Bumped by {@link #solingerwakeup} and disconnects; a lingering close sleeps on {@link #lingerCv} until it moves. */
    @GuardedBy("rcv.mtx") private long lingerGen;
    private final Cv lingerCv;
    private volatile boolean lingering;
    /** SQ_INCOMP/SQ_COMP while on a listener's queue; guarded by the head's socket lock (key c), which Error Prone cannot name. */
    private int qstate;

    Socket(Domains domains, Domain domain, Protosw proto, Ucred cred, Socket head) {
        this.domains = Objects.requireNonNull(domains, "domains");
        this.domain = Objects.requireNonNull(domain, "domain");
        this.proto = Objects.requireNonNull(proto, "proto");
        this.cred = Objects.requireNonNull(cred, "cred");
        this.head = head;
        this.rcv = new Sockbuf(this, true);
        this.snd = new Sockbuf(this, false);
        this.lingerCv = rcv.mtx.newCondition();
        domains.created.inc();
    }

    // ---- accessors ------------------------------------------------------------------------------

    public Protosw proto() {
        return proto;
    }

    public Domain domain() {
        return domain;
    }

    Domains domains() {
        return domains;
    }

    /** {@code so_type}. */
    public int type() {
        return proto.type();
    }

    /** The receive buffer ({@code so_rcv}). */
    public Sockbuf rcv() {
        return rcv;
    }

    /** The send buffer ({@code so_snd}). */
    public Sockbuf snd() {
        return snd;
    }

    /** The credentials of the creator ({@code so_cred}). */
    public Ucred cred() {
        return cred;
    }

    /** The protocol control block ({@code so_pcb}), or null. */
    public Object pcb() {
        return pcb;
    }

    /** Sets the protocol control block; publishes it to other threads (volatile). */
    public void setPcb(Object p) {
        pcb = p;
    }

    /**
     * {@code so_state}: a snapshot, as stale the moment it returns as one read under the lock would be.
     * Takes no lock: every write is under the socket lock and the field is volatile, so the read sees
     * the latest write and everything written under the lock before it.
     */
    @SuppressWarnings("GuardedBy") // volatile read of a field written only under rcv.mtx (key b')
    public int state() {
        return state;
    }

    /** {@code so_state} with the socket lock held by the caller. */
    @GuardedBy("rcv.mtx")
    public int stateLocked() {
        rcv.mtx.assertOwned();
        return state;
    }

    /** {@code so_options} (SO_* bits). Takes the socket lock. */
    public int options() {
        rcv.mtx.lock();
        try {
            return options;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** Whether option bit {@code opt} (SO_REUSEADDR, SO_BROADCAST...) is on. Takes the socket lock. */
    public boolean optionOn(int opt) {
        return (options() & opt) != 0;
    }

    @GuardedBy("rcv.mtx")
    void setOptionLocked(int opt, boolean on) {
        rcv.mtx.assertOwned();
        options = on ? options | opt : options & ~opt;
    }

    @GuardedBy("rcv.mtx")
    int lingerLocked() {
        rcv.mtx.assertOwned();
        return linger;
    }

    @GuardedBy("rcv.mtx")
    void setLingerLocked(int seconds) {
        rcv.mtx.assertOwned();
        linger = seconds;
    }

    /** Whether the last file reference is gone ({@code SS_NOFDREF}). Takes the socket lock. */
    public boolean isClosed() {
        return (state() & SS_NOFDREF) != 0;
    }

    @GuardedBy("rcv.mtx")
    boolean isListeningLocked() {
        rcv.mtx.assertOwned();
        return (options & SocketConst.SO_ACCEPTCONN) != 0;
    }

    /** Sets or clears non-blocking mode ({@code SS_NBIO}, FIONBIO). */
    public void setNbio(boolean on) {
        rcv.mtx.lock();
        try {
            state = on ? state | SS_NBIO : state & ~SS_NBIO;
        } finally {
            rcv.mtx.unlock();
        }
    }

    // ---- errors ---------------------------------------------------------------------------------

    /**
     * Records an asynchronous error for the next call ({@code so->so_error = e}) and wakes readers and
     * writers. Caller holds no socket mutex.
     */
    public void setError(Errno e) {
        rcv.mtx.lock();
        try {
            error = e;
            rcv.sowakeup();
        } finally {
            rcv.mtx.unlock();
        }
        sowwakeup();
    }

    /** The pending error, or null. Caller holds the socket lock. */
    @GuardedBy("rcv.mtx")
    Errno errorLocked() {
        rcv.mtx.assertOwned();
        return error;
    }

    /** Takes and clears the pending error (SO_ERROR, and calls reporting it). Caller holds the socket lock. */
    @GuardedBy("rcv.mtx")
    Errno takeErrorLocked() {
        rcv.mtx.assertOwned();
        Errno e = error;
        error = null;
        return e;
    }

    /**
     * Puts back an error a receive took ({@link #takeErrorLocked}) but could not report, because it had
     * already received something to return ({@code recvmmsg} after its first message; Linux stores it in
     * {@code sk_err} for the next call). A newer pending error wins. Caller holds the socket lock.
     */
    @GuardedBy("rcv.mtx")
    void restoreErrorLocked(Errno e) {
        rcv.mtx.assertOwned();
        if (error == null) {
            error = e;
            rcv.sowakeup(); // another reader waiting on this socket sees it as it would have
        }
    }

    /** {@link #restoreErrorLocked}; takes the socket lock. */
    void restoreError(Errno e) {
        rcv.mtx.lock();
        try {
            restoreErrorLocked(e);
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * Whether an error is pending: a lock-free hint (volatile, key b') that lets the send path skip
     * {@link #takeError} when none is; a true answer is confirmed by taking it under the lock.
     */
    @SuppressWarnings("GuardedBy") // volatile read of a field written only under rcv.mtx (key b')
    public boolean hasError() {
        return error != null;
    }

    /** Takes and clears the pending error. Takes the socket lock. */
    public Errno takeError() {
        rcv.mtx.lock();
        try {
            return takeErrorLocked();
        } finally {
            rcv.mtx.unlock();
        }
    }

    // ---- wakeups ----------------------------------------------------------------------------------

    /** Wakes readers, read knotes and selectors ({@code sorwakeup_locked}). Caller holds {@code rcv.mtx}. */
    @GuardedBy("rcv.mtx")
    public void sorwakeupLocked() {
        rcv.sowakeup();
    }

    /** Wakes writers, write knotes and selectors. Caller holds {@code snd.mtx}. */
    @GuardedBy("snd.mtx")
    public void sowwakeupLocked() {
        snd.sowakeup();
    }

    /**
     * {@link #soappendaddr} for a run of datagrams, in order, under one hold of the receive mutex and
     * with one wake-up: appends {@code packets[from, to)} with the sender addresses {@code froms} and
     * control lists {@code controls} at the same indexes, each if it fits (as one call each would), and
     * sets each appended packet's and control's slot to null. Appends none once the last file reference is
     * gone ({@code SS_NOFDREF}): a protocol that looked the socket up earlier and appends later (a deferred
     * run) must not add to a buffer {@link #sofree} may already have flushed, where the data would be
     * stranded. A socket only shut for reading still takes them, as an append at lookup time would.
     * Returns how many it appended; the caller frees and counts the rest. Caller holds no socket mutex;
     * never sleeps.
     */
    public int soappendaddrRun(org.smpnet.net.Mbuf[] packets, Object[] froms, Object[] controls, int from, int to) {
        rcv.mtx.lock();
        try {
            if ((state & SS_NOFDREF) != 0) {
                return 0;
            }
            int n = rcv.sbappendaddrRun(packets, froms, controls, from, to);
            if (n > 0) {
                rcv.sowakeup();
            }
            return n;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * The datagram delivery up-call for protocols outside this package (UDP's {@code udp_append}):
     * takes the receive mutex, appends with {@link Sockbuf#sbappendaddr} and wakes readers, knotes and
     * selectors. Returns false when the buffer had no room, leaving {@code m} and {@code control} to
     * the caller (free, dispose, count the drop). Caller holds no socket mutex; never sleeps.
     */
    public boolean soappendaddr(org.smpnet.net.Sockaddr from, org.smpnet.net.Mbuf m, List<Cmsg> control) {
        rcv.mtx.lock();
        try {
            if ((rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0 || !rcv.sbappendaddr(from, m, control)) {
                return false;
            }
            rcv.sowakeup();
            return true;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** {@link #sorwakeupLocked} taking the receive mutex; caller holds no socket mutex. */
    public void sorwakeup() {
        rcv.mtx.lock();
        try {
            rcv.sowakeup();
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** {@link #sowwakeupLocked} taking the send mutex; caller holds no socket mutex. */
    public void sowwakeup() {
        snd.mtx.lock();
        try {
            snd.sowakeup();
        } finally {
            snd.mtx.unlock();
        }
    }

    // ---- connection state up-calls (called by protocols, no socket mutex held) --------------------

    /** The protocol started connecting ({@code soisconnecting}). */
    public void soisconnecting() {
        rcv.mtx.lock();
        try {
            state = (state & ~(SS_ISCONNECTED | SS_ISDISCONNECTING)) | SS_ISCONNECTING;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * The connection is up ({@code soisconnected}). A socket on a listener's incomplete queue moves to
     * the complete queue and the listener's accept waiters and knotes are woken; otherwise this socket's
     * readers and writers are woken (a blocked connect returns).
     */
    public void soisconnected() {
        rcv.mtx.lock();
        try {
            state = (state & ~(SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISCONFIRMING | SS_ISDISCONNECTED))
                    | SS_ISCONNECTED;
            rcv.sowakeup();
        } finally {
            rcv.mtx.unlock();
        }
        sowwakeup();
        if (head != null) {
            head.completeConnection(this);
        }
    }

    /** Moves {@code so} from this listener's incomplete to its complete queue, if it is still there. */
    private void completeConnection(Socket so) {
        rcv.mtx.lock();
        try {
            if (so.qstate == SQ_INCOMP && incomp.remove(so)) {
                comp.addLast(so);
                so.qstate = SQ_COMP;
                rcv.sowakeup();
            }
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** The connection is closing ({@code soisdisconnecting}): no more receiving or sending. */
    public void soisdisconnecting() {
        rcv.mtx.lock();
        try {
            state = (state & ~SS_ISCONNECTING) | SS_ISDISCONNECTING;
            rcv.setState(Sockbuf.SBS_CANTRCVMORE);
            rcv.sowakeup();
        } finally {
            rcv.mtx.unlock();
        }
        socantsendmore();
    }

    /** The connection is gone ({@code soisdisconnected}): readers see EOF, writers EPIPE. */
    public void soisdisconnected() {
        rcv.mtx.lock();
        try {
            state = (state & ~(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING)) | SS_ISDISCONNECTED;
            rcv.setState(Sockbuf.SBS_CANTRCVMORE);
            rcv.sowakeup();
            lingerGen++;
            lingerCv.signalAll();
        } finally {
            rcv.mtx.unlock();
        }
        socantsendmore();
    }

    /**
     * Dissolves this socket's association ({@code sodisconnect}): checks the state, tells the protocol
     * ({@code pru_disconnect}, which drops the PCB's foreign address and rehashes it), and for a
     * protocol without {@code PR_CONNREQUIRED} (UDP, raw IP, UNIX datagram) clears
     * {@code SS_ISCONNECTED} here, so a send without an address fails with EDESTADDRREQ, getpeername
     * with ENOTCONN, and the socket may be connected again or used with sendto. Stream protocols report
     * the change through {@link #soisdisconnecting}/{@link #soisdisconnected} themselves. Caller holds
     * no socket mutex; runs the protocol under Giant when {@code net.mpsafenet=0}; never sleeps.
     *
     * @throws ErrnoException ENOTCONN if not connected, EALREADY if already disconnecting, or the
     *     protocol's error
     */
    public void sodisconnect() throws ErrnoException {
        int st = state();
        if ((st & SS_ISCONNECTED) == 0) {
            throw new ErrnoException(Errno.ENOTCONN, "disconnect of an unconnected " + proto.name());
        }
        if ((st & SS_ISDISCONNECTING) != 0) {
            throw new ErrnoException(Errno.EALREADY, "already disconnecting");
        }
        boolean giant = SoGiant.pickup();
        try {
            proto.pru_disconnect(this);
        } finally {
            SoGiant.drop(giant);
        }
        if ((proto.flags() & SocketConst.PR_CONNREQUIRED) == 0) {
            clearConnected();
        }
    }

    /**
     * A datagram socket's association is gone (its own {@link #sodisconnect}, or a UNIX datagram
     * target that went away): it is no longer connected, but may still send with an address and
     * receive. Caller holds no socket mutex.
     */
    public void clearConnected() {
        rcv.mtx.lock();
        try {
            state &= ~SS_ISCONNECTED;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * The peer took data this socket sent ({@code uipc_rcvd}'s wake-up of the sender): wakes a close
     * lingering on it (SO_LINGER), which then asks the protocol again. Caller holds no socket mutex;
     * cheap when nobody lingers. Never sleeps.
     */
    public void solingerwakeup() {
        if (!lingering) {
            return;
        }
        rcv.mtx.lock();
        try {
            lingerGen++;
            lingerCv.signalAll();
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * Whether this socket is being closed with SO_LINGER on and a linger time of 0: the protocol
     * aborts the connection instead of a graceful disconnect (TCP's RST; UNIX streams drop unsent data
     * and the peer gets ECONNRESET). Takes the socket lock.
     */
    public boolean lingerAbort() {
        rcv.mtx.lock();
        try {
            return (state & SS_NOFDREF) != 0 && (options & SocketConst.SO_LINGER) != 0 && linger == 0;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** Whether the sending side is shut and its buffer empty. Takes the send mutex. */
    boolean sndShut() {
        snd.mtx.lock();
        try {
            return (snd.state() & Sockbuf.SBS_CANTSENDMORE) != 0 && snd.records() == 0;
        } finally {
            snd.mtx.unlock();
        }
    }

    /** No more data will arrive ({@code socantrcvmore}): readers get EOF after the queued data. */
    public void socantrcvmore() {
        rcv.mtx.lock();
        try {
            socantrcvmoreLocked();
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** {@link #socantrcvmore} with {@code rcv.mtx} held by the caller. */
    @GuardedBy("rcv.mtx")
    public void socantrcvmoreLocked() {
        rcv.setState(Sockbuf.SBS_CANTRCVMORE);
        rcv.sowakeup();
    }

    /** No more data may be sent ({@code socantsendmore}): writers get EPIPE. */
    public void socantsendmore() {
        snd.mtx.lock();
        try {
            snd.setState(Sockbuf.SBS_CANTSENDMORE);
            snd.sowakeup();
        } finally {
            snd.mtx.unlock();
        }
    }

    // ---- listen queues ----------------------------------------------------------------------------

    /**
     * Makes this socket a listener after the protocol agreed ({@code solisten_proto}); a negative or
     * too large backlog becomes {@link SocketConst#SOMAXCONN}. Caller holds no socket mutex.
     */
    void solistenProto(int backlog) {
        rcv.mtx.lock();
        try {
            qlimit = backlog < 0 || backlog > SocketConst.SOMAXCONN ? SocketConst.SOMAXCONN : backlog;
            options |= SocketConst.SO_ACCEPTCONN;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * A new connection for this listener ({@code sonewconn}): creates a socket of the same protocol
     * with this one's options and buffer limits, attaches it, and queues it on the incomplete queue
     * (or, when {@code connected}, the complete queue, waking accept). Returns null when this socket is
     * not listening, the queue is over {@code 3/2} of the backlog, or the attach failed. Caller holds
     * no socket mutex; the protocol may hold its own locks. Never sleeps.
     */
    public Socket sonewconn(boolean connected) {
        int opts;
        int rhi;
        int shi;
        rcv.mtx.lock();
        try {
            if (!isListeningLocked() || (state & SS_NOFDREF) != 0
                    || incomp.size() + comp.size() > (3 * qlimit) / 2) {
                return null;
            }
            opts = options & ~SocketConst.SO_ACCEPTCONN;
            rhi = rcv.hiwat();
        } finally {
            rcv.mtx.unlock();
        }
        snd.mtx.lock();
        try {
            shi = snd.hiwat();
        } finally {
            snd.mtx.unlock();
        }
        Socket so = new Socket(domains, domain, proto, cred, this);
        try {
            proto.pru_attach(so, proto.protocol());
            so.soreserve(shi, rhi);
        } catch (ErrnoException e) {
            so.sofree();
            return null;
        }
        so.rcv.mtx.lock();
        try {
            so.options = opts;
            if (connected) {
                so.state |= SS_ISCONNECTED;
            }
        } finally {
            so.rcv.mtx.unlock();
        }
        rcv.mtx.lock();
        try {
            if (!isListeningLocked() || (state & SS_NOFDREF) != 0) {
                so.qstate = 0;
            } else if (connected) {
                comp.addLast(so);
                so.qstate = SQ_COMP;
                rcv.sowakeup();
            } else {
                incomp.addLast(so);
                so.qstate = SQ_INCOMP;
            }
        } finally {
            rcv.mtx.unlock();
        }
        if (so.qstateOfHead() == 0) {
            so.sofree();
            return null;
        }
        return so;
    }

    private int qstateOfHead() {
        head.rcv.mtx.lock();
        try {
            return qstate;
        } finally {
            head.rcv.mtx.unlock();
        }
    }

    /**
     * Takes the first complete connection ({@code accept}'s dequeue). Blocks unless non-blocking mode
     * or {@code dontwait}. Caller holds no socket mutex; may sleep.
     *
     * @throws ErrnoException EINVAL if not listening, EAGAIN (non-blocking or SO_RCVTIMEO expired),
     *     EBADF if closed meanwhile, EINTR, or a pending socket error
     */
    Socket soaccept(boolean dontwait) throws ErrnoException {
        rcv.mtx.lock();
        try {
            long deadline = rcv.deadline();
            while (true) {
                if ((state & SS_NOFDREF) != 0) {
                    throw new ErrnoException(Errno.EBADF, "listening socket closed");
                }
                if (!isListeningLocked()) {
                    throw new ErrnoException(Errno.EINVAL, "accept on a socket that is not listening");
                }
                Errno e = takeErrorLocked();
                if (e != null) {
                    throw new ErrnoException(e);
                }
                Socket so = comp.pollFirst();
                if (so != null) {
                    so.qstate = 0;
                    return so;
                }
                if (dontwait || (state & SS_NBIO) != 0) {
                    throw new ErrnoException(Errno.EAGAIN, "no connection to accept");
                }
                rcv.sbwait(deadline);
            }
        } finally {
            rcv.mtx.unlock();
        }
    }

    /**
     * Waits for a connection in progress to finish ({@code kern_connect}'s sleep). Returns at once when
     * not connecting. Caller holds no socket mutex; may sleep.
     *
     * @throws ErrnoException EINPROGRESS when non-blocking, the connection's error (ECONNREFUSED...),
     *     EBADF if closed meanwhile, EINTR
     */
    void waitConnected(boolean nonblocking) throws ErrnoException {
        rcv.mtx.lock();
        try {
            if ((state & SS_ISCONNECTING) != 0 && nonblocking) {
                throw new ErrnoException(Errno.EINPROGRESS, "connecting");
            }
            while ((state & SS_ISCONNECTING) != 0 && error == null && (state & SS_NOFDREF) == 0) {
                rcv.sbwait(0);
            }
            if ((state & SS_NOFDREF) != 0) {
                throw new ErrnoException(Errno.EBADF, "socket closed while connecting");
            }
            Errno e = takeErrorLocked();
            if (e != null) {
                throw new ErrnoException(e);
            }
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** Complete connections waiting for accept ({@code so_qlen}). Caller holds the socket lock. */
    @GuardedBy("rcv.mtx")
    int qlenLocked() {
        rcv.mtx.assertOwned();
        return comp.size();
    }

    /** Takes every queued connection off a listener being closed. Caller holds no socket mutex. */
    private List<Socket> drainQueues() {
        List<Socket> out = new ArrayList<>();
        rcv.mtx.lock();
        try {
            for (Socket so : incomp) {
                so.qstate = 0;
                out.add(so);
            }
            for (Socket so : comp) {
                so.qstate = 0;
                out.add(so);
            }
            incomp.clear();
            comp.clear();
            options &= ~SocketConst.SO_ACCEPTCONN;
        } finally {
            rcv.mtx.unlock();
        }
        return out;
    }

    // ---- limits -----------------------------------------------------------------------------------

    /** Sets both buffer sizes ({@code soreserve}), each under its own mutex. */
    public void soreserve(int sndcc, int rcvcc) throws ErrnoException {
        snd.mtx.lock();
        try {
            snd.sbreserve(sndcc);
        } finally {
            snd.mtx.unlock();
        }
        rcv.mtx.lock();
        try {
            rcv.sbreserve(rcvcc);
        } finally {
            rcv.mtx.unlock();
        }
    }

    // ---- teardown -------------------------------------------------------------------------------

    /**
     * Closes the socket when its last file reference goes ({@code soclose}): marks {@code SS_NOFDREF}
     * and wakes every thread blocked on it (they return EBADF), aborts queued connections of a
     * listener, lingers (below), disconnects, tells the protocol, then frees it. Caller holds no lock;
     * may sleep for SO_LINGER. Idempotent. Same as {@code soclose(false)}.
     */
    public void soclose() {
        soclose(false);
    }

    /**
     * {@link #soclose()} for a file that may be non-blocking.
     *
     * <p>SO_LINGER. With SO_LINGER on and a linger time of {@code l} &gt; 0 seconds, a connected socket
     * waits before disconnecting, sleeping on its socket lock, until the protocol reports no data of
     * ours the peer has not taken ({@link Protosw#pru_unread}: for UNIX streams the bytes still in our
     * send queue or unread in the peer's receive buffer), the connection goes away, the thread is
     * interrupted, or {@code l} seconds pass. In every case the close then goes on as without linger:
     * the disconnect moves what is left to the peer, so nothing sent is lost (FreeBSD's uipc does not
     * linger at all; TCP waits for the FIN's acknowledgement the same way). A timeout is counted
     * ({@code kern.ipc.linger_timeouts}); close reports no error (FreeBSD may return EWOULDBLOCK from
     * close(2) there). As FreeBSD's {@code soclose}, a non-blocking socket ({@code nonblocking}: the
     * file's O_NONBLOCK, or {@code SS_NBIO}) does not sleep. With a linger time of 0 the protocol aborts
     * instead ({@link #lingerAbort}).
     */
    public void soclose(boolean nonblocking) {
        rcv.mtx.lock();
        try {
            if ((state & SS_NOFDREF) != 0) {
                return;
            }
            state |= SS_NOFDREF;
            rcv.sowakeup();
        } finally {
            rcv.mtx.unlock();
        }
        sowwakeup();
        for (Socket so : drainQueues()) {
            so.soabort();
        }
        solinger(nonblocking);
        boolean giant = SoGiant.pickup();
        try {
            if ((state() & (SS_ISCONNECTED | SS_ISCONNECTING)) != 0) {
                try {
                    proto.pru_disconnect(this);
                } catch (ErrnoException notConnectedAnyMore) {
                    // raced with the peer's disconnect: nothing left to tear down
                }
            }
            proto.pru_close(this);
        } finally {
            SoGiant.drop(giant);
        }
        sofree();
    }

    /** The SO_LINGER wait of {@link #soclose(boolean)}. Caller holds no lock; may sleep. */
    private void solinger(boolean nonblocking) {
        long secs;
        rcv.mtx.lock();
        try {
            if ((options & SocketConst.SO_LINGER) == 0 || linger <= 0 || (state & SS_ISCONNECTED) == 0) {
                return;
            }
            if (nonblocking || (state & SS_NBIO) != 0) {
                domains.lingerNbio.inc();
                return;
            }
            secs = linger;
            lingering = true;
        } finally {
            rcv.mtx.unlock();
        }
        try {
            long deadline = System.nanoTime() + secs * 1_000_000_000L;
            while (true) {
                long gen = lingerGen();
                if (unread() == 0) {
                    return;
                }
                if (!awaitLinger(gen, deadline)) {
                    return;
                }
            }
        } finally {
            lingering = false;
        }
    }

    private long lingerGen() {
        rcv.mtx.lock();
        try {
            return lingerGen;
        } finally {
            rcv.mtx.unlock();
        }
    }

    private int unread() {
        boolean giant = SoGiant.pickup();
        try {
            return proto.pru_unread(this);
        } finally {
            SoGiant.drop(giant);
        }
    }

    /**
     * Sleeps until {@link #lingerGen} moves past {@code gen}; returns false when lingering is over
     * (disconnected, timed out, interrupted).
     */
    private boolean awaitLinger(long gen, long deadline) {
        rcv.mtx.lock();
        try {
            while (lingerGen == gen) {
                if ((state & SS_ISCONNECTED) == 0) {
                    return false;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    domains.lingerTimeouts.inc();
                    return false;
                }
                Witness.checkSleep("soclose linger", rcv.mtx);
                lingerCv.awaitNanos(left);
            }
            return (state & SS_ISCONNECTED) != 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            rcv.mtx.unlock();
        }
    }

    /** Drops a connection still on a listen queue ({@code soabort}). */
    void soabort() {
        boolean giant = SoGiant.pickup();
        try {
            proto.pru_abort(this);
        } finally {
            SoGiant.drop(giant);
        }
        rcv.mtx.lock();
        try {
            state |= SS_NOFDREF;
        } finally {
            rcv.mtx.unlock();
        }
        sofree();
    }

    /** Detaches the protocol and discards both buffers ({@code sofree}); counts the discarded data. */
    void sofree() {
        boolean giant = SoGiant.pickup();
        try {
            proto.pru_detach(this);
        } finally {
            SoGiant.drop(giant);
        }
        flushBuffers();
        domains.freed.inc();
    }

    /** Frees a socket whose attach failed: nothing was attached, so no detach. */
    void sofreeUnattached() {
        flushBuffers();
        domains.freed.inc();
    }

    private void flushBuffers() {
        rcv.mtx.lock();
        try {
            rcv.setState(Sockbuf.SBS_CANTRCVMORE);
            rcv.sbflush();
            rcv.sowakeup();
        } finally {
            rcv.mtx.unlock();
        }
        snd.mtx.lock();
        try {
            snd.setState(Sockbuf.SBS_CANTSENDMORE);
            snd.sbflush();
            snd.sowakeup();
        } finally {
            snd.mtx.unlock();
        }    rcv.sbdisposeZombies();
        snd.sbdisposeZombies();
    }

    @Override
    public String toString() {
        return "Socket[" + domain.name() + " " + proto.name() + " @" + Integer.toHexString(System.identityHashCode(this)) + "]";
    }
}
