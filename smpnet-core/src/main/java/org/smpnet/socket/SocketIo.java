package org.smpnet.socket;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.DeferredInput;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Sockaddr;

import static org.smpnet.socket.SocketConst.MSG_CTRUNC;
import static org.smpnet.socket.SocketConst.MSG_DONTWAIT;
import static org.smpnet.socket.SocketConst.MSG_EOF;
import static org.smpnet.socket.SocketConst.MSG_EOR;
import static org.smpnet.socket.SocketConst.MSG_OOB;
import static org.smpnet.socket.SocketConst.MSG_PEEK;
import static org.smpnet.socket.SocketConst.MSG_TRUNC;
import static org.smpnet.socket.SocketConst.MSG_WAITALL;
import static org.smpnet.socket.SocketConst.MSG_WAITFORONE;
import static org.smpnet.socket.SocketConst.PR_ATOMIC;
import static org.smpnet.socket.SocketConst.PR_CONNREQUIRED;
import static org.smpnet.socket.SocketConst.PR_WANTRCVD;

/**
 * {@code sosend} and {@code soreceive} ({@code sosend_generic}, {@code soreceive_generic}) for stream,
 * datagram and record sockets.
 *
 * <p>Locking: each call serialises on the buffer's I/O sx ({@link Sockbuf#sblock}, class "sbsx"), except
 * on inet datagram sockets ({@link #atomicDgram}), then
 * checks and changes the buffer under its mutex ("sockbuf"), which it releases around protocol calls;
 * protocol calls run under Giant when {@code net.mpsafenet=0}. The caller holds no lock. Both may
 * sleep (buffer space, data, the sx) unless non-blocking; a close of the socket by another thread
 * wakes them with EBADF.
 */
public final class SocketIo {
    private SocketIo() {}

    /**
     * Sends {@code msg}'s data (and control) on {@code so}. Returns the bytes accepted: all of them,
     * or fewer when a stream send that had already sent some would block, timed out, was interrupted
     * or failed (the error then shows on the next call).
     * Consumes the control list (it is disposed when not sent).
     *
     * @throws ErrnoException EBADF (closed), EPIPE (sending side shut), ENOTCONN/EDESTADDRREQ,
     *     EMSGSIZE (datagram larger than the send buffer), EAGAIN (would block / SO_SNDTIMEO), EINTR,
     *     a pending socket error, or the protocol's error
     */
    public static int sosend(Socket so, Msghdr msg, int flags) throws ErrnoException {
        List<Cmsg> control = msg.control;
        msg.control = null;
        boolean section = DeferredInput.enter();
        try {
            return sosend0(so, msg.name, msg.buf, msg.off, msg.len, control, flags);
        } finally {
            DeferredInput.exit(section); // every socket lock is released: run the receive work this send queued
        }
    }

    /** Readies one message of a {@link #sosendBatch} just before it is sent (e.g. turns its descriptors into files). */
    @FunctionalInterface
    public interface MsgPrep {
        void prepare(Msghdr msg) throws ErrnoException;
    }

    /**
     * {@code sendmmsg}: sends {@code msgs[off .. off+vlen)} in order, as {@link #sosend} each, inside one
     * {@link DeferredInput} section, so the receive work they queue runs once, as a batch, after the last.
     * Each sent message's byte count goes to its {@link Msghdr#msgLen}. Returns the messages sent; stops at
     * the first that fails: its error is thrown if it is the first, otherwise the count so far is returned
     * and the error is not reported (as Linux and FreeBSD do; the caller resends from the first unsent
     * message, whose control, if any, was not yet given to {@code prep}).
     *
     * @throws ErrnoException the first message's error (see {@link #sosend}), or what {@code prep} threw for it
     */
    public static int sosendBatch(Socket so, Msghdr[] msgs, int off, int vlen, int flags, MsgPrep prep)
            throws ErrnoException {
        checkVector(msgs, off, vlen);
        boolean section = DeferredInput.enter();
        try {
            if (atomicDgram(so) && (flags & (MSG_OOB | MSG_EOF)) == 0) {
                return new DgramBatch(so, msgs, off, vlen, flags, prep).send();
            }
            int i = 0;
            for (; i < vlen; i++) {
                try {
                    sendOne(so, msgs[off + i], flags, prep);
                } catch (ErrnoException e) {
                    if (i == 0) {
                        throw e;
                    }
                    break;
                }
            }
            return i;
        } finally {
            DeferredInput.exit(section);
        }
    }

    /** One message of a {@code sendmmsg} the general way: prepared, then {@link #sosend0}. */
    private static void sendOne(Socket so, Msghdr msg, int flags, MsgPrep prep) throws ErrnoException {
        prep.prepare(msg);
        sendPrepared(so, msg, flags);
    }

    private static void sendPrepared(Socket so, Msghdr msg, int flags) throws ErrnoException {
        List<Cmsg> control = msg.control;
        msg.control = null;
        msg.msgLen = sosend0(so, msg.name, msg.buf, msg.off, msg.len, control, flags);
    }

    /** Datagrams a {@link DgramBatch} checks under one hold of the send buffer's mutex and hands down in one call. */
    static final int SEND_CHUNK = 64;

    /**
     * {@link #sosendBatch} on an inet datagram socket ({@link #atomicDgram}): each chunk of up to
     * {@value #SEND_CHUNK} messages is checked under one hold of the send buffer's mutex and handed to
     * {@link Protosw#pru_sendBatch} in one call, so the protocol takes its PCB lock and finds the
     * destination once per chunk rather than once per datagram. A message the chunk cannot take (control
     * data, no room in the send buffer, a failed check) goes alone the general way ({@link #sosend0}), in
     * its place in the order, which also reports its error. A chunk's checks all happen at one instant,
     * as if its messages were one call: a shutdown or error racing with it takes effect from the next chunk.
     * Every message is given to {@code prep} once, before it is checked.
     */
    private static final class DgramBatch {
        private final Socket so;
        private final Msghdr[] msgs;
        private final int start;
        private final int end;
        private final int flags;
        private final MsgPrep prep;
        private final Mbuf[] ms;
        private final Sockaddr[] to;
        /** The first message not yet sent (nor failed). */
        private int next;
        /** The first message not yet given to {@code prep}. */
        private int prepared;

        DgramBatch(Socket so, Msghdr[] msgs, int off, int vlen, int flags, MsgPrep prep) {
            this.so = so;
            this.msgs = msgs;
            this.start = off;
            this.end = off + vlen;
            this.flags = flags;
            this.prep = prep;
            int cap = Math.min(vlen, SEND_CHUNK);
            this.ms = new Mbuf[cap];
            this.to = new Sockaddr[cap];
            this.next = off;
            this.prepared = off;
        }

        /** Sends from {@link #next} to the end or the first failure; returns the messages sent. */
        int send() throws ErrnoException {
            while (next < end) {
                int k = chunk();
                int got = 0;
                try {
                    for (; got < k; got++) {
                        Msghdr msg = msgs[next + got];
                        ms[got] = copyinOrNull(msg);
                        if (ms[got] == null) {
                            break; // no mbuf: this one goes the general way, which reports it
                        }
                        to[got] = msg.name;
                    }
                } catch (RuntimeException e) { // a bad buffer: as sosend0, the caller's bug propagates
                    Protosw.freeUnsent(ms, 0, got);
                    throw e;
                }
                if (got > 0) {
                    int n = handDown(got);
                    next += n;
                    if (n < got) {
                        return next - start;
                    }
                    continue;
                }
                try {
                    if (next >= prepared) {
                        prepared = next + 1;
                        sendOne(so, msgs[next], flags, prep);
                    } else {
                        sendPrepared(so, msgs[next], flags);
                    }
                } catch (ErrnoException e) {
                    if (next == start) {
                        throw e;
                    }
                    return next - start;
                }
                next++;
            }
            return next - start;
        }

        /**
         * Prepares the messages from {@link #next} up to one with control data (or the chunk's size) and
         * checks them under one hold of the send buffer's mutex; returns how many, from {@link #next},
         * can go as one chunk (0: the next one goes the general way).
         */
        private int chunk() {
            int max = Math.min(end - next, ms.length);
            try {
                while (prepared < next + max && msgs[prepared].control == null) {
                    prep.prepare(msgs[prepared]); // before the mutex: it may take other locks
                    prepared++;
                }
            } catch (ErrnoException e) {
                // this message goes the general way, whose prep reports the error
            }
            int k = next;
            while (k < prepared && k < next + max && msgs[k].control == null) {
                k++;
            }
            if (k == next) {
                return 0;
            }
            Sockbuf sb = so.snd;
            sb.mtx.lock();
            try {
                for (int i = next; i < k; i++) {
                    Msghdr msg = msgs[i];
                    if (!sendableNow(so, sb, msg)) {
                        return i - next;
                    }
                }
                return k - next;
            } finally {
                sb.mtx.unlock();
            }
        }

        /** Hands {@code ms[0, k)} to the protocol under Giant if the mode needs it; returns how many were sent. */
        private int handDown(int k) throws ErrnoException {
            int n;
            boolean giant = SoGiant.pickup();
            try {
                n = so.proto.pru_sendBatch(so, ms, to, k);
            } catch (ErrnoException e) {
                if (next == start) {
                    throw e;
                }
                n = 0;
            } finally {
                SoGiant.drop(giant);
                java.util.Arrays.fill(to, 0, k, null);
            }
            for (int i = 0; i < n; i++) {
                Msghdr msg = msgs[next + i];
                msg.msgLen = msg.len;
            }
            return n;
        }
    }

    /** Whether a datagram passes {@link #sosend0}'s checks with no wait: sendable, fits the buffer, room now. */
    @GuardedBy("sb.mtx")
    private static boolean sendableNow(Socket so, Sockbuf sb, Msghdr msg) {
        int state = so.state();
        return (sb.state() & Sockbuf.SBS_CANTSENDMORE) == 0 && !so.hasError() && (state & Socket.SS_NOFDREF) == 0
                && (msg.name != null || (state & Socket.SS_ISCONNECTED) != 0)
                && msg.len <= sb.hiwat() && sb.sbspace() >= msg.len;
    }

    private static Mbuf copyinOrNull(Msghdr msg) {
        try {
            return copyin(msg.buf, msg.off, msg.len, true);
        } catch (ErrnoException e) {
            return null;
        }
    }

    private static int sosend0(Socket so, Sockaddr addr, byte[] b, int off, int len, List<Cmsg> control, int flags)
            throws ErrnoException {
        Protosw pr = so.proto;
        boolean atomic = (pr.flags() & PR_ATOMIC) != 0;
        boolean dontwait = (flags & MSG_DONTWAIT) != 0 || (so.state() & Socket.SS_NBIO) != 0;
        int clen = Cmsg.spaceOf(control);
        Sockbuf sb = so.snd;
        List<Cmsg> pending = control;
        int sent = 0;
        boolean sx = !atomicDgram(so);
        try {
            if (sx) {
                sb.sblock(dontwait);
            }
        } catch (ErrnoException e) {
            Cmsg.disposeAll(pending);
            throw e;
        }
        try {
            long deadline = -1;
            do {
                int chunk;
                sb.mtx.lock();
                try {
                    if (deadline < 0) {
                        deadline = sb.deadline();
                    }
                    int space;
                    while (true) {
                        try {
                            checkSendable(so, sb, addr, len, pending != null);
                        } catch (ErrnoException e) {
                            if (sent > 0) {
                                return sent;
                            }
                            throw e;
                        }
                        if (atomic && len + clen > sb.hiwat()) {
                            throw new ErrnoException(Errno.EMSGSIZE, len + " bytes, send buffer " + sb.hiwat());
                        }
                        space = sb.sbspace();
                        int resid = len - sent;
                        if (space >= resid + clen || !(atomic || space < sb.lowat() || space < clen)) {
                            break;
                        }
                        if (dontwait) {
                            if (sent > 0) {
                                return sent;
                            }
                            throw new ErrnoException(Errno.EAGAIN, "send buffer full");
                        }
                        try {
                            sb.sbwait(deadline);
                        } catch (ErrnoException e) {
                            if (sent > 0) {
                                return sent;
                            }
                            throw e;
                        }
                    }
                    chunk = atomic ? len : Math.min(len - sent, Math.max(0, space - clen));
                } finally {
                    sb.mtx.unlock();
                }
                Mbuf m = copyin(b, off + sent, chunk, atomic);
                int prflags = 0;
                if ((flags & MSG_OOB) != 0) {
                    prflags |= SocketConst.PRUS_OOB;
                }
                if ((flags & MSG_EOF) != 0 && sent + chunk == len) {
                    prflags |= SocketConst.PRUS_EOF;
                }
                if (sent + chunk < len) {
                    prflags |= SocketConst.PRUS_MORETOCOME;
                }
                List<Cmsg> c = pending;
                pending = null;
                clen = 0;
                boolean giant = SoGiant.pickup();
                try {
                    pr.pru_send(so, prflags, m, addr, c);
                } catch (ErrnoException e) {
                    if (sent > 0) {
                        return sent; // data went out: report it; the error shows on the next call
                    }
                    throw e;
                } finally {
                    SoGiant.drop(giant);
                }
                sent += chunk;
            } while (sent < len);
            return sent;
        } finally {
            Cmsg.disposeAll(pending);
            if (sx) {
                sb.sbunlock();
            }
        }
    }

    /**
     * Whether sends and receives on {@code so} go without the buffer's I/O sx: an inet datagram socket
     * (UDP), whose datagrams are each handed to the protocol in one call and queued and taken whole
     * under the buffer mutex, so there is no I/O to interlace. FreeBSD's {@code sosend_dgram} and
     * {@code soreceive_dgram} skip {@code sblock} for the same reason.
     */
    private static boolean atomicDgram(Socket so) {
        int f = so.proto.flags();
        return so.type() == SocketConst.SOCK_DGRAM && so.domain.family() == Sockaddr.AF_INET
                && (f & PR_ATOMIC) != 0 && (f & (PR_WANTRCVD | PR_CONNREQUIRED)) == 0;
    }

    @GuardedBy("sb.mtx")
    private static void checkSendable(Socket so, Sockbuf sb, Sockaddr addr, int len, boolean hasControl)
            throws ErrnoException {
        if ((sb.state() & Sockbuf.SBS_CANTSENDMORE) != 0) {
            throw new ErrnoException(so.isClosed() ? Errno.EBADF : Errno.EPIPE, "sending side shut");
        }
        Errno e = so.hasError() ? so.takeError() : null;
        if (e != null) {
            throw new ErrnoException(e);
        }
        int state = so.state();
        if ((state & Socket.SS_NOFDREF) != 0) {
            throw new ErrnoException(Errno.EBADF, "socket closed");
        }
        if ((state & Socket.SS_ISCONNECTED) == 0) {
            if ((so.proto.flags() & PR_CONNREQUIRED) != 0) {
                if ((state & Socket.SS_ISCONFIRMING) == 0 && !(len == 0 && hasControl)) {
                    throw new ErrnoException(Errno.ENOTCONN, "send on unconnected " + so.proto.name());
                }
            } else if (addr == null) {
                throw new ErrnoException(Errno.EDESTADDRREQ, "send without a destination on " + so.proto.name());
            }
        }
    }

    /**
     * Room left in front of a small datagram for the headers below the socket layer (FreeBSD's
     * {@code max_hdr}: an aligned link header, the largest IPv4 header and a transport header).
     */
    static final int MAX_HDR = 16 + 60 + 20;

    /**
     * Copies user data into a packet chain ({@code m_uiotombuf}); a zero-length datagram is one empty mbuf.
     * A datagram that fits one mbuf after {@link #MAX_HDR} is placed at its end, so the protocols prepend
     * their headers in place instead of chaining a header mbuf each ({@code sosend_dgram} reserves
     * {@code max_hdr} the same way).
     */
    private static Mbuf copyin(byte[] b, int off, int len, boolean atomic) throws ErrnoException {
        if (len == 0) {
            return atomic ? Mbuf.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA) : null;
        }
        if (atomic && len <= Mbuf.MHLEN - MAX_HDR) {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            Mbuf m = Mbuf.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA);
            if (m == null) {
                throw new ErrnoException(Errno.ENOBUFS, "no mbuf for " + len + " bytes");
            }
            m.align(len);
            System.arraycopy(b, off, m.writableData(), m.dataOff(), len);
            m.setLen(len);
            m.setPktLen(len);
            return m;
        }
        Mbuf m = Mbuf.devget(b, off, len, Mbuf.M_WAITOK);
        if (m == null) {
            throw new ErrnoException(Errno.ENOBUFS, "no mbufs for " + len + " bytes");
        }
        return m;
    }

    /**
     * Receives into {@code msg}'s buffer from {@code so}: one datagram or record (its address into
     * {@code msg.name}, control into {@code msg.control}, MSG_TRUNC/MSG_CTRUNC/MSG_EOR into
     * {@code msg.flags}), or stream bytes up to the buffer length (or all of it with MSG_WAITALL, short
     * only at EOF, error, timeout or signal). Returns the bytes copied; 0 at end of stream.
     * MSG_PEEK leaves the data queued and returns no rights.
     *
     * @throws ErrnoException EBADF (closed), ENOTCONN, EAGAIN (would block / SO_RCVTIMEO with no data),
     *     EINTR, EOPNOTSUPP for MSG_OOB, or a pending socket error
     */
    public static int soreceive(Socket so, Msghdr msg, int flags) throws ErrnoException {
        return soreceive(so, msg, flags, 0);
    }

    /** {@link #soreceive}, waiting no later than {@code until} (a {@link System#nanoTime} instant; 0: no limit) besides SO_RCVTIMEO. */
    private static int soreceive(Socket so, Msghdr msg, int flags, long until) throws ErrnoException {
        if ((flags & MSG_OOB) != 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "no out-of-band data on " + so.proto.name());
        }
        msg.name = null;
        msg.control = null;
        msg.flags = 0;
        boolean dontwait = (flags & MSG_DONTWAIT) != 0 || (so.state() & Socket.SS_NBIO) != 0;
        Sockbuf sb = so.rcv;
        if (atomicDgram(so)) {
            return receiveRecord(so, msg, flags, dontwait, true, until); // the record is taken whole under the mutex
        }
        sb.sblock(dontwait);
        try {
            return so.type() == SocketConst.SOCK_STREAM
                    ? receiveStream(so, msg, flags, dontwait, until)
                    : receiveRecord(so, msg, flags, dontwait, false, until);
        } finally {
            sb.sbunlock();
        }
    }

    /**
     * {@code recvmmsg}: receives into {@code msgs[off .. off+vlen)} in order, each as {@link #soreceive}
     * would, its byte count in {@link Msghdr#msgLen}. Blocks (unless non-blocking) until all are filled,
     * or with {@code MSG_WAITFORONE} only for the first, then takes what is already queued. On an inet
     * datagram socket the datagrams are unlinked in one hold of the buffer mutex per wait (usually one)
     * and copied out after it is released. Returns the messages
     * received (at least one); stops early at end of data, a timeout, or an error after the first
     * message, which is then left for the next call where it can be (a pending socket error is). Calls
     * without a buffer lock busy-poll as {@link #soreceive} does.
     *
     * @throws ErrnoException the first message's error (see {@link #soreceive})
     */
    public static int soreceiveBatch(Socket so, Msghdr[] msgs, int off, int vlen, int flags) throws ErrnoException {
        return soreceiveBatch(so, msgs, off, vlen, flags, -1);
    }

    /**
     * {@link #soreceiveBatch} that also returns once {@code timeoutNanos} (negative: no limit) have passed,
     * with the messages received by then, as {@code recvmmsg}'s timeout is meant to work (Linux checks it
     * only after each message); with none received by then it fails with EAGAIN, as SO_RCVTIMEO does.
     */
    public static int soreceiveBatch(Socket so, Msghdr[] msgs, int off, int vlen, int flags, long timeoutNanos)
            throws ErrnoException {
        checkVector(msgs, off, vlen);
        if (vlen == 0) {
            return 0;
        }
        long until = 0;
        if (timeoutNanos == 0) {
            flags |= MSG_DONTWAIT;
        } else if (timeoutNanos > 0) {
            until = System.nanoTime() + timeoutNanos;
            until = until == 0 ? 1 : until; // 0 means no limit
        }
        boolean waitForOne = (flags & MSG_WAITFORONE) != 0;
        flags &= ~MSG_WAITFORONE;
        if (atomicDgram(so) && (flags & (MSG_PEEK | MSG_OOB)) == 0) {
            return receiveRecords(so, msgs, off, vlen, flags, waitForOne, until);
        }
        int i = 0;
        for (; i < vlen; i++) {
            Msghdr msg = msgs[off + i];
            try {
                msg.msgLen = soreceive(so, msg, i > 0 && waitForOne ? flags | MSG_DONTWAIT : flags, until);
            } catch (ErrnoException e) {
                if (i == 0) {
                    throw e;
                }
                if (e instanceof PendingError) {
                    so.restoreError(e.errno()); // reported by the next call, as Linux does
                }
                break;
            }
            if (msg.msgLen == 0 && so.type() == SocketConst.SOCK_STREAM) {
                return i + 1; // end of stream: one empty read reports it
            }
        }
        return i;
    }

    /**
     * A receive's failure with the socket's pending error ({@code so_error}), which it took: a call that
     * already received messages puts it back instead of losing it.
     */
    private static final class PendingError extends ErrnoException {
        private static final long serialVersionUID = 1L;

        PendingError(Errno errno) {
            super(errno);
        }
    }

    /** A deadline {@link #awaitRecord} works out only at its first wait. */
    private static final long DEADLINE_AT_WAIT = Long.MIN_VALUE;

    /** The earlier of two {@link System#nanoTime} deadlines, where 0 means none. */
    private static long earlier(long a, long b) {
        if (a == 0) {
            return b;
        }
        if (b == 0) {
            return a;
        }
        return a - b < 0 ? a : b;
    }

    /** A message vector's bounds: EINVAL, not an index exception, for a bad {@code off}/{@code vlen}. */
    private static void checkVector(Msghdr[] msgs, int off, int vlen) throws ErrnoException {
        if (msgs == null || off < 0 || vlen < 0 || off > msgs.length - vlen) {
            throw new ErrnoException(Errno.EINVAL, "message vector: offset " + off + ", " + vlen + " messages, "
                    + (msgs == null ? "no array" : msgs.length + " in the array"));
        }
        for (int i = off; i < off + vlen; i++) {
            if (msgs[i] == null) {
                throw new ErrnoException(Errno.EINVAL, "message vector: no message at " + i);
            }
        }
    }

    /**
     * {@link #soreceiveBatch} on an inet datagram socket: the records are unlinked under the mutex, in as
     * few holds as the waiting allows, and copied out and freed after it is released, so a sender appending
     * meanwhile does not wait behind the copies.
     */
    private static int receiveRecords(Socket so, Msghdr[] msgs, int off, int vlen, int flags, boolean waitForOne,
            long until) throws ErrnoException {
        boolean dontwait = (flags & MSG_DONTWAIT) != 0 || (so.state() & Socket.SS_NBIO) != 0;
        Sockbuf.Record taken = null;
        Sockbuf.Record last = null;
        int got = 0;
        boolean eof = false;
        so.rcv.mtx.lock();
        try {
            long deadline = earlier(so.rcv.deadline(), until);
            while (got < vlen) {
                if (got > 0 && so.rcv.first() == null
                        && (waitForOne || dontwait || so.errorLocked() != null
                                || (so.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0)) {
                    break; // nothing more now, or what comes next is for the next call
                }
                try {
                    if (!awaitRecord(so, msgs[off + got].len, dontwait, deadline, 0, 0, true)) {
                        eof = true;
                        break;
                    }
                } catch (ErrnoException e) {
                    if (got == 0) {
                        throw e;
                    }
                    if (e instanceof PendingError) {
                        so.restoreErrorLocked(e.errno()); // came while waiting for more: the next call's
                    }
                    break; // a timeout, a close or an error after some were received
                }
                Sockbuf.Record r = so.rcv.sbdequeueUpTo(vlen - got);
                if (last == null) {
                    taken = r;
                } else {
                    last.next = r;
                }
                for (; r != null; r = r.next) {
                    last = r;
                    got++;
                }
            }
        } finally {
            so.rcv.mtx.unlock();
        }
        if (got > 0) {
            so.rcv.readerActive();
        }
        Sockbuf.Record r = taken;
        try {
            for (int i = 0; r != null; i++, r = r.next) {
                Msghdr msg = msgs[off + i];
                msg.name = r.addr;
                msg.control = null;
                msg.flags = 0;
                int n = Math.min(msg.len, r.len);
                copyOut(r, 0, msg.buf, msg.off, n);
                if (r.len > msg.len) {
                    msg.flags |= MSG_TRUNC;
                }
                msg.msgLen = n;
                Mbuf.freeChain(r.m);
                r.m = null;
                List<Cmsg> control = r.control;
                r.control = null;
                deliverControl(msg, control);
            }
        } finally {
            for (; r != null; r = r.next) { // only after an Error: what was taken is freed, not lost to the pool
                Mbuf.freeChain(r.m);
                Cmsg.disposeAll(r.control);
            }
        }
        if (eof) {
            Msghdr msg = msgs[off + got];
            msg.name = null;
            msg.control = null;
            msg.flags = 0;
            msg.msgLen = 0; // end of data: one empty message reports it
            got++;
        }
        return got;
    }

    /**
     * Waits until the first record is there; returns false at EOF. Caller holds so.rcv.mtx, and with
     * {@code busyPoll} no other lock (then the wait may busy-poll the socket's driver queue). A
     * {@code deadline} of {@link #DEADLINE_AT_WAIT} is worked out from the buffer's timeout and {@code until}
     * at the first wait, so a receive that finds data reads no clock.
     */
    @GuardedBy("so.rcv.mtx")
    private static boolean awaitRecord(Socket so, int len, boolean dontwait, long deadline, int want, long until,
            boolean busyPoll) throws ErrnoException {
        while (true) {
            int state = so.stateLocked();
            if ((state & Socket.SS_NOFDREF) != 0) {
                throw new ErrnoException(Errno.EBADF, "socket closed");
            }
            Sockbuf.Record r = so.rcv.first();
            if (r != null && (want <= 0 || so.rcv.cc() >= want || r.control != null || r.next != null)) {
                return true;
            }
            if (so.errorLocked() != null) {
                if (r != null) {
                    return true;
                }
                throw new PendingError(so.takeErrorLocked());
            }
            if ((so.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0) {
                return r != null;
            }
            if (r == null && (so.proto.flags() & PR_CONNREQUIRED) != 0
                    && (state & (Socket.SS_ISCONNECTED | Socket.SS_ISCONNECTING)) == 0) {
                throw new ErrnoException(Errno.ENOTCONN, "receive on unconnected " + so.proto.name());
            }
            if (len == 0) {
                return false;
            }
            if (dontwait) {
                if (r != null) {
                    return true;
                }
                throw new ErrnoException(Errno.EAGAIN, "no data");
            }
            if (deadline == DEADLINE_AT_WAIT) {
                deadline = earlier(so.rcv.deadline(), until);
            }
            try {
                so.rcv.sbwait(deadline, busyPoll);
            } catch (ErrnoException timedOut) {
                if (so.rcv.first() != null && timedOut.errno() == Errno.EAGAIN) {
                    return true;
                }
                throw timedOut;
            }
        }
    }

    /** One record; {@code noIoLock}: the caller holds no lock (no sblock), so waiting may busy-poll. */
    private static int receiveRecord(Socket so, Msghdr msg, int flags, boolean dontwait, boolean noIoLock, long until)
            throws ErrnoException {
        boolean peek = (flags & MSG_PEEK) != 0;
        int n;
        List<Cmsg> control = null;
        so.rcv.mtx.lock();
        try {
            if (!awaitRecord(so, msg.len, dontwait, DEADLINE_AT_WAIT, 0, until, noIoLock)) {
                return 0;
            }
            Sockbuf.Record r = so.rcv.first();
            msg.name = r.addr;
            if (!peek) {
                control = so.rcv.takeControl(r);
            }
            n = Math.min(msg.len, r.len);
            copyOut(r, 0, msg.buf, msg.off, n);
            if (r.len > msg.len) {
                msg.flags |= MSG_TRUNC;
            }
            if (r.eor && so.type() == SocketConst.SOCK_SEQPACKET) {
                msg.flags |= MSG_EOR;
            }
            if (!peek) {
                so.rcv.sbdroprecord();
            }
        } finally {
            so.rcv.mtx.unlock();
        }
        deliverControl(msg, control);
        if (!peek) {
            if (noIoLock) {
                so.rcv.readerActive();
            }
            rcvd(so, flags);
        }
        return n;
    }

    private static int receiveStream(Socket so, Msghdr msg, int flags, boolean dontwait, long until)
            throws ErrnoException {
        boolean peek = (flags & MSG_PEEK) != 0;
        boolean waitall = (flags & MSG_WAITALL) != 0 && !peek && !dontwait;
        int copied = 0;
        List<Cmsg> control = null;
        long deadline = -1;
        try {
            while (true) {
                boolean stop;
                so.rcv.mtx.lock();
                try {
                    if (deadline < 0) {
                        deadline = earlier(so.rcv.deadline(), until);
                    }
                    int resid = msg.len - copied;
                    int want = waitall ? Math.min(resid, so.rcv.hiwat()) : Math.min(resid, so.rcv.lowat());
                    boolean have;
                    try {
                        have = awaitRecord(so, resid, dontwait || copied > 0 && !waitall, deadline, want, 0, false);
                    } catch (ErrnoException e) {
                        if (copied > 0) {
                            return copied;
                        }
                        throw e;
                    }
                    if (!have) {
                        return copied;
                    }
                    Taken taken = new Taken();
                    copied += copyStream(so, msg, copied, peek, taken);
                    if (taken.control != null) {
                        control = taken.control;
                    }
                    stop = !waitall || copied == msg.len || (so.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0
                            || so.errorLocked() != null || so.rcv.first() != null && so.rcv.first().control != null;
                } finally {
                    so.rcv.mtx.unlock();
                }
                if (!peek) {
                    rcvd(so, flags);
                }
                if (stop) {
                    return copied;
                }
            }
        } finally {
            deliverControl(msg, control);
        }
    }

    /** Control messages {@link #copyStream} took out of the buffer for its caller. */
    private static final class Taken {
        List<Cmsg> control;
    }

    /**
     * Copies stream data from the front of the buffer into the message, stopping before a record that
     * carries control unless it is the first thing read. Caller holds so.rcv.mtx. Returns bytes copied.
     */
        @GuardedBy("so.rcv.mtx")
    private static int copyStream(Socket so, Msghdr msg, int at, boolean peek, Taken taken) {
        int copied = 0;
        int skip = 0;
        for (Sockbuf.Record r = so.rcv.first(); r != null && at + copied < msg.len; ) {
            if (r.control != null) {
                if (copied > 0 || at > 0) {
                    break;
                }
                if (!peek) {
                    taken.control = so.rcv.takeControl(r);
                }
            }
            int n = Math.min(msg.len - at - copied, r.len - skip);
            copyOut(r, skip, msg.buf, msg.off + at + copied, n);
            copied += n;
            if (peek) {
                skip += n;
                if (skip == r.len) {
                    r = r.next;
                    skip = 0;
                }
            } else {
                Sockbuf.Record next = r.next;
                boolean whole = n == r.len;
                so.rcv.sbdropFirst(n);
                if (!whole) {
                    break;
                }
                if (so.rcv.first() == r) {
                    if (r.len == 0 && next == null) {
                        break;
                    }
                    if (r.len == 0) {
                        so.rcv.sbdroprecord();
                    }
                }
                r = so.rcv.first();
            }
        }
        return copied;
    }

    /** Copies {@code n} bytes of a record's data starting {@code skip} bytes in. */
    static void copyOut(Sockbuf.Record r, int skip, byte[] dst, int off, int n) {
        Mbuf m = r.m;
        while (m != null && skip >= m.len()) {
            skip -= m.len();
            m = m.next();
        }
        while (n > 0 && m != null) {
            int k = Math.min(n, m.len() - skip);
            System.arraycopy(m.data(), m.dataOff() + skip, dst, off, k);
            off += k;
            n -= k;
            skip = 0;
            m = m.next();
        }
    }

    /** Hands received control to the caller within its {@code controlSpace}; disposes the rest (MSG_CTRUNC). */
    private static void deliverControl(Msghdr msg, List<Cmsg> control) {
        if (control == null || control.isEmpty()) {
            return;
        }
        List<Cmsg> keep = new ArrayList<>();
        int room = msg.controlSpace;
        for (Cmsg c : control) {
            if (c.space() <= room) {
                keep.add(c);
                room -= c.space();
            } else {
                c.dispose();
                msg.flags |= MSG_CTRUNC;
            }
        }
        msg.control = keep.isEmpty() ? null : List.copyOf(keep);
    }

    /** Tells a PR_WANTRCVD protocol that data was taken ({@code pru_rcvd}). Caller holds no mutex. */
    private static void rcvd(Socket so, int flags) throws ErrnoException {
        if ((so.proto.flags() & PR_WANTRCVD) == 0) {
            return;
        }
        boolean giant = SoGiant.pickup();
        try {
            so.proto.pru_rcvd(so, flags);
        } finally {
            SoGiant.drop(giant);
        }
    }
}
