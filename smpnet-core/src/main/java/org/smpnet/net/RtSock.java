package org.smpnet.net;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;

/**
 * The routing-socket side of a stack instance ({@code rtsock.c}): turns route, address and interface events
 * into {@link RtMsg}s and delivers them to {@link RouteListener}s, and carries out requests written to a
 * routing socket ({@link #write}, {@code route_output}).
 *
 * <p>Delivery goes through netisr protocol {@link Netisr#ROUTE} (deferred): the thread that changed a route
 * only queues the message's bytes, and a netisr thread parses them and calls the listeners. So no routing,
 * address or interface lock, nor any lock the changing thread held (a PCB's, for TCP), is ever held while a
 * listener takes its own socket lock: the lock-order reversal between TCP and routing cannot happen.
 * Messages keep their order (one flow, one netisr thread). With {@code net.isr.dispatch=direct} forced, the
 * listener runs in the changing thread, still after the routing locks are dropped.
 *
 * <p>Locking key: the listener list is copy-on-write; counters are per-CPU; nothing else is mutable.
 */
public final class RtSock implements RtEvents {
    /** netisr queue limit for routing messages ({@code net.route.netisr_maxqlen}). */
    public static final int QLIMIT = 1024;
    /** Cookie of the packet tag carrying a written message's origin through netisr ("rtso"). */
    static final int MTAG_RTSOCK = 0x7274736f;
    static final int MTAG_RTSOCK_ORIGIN = 1;
    private static final AtomicLong ORIGINS = new AtomicLong();

    private final String owner;
    private final Netisr netisr;
    private final Rtable rtable;
    private final IfnetList ifnets;
    private final CopyOnWriteArrayList<RouteListener> listeners = new CopyOnWriteArrayList<>();

    /** Messages queued for delivery. */
    public final Counter sent = new Counter();
    /** Messages lost for want of an mbuf (a full netisr queue counts in {@code net.isr.proto.route.qdrops}). */
    public final Counter dropped = new Counter();
    /** Messages handed to listeners (one per listener). */
    public final Counter delivered = new Counter();
    /** Listener calls that threw. */
    public final Counter listenerErrors = new Counter();
    /** Requests refused as malformed. */
    public final Counter badRequests = new Counter();

    RtSock(String owner, Sysctl sysctl, Netisr netisr, Rtable rtable, IfnetList ifnets) {
        this.owner = owner;
        this.netisr = netisr;
        this.rtable = rtable;
        this.ifnets = ifnets;
        netisr.register(Netisr.ROUTE, "route", this::input, Netisr.Policy.DEFERRED, QLIMIT, RtSock.class);
        sysctl.addCounter("net.route.rtsock.sent", "Routing messages queued to listeners", sent);
        sysctl.addCounter("net.route.rtsock.dropped", "Routing messages lost for want of an mbuf", dropped);
        sysctl.addCounter("net.route.rtsock.delivered", "Routing messages handed to listeners", delivered);
        sysctl.addCounter("net.route.rtsock.listener_errors", "Listener calls that failed", listenerErrors);
        sysctl.addCounter("net.route.rtsock.bad_requests", "Malformed routing-socket writes", badRequests);
    }

    /** Adds a listener: it gets every message queued after this call. */
    public void addListener(RouteListener l) {
        listeners.add(l);
    }

    /**
     * Removes a listener. A netisr thread that already took its snapshot of the list may still call it once
     * per message in hand: a listener that must go quiet at once checks its own state (a closed socket does).
     */
    public void removeListener(RouteListener l) {
        listeners.remove(l);
    }

    /** Listeners registered now (one per open routing socket, plus any others). */
    public int listenerCount() {
        return listeners.size();
    }

    /** A new origin for {@link #write}: unique in this JVM, never 0. */
    public static long newOrigin() {
        return ORIGINS.incrementAndGet();
    }

    // ---- delivery ----

    /**
     * Queues {@code m} for the listeners ({@code rt_dispatch}). Never blocks and takes no lock but the netisr
     * queue's (a leaf); callable with any lock held. Dropped and counted if nobody listens.
     */
    public void announce(RtMsg m) {
        announce(m, 0);
    }

    /** {@link #announce(RtMsg)} of a message written by {@code origin} (0: none), which travels with it. */
    private void announce(RtMsg m, long origin) {
        if (listeners.isEmpty()) {
            return;
        }
        byte[] b = m.emit();
        Mbuf mb = Mbuf.devget(b, 0, b.length, Mbuf.M_NOWAIT);
        if (mb == null) {
            dropped.inc();
            return;
        }
        if (origin != 0) {
            byte[] o = new byte[8];
            RtWire.i64(o, 0, origin);
            mb.tagPrepend(new MbufTag(MTAG_RTSOCK, MTAG_RTSOCK_ORIGIN, o));
        }
        sent.inc();
        netisr.dispatch(Netisr.ROUTE, mb); // a full queue drops it: counted in net.isr.proto.route.qdrops
    }

    /** The netisr handler: parses the queued bytes and hands them to each listener. Consumes {@code m}. */
    private void input(Mbuf m) {
        byte[] b = new byte[m.pktLen()];
        m.copydata(0, b.length, b, 0);
        MbufTag t = m.tagLocate(MTAG_RTSOCK, MTAG_RTSOCK_ORIGIN, null);
        long origin = t == null ? 0 : RtWire.i64(t.data(), 0);
        m.freem();
        RtMsg msg;
        try {
            msg = RtMsg.parse(b);
        } catch (ErrnoException e) {
            listenerErrors.inc(); // we emitted it: cannot happen unless emit and parse disagree
            return;
        }
        for (RouteListener l : listeners) {
            try {
                l.message(msg, b, origin);
                delivered.inc();
            } catch (RuntimeException e) {
                listenerErrors.inc();
            }
        }
    }

    // ---- events (RtEvents) ----

    @Override
    public void route(int rtm, Rtentry rt) {
        if (!listeners.isEmpty()) {
            announce(routeMsg(rtm, rt, 0, 0, 0, false));
        }
    }

    @Override
    public void addr(int rtm, Ifaddr ifa) {
        if (listeners.isEmpty()) {
            return;
        }
        RtAddrs a = RtAddrs.NONE.with(Rtm.RTAX_IFA, ifa.addr()).with(Rtm.RTAX_NETMASK, ifa.netmask())
                .with(Rtm.RTAX_IFP, dl(ifa.ifp())).with(Rtm.RTAX_BRD, ifa.dstaddr());
        announce(new RtMsg.Ifa(rtm, ifa.ifp().index(), ifa.flags(), 0, a));
    }

    @Override
    public void ifAnnounce(Ifnet ifp, int what) {
        if (!listeners.isEmpty()) {
            announce(new RtMsg.Announce(ifp.index(), ifp.name(), what));
        }
    }

    @Override
    public void ifInfo(Ifnet ifp) {
        if (!listeners.isEmpty()) {
            announce(new RtMsg.If(ifp.index(), ifp.flags(), RtMsg.IfData.of(ifp), RtAddrs.NONE));
        }
    }

    @Override
    public void miss(Sockaddr dst) {
        if (!listeners.isEmpty()) {
            announce(new RtMsg.Route(Rtm.RTM_MISS, 0, 0, 0, 0, 0, 0, 0, RtMsg.Metrics.NONE,
                    RtAddrs.NONE.with(Rtm.RTAX_DST, dst)));
        }
    }

    private static Sockaddr.Dl dl(Ifnet ifp) {
        return new Sockaddr.Dl(ifp.index(), ifp.name(), ifp.lladdr());
    }

    /** The message describing {@code rt}: destination, gateway, netmask (not for hosts), metrics. */
    static RtMsg.Route routeMsg(int rtm, Rtentry rt, int pid, int seq, int fmask, boolean withIf) {
        Prefix d = rt.dst();
        RtAddrs a = RtAddrs.NONE.with(Rtm.RTAX_DST, d.sockaddr()).with(Rtm.RTAX_GATEWAY, rt.gateway());
        if (!d.isHost()) {
            a = a.with(Rtm.RTAX_NETMASK, d.netmaskSockaddr());
        }
        if (withIf) {
            a = a.with(Rtm.RTAX_IFP, dl(rt.ifp()));
            if (rt.ifa() != null) {
                a = a.with(Rtm.RTAX_IFA, rt.ifa().addr());
            }
        }
        long inits = rt.mtu() != 0 ? Rtm.RTV_MTU : 0;
        return new RtMsg.Route(rtm, rt.ifp().index(), rt.flags() | Rtentry.RTF_DONE, pid, seq, 0, fmask, inits,
                RtMsg.Metrics.of(rt.mtu(), rt.use()), a);
    }

    // ---- requests (route_output) ----

    /**
     * Carries out a message written to a routing socket ({@code route_output}): RTM_ADD, RTM_DELETE,
     * RTM_CHANGE or RTM_GET. The reply (the request with its results, {@code RTF_DONE} or
     * {@code rtm_errno}) is queued to every listener, as FreeBSD does, and returned. May be called with locks
     * of classes ordered before "rtentry" held (a socket's); does not sleep.
     *
     * @param pid the writer's id, copied to {@code rtm_pid}
     * @return the reply's bytes
     * @throws ErrnoException EINVAL/EPROTONOSUPPORT for a malformed message (no reply then), EOPNOTSUPP for
     *     another message type, or the error of the request (EEXIST, ESRCH, ENETUNREACH, EINVAL), after the
     *     reply carrying it was queued
     */
    public byte[] write(byte[] b, int off, int len, int pid) throws ErrnoException {
        return write(b, off, len, pid, 0);
    }

    /**
     * {@link #write(byte[], int, int, int)} by the routing socket {@code origin} ({@link #newOrigin}): its
     * reply reaches listeners with that origin, so the writer can skip it ({@code SO_USELOOPBACK} off).
     */
    public byte[] write(byte[] b, int off, int len, int pid, long origin) throws ErrnoException {
        RtMsg m;
        try {
            m = RtMsg.parse(b, off, len);
        } catch (ErrnoException e) {
            badRequests.inc();
            throw e;
        }
        if (!(m instanceof RtMsg.Route r) || r.type() > Rtm.RTM_GET) {
            badRequests.inc();
            throw new ErrnoException(Errno.EOPNOTSUPP, Rtm.typeName(m.type()) + " cannot be written to a routing socket");
        }
        RtMsg.Route req = new RtMsg.Route(r.type(), r.index(), r.flags(), pid, r.seq(), 0, r.fmask(), r.inits(), r.rmx(), r.addrs());
        RtMsg.Route reply = request(req);
        announce(reply, origin);
        if (reply.errno() != 0) {
            throw new ErrnoException(Errno.of(reply.errno()), Rtm.typeName(r.type()) + " " + r.addrs().dst());
        }
        return reply.emit();
    }

    /**
     * Carries out one request and returns the reply, without queuing it: errors are in {@code rtm_errno}.
     * Same locking as {@link #write}.
     */
    public RtMsg.Route request(RtMsg.Route req) {
        try {
            return switch (req.type()) {
                case Rtm.RTM_ADD -> done(req, Rtm.RTM_ADD, rtable.insert(req.addrs().prefix(), req.addrs().gateway(),
                        ifpOf(req), null, req.flags() & Rtentry.RTF_USER, mtuOf(req, 0), 0));
                case Rtm.RTM_DELETE -> done(req, Rtm.RTM_DELETE, rtable.remove(req.addrs().prefix(), req.addrs().gateway()));
                case Rtm.RTM_CHANGE -> done(req, Rtm.RTM_CHANGE, rtable.modify(req.addrs().prefix(), req.addrs().gateway(),
                        ifpOf(req), req.flags(), req.fmask() & Rtentry.RTF_USER, mtuOf(req, -1)));
                case Rtm.RTM_GET -> done(req, Rtm.RTM_GET, get(req));
                default -> throw new ErrnoException(Errno.EOPNOTSUPP, Rtm.typeName(req.type()));
            };
        } catch (ErrnoException e) {
            return req.reply(e.errno().number(), req.flags(), req.index(), req.inits(), req.rmx(), req.addrs());
        }
    }

    private RtMsg.Route done(RtMsg.Route req, int type, Rtentry rt) {
        boolean withIf = type == Rtm.RTM_GET && (req.addrs().mask() & (Rtm.RTA_IFP | Rtm.RTA_IFA)) != 0;
        return routeMsg(type, rt, req.pid(), req.seq(), req.fmask(), withIf);
    }

    /** RTM_GET: exact with a netmask, longest match without ({@code rtalloc} semantics). */
    private Rtentry get(RtMsg.Route req) throws ErrnoException {
        RtAddrs a = req.addrs();
        Prefix p = a.prefix();
        int et = Epoch.NET.enter();
        try {
            Rtentry rt;
            if (a.netmask() != null) {
                rt = rtable.get(p);
            } else if (p.family() == Sockaddr.AF_INET) {
                rt = rtable.match(p.inAddr());
            } else {
                rt = rtable.match(p.in6Addr());
            }
            if (rt == null) {
                throw new ErrnoException(Errno.ESRCH, "no route to " + a.dst());
            }
            return rt;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    /** The interface a request names with RTA_IFP (a sockaddr_dl by index, or by name if the index is 0). */
    private Ifnet ifpOf(RtMsg.Route req) throws ErrnoException {
        if (!(req.addrs().ifp() instanceof Sockaddr.Dl dl)) {
            return null;
        }
        int et = Epoch.NET.enter();
        try {
            Ifnet ifp = dl.index() != 0 ? ifnets.byIndex(dl.index()) : ifnets.byName(dl.name());
            if (ifp == null) {
                throw new ErrnoException(Errno.ENETUNREACH, "no interface " + dl);
            }
            return ifp;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private static int mtuOf(RtMsg.Route req, int none) throws ErrnoException {
        if ((req.inits() & Rtm.RTV_MTU) == 0) {
            return none;
        }
        long mtu = req.rmx().mtu();
        if (mtu < 0 || mtu > 65535) {
            throw new ErrnoException(Errno.EINVAL, "route MTU " + mtu + " not in 0..65535");
        }
        return (int) mtu;
    }

    @Override
    public String toString() {
        return "RtSock[" + owner + " " + listeners.size() + " listeners]";
    }
}
