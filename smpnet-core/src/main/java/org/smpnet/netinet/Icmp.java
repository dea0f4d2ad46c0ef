package org.smpnet.netinet;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.InCksum;
import org.smpnet.net.Mbuf;

/**
 * ICMP ({@code ip_icmp.c}): answers echo requests, sends errors for IP and the transport protocols
 * ({@link #error}) under a rate limit ({@code net.inet.icmp.icmplim} per second), and hands received
 * errors to the quoted protocol's {@code ctlinput}. Echo replies go to {@link EchoListener}s (the
 * {@link Ping} helper) and every message to raw IP.
 *
 * <p>Locking: none of its own; the rate-limit window is two atomics, listeners a concurrent map.
 * Handlers run with no netinet lock held.
 */
public final class Icmp {
    public static final int ECHOREPLY = 0;
    public static final int UNREACH = 3;
    public static final int SOURCEQUENCH = 4;
    public static final int REDIRECT = 5;
    public static final int ECHO = 8;
    public static final int ROUTERADVERT = 9;
    public static final int ROUTERSOLICIT = 10;
    public static final int TIMXCEED = 11;
    public static final int PARAMPROB = 12;
    public static final int TSTAMP = 13;
    public static final int TSTAMPREPLY = 14;
    public static final int IREQ = 15;
    public static final int IREQREPLY = 16;
    public static final int MASKREQ = 17;
    public static final int MASKREPLY = 18;
    public static final int MAXTYPE = 18;

    public static final int UNREACH_NET = 0;
    public static final int UNREACH_HOST = 1;
    public static final int UNREACH_PROTOCOL = 2;
    public static final int UNREACH_PORT = 3;
    public static final int UNREACH_NEEDFRAG = 4;
    public static final int UNREACH_SRCFAIL = 5;
    public static final int UNREACH_MAXCODE = 15;
    public static final int TIMXCEED_INTRANS = 0;
    public static final int TIMXCEED_REASS = 1;
    public static final int PARAMPROB_ERRATPTR = 0;
    public static final int PARAMPROB_OPTABSENT = 1;
    public static final int PARAMPROB_LENGTH = 2;

    /** Bytes of the offending datagram's payload quoted after its header (RFC 792: 8). */
    static final int QUOTE_LEN = 8;

    /** Receives echo replies and errors for the echo requests of one identifier. */
    public interface EchoListener {
        /** An echo reply; called in the input path, must not block. */
        void echoReply(InAddr from, int seq, byte[] data, int ttl);

        /** An ICMP error quoting one of our echo requests; {@code seq} is the quoted sequence number. */
        default void echoError(InAddr from, IcmpCtl ctl, int seq) {}
    }

    private final Inet inet;
    final IcmpStats stats = new IcmpStats();
    final Sysctl.IntOid icmplim;
    final Sysctl.BoolOid bmcastecho;
    private final AtomicLong limWindow = new AtomicLong(Long.MIN_VALUE);
    private final AtomicInteger limCount = new AtomicInteger();
    private final ConcurrentHashMap<Integer, EchoListener> echo = new ConcurrentHashMap<>();

    Icmp(Inet inet, Sysctl tree) {
        this.inet = inet;
        this.icmplim = tree.addInt("net.inet.icmp.icmplim", "Maximum number of ICMP responses per second (0: no limit)",
                200, 0, Integer.MAX_VALUE, true);
        this.bmcastecho = tree.addBool("net.inet.icmp.bmcastecho", "Reply to broadcast and multicast echo requests", false, true);
        stats.register(tree, "net.inet.icmp.stats");
    }

    public IcmpStats stats() {
        return stats;
    }

    // ------------------------------------------------------------------ input

    /** {@code icmp_input}: the IP protocol switch entry. Consumes {@code m}. */
    void input(Mbuf m, int hlen) {
        int icmplen = m.pktLen() - hlen;
        if (icmplen < IcmpView.HEADER_LEN) {
            stats.tooshort.inc();
            m.freem();
            return;
        }
        if (InCksum.cksum(m, hlen, icmplen) != 0) {
            stats.checksum.inc();
            m.freem();
            return;
        }
        byte[] msg = new byte[icmplen];
        m.copydata(hlen, icmplen, msg, 0);
        Ipv4View ip = new Ipv4View(m.data(), m.dataOff());
        IcmpView v = new IcmpView(msg, 0);
        int type = v.type();
        if (type <= MAXTYPE) {
            stats.inhist[type].inc();
        }
        if (type > MAXTYPE || IcmpStats.TYPE_NAMES[type] == null) {
            stats.unknowntype.inc();
        }
        switch (type) {
            case UNREACH -> {
                if (v.code() > UNREACH_MAXCODE) {
                    stats.badcode.inc();
                } else {
                    notify(ip.src(), v, msg);
                }
            }
            case TIMXCEED, PARAMPROB -> {
                if (v.code() > 1 + (type == PARAMPROB ? 1 : 0)) {
                    stats.badcode.inc();
                } else {
                    notify(ip.src(), v, msg);
                }
            }
            case SOURCEQUENCH -> notify(ip.src(), v, msg);
            case ECHO -> reflectEcho(m, ip, v, msg);
            case ECHOREPLY -> {
                EchoListener l = echo.get(v.id());
                if (l != null) {
                    l.echoReply(ip.src(), v.seq(), java.util.Arrays.copyOfRange(msg, IcmpView.HEADER_LEN, icmplen), ip.ttl());
                }
            }
            default -> { } // raw sockets only
        }
        IpProtocols.RawInput raw = inet.protocols().raw();
        if (raw != null) {
            raw.input(m, hlen);
        }
        m.freem();
    }

    /** Passes an ICMP error to the quoted datagram's protocol ({@code pr_ctlinput}). */
    private void notify(InAddr from, IcmpView v, byte[] msg) {
        int qoff = IcmpView.HEADER_LEN;
        int qlen = msg.length - qoff;
        if (qlen < Ipv4View.MIN_HEADER_LEN + QUOTE_LEN) {
            stats.badlen.inc();
            return;
        }
        Ipv4View q = new Ipv4View(msg, qoff);
        int qhlen = q.hlen();
        if (q.version() != 4 || qhlen < Ipv4View.MIN_HEADER_LEN || qlen < qhlen + QUOTE_LEN) {
            stats.badlen.inc();
            return;
        }
        Ipv4Repr inner;
        try {
            inner = new Ipv4Repr(q.src(), q.dst(), q.protocol(), q.ttl(), q.tos(), q.id(), q.df(), q.mf(),
                    q.fragOffset(), Math.max(q.totalLength(), qhlen), java.util.Arrays.copyOfRange(msg, qoff + 20, qoff + qhlen));
        } catch (IllegalArgumentException bad) {
            stats.badlen.inc();
            return;
        }
        int mtu = v.type() == UNREACH && v.code() == UNREACH_NEEDFRAG ? v.nextMtu() : 0;
        int ptr = v.type() == PARAMPROB ? v.pointer() : 0;
        IcmpCtl ctl = new IcmpCtl(v.type(), v.code(), mtu, ptr, inner,
                java.util.Arrays.copyOfRange(msg, qoff, qoff + qlen));
        if (inner.protocol() == IpProtocols.IPPROTO_ICMP) {
            IcmpView qi = new IcmpView(msg, qoff + qhlen);
            EchoListener l = qi.type() == ECHO ? echo.get(qi.id()) : null;
            if (l != null) {
                l.echoError(from, ctl, qi.seq());
            }
            return;
        }
        IpProtocols.CtlInput c = inet.protocols().ctlInput(inner.protocol());
        if (c == null) {
            stats.noctl.inc();
            return;
        }
        c.ctlinput(ctl);
    }

    /** Answers an echo request ({@code icmp_reflect}). Borrows {@code m}. */
    private void reflectEcho(Mbuf m, Ipv4View ip, IcmpView v, byte[] msg) {
        if ((m.flags() & (Mbuf.M_BCAST | Mbuf.M_MCAST)) != 0 && !bmcastecho.get()) {
            stats.bmcastecho.inc();
            return;
        }
        if (!allow()) {
            return;
        }
        v.setType(ECHOREPLY);
        v.fillChecksum(msg.length);
        InAddr dst = ip.src();
        InAddr src = replySource(ip.dst(), m.rcvifIndex());
        stats.reflect.inc();
        send(msg, src, dst, ECHOREPLY);
    }

    /** Our address to answer from: the one the datagram was sent to, else the receiving interface's. */
    private InAddr replySource(InAddr origDst, int rcvif) {
        int et = Epoch.NET.enter();
        try {
            InRouting r = inet.routing();
            if (r.isLocal(origDst)) {
                return origDst;
            }
            Ifnet ifp = inet.ifnets().byIndex(rcvif);
            InAddr a = ifp == null ? null : r.addressOn(ifp);
            return a != null ? a : InAddr.ANY;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    // ------------------------------------------------------------------ output

    /**
     * Sends an ICMP error about datagram {@code n} ({@code icmp_error}): {@code arg} is the next-hop MTU
     * for needs-fragmentation or the pointer for a parameter problem. Nothing is sent (RFC 1122) for
     * errors about ICMP errors, non-first fragments, link or IP broadcasts/multicasts or bad sources,
     * or over the rate limit; each case is counted. Consumes {@code n}, which starts with its IP header.
     *
     * <p>Threads: may be called with PCB locks held or none; never sleeps.
     */
    public void error(Mbuf n, int type, int code, int arg) {
        stats.error.inc();
        try {
            errorQuote(n, type, code, arg);
        } finally {
            n.freem();
        }
    }

    private void errorQuote(Mbuf n, int type, int code, int arg) {
        if (n.pktLen() < Ipv4View.MIN_HEADER_LEN) {
            stats.oldshort.inc();
            return;
        }
        byte[] head = new byte[Math.min(n.pktLen(), Ipv4View.MAX_HEADER_LEN + QUOTE_LEN)];
        n.copydata(0, head.length, head, 0);
        Ipv4View oip = new Ipv4View(head, 0);
        int ohlen = oip.hlen();
        if (ohlen < Ipv4View.MIN_HEADER_LEN || ohlen > head.length) {
            stats.oldshort.inc();
            return;
        }
        if (oip.fragOffset() != 0) {
            stats.oldicmp.inc(); // only the first fragment carries the transport header
            return;
        }
        if (oip.protocol() == IpProtocols.IPPROTO_ICMP && type != REDIRECT) {
            if (head.length < ohlen + 1 || !isQuery(head[ohlen] & 0xff)) {
                stats.oldicmp.inc();
                return;
            }
        }
        InAddr src = oip.src();
        InAddr dst = oip.dst();
        if ((n.flags() & (Mbuf.M_BCAST | Mbuf.M_MCAST)) != 0 || dst.isMulticast() || dst.isLimitedBroadcast()
                || src.isAny() || src.isMulticast() || src.isLimitedBroadcast()) {
            stats.badaddr.inc();
            return;
        }
        int qlen = Math.min(oip.totalLength(), Math.min(n.pktLen(), ohlen + QUOTE_LEN));
        if (qlen < ohlen + QUOTE_LEN && qlen < oip.totalLength()) {
            stats.oldshort.inc();
            return;
        }
        if (!allow()) {
            return;
        }
        byte[] msg = new byte[IcmpView.HEADER_LEN + qlen];
        System.arraycopy(head, 0, msg, IcmpView.HEADER_LEN, qlen);
        int rest = switch (type) {
            case PARAMPROB -> (arg & 0xff) << 24;
            case UNREACH -> code == UNREACH_NEEDFRAG ? arg & 0xffff : 0;
            default -> 0;
        };
        new IcmpRepr(type, code, rest, java.util.Arrays.copyOfRange(msg, IcmpView.HEADER_LEN, msg.length))
                .emit(new IcmpView(msg, 0));
        send(msg, replySource(dst, n.rcvifIndex()), src, type);
    }

    private static boolean isQuery(int type) {
        return type == ECHO || type == ECHOREPLY || type == TSTAMP || type == TSTAMPREPLY || type == IREQ
                || type == IREQREPLY || type == MASKREQ || type == MASKREPLY || type == ROUTERADVERT
                || type == ROUTERSOLICIT;
    }

    /** {@code badport_bandlim}: at most {@code icmplim} responses per second of the stack's clock. */
    private boolean allow() {
        int lim = icmplim.get();
        if (lim <= 0) {
            return true;
        }
        long now = inet.nanoTime();
        long w = limWindow.get();
        if (w == Long.MIN_VALUE || now - w >= 1_000_000_000L) {
            if (limWindow.compareAndSet(w, now)) {
                limCount.set(0);
            }
        }
        if (limCount.incrementAndGet() > lim) {
            stats.ratelimited.inc();
            return false;
        }
        return true;
    }

    private void send(byte[] msg, InAddr src, InAddr dst, int type) {
        Mbuf m = Mbuf.devget(msg, 0, msg.length, Mbuf.M_NOWAIT);
        if (m == null) {
            inet.ip().stats.odropped.inc();
            return;
        }
        stats.outhist[type].inc(); // counted before output, as icmp_send does: the answer may arrive first
        try {
            inet.ip().output(m, src, dst, IpProtocols.IPPROTO_ICMP, IpOutOpts.DEFAULT, null);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENETUNREACH || e.errno() == Errno.EHOSTUNREACH) {
                stats.noroute.inc();
            }
        }
    }

    // ------------------------------------------------------------------ echo (ping)

    /**
     * Registers {@code l} for echo replies with a free identifier and returns it; release it with
     * {@link #unbindEcho}. Thread-safe.
     */
    public int bindEcho(EchoListener l) {
        for (int tries = 0; tries < 0x10000; tries++) {
            int id = ThreadLocalRandom.current().nextInt(1, 0x10000);
            if (echo.putIfAbsent(id, l) == null) {
                return id;
            }
        }
        throw new IllegalStateException("all 65535 ICMP echo identifiers are in use");
    }

    public void unbindEcho(int id) {
        echo.remove(id);
    }

    /**
     * Sends an echo request ({@code ping}). Same threads and errors as {@link Ip#output}.
     *
     * @param src the source address, or {@link InAddr#ANY} to let the route choose
     */
    public void sendEcho(InAddr src, InAddr dst, int id, int seq, byte[] data, IpOutOpts opts) throws ErrnoException {
        IcmpRepr r = IcmpRepr.echo(id, seq, data);
        byte[] msg = new byte[r.length()];
        r.emit(new IcmpView(msg, 0));
        Mbuf m = Mbuf.devget(msg, 0, msg.length, Mbuf.M_NOWAIT);
        if (m == null) {
            throw new ErrnoException(Errno.ENOBUFS, "no mbufs for an echo request");
        }
        stats.outhist[ECHO].inc();
        inet.ip().output(m, src, dst, IpProtocols.IPPROTO_ICMP, opts, null);
    }
}
