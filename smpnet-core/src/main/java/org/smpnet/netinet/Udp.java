package org.smpnet.netinet;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.DeferredInput;
import org.smpnet.net.InAddr;
import org.smpnet.net.InCksum;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InputBatch;
import org.smpnet.net.IfnetList;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Mbufq;
import org.smpnet.net.NetAddrs;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Cmsg;
import org.smpnet.socket.Protosw;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Sockopt;

/**
 * UDP of one stack ({@code udp_usrreq.c}): the {@code SOCK_DGRAM}/{@code IPPROTO_UDP} protocol of
 * {@code AF_INET}, its input from IP, its ICMP error input and its output.
 *
 * <p>Locking: PCBs live in {@link #info} ("udbinfo", class "pcbinfo"); each PCB has its lock "inp".
 * Input finds PCBs lock-free in the net epoch, locks each one it delivers to, and takes the receive
 * buffer's lock under it (inp before sockbuf). Output reads the PCB under its lock and calls IP after
 * dropping it. Statistics are per-CPU counters.
 */
public final class Udp implements Protosw {
    /** {@code net.inet.udp.maxdgram} and {@code recvspace} defaults (FreeBSD's). */
    public static final int MAXDGRAM = 9216;
    public static final int RECVSPACE = 40 * (1024 + 16);

    private final Inet inet;
    private final InPcbInfo info;
    private final IpCtlOutput ctl;
    private final NetAddrs addrs;
    private final IfnetList ifnets;
    private final UdpStats stats;
    private final Sysctl.BoolOid checksum;
    private final Sysctl.BoolOid blackhole;
    private final Sysctl.IntOid maxdgram;
    private final Sysctl.IntOid recvspace;

    /** UDP for a stack: registers its sysctl nodes and its input with {@code inet}'s protocol switch. */
    public Udp(Inet inet, InPcbInfo info, IpCtlOutput ctl, NetAddrs addrs, IfnetList ifnets, Sysctl tree) {
        this.inet = Objects.requireNonNull(inet, "inet");
        this.info = Objects.requireNonNull(info, "info");
        this.ctl = Objects.requireNonNull(ctl, "ctl");
        this.addrs = addrs;
        this.ifnets = ifnets;
        this.stats = new UdpStats(tree);
        this.checksum = tree.addBool("net.inet.udp.checksum", "compute UDP checksum on output", true, true);
        this.blackhole = tree.addBool("net.inet.udp.blackhole", "do not send port unreachables for refused connects", false, true);
        this.maxdgram = tree.addInt("net.inet.udp.maxdgram", "Maximum outgoing UDP datagram size", MAXDGRAM, 1, 65535, true);
        this.recvspace = tree.addInt("net.inet.udp.recvspace", "Maximum space for incoming UDP datagrams",
                RECVSPACE, 1, SocketConst.SB_MAX, true);
        inet.protocols().register(UdpHdr.IPPROTO_UDP, this::input, this::ctlinput);
    }

    public UdpStats stats() {
        return stats;
    }

    public InPcbInfo info() {
        return info;
    }

    // ------------------------------------------------------------------ Protosw

    @Override
    public int type() {
        return SocketConst.SOCK_DGRAM;
    }

    @Override
    public int protocol() {
        return UdpHdr.IPPROTO_UDP;
    }

    @Override
    public int flags() {
        return SocketConst.PR_ATOMIC | SocketConst.PR_ADDR;
    }

    @Override
    public String name() {
        return "udp";
    }

    @Override
    public void pru_attach(Socket so, int proto) throws ErrnoException {
        if (so.pcb() != null) {
            throw new ErrnoException(Errno.EISCONN, "socket already has a PCB");
        }
        so.soreserve(maxdgram.get(), recvspace.get());
        so.setPcb(info.alloc(so, UdpHdr.IPPROTO_UDP));
    }

    @Override
    public void pru_detach(Socket so) {
        if (!(so.pcb() instanceof InPcb inp)) {
            return;
        }
        info.free(inp);
        ctl.purge(inp);
    }

    @Override
    public void pru_bind(Socket so, Sockaddr nam) throws ErrnoException {
        info.bind(pcb(so), inet4(nam));
    }

    @Override
    public void pru_connect(Socket so, Sockaddr nam) throws ErrnoException {
        InPcb inp = pcb(so);
        Sockaddr.In sin = inet4(nam);
        info.lock.lock();
        inp.lock.lock();
        try {
            if (inp.isConnected()) {
                throw new ErrnoException(Errno.EISCONN, "already connected to " + inp.faddr() + ":" + inp.fport());
            }
            info.connectLocked(inp, sin);
        } finally {
            inp.lock.unlock();
            info.lock.unlock();
        }
        so.soisconnected();
    }

    @Override
    public void pru_disconnect(Socket so) throws ErrnoException {
        InPcb inp = pcb(so);
        info.lock.lock();
        inp.lock.lock();
        try {
            if (!inp.isConnected()) {
                throw new ErrnoException(Errno.ENOTCONN, "not connected");
            }
            info.disconnectLocked(inp, true);
        } finally {
            inp.lock.unlock();
            info.lock.unlock();
        }
    }

    @Override
    public Sockaddr pru_sockaddr(Socket so) throws ErrnoException {
        return pcb(so).sockaddr();
    }

    @Override
    public Sockaddr pru_peeraddr(Socket so) throws ErrnoException {
        return pcb(so).peeraddr();
    }

    @Override
    public void pru_ctloutput(Socket so, Sockopt sopt) throws ErrnoException {
        InPcb inp = pcb(so);
        if (sopt.level() == SocketConst.SOL_SOCKET) {
            mirrorSoOption(inp, sopt);
            return;
        }
        if (sopt.level() != IpCtlOutput.IPPROTO_IP) {
            throw new ErrnoException(Errno.ENOPROTOOPT, "udp has no level " + sopt.level());
        }
        ctl.ctloutput(inp, sopt, false);
    }

    /** Keeps the PCB's copy of the SO_* bits the bind rules and output read; never fails. */
    static void mirrorSoOption(InPcb inp, Sockopt sopt) {
        int bit = sopt.name();
        if (!sopt.isSet() || (bit != SocketConst.SO_REUSEADDR && bit != SocketConst.SO_REUSEPORT
                && bit != SocketConst.SO_BROADCAST && bit != SocketConst.SO_DONTROUTE)) {
            return;
        }
        try {
            boolean on = sopt.intValue() != 0;
            int o = inp.soOptions();
            inp.setSoOptions(on ? o | bit : o & ~bit);
        } catch (ErrnoException tooShort) {
            // the socket layer refuses the value itself
        }
    }

    @Override
    public void pru_send(Socket so, int flags, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException {
        Cmsg.disposeAll(control);
        if (control != null && !control.isEmpty()) {
            m.freem();
            throw new ErrnoException(Errno.EINVAL, "udp takes no control messages on send");
        }
        InPcb inp;
        try {
            inp = pcb(so);
        } catch (ErrnoException e) {
            m.freem();
            throw e;
        }
        output(inp, m, addr); // consumes m, also when it throws
    }

    /** {@link #output} to a socket-layer address (null: the connected peer). Consumes {@code m}. */
    private void output(InPcb inp, Mbuf m, Sockaddr addr) throws ErrnoException {
        Sockaddr.In to;
        try {
            to = addr == null ? null : inet4(addr);
        } catch (ErrnoException e) {
            m.freem();
            throw e;
        }
        output(inp, m, to);
    }

    /**
     * {@code sendmmsg}'s datagrams as one call: their destinations are read under one hold of the PCB lock
     * (a run to one address shares one), and they go to IP inside one net epoch section, each run to one
     * address as one list ({@link Ip#outputListInEpoch}). A datagram that
     * needs more (an implicit bind) or whose destination fails goes the general way ({@link #output}),
     * which binds or throws its error. Hold no lock.
     */
    @Override
    public int pru_sendBatch(Socket so, Mbuf[] ms, Sockaddr[] addrs, int n) throws ErrnoException {
        int i = 0;
        try {
            InPcb inp = pcb(so);
            Dest[] dests = new Dest[n];
            while (i < n) {
                int k = destinations(inp, addrs, dests, i, n);
                if (k == i) {
                    Mbuf m = ms[i];
                    ms[i] = null;
                    try {
                        output(inp, m, addrs[i]);
                    } catch (ErrnoException e) {
                        if (i == 0) {
                            throw e;
                        }
                        return i;
                    }
                    i++;
                    continue;
                }
                int et = Epoch.NET.enter();
                try {
                    while (i < k) {
                        int end = i + 1;
                        while (end < k && dests[end] == dests[i]) { // destinations() shares one Dest per run
                            end++;
                        }
                        int sent;
                        try {
                            sent = sendRun(inp, ms, dests[i], i, end);
                        } catch (ErrnoException e) {
                            if (i == 0) {
                                throw e;
                            }
                            return i;
                        }
                        i += sent;
                        if (i < end) {
                            return i; // a later datagram of the run failed: not reported
                        }
                    }
                } finally {
                    Epoch.NET.exit(et);
                }
            }
            return n;
        } finally {
            Protosw.freeUnsent(ms, i, n);
        }
    }

    private static InPcb pcb(Socket so) throws ErrnoException {
        if (!(so.pcb() instanceof InPcb inp)) {
            throw new ErrnoException(Errno.EINVAL, "socket has no inet PCB");
        }
        return inp;
    }

    static Sockaddr.In inet4(Sockaddr nam) throws ErrnoException {
        if (nam instanceof Sockaddr.In sin) {
            return sin;
        }
        throw new ErrnoException(Errno.EAFNOSUPPORT, "not an AF_INET address: " + nam);
    }

    // ------------------------------------------------------------------ output

    /** What output needs of the PCB, read under its lock. */
    private record Dest(InAddr laddr, int lport, InAddr faddr, int fport, IpOutOpts opts) {}

    /**
     * {@code udp_output}: adds the header and checksum and hands the datagram to IP. Binds an unbound
     * socket to an ephemeral port first. Consumes {@code m}. Hold no lock; never sleeps.
     */
    void output(InPcb inp, Mbuf m, Sockaddr.In to) throws ErrnoException {
        checkLength(m);
        Dest d;
        try {
            d = destination(inp, to);
        } catch (ErrnoException e) {
            m.freem();
            throw e;
        }
        send(inp, m, d);
    }

    /** EMSGSIZE (freeing {@code m}) for a datagram too long for one IPv4 packet. */
    private static void checkLength(Mbuf m) throws ErrnoException {
        if (m.pktLen() + UdpHdr.LEN + Ipv4View.MIN_HEADER_LEN > Ipv4View.MAXPACKET) {
            m.freem();
            throw new ErrnoException(Errno.EMSGSIZE, "UDP datagram of " + m.pktLen() + " bytes");
        }
    }

    /**
     * Reads the destinations of {@code addrs[from, to)} into {@code dests} under one hold of the PCB lock,
     * a run of equal addresses sharing one, and returns where it stopped: at {@code to}, or at the first
     * datagram that needs the general way (an unbound socket, a non-inet address, a failing destination).
     */
    private int destinations(InPcb inp, Sockaddr[] addrs, Dest[] dests, int from, int to) {
        inp.lock.lock();
        try {
            if (inp.lport() == 0) {
                return from;
            }
            for (int i = from; i < to; i++) {
                Sockaddr a = addrs[i];
                if (i > from && a != null && a.equals(addrs[i - 1])) {
                    dests[i] = dests[i - 1];
                    continue;
                }
                if (a != null && !(a instanceof Sockaddr.In)) {
                    return i;
                }
                try {
                    dests[i] = destinationLocked(inp, (Sockaddr.In) a);
                } catch (ErrnoException e) {
                    return i;
                }
            }
            return to;
        } finally {
            inp.lock.unlock();
        }
    }

    /**
     * Adds the header and checksum for {@code d} and hands the datagram ({@linkplain #checkLength checked})
     * to IP. Consumes {@code m}. Hold no lock.
     */
    private void send(InPcb inp, Mbuf m, Dest d) throws ErrnoException {
        Mbuf h = encap(m, d);
        stats.opackets.inc();
        inet.ip().output(h, d.laddr(), d.faddr(), UdpHdr.IPPROTO_UDP, d.opts(), inp.route);
    }

    /**
     * {@code ms[from, to)}, datagrams to one destination {@code d}, as {@link #send} each, inside the
     * caller's net-epoch section, handed to IP as one list ({@link Ip#outputListInEpoch}). Takes each
     * datagram out of {@code ms} as it takes it over; those after a failed one stay. Returns how many were
     * sent; throws the first one's error if it failed.
     */
    private int sendRun(InPcb inp, Mbuf[] ms, Dest d, int from, int to) throws ErrnoException {
        Mbufq run = new Mbufq();
        try {
            for (int i = from; i < to; i++) {
                Mbuf m = ms[i];
                ms[i] = null;
                checkLength(m);
                run.enqueue(encap(m, d));
            }
        } catch (ErrnoException e) {
            if (run.isEmpty()) {
                throw e;
            }
            // sent below; this datagram's error goes unreported, as a later one's in sendmmsg
        } catch (RuntimeException | Error e) {
            run.drain();
            throw e;
        }
        int n = run.len();
        int sent;
        try {
            sent = inet.ip().outputListInEpoch(run.first(), d.laddr(), d.faddr(), UdpHdr.IPPROTO_UDP, d.opts(), inp.route);
        } catch (ErrnoException e) {
            stats.opackets.inc(); // the first reached IP, as with send
            throw e;
        }
        stats.opackets.add(sent < n ? sent + 1 : n);
        return sent;
    }

    /** Adds the UDP header and (delayed) checksum for {@code d}; consumes {@code m}, also when it throws. */
    private Mbuf encap(Mbuf m, Dest d) throws ErrnoException {
        int len = m.pktLen();
        Mbuf h = m.prepend(UdpHdr.LEN, Mbuf.M_NOWAIT);
        h = h == null ? null : h.pullup(UdpHdr.LEN);
        if (h == null) {
            throw new ErrnoException(Errno.ENOBUFS, "no mbuf for the UDP header");
        }
        int ulen = len + UdpHdr.LEN;
        byte[] b = h.writableData();
        UdpHdr.emit(b, h.dataOff(), d.lport(), d.fport(), ulen, 0);
        if (checksum.get()) {
            // Delayed (CSUM_UDP): the field holds the pseudo-header sum; the interface or Ip.output finishes it.
            int pseudo = InCksum.fold(UdpHdr.pseudo(d.laddr(), d.faddr(), UdpHdr.IPPROTO_UDP, ulen));
            UdpHdr.emit(b, h.dataOff(), d.lport(), d.fport(), ulen, pseudo);
            h.setCsum(h.csumFlags() | Mbuf.CSUM_IP_UDP, UdpHdr.SUM_OFFSET);
        }
        return h;
    }

    /**
     * Reads what output needs of the PCB: one trip through its lock when the socket is bound; an
     * unbound one is bound to an ephemeral port first (under the pcbinfo lock) and then read.
     */
    private Dest destination(InPcb inp, Sockaddr.In to) throws ErrnoException {
        inp.lock.lock();
        try {
            if (inp.lport() != 0 || to == null) {
                return destinationLocked(inp, to);
            }
            checkSendable(inp, to);
        } finally {
            inp.lock.unlock();
        }
        info.lock.lock();
        inp.lock.lock();
        try {
            if (inp.lport() == 0 && !inp.isFreed()) {
                info.bindLocked(inp, null); // implicit bind (in_pcbbind with no address)
            }
        } finally {
            inp.lock.unlock();
            info.lock.unlock();
        }
        inp.lock.lock();
        try {
            return destinationLocked(inp, to);
        } finally {
            inp.lock.unlock();
        }
    }

    @com.google.errorprone.annotations.concurrent.GuardedBy("inp.lock")
    private static void checkSendable(InPcb inp, Sockaddr.In to) throws ErrnoException {
        if (inp.isFreed()) {
            throw new ErrnoException(Errno.EINVAL, "socket is closing");
        }
        if (to != null && inp.isConnected()) {
            throw new ErrnoException(Errno.EISCONN, "sendto on a connected socket");
        }
    }

    @com.google.errorprone.annotations.concurrent.GuardedBy("inp.lock")
    private Dest destinationLocked(InPcb inp, Sockaddr.In to) throws ErrnoException {
        checkSendable(inp, to);
        IpOutOpts opts = inp.outOpts();
        if (to == null) {
            if (!inp.isConnected()) {
                throw new ErrnoException(Errno.ENOTCONN, "send without address on an unconnected socket");
            }
            return new Dest(inp.laddr(), inp.lport(), inp.faddr(), inp.fport(), opts);
        }
        if (to.port() == 0) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, "send to port 0");
        }
        InAddr faddr = to.addr().isAny() ? InAddr.LOOPBACK : to.addr();
        InAddr laddr = inp.laddr();
        if (laddr.isAny()) {
            IpMoptions mo = inp.moptions();
            laddr = faddr.isMulticast() && mo != null && !mo.multicastAddr().isAny() ? mo.multicastAddr()
                    : inet.ip().selectSource(faddr, opts, inp.route);
        }
        return new Dest(laddr, inp.lport(), faddr, to.port(), opts);
    }

    // ------------------------------------------------------------------ input

    /** What delivery needs of the datagram. */
    private record Rcv(InAddr src, int sport, InAddr dst, int dport, int hlen, int ifIndex, int ttl) {}

    /** {@code udp_input}: {@link IpProtocols.Input} for protocol 17. Consumes {@code m}. */
    void input(Mbuf m, int hlen) {
        stats.ipackets.inc();
        if (m.pktLen() < hlen + UdpHdr.LEN) {
            stats.hdrops.inc();
            m.freem();
            return;
        }
        m = m.pullup(hlen + UdpHdr.LEN);
        if (m == null) {
            stats.hdrops.inc();
            return;
        }
        byte[] b = m.data();
        int o = m.dataOff();
        InAddr src = InAddr.fromBytes(b, o + 12);
        InAddr dst = InAddr.fromBytes(b, o + 16);
        int u = o + hlen;
        int ulen = UdpHdr.ulen(b, u);
        int len = m.pktLen() - hlen;
        if (ulen != len) {
            if (ulen > len || ulen < UdpHdr.LEN) {
                stats.badlen.inc();
                m.freem();
                return;
            }
            m.adj(ulen - len); // trailing bytes past the UDP length (RFC 768 allows IP padding)
        }
        if (UdpHdr.sum(b, u) != 0) {
            if ((m.csumFlags() & Mbuf.CSUM_L4_VALID) == 0 && UdpHdr.cksum(m, hlen, ulen, src, dst) != 0) {
                stats.badsum.inc();
                m.freem();
                return;
            }
        } else {
            stats.nosum.inc();
        }
        Rcv r = new Rcv(src, UdpHdr.sport(b, u), dst, UdpHdr.dport(b, u), hlen, m.rcvifIndex(), b[o + 8] & 0xff);
        Epoch.NET.assertInEpoch(); // ip_input's
        Ifnet ifp = ifnets.byIndex(r.ifIndex());
        boolean bcast = dst.isMulticast() || (m.flags() & (Mbuf.M_BCAST | Mbuf.M_MCAST)) != 0
                || (ifp != null && addrs.isBroadcast(dst, ifp));
        if (bcast) {
            inputMulti(m, r);
        } else {
            inputUnicast(m, r);
        }
    }

    /**
     * In an {@link InputBatch}, the PCB is found without its lock and the datagram put off to the batch's
     * end, where each run for one PCB is delivered under one hold of its lock ({@link #appendPcbRun});
     * outside one, the PCB is found locked and the datagram delivered at once.
     */
    private void inputUnicast(Mbuf m, Rcv r) {
        InputBatch batch = InputBatch.current();
        if (batch != null) {
            long addrs = ((long) r.src().bits() << 32) | (r.dst().bits() & 0xffff_ffffL);
            long ports = ((long) r.sport() << 16) | r.dport();
            InPcbEntry e = (InPcbEntry) batch.recall(this, addrs, ports); // a run of one flow: one lookup
            if (e == null) {
                e = info.lookupEntry(r.src(), r.sport(), r.dst(), r.dport(), true);
                if (e != null) {
                    batch.remember(this, addrs, ports, e);
                }
            }
            if (e == null) {
                refuse(m);
            } else {
                batch.defer(pcbAppender, e, m, r, null);
            }
            return;
        }
        InPcb inp = info.lookupLocked(r.src(), r.sport(), r.dst(), r.dport(), true);
        if (inp == null) {
            refuse(m);
            return;
        }
        try {
            deliver(inp, m, r, null);
        } finally {
            inp.lock.unlock();
        }
    }

    /** No socket for a unicast datagram: a port unreachable, unless {@code blackhole}. Consumes {@code m}. */
    private void refuse(Mbuf m) {
        stats.noport.inc();
        if (blackhole.get()) {
            m.freem();
        } else {
            inet.icmp().error(m, Icmp.UNREACH, Icmp.UNREACH_PORT, 0);
        }
    }

    /** Delivers a batch's run of unicast datagrams that matched one PCB entry ({@link #inputUnicast}'s deferred half). */
    private final InputBatch.Sink pcbAppender = this::appendPcbRun;

    /**
     * Locks the PCB once for the run, and if it still is the entry the lookups matched, strips the headers,
     * builds each datagram's source address and control messages under the lock and appends them all
     * under one hold of the receive buffer's mutex (inp before sockbuf). A PCB that changed since (closed,
     * connected, rebound) sends each datagram through a fresh lookup instead.
     */
    private void appendPcbRun(Object key, Mbuf[] packets, Object[] rcvs, Object[] controls, int from, int to) {
        InPcbEntry e = (InPcbEntry) key;
        InPcb inp = e.inp();
        if (!inp.lockIfCurrent(e)) {
            for (int i = from; i < to; i++) {
                Mbuf m = packets[i];
                packets[i] = null;
                redeliver(m, (Rcv) rcvs[i]);
            }
            return;
        }
        try {
            for (int i = from; i < to; i++) {
                Rcv r = (Rcv) rcvs[i];
                controls[i] = control(inp, r);
                packets[i].adj(r.hlen() + UdpHdr.LEN);
                rcvs[i] = inp.fromAddress(r.src(), r.sport());
            }
            appendRun(inp.owner(), packets, rcvs, controls, from, to);
        } finally {
            inp.lock.unlock();
        }
    }

    /**
     * A deferred datagram whose PCB changed after its lookup: looked up again and appended at once, or,
     * with no socket left for it, dropped and counted in {@code noport} (the socket went while the datagram
     * was in flight; no ICMP error from inside a batch's flush).
     */
    private void redeliver(Mbuf m, Rcv r) {
        InPcb inp = info.lookupLocked(r.src(), r.sport(), r.dst(), r.dport(), true);
        if (inp == null) {
            stats.noport.inc();
            m.freem();
            return;
        }
        try {
            deliver(inp, m, r, null); // at once: the batch is flushing
        } finally {
            inp.lock.unlock();
        }
    }

    /**
     * Broadcast and multicast: a copy to every PCB bound to the port whose addresses match (and, for
     * multicast, that joined the group on the receiving interface), stopping after a PCB without
     * SO_REUSEADDR/SO_REUSEPORT as FreeBSD does. Caller is in the net epoch.
     */
    private void inputMulti(Mbuf m, Rcv r) {
        boolean mcast = r.dst().isMulticast();
        int[] delivered = new int[1];
        info.forEachBound(r.dport(), e -> {
            if ((e.laddr() != 0 && e.laddr() != r.dst().bits())
                    || (e.faddr() != 0 && (e.faddr() != r.src().bits() || e.fport() != r.sport()))) {
                return true;
            }
            InPcb inp = e.inp();
            if (!inp.lockIfCurrent(e)) {
                return true;
            }
            try {
                if (mcast && !joined(inp, r)) {
                    stats.filtermcast.inc();
                    return true;
                }
                Mbuf c = m.copym(0, Mbuf.M_COPYALL, Mbuf.M_NOWAIT);
                if (c == null) {
                    stats.fullsock.inc();
                    return true;
                }
                deliver(inp, c, r, InputBatch.current());
                delivered[0]++;
                return (inp.soOptions() & (SocketConst.SO_REUSEADDR | SocketConst.SO_REUSEPORT)) != 0;
            } finally {
                inp.lock.unlock();
            }
        });
        if (delivered[0] == 0) {
            (mcast ? stats.noportmcast : stats.noportbcast).inc();
        }
        m.freem();
    }

    @SuppressWarnings("GuardedBy") // called from the delivery lambda, which holds inp.lock (lockIfCurrent)
    private static boolean joined(InPcb inp, Rcv r) {
        IpMoptions mo = inp.moptions();
        return mo != null && mo.isMember(r.dst(), r.ifIndex());
    }

    /**
     * Appends the datagram (headers stripped) with its source address and the control messages the
     * socket asked for to the receive buffer, and wakes readers; with a {@code batch}, puts the append
     * off to its end. Caller holds {@code inp.lock}. Consumes {@code m}.
     */
    @SuppressWarnings("GuardedBy") // PCB flags under inp.lock (held by the caller); the buffer's mtx is taken here
    private void deliver(InPcb inp, Mbuf m, Rcv r, InputBatch batch) {
        inp.lock.assertOwned();
        List<Cmsg> control = control(inp, r);
        m.adj(r.hlen() + UdpHdr.LEN);
        Socket so = (Socket) inp.owner();
        Sockaddr from = inp.fromAddress(r.src(), r.sport());
        if (batch != null) {
            batch.defer(appender, so, m, from, control); // appended with the rest of its run at the batch's end
            return;
        }
        appendNow(so, m, from, control);
    }

    /** Appends one datagram to the socket's receive buffer and wakes readers; a full buffer drops it (counted). */
    @SuppressWarnings("GuardedBy") // the checker cannot see that sb.mtx() is sb's mtx
    private void appendNow(Socket so, Mbuf m, Sockaddr from, List<Cmsg> control) {
        var sb = so.rcv();
        sb.mtx().lock();
        try {
            if (sb.sbappendaddr(from, m, control)) {
                stats.delivered.inc();
                so.sorwakeupLocked();
                return;
            }
        } finally {
            sb.mtx().unlock();
        }
        stats.fullsock.inc();
        DeferredInput.receiverFull();
        Cmsg.disposeAll(control);
        m.freem();
    }

    /** Appends a batch's run of datagrams for one socket ({@link #deliver}'s deferred half). */
    private final InputBatch.Sink appender = this::appendRun;

    private void appendRun(Object key, Mbuf[] packets, Object[] froms, Object[] controls, int from, int to) {
        Socket so = (Socket) key;
        int appended = so.soappendaddrRun(packets, froms, controls, from, to);
        if (appended > 0) {
            stats.delivered.add(appended);
        }
        if (appended < to - from) {
            DeferredInput.receiverFull(); // also after a close since the lookup: rare, and one short sleep
        }
        for (int i = from; i < to; i++) {
            Mbuf m = packets[i];
            if (m != null) { // no room, or the socket was closed after the lookup (then it drops all)
                packets[i] = null;
                stats.fullsock.inc();
                m.freem();
            }
        }
    }

    @SuppressWarnings("GuardedBy") // caller holds inp.lock
    private List<Cmsg> control(InPcb inp, Rcv r) {
        if ((inp.flags() & (InPcb.INP_RECVDSTADDR | InPcb.INP_RECVIF | InPcb.INP_RECVTTL)) == 0) {
            return null;
        }
        List<Cmsg> c = new ArrayList<>(3);
        if (inp.flag(InPcb.INP_RECVDSTADDR)) {
            byte[] a = new byte[4];
            r.dst().toBytes(a, 0);
            c.add(new Cmsg.Data(IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_RECVDSTADDR, a));
        }
        if (inp.flag(InPcb.INP_RECVTTL)) {
            c.add(new Cmsg.Data(IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_RECVTTL, new byte[] {(byte) r.ttl()}));
        }
        if (inp.flag(InPcb.INP_RECVIF)) {
            c.add(new Cmsg.Data(IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_RECVIF, IpCtlOutput.sockaddrDl(ifnets, r.ifIndex())));
        }
        return c;
    }

    // ------------------------------------------------------------------ ICMP errors

    /**
     * {@code udp_ctlinput}: an ICMP error about a datagram we sent is reported on the connected socket
     * it came from (port unreachable becomes ECONNREFUSED on its next call). Hold no lock.
     */
    void ctlinput(IcmpCtl c) {
        Errno e = c.errno();
        if (e == null) {
            return;
        }
        InPcb inp = info.lookupLocked(c.ip().dst(), c.l4u16(2), c.ip().src(), c.l4u16(0), false);
        if (inp == null) {
            return;
        }
        try {
            ((Socket) inp.owner()).setError(e);
        } finally {
            inp.lock.unlock();
        }
    }
}
