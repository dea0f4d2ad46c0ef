package org.smpnet.socket;

import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.Sockaddr;

import static org.smpnet.socket.SocketConst.*;

/**
 * The socket calls other than I/O ({@code uipc_socket.c}): bind, listen, connect, socketpair's
 * connect2, shutdown, and {@code SOL_SOCKET} options. Each takes no lock from the caller, runs the
 * protocol part under Giant when {@code net.mpsafenet=0}, and changes buffer limits only under the
 * buffer's mutex (the TODO list's {@code so_rcv.sb_cc} race).
 */
public final class SocketOps {
    private SocketOps() {}

    public static void sobind(Socket so, Sockaddr nam) throws ErrnoException {
        checkAlive(so);
        boolean giant = SoGiant.pickup();
        try {
            so.proto.pru_bind(so, nam);
        } finally {
            SoGiant.drop(giant);
        }
    }

    public static void solisten(Socket so, int backlog) throws ErrnoException {
        checkAlive(so);
        if ((so.state() & (Socket.SS_ISCONNECTED | Socket.SS_ISCONNECTING | Socket.SS_ISDISCONNECTING)) != 0) {
            throw new ErrnoException(Errno.EINVAL, "listen on a connected socket");
        }
        boolean giant = SoGiant.pickup();
        try {
            so.proto.pru_listen(so, backlog);
        } finally {
            SoGiant.drop(giant);
        }
        so.solistenProto(backlog);
    }

    /**
     * Starts a connection ({@code soconnect}). On a protocol without {@code PR_CONNREQUIRED} a
     * connected socket is disconnected first ({@link Socket#sodisconnect}), and {@code nam} null or of
     * family {@code AF_UNSPEC} only dissolves the association (as Linux and macOS; FreeBSD disconnects
     * and then fails the connect with EAFNOSUPPORT, we return success). {@code Sockaddr} has no
     * AF_UNSPEC value, so null stands for it.
     *
     * @throws ErrnoException EISCONN (connection-oriented and connected), EAFNOSUPPORT (AF_UNSPEC on a
     *     connection-oriented socket), EOPNOTSUPP (listening), or the protocol's error
     */
    public static void soconnect(Socket so, Sockaddr nam) throws ErrnoException {
        checkAlive(so);
        if (so.optionOn(SO_ACCEPTCONN)) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "connect on a listening socket");
        }
        boolean connreq = (so.proto.flags() & PR_CONNREQUIRED) != 0;
        boolean unspec = nam == null || nam.family() == Sockaddr.AF_UNSPEC;
        if (unspec && connreq) {
            throw new ErrnoException(Errno.EAFNOSUPPORT, "connect to AF_UNSPEC on " + so.proto.name());
        }
        if ((so.state() & (Socket.SS_ISCONNECTED | Socket.SS_ISCONNECTING)) != 0) {
            if (connreq) {
                throw new ErrnoException(Errno.EISCONN, "already connected");
            }
            disconnectIfConnected(so);
        }
        if (unspec) {
            return;
        }
        boolean giant = SoGiant.pickup();
        try {
            so.proto.pru_connect(so, nam);
        } finally {
            SoGiant.drop(giant);
        }
    }

    /**
     * {@code sodisconnect}: dissolves the association of a connected socket (see
     * {@link Socket#sodisconnect}).
     *
     * @throws ErrnoException EBADF (closed), ENOTCONN, EALREADY or the protocol's error
     */
    public static void sodisconnect(Socket so) throws ErrnoException {
        checkAlive(so);
        so.sodisconnect();
    }

    /** Disconnects a datagram socket before a new connect; a racing disconnect (ENOTCONN) is fine. */
    private static void disconnectIfConnected(Socket so) throws ErrnoException {
        try {
            so.sodisconnect();
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ENOTCONN) {
                throw e;
            }
        }
    }

    /** Connects two new sockets of the same protocol ({@code soconnect2}, socketpair). */
    public static void soconnect2(Socket so1, Socket so2) throws ErrnoException {
        if (so1.proto != so2.proto) {
            throw new ErrnoException(Errno.EPROTOTYPE, "socketpair of different protocols");
        }
        boolean giant = SoGiant.pickup();
        try {
            so1.proto.pru_connect2(so1, so2);
        } finally {
            SoGiant.drop(giant);
        }
    }

    /**
     * Shuts one or both directions ({@code soshutdown}): SHUT_RD discards queued data and makes reads
     * return EOF (waking blocked readers); SHUT_WR makes writes fail with EPIPE and tells the protocol.
     *
     * @throws ErrnoException EINVAL for a bad {@code how}, ENOTCONN if not connected
     */
    public static void soshutdown(Socket so, int how) throws ErrnoException {
        if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
            throw new ErrnoException(Errno.EINVAL, "shutdown how " + how);
        }
        checkAlive(so);
        int state = so.state();
        if ((state & (Socket.SS_ISCONNECTED | Socket.SS_ISCONNECTING | Socket.SS_ISDISCONNECTING)) == 0) {
            throw new ErrnoException(Errno.ENOTCONN, "shutdown of an unconnected socket");
        }
        if (how != SHUT_WR) {
            sorflush(so);
        }
        if (how != SHUT_RD) {
            so.socantsendmore();
            boolean giant = SoGiant.pickup();
            try {
                so.proto.pru_shutdown(so);
            } finally {
                SoGiant.drop(giant);
            }
        }
    }

    /** Marks the receive side shut, wakes readers, then discards the queue once they are out ({@code sorflush}). */
    static void sorflush(Socket so) throws ErrnoException {
        so.socantrcvmore();
        so.rcv.sblock(false);
        try {
            so.rcv.mtx.lock();
            try {
                so.rcv.sbflush();
            } finally {
                so.rcv.mtx.unlock();
            }
        } finally {
            so.rcv.sbunlock();
        }
        so.rcv.sbdisposeZombies();
    }

    private static void checkAlive(Socket so) throws ErrnoException {
        if (so.isClosed()) {
            throw new ErrnoException(Errno.EBADF, "socket closed");
        }
    }

    /**
     * {@code setsockopt} ({@code sosetopt}). Other levels go to the protocol's {@code pru_ctloutput};
     * SOL_SOCKET sets are also shown to it (its answer ignored), so it can act on SO_REUSEADDR and such.
     *
     * @throws ErrnoException ENOPROTOOPT for unknown or read-only options, EINVAL/EDOM for bad values,
     *     ENOBUFS for a buffer above {@link SocketConst#SB_MAX}
     */
    public static void sosetopt(Socket so, Sockopt sopt) throws ErrnoException {
        if (!sopt.isSet()) {
            throw new IllegalArgumentException("sosetopt with a get request");
        }
        if (sopt.level() != SOL_SOCKET) {
            ctloutput(so, sopt);
            return;
        }
        int name = sopt.name();
        if ((name & SO_BOOLEAN_MASK) == name && Integer.bitCount(name) == 1) {
            boolean on = sopt.intValue() != 0;
            so.rcv.mtx.lock();
            try {
                so.setOptionLocked(name, on);
            } finally {
                so.rcv.mtx.unlock();
            }
        } else {
            switch (name) {
                case SO_LINGER -> setLinger(so, sopt);
                case SO_SNDBUF, SO_RCVBUF -> setBuf(name == SO_SNDBUF ? so.snd : so.rcv, sopt.intValue(), 0);
                case SO_SNDLOWAT, SO_RCVLOWAT -> setBuf(name == SO_SNDLOWAT ? so.snd : so.rcv, sopt.intValue(), 1);
                case SO_SNDTIMEO, SO_RCVTIMEO -> setTimeo(name == SO_SNDTIMEO ? so.snd : so.rcv, sopt.timevalMicros());
                default -> throw new ErrnoException(Errno.ENOPROTOOPT, "SOL_SOCKET option " + name);
            }
        }
        try {
            ctloutput(so, sopt);
        } catch (ErrnoException protocolDoesNotCare) {
            // FreeBSD ignores the protocol's answer to SOL_SOCKET sets
        }
    }

    private static void setLinger(Socket so, Sockopt sopt) throws ErrnoException {
        byte[] v = sopt.value();
        if (v.length < 8) {
            throw new ErrnoException(Errno.EINVAL, "struct linger needs 8 bytes");
        }
        int on = v[0] | v[1] | v[2] | v[3];
        int secs = (v[4] & 0xff) | (v[5] & 0xff) << 8 | (v[6] & 0xff) << 16 | (v[7] & 0xff) << 24;
        if (secs < 0) {
            throw new ErrnoException(Errno.EINVAL, "linger " + secs);
        }
        so.rcv.mtx.lock();
        try {
            so.setLingerLocked(on != 0 ? secs : -1);
            so.setOptionLocked(SO_LINGER, on != 0);
        } finally {
            so.rcv.mtx.unlock();
        }
    }

    /** Size (what=0) or low-water mark (what=1) of one buffer, under that buffer's mutex. */
    private static void setBuf(Sockbuf sb, int v, int what) throws ErrnoException {
        sb.mtx.lock();
        try {
            if (what == 0) {
                sb.sbreserve(v);
            } else {
                sb.setLowat(v);
            }
            sb.sowakeup(); // more space or a lower mark can make a waiter runnable
        } finally {
            sb.mtx.unlock();
        }
    }

    private static void setTimeo(Sockbuf sb, long micros) {
        sb.mtx.lock();
        try {
            sb.setTimeo(Sockbuf.micros2nanos(micros));
        } finally {
            sb.mtx.unlock();
        }
    }

    private static void ctloutput(Socket so, Sockopt sopt) throws ErrnoException {
        boolean giant = SoGiant.pickup();
        try {
            so.proto.pru_ctloutput(so, sopt);
        } finally {
            SoGiant.drop(giant);
        }
    }

    /** {@code getsockopt} ({@code sogetopt}); fills {@code sopt}'s value. */
    public static void sogetopt(Socket so, Sockopt sopt) throws ErrnoException {
        if (sopt.isSet()) {
            throw new IllegalArgumentException("sogetopt with a set request");
        }
        if (sopt.level() != SOL_SOCKET) {
            ctloutput(so, sopt);
            return;
        }
        int name = sopt.name();
        if (name == SO_ACCEPTCONN || (name & SO_BOOLEAN_MASK) == name && Integer.bitCount(name) == 1) {
            sopt.setIntValue(so.options() & name);
            return;
        }
        switch (name) {
            case SO_LINGER -> {
                so.rcv.mtx.lock();
                try {
                    int l = so.lingerLocked();
                    sopt.setValue(Sockopt.linger(l >= 0, Math.max(l, 0)));
                } finally {
                    so.rcv.mtx.unlock();
                }
            }
            case SO_TYPE -> sopt.setIntValue(so.type());
            case SO_ERROR -> {
                Errno e = so.takeError();
                sopt.setIntValue(e == null ? 0 : e.number());
            }
            case SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT, SO_RCVLOWAT, SO_SNDTIMEO, SO_RCVTIMEO -> getBuf(so, sopt);
            default -> throw new ErrnoException(Errno.ENOPROTOOPT, "SOL_SOCKET option " + name);
        }
    }

    @SuppressWarnings("GuardedBy") // sb.mtx is held: Error Prone cannot tie the local to the field
    private static void getBuf(Socket so, Sockopt sopt) {
        int name = sopt.name();
        Sockbuf sb = name == SO_SNDBUF || name == SO_SNDLOWAT || name == SO_SNDTIMEO ? so.snd : so.rcv;
        sb.mtx.lock();
        try {
            switch (name) {
                case SO_SNDBUF, SO_RCVBUF -> sopt.setIntValue(sb.hiwat());
                case SO_SNDLOWAT, SO_RCVLOWAT -> sopt.setIntValue(sb.lowat());
                default -> sopt.setValue(Sockopt.timeval(sb.timeoNanos() / 1000));
            }
        } finally {
            sb.mtx.unlock();
        }
    }
}
