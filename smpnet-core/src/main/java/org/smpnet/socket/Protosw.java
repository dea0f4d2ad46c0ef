package org.smpnet.socket;

import java.util.List;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Sockaddr;

/**
 * A protocol's entry points for the socket layer (FreeBSD {@code struct protosw} with its
 * {@code pr_usrreqs}). UDP, raw IP and later TCP in {@code org.smpnet.netinet}, and the UNIX-domain
 * protocols here, implement it and register it into a Vnet's {@link Domains}.
 *
 * <p>Calling convention (all entries): the caller holds no socket-buffer mutex; it may hold the
 * socket's I/O sx ({@link Sockbuf#sblock}) and, with {@code net.mpsafenet=0}, Giant. Entries other
 * than those documented must not sleep. Errors are thrown as {@link ErrnoException}; the defaults
 * here refuse with {@code EOPNOTSUPP} (FreeBSD's {@code pru_*_notsupp}).
 *
 * <p>Protocols talk back to the socket through its up-calls: {@link Sockbuf#sbappendaddr},
 * {@link Sockbuf#sbappend}, {@link Sockbuf#sbappendrecord}, {@link Sockbuf#sbspace},
 * {@link Socket#sorwakeup}, {@link Socket#sowwakeup}, {@link Socket#soisconnected} and friends,
 * {@link Socket#setError}. A protocol keeps its control block in {@link Socket#pcb()}.
 */
public interface Protosw {
    /** {@code pr_type}: SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET or SOCK_RAW. */
    int type();

    /** {@code pr_protocol}: the protocol number (IPPROTO_UDP...), 0 for a domain's default or raw wildcard. */
    int protocol();

    /** {@code pr_flags}: {@link SocketConst#PR_ATOMIC}, {@code PR_ADDR}, {@code PR_CONNREQUIRED}, {@code PR_WANTRCVD}, {@code PR_RIGHTS}. */
    int flags();

    /** A short name for messages ("udp", "unix stream"). */
    String name();

    /**
     * Attaches protocol state to a new socket ({@code pru_attach}): typically reserves buffer space
     * with {@link Sockbuf#sbreserve} and sets {@link Socket#setPcb}. {@code proto} is the number the
     * caller asked for.
     */
    void pru_attach(Socket so, int proto) throws ErrnoException;

    /** Frees the protocol state of a socket that is going away ({@code pru_detach}). Never fails. */
    default void pru_detach(Socket so) {}

    default void pru_bind(Socket so, Sockaddr nam) throws ErrnoException {
        throw notsupp("bind");
    }

    /** Starts or completes a connection; stream protocols call {@link Socket#soisconnecting}/{@link Socket#soisconnected}. */
    default void pru_connect(Socket so, Sockaddr nam) throws ErrnoException {
        throw notsupp("connect");
    }

    /** Connects two sockets of this protocol to each other ({@code socketpair}). */
    default void pru_connect2(Socket so1, Socket so2) throws ErrnoException {
        throw notsupp("connect2");
    }

    default void pru_disconnect(Socket so) throws ErrnoException {
        throw notsupp("disconnect");
    }

    /** Makes the socket a listener; the socket layer has checked the state and set the backlog. */
    default void pru_listen(Socket so, int backlog) throws ErrnoException {
        throw notsupp("listen");
    }

    /** The peer's address of a socket just taken from a listen queue ({@code pru_accept}). */
    default Sockaddr pru_accept(Socket so) throws ErrnoException {
        return pru_peeraddr(so);
    }

    /**
     * Sends data ({@code pru_send}). Consumes {@code m} (may be null for a control-only send) and
     * {@code control} (may be null) whether it succeeds or throws; a control list holding references is
     * disposed on failure. {@code addr} is the destination of an unconnected datagram send or null.
     * {@code flags}: {@link SocketConst#PRUS_OOB}, {@code PRUS_EOF}, {@code PRUS_MORETOCOME}.
     */
    void pru_send(Socket so, int flags, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException;

    /**
     * Sends {@code n} datagrams in order, {@code ms[i]} to {@code addrs[i]} (null: the connected peer),
     * each as {@link #pru_send} with no flags and no control would ({@code sendmmsg}'s protocol half, for
     * atomic datagram protocols). Consumes every mbuf and clears its slot, whether it succeeds or throws.
     * Returns how many were sent: when datagram {@code i > 0} fails, {@code i}, and its error is not
     * reported (sendmmsg's rule); when the first fails, its error is thrown. The default sends them one
     * by one; a protocol overrides it to do the per-call work (PCB lock, destination, epoch) once.
     */
    default int pru_sendBatch(Socket so, Mbuf[] ms, Sockaddr[] addrs, int n) throws ErrnoException {
        int i = 0;
        try {
            for (; i < n; i++) {
                Mbuf m = ms[i];
                ms[i] = null;
                try {
                    pru_send(so, 0, m, addrs[i], null);
                } catch (ErrnoException e) {
                    if (i == 0) {
                        throw e;
                    }
                    return i;
                }
            }
            return n;
        } finally {
            freeUnsent(ms, i, n);
        }
    }

    /** Frees and clears {@code ms[from, to)} (datagrams of a batch that will not be sent). */
    static void freeUnsent(Mbuf[] ms, int from, int to) {
        for (int j = from; j < to; j++) {
            if (ms[j] != null) {
                ms[j].freem();
                ms[j] = null;
            }
        }
    }

    /** Data was taken from the receive buffer ({@code pru_rcvd}, protocols with {@code PR_WANTRCVD}). */
    default void pru_rcvd(Socket so, int flags) throws ErrnoException {}

    /** The sending side was shut ({@code pru_shutdown}), after {@link Socket#socantsendmore}. */
    default void pru_shutdown(Socket so) throws ErrnoException {}

    /** Drops a connection that was never accepted (listen-queue teardown, {@code pru_abort}). */
    default void pru_abort(Socket so) {}

    /**
     * Bytes this socket sent that its peer has not taken yet: what a close with SO_LINGER waits for
     * ({@link Socket#soclose(boolean)}). 0 when nothing is outstanding or the protocol cannot tell
     * (datagrams: what was sent is gone). Never sleeps.
     */
    default int pru_unread(Socket so) {
        return 0;
    }

    /** The last file reference is gone ({@code pru_close}); {@link #pru_detach} follows. */
    default void pru_close(Socket so) {}

    /** An ioctl on the socket ({@code pru_control}). */
    default Object pru_control(Socket so, long cmd, Object data) throws ErrnoException {
        throw notsupp("ioctl");
    }

    /**
     * A get/set of an option at a level other than {@code SOL_SOCKET} ({@code pr_ctloutput}); also
     * told of SOL_SOCKET sets the protocol may care about (then it must not fail for unknown names).
     */
    default void pru_ctloutput(Socket so, Sockopt sopt) throws ErrnoException {
        throw new ErrnoException(Errno.ENOPROTOOPT, name() + " has no option " + sopt.level() + "/" + sopt.name());
    }

    /** The local address ({@code pru_sockaddr}, getsockname). */
    default Sockaddr pru_sockaddr(Socket so) throws ErrnoException {
        throw notsupp("getsockname");
    }

    /** The peer's address ({@code pru_peeraddr}, getpeername); ENOTCONN if none. */
    default Sockaddr pru_peeraddr(Socket so) throws ErrnoException {
        throw new ErrnoException(Errno.ENOTCONN, name());
    }

    private ErrnoException notsupp(String what) {
        return new ErrnoException(Errno.EOPNOTSUPP, what + " on " + name());
    }
}
