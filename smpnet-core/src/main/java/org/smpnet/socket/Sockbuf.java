package org.smpnet.socket;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.smpnet.kern.Cv;
import org.smpnet.kern.Errno;
import org.smpnet.kern.KnList;
import org.smpnet.kern.SelInfo;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sx;
import org.smpnet.kern.UmaZone;
import org.smpnet.kern.Witness;
import org.smpnet.net.IfQueue;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Sockaddr;

/**
 * A socket buffer ({@code struct sockbuf}, {@code uipc_sockbuf.c}): the queue of records waiting to be
 * read ({@code so_rcv}) or sent ({@code so_snd}), with its accounting and limits.
 *
 * <p>A record is one datagram or message (its sender address, control messages and data chain) or,
 * on stream sockets, a run of stream data (a new run starts only where control messages arrive).
 *
 * <p>Locking key:
 * <ul>
 *   <li>(a) final: {@link #so}, {@link #mtx}, {@link #sx}, the condition;</li>
 *   <li>(b) {@link #mtx} ("so_rcv"/"so_snd", class "sockbuf"): the records and every accounting field
 *       ({@code cc}, {@code ctl}, {@code mbcnt}, {@code mbmax}, {@code hiwat}, {@code lowat},
 *       {@code state}, {@code timeo}). Every method that changes them asserts the mutex
 *       ({@code SOCKBUF_LOCK_ASSERT}) and, with {@code smpnet.invariants=1}, re-checks that {@code cc}
 *       and {@code mbcnt} equal the sums over the queued mbufs ({@link #sbcheck});</li>
 *   <li>(c) {@link #sx} ("so_rcv_sx"/"so_snd_sx", class "sbsx"): serialises {@code sosend}/{@code soreceive}
 *       callers ({@code sblock}); taken before the mutex, never while holding it.</li>
 * </ul>
 * The receive buffer's mutex is also the socket lock (FreeBSD 5-7 {@code SOCK_LOCK}): it guards the
 * socket's state, options and listen queues.
 */
public final class Sockbuf {
    public static final int SBS_CANTSENDMORE = 0x0010;
    public static final int SBS_CANTRCVMORE = 0x0020;
    public static final int SBS_RCVATMARK = 0x0040;

    /** The owning socket. */
    final Socket so;
    /** The buffer mutex. */
    final Mtx mtx;
    /** I/O serialisation of sosend/soreceive callers. */
    final Sx sx;
    private final Cv cv;
    private final boolean receive;
    /** Knotes of this direction (EVFILT_READ on so_rcv, EVFILT_WRITE on so_snd), guarded by {@link #mtx}. */
    final KnList knlist;
    /** Selectors of this direction, guarded by {@link #mtx}. */
    final SelInfo sel;

    @GuardedBy("mtx") private Record head;
    @GuardedBy("mtx") private Record tail;
    /** Bytes of data queued ({@code sb_acc}). */
    @GuardedBy("mtx") private int cc;
    /** Bytes of addresses and control messages queued ({@code sb_ctl}). */
    @GuardedBy("mtx") private int ctl;
    /** Bytes of mbuf storage charged ({@code sb_mbcnt}). */
    @GuardedBy("mtx") private int mbcnt;
    @GuardedBy("mtx") private int mbmax;
    @GuardedBy("mtx") private int hiwat;
    @GuardedBy("mtx") private int lowat;
    @GuardedBy("mtx") private int state;
    @GuardedBy("mtx") private int records;
    /** Timeout of a blocking call in nanoseconds, 0 for none ({@code sb_timeo}). */
    @GuardedBy("mtx") private long timeoNanos;
    /**
     * Control messages of discarded records, disposed only after the mutex is released
     * ({@link #sbdisposeZombies}): disposing SCM_RIGHTS closes files, and closing a socket takes
     * locks that must not be taken under a socket buffer (the TODO list's sshd panic).
     */
    @GuardedBy("mtx") private java.util.ArrayList<Cmsg> zombies = new java.util.ArrayList<>();
    /** Incremented at every wakeup, so waiters can tell a wakeup from a timeout. */
    @GuardedBy("mtx") private long wakeups;
    /**
     * The last {@link #sbwait} here ended with a wakeup within {@link #BUSY_WAIT_NANOS}: the next one spins
     * for up to {@link #BUSY_SPIN_NANOS}. A long, timed-out or interrupted wait clears it.
     */
    @GuardedBy("mtx") private boolean peerBusy;
    /** A copy of {@code wakeups} for {@link #spinForWakeup}, written under the mutex, read without it. */
    private volatile long wakeupsSeen;
    /**
     * The driver queue the last datagram appended came through (Linux's {@code sk_napi_id}), or null: the
     * queue a reader waiting here busy-polls. Written under the mutex, read by the waiting reader without it.
     */
    private volatile IfQueue pollQueue;

    Sockbuf(Socket so, boolean receive) {
        this.so = so;
        this.receive = receive;
        this.mtx = new Mtx(receive ? "so_rcv" : "so_snd", "sockbuf");
        this.sx = new Sx(receive ? "so_rcv_sx" : "so_snd_sx", "sbsx");
        this.cv = mtx.newCondition();
        this.knlist = new KnList(mtx);
        this.sel = new SelInfo(mtx);
        mtx.lock();
        try {
            lowat = receive ? 1 : Mbuf.MCLBYTES;
        } finally {
            mtx.unlock();
        }
    }

    /** The buffer mutex ({@code SOCKBUF_MTX}); protocols lock it around the up-calls below. */
    public Mtx mtx() {
        return mtx;
    }

    /** The owning socket. */
    public Socket socket() {
        return so;
    }

    public boolean isReceive() {
        return receive;
    }

    // ---- accounting, read under the mutex ---------------------------------------------------

    /** Bytes of data queued. Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    public int cc() {
        mtx.assertOwned();
        return cc;
    }

    /** Bytes of addresses and control queued. Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    public int ctl() {
        mtx.assertOwned();
        return ctl;
    }

    @GuardedBy("mtx")
    public int mbcnt() {
        mtx.assertOwned();
        return mbcnt;
    }

    @GuardedBy("mtx")
    public int mbmax() {
        mtx.assertOwned();
        return mbmax;
    }

    @GuardedBy("mtx")
    public int hiwat() {
        mtx.assertOwned();
        return hiwat;
    }

    @GuardedBy("mtx")
    public int lowat() {
        mtx.assertOwned();
        return lowat;
    }

    @GuardedBy("mtx")
    public int state() {
        mtx.assertOwned();
        return state;
    }

    /** Records queued. */
    @GuardedBy("mtx")
    public int records() {
        mtx.assertOwned();
        return records;
    }

    @GuardedBy("mtx")
    long timeoNanos() {
        mtx.assertOwned();
        return timeoNanos;
    }

    /**
     * Space left ({@code sbspace}): the smaller of the byte and the storage allowance; may be
     * negative when a protocol appended past the limit. Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    public int sbspace() {
        mtx.assertOwned();
        return Math.min(hiwat - (cc + ctl), mbmax - mbcnt);
    }

    // ---- limits --------------------------------------------------------------------------------

    /**
     * Sets the buffer size ({@code sbreserve_locked}, SO_RCVBUF/SO_SNDBUF): {@code hiwat = size},
     * {@code mbmax = min(8 * size, SB_MAX)}, and the low-water mark clipped to it. Queued data beyond
     * the new size stays. Caller holds {@link #mtx}.
     *
     * @throws ErrnoException EINVAL for size below 1, ENOBUFS above {@link SocketConst#SB_MAX}
     */
    @GuardedBy("mtx")
    public void sbreserve(int size) throws ErrnoException {
        mtx.assertOwned();
        if (size < 1) {
            throw new ErrnoException(Errno.EINVAL, "socket buffer size " + size);
        }
        if (size > SocketConst.SB_MAX) {
            throw new ErrnoException(Errno.ENOBUFS, "socket buffer size " + size + " above kern.ipc.maxsockbuf "
                    + SocketConst.SB_MAX);
        }
        hiwat = size;
        mbmax = (int) Math.min(8L * size, SocketConst.SB_MAX);
        if (lowat > hiwat) {
            lowat = hiwat;
        }
        sbcheckIf();
    }

    /** Sets the low-water mark, clipped to [1, hiwat] (SO_RCVLOWAT/SO_SNDLOWAT). Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    public void setLowat(int n) throws ErrnoException {
        mtx.assertOwned();
        if (n < 0) {
            throw new ErrnoException(Errno.EINVAL, "low-water mark " + n);
        }
        lowat = Math.max(1, Math.min(n, hiwat));
    }

    /** Sets the blocking timeout (SO_RCVTIMEO/SO_SNDTIMEO), 0 for none. Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    void setTimeo(long nanos) {
        mtx.assertOwned();
        timeoNanos = nanos;
    }

    @GuardedBy("mtx")
    void setState(int bits) {
        mtx.assertOwned();
        state |= bits;
    }

    // ---- appending (protocol up-calls) ----------------------------------------------------------

    /**
     * Appends stream data to the last run ({@code sbappend}/{@code sbappendstream}), or starts one.
     * No space check: the caller (protocol) did it. Consumes {@code m} (null or empty is allowed).
     * Caller holds {@link #mtx}; does not wake readers (call {@link Socket#sorwakeupLocked}).
     */
    @GuardedBy("mtx")
    public void sbappend(Mbuf m) {
        mtx.assertOwned();
        if (m == null) {
            return;
        }
        Record r = tail;
        if (r == null || r.eor || r.addr != null) {
            r = new Record(null, null, false);
            link(r);
        }
        appendData(r, m);
        sbcheckIf();
    }

    /** Same as {@link #sbappend} (stream sockets). */
    @GuardedBy("mtx")
    public void sbappendstream(Mbuf m) {
        sbappend(m);
    }

    /**
     * Appends {@code m} as a complete record ({@code sbappendrecord}), e.g. one SOCK_SEQPACKET message.
     * No space check. Consumes {@code m} (null: an empty record). Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    public void sbappendrecord(Mbuf m) {
        mtx.assertOwned();
        Record r = new Record(null, null, true);
        link(r);
        appendData(r, m);
        sbcheckIf();
    }

    /**
     * Appends a datagram with its sender's address and control messages ({@code sbappendaddr}),
     * if it fits in {@link #sbspace}. On success consumes {@code m} and {@code control}; on failure
     * (returns false) leaves both to the caller, which frees/disposes them and counts the drop.
     * Caller holds {@link #mtx}; does not wake readers.
     */
    @GuardedBy("mtx")
    public boolean sbappendaddr(Sockaddr from, Mbuf m, List<Cmsg> control) {
        mtx.assertOwned();
        Record r = datagramRecord(from, m, control);
        if (r == null) {
            return false;
        }
        linkRun(r, r, 1);
        sbcheckIf();
        return true;
    }

    /**
     * {@link #sbappendaddr} for each datagram of {@code packets[from, to)} (source addresses in {@code froms},
     * control message lists or null in {@code controls}), in order, under one hold of {@link #mtx}; the
     * records are linked at once at the end ({@link #linkRun}). A datagram that fits is consumed and its
     * slots in {@code packets} and {@code controls} set to null; one that does not is left in place for the
     * caller. Returns the number appended. Caller holds {@link #mtx}; does not wake readers.
     */
    @GuardedBy("mtx")
    int sbappendaddrRun(Mbuf[] packets, Object[] froms, Object[] controls, int from, int to) {
        mtx.assertOwned();
        Record first = null;
        Record last = null;
        int n = 0;
        for (int i = from; i < to; i++) {
            @SuppressWarnings("unchecked")
            List<Cmsg> control = (List<Cmsg>) controls[i];
            Record r = datagramRecord((Sockaddr) froms[i], packets[i], control);
            if (r == null) {
                continue;
            }
            if (last == null) {
                first = r;
            } else {
                last.next = r;
            }
            last = r;
            packets[i] = null;
            controls[i] = null;
            n++;
        }
        if (n > 0) {
            linkRun(first, last, n);
            sbcheckIf();
        }
        return n;
    }

    /**
     * A charged record holding datagram {@code m} and its address and control, not yet linked; or null,
     * touching nothing, if they do not fit in {@link #sbspace}.
     */
    @GuardedBy("mtx")
    private Record datagramRecord(Sockaddr from, Mbuf m, List<Cmsg> control) {
        if ((long) lengthOf(m) + sockaddrSpace(from) + Cmsg.spaceOf(control) > sbspace()) {
            return null;
        }
        IfQueue q = m.rxQueue();
        if (q != pollQueue) {
            pollQueue = q;
        }
        Record r = new Record(from, control, true);
        chargeRecord(r);
        appendData(r, m);
        return r;
    }

    /**
     * Appends data with control messages ({@code sbappendcontrol}) as a new record (complete unless the
     * socket is a stream), if it fits. Same ownership and locking as {@link #sbappendaddr}.
     */
    @GuardedBy("mtx")
    public boolean sbappendcontrol(Mbuf m, List<Cmsg> control) {
        mtx.assertOwned();
        long need = (long) lengthOf(m) + Cmsg.spaceOf(control);
        if (need > sbspace()) {
            return false;
        }
        Record r = new Record(null, control, so.type() != SocketConst.SOCK_STREAM);
        link(r);
        appendData(r, m);
        sbcheckIf();
        return true;
    }

    /**
     * Appends a record without a space check: data forwarded by a protocol that already accounted for
     * it (the UNIX-domain stream pump). A stream record without control merges into the last run.
     * Consumes both. Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    void sbappendUnchecked(Mbuf m, List<Cmsg> control, boolean eor) {
        mtx.assertOwned();
        if (!eor && (control == null || control.isEmpty())) {
            sbappend(m);
            return;
        }
        Record r = new Record(null, control, eor);
        link(r);
        appendData(r, m);
        sbcheckIf();
    }

    @GuardedBy("mtx")
    private void link(Record r) {
        chargeRecord(r);
        linkRun(r, r, 1);
    }

    /** Charges a record's address and control to the buffer (its data is charged as it is appended). */
    @GuardedBy("mtx")
    private void chargeRecord(Record r) {
        if (r.addr != null) {
            ctl += sockaddrSpace(r.addr);
            mbcnt += Mbuf.MSIZE;
        }
        if (r.control != null) {
            ctl += Cmsg.spaceOf(r.control);
            mbcnt += Mbuf.MSIZE * r.control.size();
        }
    }

    /**
     * Links {@code n} charged records, {@code first} to {@code last} through {@link Record#next}, at the
     * end. A run is linked with one store into {@link #tail} (and {@link #head}): a reference stored into
     * this long-lived (old-generation) object runs G1's post-write barrier to its StoreLoad fence (JDK 25),
     * so a run pays it once, not once per record.
     */
    @GuardedBy("mtx")
    private void linkRun(Record first, Record last, int n) {
        if (tail == null) {
            head = first;
        } else {
            tail.next = first;
        }
        tail = last;
        records += n;
    }

    /** Links the chain's non-empty mbufs to the record, freeing empty ones ({@code sbcompress}, reduced). */
    @GuardedBy("mtx")
    private void appendData(Record r, Mbuf m) {
        while (m != null) {
            Mbuf n = m.next();
            if (m.len() == 0) {
                m.free();
            } else {
                m.setNext(null);
                m.setNextpkt(null);
                if (r.mlast == null) {
                    r.m = m;
                } else {
                    r.mlast.setNext(m);
                }
                r.mlast = m;
                r.len += m.len();
                cc += m.len();
                mbcnt += charge(m);
            }
            m = n;
        }
    }

    // ---- taking data (soreceive, protocols' send queues) ----------------------------------------

    /** The first record, or null. Caller holds {@link #mtx}; the record stays owned by the buffer. */
    @GuardedBy("mtx")
    Record first() {
        mtx.assertOwned();
        return head;
    }

    /**
     * Takes the control messages of the first record out of the buffer; the caller owns them.
     * Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    List<Cmsg> takeControl(Record r) {
        mtx.assertOwned();
        List<Cmsg> c = r.control;
        if (c != null) {
            r.control = null;
            ctl -= Cmsg.spaceOf(c);
            mbcnt -= Mbuf.MSIZE * c.size();
            sbcheckIf();
        }
        return c;
    }

    /**
     * Drops the first record whole ({@code sbdroprecord}): frees its data and queues its control for
     * {@link #sbdisposeZombies} (never disposed under the mutex).
     * Returns the data bytes dropped. Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    int sbdroprecord() {
        mtx.assertOwned();
        Record r = unlinkFirst();
        if (r == null) {
            return 0;
        }
        int n = r.len;
        Mbuf.freeChain(r.m);
        if (r.control != null) {
            zombies.addAll(r.control);
        }
        sbcheckIf();
        return n;
    }

    /**
     * Removes the first record and hands it (data chain, address, control) to the caller, who owns it.
     * Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    Record sbdequeue() {
        mtx.assertOwned();
        Record r = unlinkFirst();
        sbcheckIf();
        return r;
    }

    /**
     * Removes up to {@code max} whole records from the front and hands them to the caller, who owns them
     * (linked through {@link Record#next}, oldest first; null if there are none): {@link #sbdequeue} for a
     * batch, so the caller can copy and free them after releasing the mutex. Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    Record sbdequeueUpTo(int max) {
        mtx.assertOwned();
        Record first = unlinkUpTo(max);
        sbcheckIf();
        return first;
    }

    @GuardedBy("mtx")
    private Record unlinkFirst() {
        return unlinkUpTo(1);
    }

    /**
     * Unlinks up to {@code max} (at least 1) records from the front, uncharged and linked oldest first, or
     * returns null if there are none. The buffer's {@link #head} is stored once for them all (see
     * {@link #linkRun}).
     */
    @GuardedBy("mtx")
    private Record unlinkUpTo(int max) {
        Record first = head;
        Record last = null;
        Record r = first;
        int n = 0;
        while (r != null && n < max) {
            uncharge(r);
            last = r;
            r = r.next;
            n++;
        }
        if (last == null) {
            return null;
        }
        last.next = null;
        head = r;
        if (r == null) {
            tail = null;
        }
        records -= n;
        return first;
    }

    /** Takes a record's data, address and control off the buffer's counts. */
    @GuardedBy("mtx")
    private void uncharge(Record r) {
        cc -= r.len;
        for (Mbuf m = r.m; m != null; m = m.next()) {
            mbcnt -= charge(m);
        }
        if (r.addr != null) {
            ctl -= sockaddrSpace(r.addr);
            mbcnt -= Mbuf.MSIZE;
        }
        if (r.control != null) {
            ctl -= Cmsg.spaceOf(r.control);
            mbcnt -= Mbuf.MSIZE * r.control.size();
        }
    }

    /**
     * Removes {@code len} bytes of data from the front of the first record ({@code sbdrop} within a
     * record), freeing emptied mbufs; drops the record once it holds neither data nor control.
     * Caller holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    void sbdropFirst(int len) {
        mtx.assertOwned();
        Record r = head;
        if (r == null || len < 0 || len > r.len) {
            throw new IllegalArgumentException("sbdrop " + len + " from a record of " + (r == null ? 0 : r.len));
        }
        int left = len;
        while (left > 0) {
            Mbuf m = r.m;
            if (m.len() <= left) {
                left -= m.len();
                cc -= m.len();
                r.len -= m.len();
                mbcnt -= charge(m);
                r.m = m.free();
                if (r.m == null) {
                    r.mlast = null;
                }
            } else {
                m.adj(left);
                cc -= left;
                r.len -= left;
                left = 0;
            }
        }
        if (r.len == 0 && r.control == null && r.addr == null) {
            sbdroprecord();
        }
        sbcheckIf();
    }

    /**
     * Cuts up to {@code len} bytes from the front of the first record into a new chain the caller owns
     * (the send queue of a protocol that forwards stream data, e.g. the UNIX-domain pump). Caller
     * holds {@link #mtx}.
     */
    @GuardedBy("mtx")
    Mbuf sbcut(int len) {
        mtx.assertOwned();
        Record r = head;
        if (r == null || len <= 0) {
            return null;
        }
        int want = Math.min(len, r.len);
        Mbuf out = r.m.copym(0, want, Mbuf.M_WAITOK);
        sbdropFirst(want);
        return out;
    }

    /**
     * Discards everything ({@code sbflush}/{@code sbrelease}'s flush part): frees data, queues control
     * for {@link #sbdisposeZombies} (which closes in-flight files once the caller has dropped the
     * mutex), counts the discarded bytes and records in the Vnet's drop counters. Caller holds
     * {@link #mtx}. Returns the data bytes discarded.
     */
    @GuardedBy("mtx")
    public int sbflush() {
        mtx.assertOwned();
        int bytes = 0;
        int recs = 0;
        while (head != null) {
            Record r = head;
            if (r.len > 0 || r.eor) {
                recs++;
            }
            bytes += sbdroprecord();
        }
        if (bytes > 0 || recs > 0) {
            so.domains().sbDropBytes.add(bytes);
            so.domains().sbDropRecords.add(recs);
        }
        return bytes;
    }

    /** Takes the queued control of discarded records (to dispose later, with no lock held). Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    List<Cmsg> sbtakeZombies() {
        mtx.assertOwned();
        if (zombies.isEmpty()) {
            return List.of();
        }
        List<Cmsg> z = zombies;
        zombies = new java.util.ArrayList<>();
        return z;
    }

    /**
     * Disposes the control of discarded records (closing files in flight). Caller holds no socket
     * lock: closing a passed socket takes its own buffer and protocol locks.
     */
    public void sbdisposeZombies() {
        List<Cmsg> z;
        mtx.lock();
        try {
            z = sbtakeZombies();
        } finally {
            mtx.unlock();
        }
        Cmsg.disposeAll(z);
    }

    // ---- sleeping and waking ----------------------------------------------------------------

    /**
     * Sleeps until a wakeup of this buffer, a timeout ({@code SO_RCVTIMEO}/{@code SO_SNDTIMEO}) or
     * an interrupt ({@code sbwait}). The caller holds {@link #mtx} (released while sleeping, held on
     * return) and no other mutex; it may hold the sx. The caller re-checks its condition.
     *
     * @param deadline {@link System#nanoTime()} deadline of the whole call, or 0 for none
     * @throws ErrnoException EAGAIN when the deadline passed (as BSD's EWOULDBLOCK), EINTR when interrupted
     */
    @GuardedBy("mtx")
    void sbwait(long deadline) throws ErrnoException {
        sbwait(deadline, false);
    }

    /**
     * {@link #sbwait}; with {@code busyPoll}, the caller holds no lock but this mutex (a datagram reader
     * without the I/O sx), so the spin may run protocol input: it polls the socket's driver queue.
     */
    @GuardedBy("mtx")
    void sbwait(long deadline, boolean busyPoll) throws ErrnoException {
        mtx.assertOwned();
        Witness.checkSleep("sbwait on " + mtx.name(), mtx);
        long seen = wakeups;
        long began = System.nanoTime();
        boolean quick = false;
        try {
            if (SPIN_NANOS > 0 && spinForWakeup(seen, deadline, busyPoll, peerBusy ? BUSY_SPIN_NANOS : SPIN_NANOS)) {
                quick = true;
                return;
            }
            sleep(seen, deadline);
            quick = System.nanoTime() - began <= BUSY_WAIT_NANOS;
        } finally {
            peerBusy = quick; // under the mutex on every way out (await reacquires it before it throws)
        }
    }

    /** Whether the next wait here spins for {@link #BUSY_SPIN_NANOS} (for tests). Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    boolean peerBusy() {
        mtx.assertOwned();
        return peerBusy;
    }

    /** The blocking part of {@link #sbwait}: waits on the condition until a wakeup, the deadline or an interrupt. */
    @GuardedBy("mtx")
    private void sleep(long seen, long deadline) throws ErrnoException {
        try {
            if (deadline == 0) {
                cv.await();
                return;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new ErrnoException(Errno.EAGAIN, "timed out on " + mtx.name());
            }
            cv.awaitNanos(left);
            if (seen == wakeups && System.nanoTime() - deadline >= 0) {
                throw new ErrnoException(Errno.EAGAIN, "timed out on " + mtx.name());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ErrnoException(Errno.EINTR, "interrupted on " + mtx.name());
        }
    }

    /**
     * Adaptive wait, like an adaptive mutex: a sleeper whose wakeup is only microseconds away costs the
     * waker a thread unpark and itself a reschedule, more than the wait. So spin with the mutex released
     * for up to {@code spinNanos}; true if a wakeup came meanwhile (the mutex is held again either way).
     * The spin yields the CPU every few rounds: when there are more busy threads than CPUs (a sender and
     * a reader per flow), the thread that will wake this one may be waiting for this very CPU, and a
     * yielding spinner gives it the CPU without the park and unpark a sleep costs both, and without
     * waiting for the scheduler to bring a woken reader back while its buffer overflows.
     */
    @GuardedBy("mtx")
    private boolean spinForWakeup(long seen, long deadline, boolean poll, long spinNanos) {
        mtx.unlock();
        IfQueue q = poll && BUSY_POLL ? pollQueue : null;
        boolean polling = q != null && q.pollerEnter();
        boolean woke = false;
        try {
            long start = System.nanoTime();
            long end = start + spinNanos;
            if (deadline != 0 && deadline - end < 0) {
                end = deadline;
            }
            for (int i = 1; ; i++) {
                if (polling && q.busyPoll()) {
                    so.domains.busyPolls.inc();
                }
                if (wakeupsSeen != seen) {
                    woke = true;
                    break;
                }
                Thread.onSpinWait();
                if ((i & 7) == 0) {
                    if ((i & 63) == 0 && System.nanoTime() - end >= 0) {
                        break;
                    }
                    Thread.yield();
                }
            }
        } finally {
            try {
                if (polling) {
                    q.pollerLeave(woke); // woken: the reader polls again soon, so its registration may linger
                }
            } finally {
                mtx.lock();
            }
        }
        // Decided under the mutex: a wakeup between the last look and the relock must not be slept through.
        return wakeups != seen;
    }

    /**
     * A datagram reader took data from this buffer: a linger it left on the queue that feeds the buffer
     * lasts on ({@link IfQueue#renewLinger}), since it polls again once the buffer is empty. No lock needed.
     */
    void readerActive() {
        IfQueue q = pollQueue;
        if (q != null) {
            q.renewLinger();
        }
    }

    /**
     * Whether a datagram reader spinning in {@link #sbwait} busy-polls the driver queue its socket is fed
     * from (tunable {@code smpnet.busy_poll}, default on; Linux's {@code net.core.busy_read}).
     */
    static final boolean BUSY_POLL = !"0".equals(System.getProperty("smpnet.busy_poll", "1"));

    /** How long {@link #sbwait} spins before it sleeps (tunable {@code smpnet.sbwait.spin.nanos}; 0 on one CPU). */
    static final long SPIN_NANOS = Runtime.getRuntime().availableProcessors() < 2 ? 0
            : Long.getLong("smpnet.sbwait.spin.nanos", 20_000);

    /**
     * How long {@link #sbwait} spins while the peer is busy ({@link #peerBusy}; tunable
     * {@code smpnet.sbwait.spin.busy.nanos}). A flow's next wakeup is then near, and the yielding spin
     * lets its sender run meanwhile; an idle socket's reader spins only {@link #SPIN_NANOS}.
     */
    static final long BUSY_SPIN_NANOS = SPIN_NANOS == 0 ? 0
            : Math.max(SPIN_NANOS, Long.getLong("smpnet.sbwait.spin.busy.nanos", 200_000));

    /** A wait that ends within this long of its start marks the peer busy. */
    static final long BUSY_WAIT_NANOS = 1_000_000;

    /** The deadline of a call starting now under this buffer's timeout (0: none). Caller holds {@link #mtx}. */
    @GuardedBy("mtx")
    long deadline() {
        mtx.assertOwned();
        return timeoNanos == 0 ? 0 : System.nanoTime() + timeoNanos;
    }

    /**
     * Wakes sleepers on this buffer and notifies its knotes and selectors ({@code sowakeup}).
     * Caller holds {@link #mtx} (kept held).
     */
    @GuardedBy("mtx")
    void sowakeup() {
        mtx.assertOwned();
        wakeups++;
        wakeupsSeen = wakeups;
        cv.signalAll();
        sel.wakeup();
        knlist.knote(0);
    }

    // ---- I/O serialisation ------------------------------------------------------------------

    /**
     * Takes the buffer's I/O sx exclusively ({@code sblock}). The caller holds no mutex. May sleep
     * unless {@code dontwait}.
     *
     * @throws ErrnoException EAGAIN when {@code dontwait} and it is busy, EINTR when interrupted
     */
    void sblock(boolean dontwait) throws ErrnoException {
        if (dontwait) {
            if (!sx.writeLock().tryLock()) {
                throw new ErrnoException(Errno.EAGAIN, mtx.name() + " busy");
            }
            return;
        }
        Witness.checkSleep("sblock " + sx.name(), null);
        try {
            sx.writeLock().lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ErrnoException(Errno.EINTR, "interrupted in sblock " + sx.name());
        }
    }

    void sbunlock() {
        sx.writeLock().unlock();
    }

    // ---- invariants ---------------------------------------------------------------------------

    @GuardedBy("mtx")
    private void sbcheckIf() {
        if (UmaZone.INVARIANTS) {
            sbcheck();
        }
    }

    /**
     * Checks the accounting against the queue ({@code sbcheck}): {@code cc} equals the sum of the
     * queued mbufs' lengths, {@code mbcnt} their storage plus the charge of addresses and control,
     * {@code ctl} the address and control bytes, and the record links. Caller holds {@link #mtx}.
     *
     * @throws IllegalStateException naming the buffer and the mismatch
     */
    @GuardedBy("mtx")
    public void sbcheck() {
        mtx.assertOwned();
        long sumCc = 0;
        long sumMb = 0;
        long sumCtl = 0;
        int n = 0;
        Record last = null;
        for (Record r = head; r != null; r = r.next) {
            n++;
            last = r;
            long rl = 0;
            Mbuf lastm = null;
            for (Mbuf m = r.m; m != null; m = m.next()) {
                rl += m.len();
                sumMb += charge(m);
                lastm = m;
            }
            if (rl != r.len || lastm != r.mlast) {
                fail("record length " + r.len + " but its mbufs hold " + rl);
            }
            sumCc += rl;
            if (r.addr != null) {
                sumCtl += sockaddrSpace(r.addr);
                sumMb += Mbuf.MSIZE;
            }
            if (r.control != null) {
                sumCtl += Cmsg.spaceOf(r.control);
                sumMb += (long) Mbuf.MSIZE * r.control.size();
            }
        }
        if (sumCc != cc || sumMb != mbcnt || sumCtl != ctl || n != records || last != tail) {
            fail("cc " + cc + " (mbufs " + sumCc + "), mbcnt " + mbcnt + " (" + sumMb + "), ctl " + ctl + " (" + sumCtl
                    + "), records " + records + " (" + n + ")");
        }
        if (lowat > Math.max(hiwat, 1) || cc < 0 || mbcnt < 0) {
            fail("limits hiwat " + hiwat + " lowat " + lowat);
        }
    }

    private void fail(String what) {
        throw new IllegalStateException("sbcheck " + mtx.name() + " of " + so + ": " + what);
    }

    // ---- helpers ----------------------------------------------------------------------------

    /** Storage an mbuf is charged: the header plus its cluster ({@code sballoc}'s mbcnt part). */
    static int charge(Mbuf m) {
        return Mbuf.MSIZE + ((m.flags() & Mbuf.M_EXT) != 0 ? m.size() : 0);
    }

    static int lengthOf(Mbuf m) {
        return m == null ? 0 : m.length();
    }

    /** Bytes a sender address is charged: the size of its {@code struct sockaddr_*}. */
    static int sockaddrSpace(Sockaddr sa) {
        if (sa == null) {
            return 0;
        }
        return switch (sa) {
            case Sockaddr.In in -> 16;
            case Sockaddr.In6 in6 -> 28;
            case Sockaddr.Un un -> 106;
            case Sockaddr.Dl dl -> 54;
            case Sockaddr.Route rt -> 2;
        };
    }

    /** Nanoseconds for {@link TimeUnit} conversions of option values. */
    static long micros2nanos(long micros) {
        return TimeUnit.MICROSECONDS.toNanos(micros);
    }

    /**
     * One record of a socket buffer. Fields are guarded by the owning buffer's mutex while linked;
     * a dequeued record belongs to the caller.
     */
    static final class Record {
        final Sockaddr addr;
        List<Cmsg> control;
        Mbuf m;
        Mbuf mlast;
        int len;
        final boolean eor;
        Record next;

        Record(Sockaddr addr, List<Cmsg> control, boolean eor) {
            this.addr = addr;
            this.control = control == null || control.isEmpty() ? null : List.copyOf(control);
            this.eor = eor;
        }
    }

    @Override
    public String toString() {
        return "Sockbuf[" + mtx.name() + "]";
    }
}
