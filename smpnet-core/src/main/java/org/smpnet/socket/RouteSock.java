package org.smpnet.socket;

import java.util.List;
import java.util.Objects;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.Mbuf;
import org.smpnet.net.RouteListener;
import org.smpnet.net.RtMsg;
import org.smpnet.net.RtSock;
import org.smpnet.net.Sockaddr;

/**
 * Routing sockets, {@code socket(PF_ROUTE, SOCK_RAW, family)}: the socket half of {@code rtsock.c}
 * ({@code rts_attach}, {@code rts_send}, {@code raw_input}). Every socket is a {@link RouteListener} of the
 * Vnet's {@link RtSock}: messages arrive on a netisr thread, after the routing code dropped its locks, and
 * are appended to the socket's receive buffer with {@link Sockbuf#sbappendaddr} from {@link Sockaddr.Route#SRC}.
 * A full buffer drops the message and counts it ({@link Rcb#dropped}, {@code net.route.rtsock.sbfull_drops}).
 * A write is one {@code rt_msghdr} carried out by {@link RtSock#write}; its reply goes to every routing
 * socket, the writer's own only with {@code SO_USELOOPBACK} (on by default, as in FreeBSD).
 *
 * <p>Filters: the third {@code socket()} argument (0: all; else only messages of that address family, plus
 * interface messages), {@code SO_USELOOPBACK}, and {@link #ROUTE_MSGFILTER} (level {@code PF_ROUTE}: a
 * bitmask of {@link #filter message types}; 0: all).
 *
 * <p>Locking: delivery takes only the socket's receive-buffer mutex ("so_rcv", class "sockbuf") and holds
 * no routing lock; {@link Rcb}'s counters are changed under that mutex (read any time); its message filter
 * is volatile. A socket whose last reference is gone ({@code SS_NOFDREF}) receives nothing more.
 */
public final class RouteSock implements Protosw {
    /** {@code RTS_SENDSPACE}/{@code RTS_RECVSPACE}. */
    public static final int SENDSPACE = 8192;
    public static final int RECVSPACE = 8192;
    /** setsockopt level {@code PF_ROUTE}, option {@code ROUTE_MSGFILTER}: an int bitmask of message types. */
    public static final int ROUTE_MSGFILTER = 1;

    private final RtSock rtsock;
    /** Messages lost to full receive buffers, all routing sockets of the Vnet. */
    public final Counter sbfullDrops = new Counter();

    public RouteSock(RtSock rtsock, Sysctl sysctl) {
        this.rtsock = Objects.requireNonNull(rtsock, "rtsock");
        if (sysctl != null) {
            sysctl.addCounter("net.route.rtsock.sbfull_drops", "Routing messages lost to a full socket receive buffer",
                    sbfullDrops);
        }
    }

    /** {@code ROUTE_FILTER(type)}: the bit of message type {@code type} in a {@link #ROUTE_MSGFILTER} mask. */
    public static int filter(int type) {
        if (type < 1 || type > 31) {
            throw new IllegalArgumentException("routing message type " + type + " not in 1..31");
        }
        return 1 << type;
    }

    @Override
    public int type() {
        return SocketConst.SOCK_RAW;
    }

    /** 0: the wildcard, so {@code socket(PF_ROUTE, SOCK_RAW, AF_INET)} finds it too. */
    @Override
    public int protocol() {
        return 0;
    }

    @Override
    public int flags() {
        return SocketConst.PR_ATOMIC | SocketConst.PR_ADDR;
    }

    @Override
    public String name() {
        return "route";
    }

    /**
     * {@code rts_attach}: reserves the buffers, turns {@code SO_USELOOPBACK} on, marks the socket connected
     * (a routing socket sends without an address) and starts listening.
     */
    @Override
    public void pru_attach(Socket so, int proto) throws ErrnoException {
        if (proto < 0 || proto > 255) {
            throw new ErrnoException(Errno.EPROTONOSUPPORT, "address family " + proto);
        }
        if (so.pcb() != null) {
            throw new ErrnoException(Errno.EISCONN, "socket already has a control block");
        }
        so.soreserve(SENDSPACE, RECVSPACE);
        Rcb rcb = new Rcb(this, so, proto, RtSock.newOrigin());
        so.rcv.mtx.lock();
        try {
            so.setOptionLocked(SocketConst.SO_USELOOPBACK, true);
        } finally {
            so.rcv.mtx.unlock();
        }
        so.setPcb(rcb);
        so.soisconnected();
        rtsock.addListener(rcb);
    }

    /** Stops listening; a delivery already under way finds the socket closed and drops nothing into it. */
    @Override
    public void pru_detach(Socket so) {
        if (so.pcb() instanceof Rcb rcb) {
            rtsock.removeListener(rcb);
        }
    }

    @Override
    public void pru_disconnect(Socket so) {
        so.soisdisconnected();
    }

    /**
     * {@code rts_send}: the data is one routing message, carried out by {@link RtSock#write} with the
     * writer's pid. Consumes {@code m} and {@code control}. Caller holds no socket mutex (may hold the
     * send buffer's sx and Giant); takes routing locks; does not sleep.
     *
     * @throws ErrnoException EINVAL for a malformed message (counted in {@code net.route.rtsock.bad_requests}),
     *     EPROTONOSUPPORT for another version, EOPNOTSUPP for a type that cannot be written, EISCONN with a
     *     destination, or the request's error (EEXIST, ESRCH...) after its reply was queued
     */
    @Override
    public void pru_send(Socket so, int flags, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException {
        try {
            if (control != null && !control.isEmpty()) {
                throw new ErrnoException(Errno.EINVAL, "routing sockets take no control messages");
            }
            if (addr != null) {
                throw new ErrnoException(Errno.EISCONN, "a routing socket sends without a destination");
            }
            Rcb rcb = rcb(so);
            int len = m == null ? 0 : m.pktLen();
            byte[] b = new byte[len];
            if (len > 0) {
                m.copydata(0, len, b, 0);
            }
            rtsock.write(b, 0, len, so.cred().pid(), rcb.origin);
        } finally {
            Cmsg.disposeAll(control);
            if (m != null) {
                m.freem();
            }
        }
    }

    /** Level {@code PF_ROUTE}: {@link #ROUTE_MSGFILTER}. SOL_SOCKET sets are nothing to this protocol. */
    @Override
    public void pru_ctloutput(Socket so, Sockopt sopt) throws ErrnoException {
        if (sopt.level() == SocketConst.SOL_SOCKET) {
            return;
        }
        if (sopt.level() != SocketConst.PF_ROUTE || sopt.name() != ROUTE_MSGFILTER) {
            throw new ErrnoException(Errno.ENOPROTOOPT, "routing sockets have no option " + sopt.level() + "/" + sopt.name());
        }
        Rcb rcb = rcb(so);
        if (sopt.isSet()) {
            rcb.msgfilter = sopt.intValue();
        } else {
            sopt.setIntValue(rcb.msgfilter);
        }
    }

    private static Rcb rcb(Socket so) throws ErrnoException {
        if (!(so.pcb() instanceof Rcb rcb)) {
            throw new ErrnoException(Errno.EINVAL, "socket has no routing control block");
        }
        return rcb;
    }

    /** The control block of a routing socket, or null if {@code so} is not one. */
    public static Rcb rcbOf(Socket so) {
        return so.pcb() instanceof Rcb rcb ? rcb : null;
    }

    /**
     * One routing socket's control block ({@code struct rcb}) and listener. Counters, changed under the
     * socket's receive mutex: {@link #sent} messages that passed the filters while the socket was open,
     * {@link #delivered} of them appended, {@link #dropped} lost (full buffer or no mbuf);
     * {@code sent = delivered + dropped} whenever no delivery is under way.
     */
    public static final class Rcb implements RouteListener {
        private final RouteSock pr;
        private final Socket so;
        private final int proto;
        private final long origin;
        private volatile int msgfilter;

        public final Counter sent = new Counter();
        public final Counter delivered = new Counter();
        public final Counter dropped = new Counter();

        Rcb(RouteSock pr, Socket so, int proto, long origin) {
            this.pr = pr;
            this.so = so;
            this.proto = proto;
            this.origin = origin;
        }

        /** The address family this socket listens to, 0 for all. */
        public int proto() {
            return proto;
        }

        @Override
        public void message(RtMsg msg, byte[] wire) {
            message(msg, wire, 0);
        }

        /** {@code raw_input}: filters, then appends under the receive mutex only. Runs on a netisr thread. */
        @Override
        public void message(RtMsg msg, byte[] wire, long from) {
            int fam = msg.family();
            if (proto != 0 && fam != Sockaddr.AF_UNSPEC && fam != proto) {
                return;
            }
            int f = msgfilter;
            if (f != 0 && (msg.type() > 31 || (f & (1 << msg.type())) == 0)) {
                return;
            }
            if (from == origin && !so.optionOn(SocketConst.SO_USELOOPBACK)) {
                return;
            }
            Mbuf m = Mbuf.devget(wire, 0, wire.length, Mbuf.M_NOWAIT);
            if (!append(m) && m != null) {
                m.freem();
            }
        }

        /** Appends {@code m} (null: no mbuf, a drop); false if it was not taken. */
        private boolean append(Mbuf m) {
            so.rcv.mtx.lock();
            try {
                if ((so.stateLocked() & Socket.SS_NOFDREF) != 0 || (so.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0) {
                    return false; // closed: never receives, and the message was not for it
                }
                sent.inc();
                if (m == null || !so.rcv.sbappendaddr(Sockaddr.Route.SRC, m, null)) {
                    dropped.inc();
                    pr.sbfullDrops.inc();
                    return false;
                }
                delivered.inc();
                so.rcv.sowakeup();
                return true;
            } finally {
                so.rcv.mtx.unlock();
            }
        }

        @Override
        public String toString() {
            return "Rcb[" + so + " proto " + proto + "]";
        }
    }
}
