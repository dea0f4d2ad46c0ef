package org.smpnet.netinet;

import java.security.SecureRandom;
import java.util.SplittableRandom;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.IfFlags;
import org.smpnet.net.IfType;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.InCksum;
import org.smpnet.net.Loop;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Mbufq;

/**
 * IPv4 input, forwarding and output of one stack ({@code ip_input.c}, {@code ip_output.c}).
 *
 * <p>Locking: IP itself holds no lock on the packet path; state is sysctl values (atomic), per-CPU
 * counters and the ID generator (atomic / thread-confined). Reassembly ({@link IpReass}) and ARP
 * ({@link Arp}) take their own leaf locks. Input runs in the net epoch; output enters it.
 */
public final class Ip {
    /** Default TTL ({@code IPDEFTTL}). */
    public static final int DEFTTL = 64;

    private final Inet inet;
    final IpStats stats = new IpStats();
    final Sysctl.BoolOid forwarding;
    final Sysctl.IntOid defttl;
    final Sysctl.BoolOid randomId;
    final Sysctl.BoolOid sendRedirects;
    private final SecureRandom entropy = new SecureRandom();
    private final IpIdents idents = new IpIdents(entropy);
    private final ThreadLocal<SplittableRandom> idRandom = ThreadLocal.withInitial(() -> new SplittableRandom(entropy.nextLong()));

    Ip(Inet inet, Sysctl tree) {
        this.inet = inet;
        this.forwarding = tree.addBool("net.inet.ip.forwarding", "Enable IP forwarding between interfaces", false, true);
        this.defttl = tree.addInt("net.inet.ip.ttl", "Maximum TTL on IP packets", DEFTTL, 1, 255, true);
        this.randomId = tree.addBool("net.inet.ip.random_id",
                "Assign random ip_id values from a SecureRandom-seeded generator (else a per-destination counter)", false, true);
        this.sendRedirects = tree.addBool("net.inet.ip.redirect", "Enable sending IP redirects (not implemented: never sent)", false, false);
        stats.table.register(tree, "net.inet.ip.stats");
    }

    public IpStats stats() {
        return stats;
    }

    // ------------------------------------------------------------------ output

    /**
     * Sends a datagram of protocol {@code proto} ({@code ip_output}): prepends an IPv4 header, routes it,
     * picks the source address if {@code src} is {@link InAddr#ANY}, resolves the link address (ARP) and
     * fragments it to the interface MTU. Consumes {@code m} (the payload, a packet-header chain) always,
     * also when it fails.
     *
     * <p>Threads: may be called with PCB, socket-buffer or no locks held (IP takes only the
     * {@code lle} and reassembly leaf locks below them); never sleeps. A successful return means the
     * datagram was handed to the interface or queued awaiting ARP, not that it arrived.
     *
     * @param ro a route cache owned by the caller (used under the caller's lock), or null
     * @throws ErrnoException ENETUNREACH (no route, or not on-link with {@code dontRoute}), EHOSTUNREACH
     *     (reject route), EHOSTDOWN (the next hop, gateway or destination, did not answer ARP), EMSGSIZE
     *     (DF set and larger than the MTU, or longer than 65535), EACCES (broadcast without
     *     {@code allowBroadcast}), EADDRNOTAVAIL (no source address), ENOBUFS (no mbufs, or the interface
     *     queue is full)
     */
    public void output(Mbuf m, InAddr src, InAddr dst, int proto, IpOutOpts opts, IpRoute ro) throws ErrnoException {
        output(m, src, dst, proto, opts, ro, null);
    }

    /**
     * {@link #output} with IP header options ({@code ip_output}'s {@code opt}, {@code ip_insertoptions}):
     * {@code ipopts} are the option bytes, padded to a multiple of 4 (at most 40), or null for none.
     * Options marked copied go into every fragment.
     */
    public void output(Mbuf m, InAddr src, InAddr dst, int proto, IpOutOpts opts, IpRoute ro, byte[] ipopts)
            throws ErrnoException {
        output(m, src, dst, proto, opts, ro, ipopts, false);
    }

    /**
     * {@link #output(Mbuf, InAddr, InAddr, int, IpOutOpts, IpRoute)} from inside a net epoch section the
     * caller holds (a protocol sending a batch enters one for all of it).
     */
    public void outputInEpoch(Mbuf m, InAddr src, InAddr dst, int proto, IpOutOpts opts, IpRoute ro)
            throws ErrnoException {
        Epoch.NET.assertInEpoch();
        output(m, src, dst, proto, opts, ro, null, true);
    }

    /**
     * {@link #outputInEpoch} for a batch of transport segments linked through {@code nextpkt}, all from
     * {@code src} to {@code dst} with {@code opts} (a {@code sendmmsg}'s run of datagrams to one address):
     * sends them in order and consumes them all. Returns how many were sent. When one fails, the rest are
     * freed unsent: the first's error is thrown, a later one's is not reported (as {@code sendmmsg} does).
     *
     * <p>A unicast batch whose route, next hop and link address are settled and whose packets all fit the
     * MTU is routed once: its headers are built and it goes to the interface as one list, counted once.
     * Anything else (no route yet, ARP to ask, broadcast, multicast, local, fragments) goes packet by packet
     * through {@link #outputInEpoch}, which knows what to do with it.
     */
    public int outputListInEpoch(Mbuf first, InAddr src, InAddr dst, int proto, IpOutOpts opts, IpRoute ro)
            throws ErrnoException {
        Epoch.NET.assertInEpoch();
        ListRoute lr = listRoute(first, src, dst, opts, ro);
        if (lr == null) {
            return outputEach(first, src, dst, proto, opts, ro);
        }
        int ttl = opts.ttl() >= 0 ? opts.ttl() : defttl.get();
        InAddr from = src.isAny() ? lr.hop.source() : src;
        Mbufq built = new Mbufq();
        boolean failed = false;
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                Mbuf h = withHeader(cur, from, src, dst, proto, ttl, opts, ro, lr.ifp);
                if (h == null) {
                    failed = true;
                    break;
                }
                built.enqueue(h);
            }
        } catch (RuntimeException | Error e) {
            built.drain();
            throw e;
        } finally {
            Mbuf.freeList(m);
        }
        int n = built.len();
        stats.localout.add(n);
        lr.hop.pksent().add(n);
        if (n > 0) {
            inet.ether().outputListInEpoch(lr.ifp, built.first(), lr.mac, EtherRepr.ETHERTYPE_IP);
        } else if (failed) {
            throw new ErrnoException(Errno.ENOBUFS, "no mbuf for the IPv4 header");
        }
        return n;
    }

    /**
     * {@code m} with a complete IPv4 header for {@link #outputListInEpoch} (its delayed transport checksum
     * finished if {@code ifp} will not), or null when no mbuf was left for the header: then {@code m} is
     * freed and counted as dropped.
     */
    private Mbuf withHeader(Mbuf m, InAddr from, InAddr src, InAddr dst, int proto, int ttl, IpOutOpts opts, IpRoute ro,
            Ifnet ifp) {
        int len = m.pktLen() + Ipv4View.MIN_HEADER_LEN;
        Mbuf h = m.prepend(Ipv4View.MIN_HEADER_LEN, Mbuf.M_NOWAIT);
        h = h == null ? null : h.pullup(Ipv4View.MIN_HEADER_LEN);
        if (h == null) {
            stats.odropped.inc();
            return null;
        }
        Ipv4View v = new Ipv4View(h.writableData(), h.dataOff());
        Ipv4Repr.emitUnsummed(v, from, dst, proto, ttl, opts.tos(), newId(src, dst, proto, ro), opts.df(), false, 0, len, null);
        int f = h.csumFlags();
        if ((f & CSUM_DELAY_DATA) != 0 && (ifp.hwassist() & f & CSUM_DELAY_DATA) == 0) {
            delayedCksum(h, v);
        }
        v.fillChecksum();
        h.setCsum(h.csumFlags() | Mbuf.CSUM_IP, h.csumData());
        return h;
    }

    /** Where a batch for {@link #outputListInEpoch} goes when it can go as one list. */
    private record ListRoute(InRouting.Hop hop, Ifnet ifp, MacAddr mac) {}

    /**
     * The settled unicast path of a batch to {@code dst} ({@code ip_output}'s decisions, taken once), or
     * null when any packet needs the per-packet path: no route or a failing one (its error and counters
     * are the per-packet path's), local, broadcast or multicast, a blackhole, the loopback interface, no
     * source address, a packet over the MTU, or no reachable link address.
     */
    private ListRoute listRoute(Mbuf first, InAddr src, InAddr dst, IpOutOpts opts, IpRoute ro) {
        if (dst.isMulticast() || dst.isLimitedBroadcast()) {
            return null;
        }
        IpRoute.Entry e;
        InRouting.Hop hop;
        try {
            e = path(dst, ro);
            hop = e.local() || e.linkBcast() ? null : checkHop(dst, e.hop(), opts.dontRoute());
        } catch (ErrnoException ex) {
            return null;
        }
        if (hop == null || hop.kind() == InRouting.Hop.BLACKHOLE || (src.isAny() && hop.source() == null)) {
            return null;
        }
        Ifnet ifp = hop.ifp();
        if (ifp.type() == IfType.LOOP) {
            return null;
        }
        int mtu = hop.mtu() > 0 ? Math.min(hop.mtu(), ifp.mtu()) : ifp.mtu();
        for (Mbuf m = first; m != null; m = m.nextpkt()) {
            if (m.pktLen() + Ipv4View.MIN_HEADER_LEN > mtu) {
                return null;
            }
        }
        MacAddr mac = inet.arp().reachable(ifp, hop.nexthop(dst), ro);
        return mac == null ? null : new ListRoute(hop, ifp, mac);
    }

    /** A batch the per-packet way ({@link #outputListInEpoch}'s fallback), with its error rule. */
    private int outputEach(Mbuf first, InAddr src, InAddr dst, int proto, IpOutOpts opts, IpRoute ro)
            throws ErrnoException {
        int sent = 0;
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                try {
                    output(cur, src, dst, proto, opts, ro, null, true);
                } catch (ErrnoException e) {
                    if (sent == 0) {
                        throw e;
                    }
                    return sent;
                }
                sent++;
            }
            return sent;
        } finally {
            Mbuf.freeList(m);
        }
    }

    private void output(Mbuf m, InAddr src, InAddr dst, int proto, IpOutOpts opts, IpRoute ro, byte[] ipopts,
            boolean inEpoch) throws ErrnoException {
        if (ipopts != null && (ipopts.length % 4 != 0 || ipopts.length > Ipv4View.MAX_HEADER_LEN - Ipv4View.MIN_HEADER_LEN)) {
            m.freem();
            throw new IllegalArgumentException("IPv4 options must be a multiple of 4 bytes, at most 40, not " + ipopts.length);
        }
        int hlen = Ipv4View.MIN_HEADER_LEN + (ipopts == null ? 0 : ipopts.length);
        int len = m.pktLen() + hlen;
        if (len > Ipv4View.MAXPACKET) {
            m.freem();
            stats.odropped.inc();
            throw new ErrnoException(Errno.EMSGSIZE, "IPv4 datagram of " + len + " bytes");
        }
        Mbuf h = m.prepend(hlen, Mbuf.M_NOWAIT);
        if (h == null) {
            stats.odropped.inc();
            throw new ErrnoException(Errno.ENOBUFS, "no mbuf for the IPv4 header");
        }
        h = h.pullup(hlen);
        if (h == null) {
            stats.odropped.inc();
            throw new ErrnoException(Errno.ENOBUFS, "no mbuf for the IPv4 header");
        }
        int ttl = dst.isMulticast() ? opts.multicastTtl() : (opts.ttl() >= 0 ? opts.ttl() : defttl.get());
        Ipv4View v = new Ipv4View(h.writableData(), h.dataOff());
        // The header checksum is left for send, which fills it on every path out (after it may set the source).
        Ipv4Repr.emitUnsummed(v, src, dst, proto, ttl, opts.tos(), newId(src, dst, proto, ro), opts.df(), false, 0, len, ipopts);
        stats.localout.inc();
        if (inEpoch) {
            sendInEpoch(h, opts, ro, false, null);
        } else {
            send(h, opts, ro, false, null);
        }
    }

    /**
     * Sends a datagram whose header the caller built ({@code IP_HDRINCL}, raw sockets): the header's
     * total length must match the packet and its header length the data; a zero ID is replaced by a
     * fresh one, a zero source by the route's source; the checksum is always recomputed. Consumes
     * {@code m}. Same threads and errors as {@link #output}, plus EINVAL for a bad header.
     */
    public void outputHdrincl(Mbuf m, IpOutOpts opts, IpRoute ro) throws ErrnoException {
        int plen = m.pktLen();
        Mbuf h = plen >= Ipv4View.MIN_HEADER_LEN ? m.pullup(Ipv4View.MIN_HEADER_LEN) : null;
        if (h == null) {
            if (plen >= Ipv4View.MIN_HEADER_LEN) {
                stats.odropped.inc();
                throw new ErrnoException(Errno.ENOBUFS, "no mbuf for the IPv4 header");
            }
            m.freem();
            throw new ErrnoException(Errno.EINVAL, "IP_HDRINCL datagram of " + plen + " bytes is shorter than a header");
        }
        Ipv4View v = new Ipv4View(h.data(), h.dataOff());
        int hlen = v.hlen();
        if (v.version() != 4 || hlen < Ipv4View.MIN_HEADER_LEN || hlen > plen || v.totalLength() != plen) {
            h.freem();
            throw new ErrnoException(Errno.EINVAL, "IP_HDRINCL header: version " + v.version() + " hlen " + hlen
                    + " total length " + v.totalLength() + " for " + plen + " bytes");
        }
        h = h.pullup(hlen);
        if (h == null) {
            stats.odropped.inc();
            throw new ErrnoException(Errno.ENOBUFS, "no mbuf for the IPv4 header");
        }
        v = new Ipv4View(h.writableData(), h.dataOff());
        if (v.id() == 0) {
            v.setId(newId(v.src(), v.dst(), v.protocol()));
        }
        v.fillChecksum();
        stats.rawout.inc();
        send(h, opts, ro, false, null);
    }

    /**
     * The source address a datagram to {@code dst} would get ({@code in_pcbladdr}): for multicast or
     * limited broadcast with an explicit interface, that interface's address; else the route's.
     * Called with or without the PCB lock; never sleeps.
     *
     * @throws ErrnoException ENETUNREACH if there is no route, EADDRNOTAVAIL if the interface has no address
     */
    public InAddr selectSource(InAddr dst, IpOutOpts opts, IpRoute ro) throws ErrnoException {
        boolean special = (dst.isMulticast() || dst.isLimitedBroadcast()) && opts.multicastIfp() != null;
        // A current cached path needs no epoch: only its (immutable) addresses are read.
        IpRoute.Entry e = special ? null : cached(dst, ro, inet.routing().generation());
        if (e == null) {
            int et = Epoch.NET.enter();
            try {
                if (special) {
                    InAddr a = inet.routing().addressOn(opts.multicastIfp());
                    if (a == null) {
                        throw new ErrnoException(Errno.EADDRNOTAVAIL, "no IPv4 address on " + opts.multicastIfp().name());
                    }
                    return a;
                }
                e = path(dst, ro);
            } finally {
                Epoch.NET.exit(et);
            }
        }
        if (e.local()) {
            return dst;
        }
        InRouting.Hop hop = checkHop(dst, e.hop(), opts.dontRoute());
        if (hop.source() == null) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, "no IPv4 address on " + hop.ifp().name());
        }
        return hop.source();
    }

    /**
     * A fresh IP ID ({@code ip_fillid}): with {@code net.inet.ip.random_id}, random from a
     * SecureRandom-seeded generator per thread; else the next of the per-destination counter of
     * (src, dst, proto) ({@link IpIdents}), so IDs toward one destination are sequential and say
     * nothing about the traffic to others. {@code src} may still be {@link InAddr#ANY}. Lock-free.
     */
    int newId(InAddr src, InAddr dst, int proto) {
        return newId(src, dst, proto, null);
    }

    /** {@link #newId(InAddr, InAddr, int)} through a cached route, if any, that remembers the flow's hash. */
    private int newId(InAddr src, InAddr dst, int proto, IpRoute ro) {
        if (randomId.get()) {
            return 1 + idRandom.get().nextInt(0xffff);
        }
        return idents.next(src, dst, proto, ro);
    }

    /** The per-destination counters (tests). */
    IpIdents idents() {
        return idents;
    }

    /**
     * Routes and transmits {@code m}, which starts with a complete header (checksum not yet valid).
     * Consumes it. {@code forwarding}: from ip_forward (no source selection, loops nothing back).
     * {@code mtuOut}, if non-null, receives the MTU on EMSGSIZE.
     */
    void send(Mbuf m, IpOutOpts opts, IpRoute ro, boolean forwarding, int[] mtuOut) throws ErrnoException {
        int et = Epoch.NET.enter();
        try {
            sendInEpoch(m, opts, ro, forwarding, mtuOut);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private void sendInEpoch(Mbuf m, IpOutOpts opts, IpRoute ro, boolean forwarding, int[] mtuOut) throws ErrnoException {
        if (!m.writable() && !m.unshare(Mbuf.M_NOWAIT)) {
            m.freem();
            stats.odropped.inc();
            throw new ErrnoException(Errno.ENOBUFS, "no mbufs to make the IPv4 header writable");
        }
        InRouting r = inet.routing();
        Ipv4View v = new Ipv4View(m.writableData(), m.dataOff());
        InAddr dst = v.dst();
        Ifnet ifp;
        InAddr nexthop;
        InAddr source;
        int mtu;
        boolean linkBcast = false;
        if (dst.isMulticast() || (dst.isLimitedBroadcast() && opts.multicastIfp() != null)) {
            ifp = opts.multicastIfp();
            InRouting.Hop hop = null;
            if (ifp == null) {
                hop = hopOrDrop(m, dst, pathOrDrop(m, dst, ro).hop(), opts.dontRoute());
                ifp = hop.ifp();
                hop.pksent().inc();
            }
            nexthop = dst;
            source = r.addressOn(ifp);
            mtu = ifp.mtu();
            linkBcast = dst.isLimitedBroadcast();
        } else {
            IpRoute.Entry e = pathOrDrop(m, dst, ro);
            if (!forwarding && e.local()) {
                sendLocal(m, v);
                return;
            }
            InRouting.Hop hop = hopOrDrop(m, dst, e.hop(), opts.dontRoute());
            hop.pksent().inc(); // once per datagram, cached route or not (FreeBSD's nh_pksent)
            if (hop.kind() == InRouting.Hop.BLACKHOLE) {
                m.freem(); // RTF_BLACKHOLE: silently discarded, as FreeBSD does
                return;
            }
            ifp = hop.ifp();
            nexthop = hop.nexthop(dst);
            source = hop.source();
            mtu = hop.mtu() > 0 ? Math.min(hop.mtu(), ifp.mtu()) : ifp.mtu();
            linkBcast = e.linkBcast();
        }
        if (v.src().isAny()) {
            if (source == null) {
                m.freem();
                stats.odropped.inc();
                throw new ErrnoException(Errno.EADDRNOTAVAIL, "no IPv4 address on " + ifp.name());
            }
            v.setSrc(source);
        }
        if ((m.csumFlags() & CSUM_DELAY_DATA) != 0 && (linkBcast || dst.isMulticast() || v.totalLength() > mtu
                || (ifp.hwassist() & m.csumFlags() & CSUM_DELAY_DATA) == 0)) {
            delayedCksum(m, v); // the interface will not (or copies and fragments need it now)
        }
        if (linkBcast) {
            if (!opts.allowBroadcast() && !forwarding) {
                m.freem();
                stats.odropped.inc();
                throw new ErrnoException(Errno.EACCES, "broadcast to " + dst + " without SO_BROADCAST");
            }
            if ((ifp.flags() & IfFlags.BROADCAST) == 0) {
                m.freem();
                stats.odropped.inc();
                throw new ErrnoException(Errno.EADDRNOTAVAIL, ifp.name() + " cannot broadcast");
            }
        }
        if (!forwarding && (dst.isMulticast() ? opts.multicastLoop() : linkBcast)) {
            loopCopy(m, ifp);   // if_simloop: our own broadcast/multicast reaches local listeners
        }
        if (dst.isMulticast() && v.ttl() == 0) {
            m.freem();          // TTL 0: this host only
            return;
        }
        int len = v.totalLength();
        if (len <= mtu) {
            v.fillChecksum();
            m.setCsum(m.csumFlags() | Mbuf.CSUM_IP, m.csumData());
            linkOutput(ifp, m, nexthop, dst, linkBcast, ro);
            return;
        }
        if (v.df()) {
            m.freem();
            stats.cantfrag.inc();
            if (mtuOut != null) {
                mtuOut[0] = mtu;
            }
            throw new ErrnoException(Errno.EMSGSIZE, "datagram of " + len + " bytes with DF over MTU " + mtu);
        }
        Mbuf frags = IpFragment.fragment(m, mtu, stats);
        if (frags == null) {
            throw new ErrnoException(Errno.ENOBUFS, "no mbufs to fragment a datagram of " + len + " bytes");
        }
        ErrnoException first = null;
        for (Mbuf f = frags, next; f != null; f = next) {
            next = f.nextpkt();
            f.setNextpkt(null);
            if (first != null) {
                f.freem();
                continue;
            }
            try {
                linkOutput(ifp, f, nexthop, dst, linkBcast, ro);
            } catch (ErrnoException e) {
                first = e;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** {@link #path}; on failure frees {@code m} and counts it as unroutable. */
    private IpRoute.Entry pathOrDrop(Mbuf m, InAddr dst, IpRoute ro) throws ErrnoException {
        try {
            return path(dst, ro);
        } catch (ErrnoException e) {
            m.freem();
            stats.noroute.inc();
            throw e;
        }
    }

    /** {@link #checkHop}; on failure frees {@code m} and counts it as unroutable. */
    private InRouting.Hop hopOrDrop(Mbuf m, InAddr dst, InRouting.Hop hop, boolean dontRoute) throws ErrnoException {
        try {
            return checkHop(dst, hop, dontRoute);
        } catch (ErrnoException e) {
            m.freem();
            stats.noroute.inc();
            throw e;
        }
    }

    /**
     * The path to a unicast or subnet-broadcast {@code dst}: from {@code ro} if still current, else looked
     * up (and cached in {@code ro}). In the net epoch.
     *
     * @throws ErrnoException ENETUNREACH if there is no route and {@code dst} is not ours
     */
    private IpRoute.Entry path(InAddr dst, IpRoute ro) throws ErrnoException {
        InRouting r = inet.routing();
        long gen = r.generation(); // read before the lookups: a change during them makes the entry stale at once
        IpRoute.Entry e = cached(dst, ro, gen);
        if (e == null) {
            boolean local = r.isLocal(dst);
            InRouting.Hop hop = r.lookup(dst);
            if (hop == null && !local) {
                throw new ErrnoException(Errno.ENETUNREACH, "no route to " + dst);
            }
            e = entry(r, dst, hop, gen, local);
            if (ro != null && gen >= 0) {
                ro.set(e);
            }
        }
        return e;
    }

    /** {@code ro}'s entry for {@code dst} if it is current at {@code gen} (negative: nothing is cached), else null. */
    private static IpRoute.Entry cached(InAddr dst, IpRoute ro, long gen) {
        return ro != null && gen >= 0 ? ro.get(dst, gen) : null;
    }

    private static IpRoute.Entry entry(InRouting r, InAddr dst, InRouting.Hop hop, long gen, boolean local) {
        boolean bcast = hop != null && hop.gateway() == null && r.isBroadcast(dst, hop.ifp());
        return new IpRoute.Entry(dst, hop, gen, local, bcast);
    }

    /** A cached path for the forwarding code, which has just looked {@code hop} up itself. In the net epoch. */
    IpRoute forwardingRoute(InAddr dst, InRouting.Hop hop) {
        InRouting r = inet.routing();
        IpRoute ro = new IpRoute();
        ro.set(entry(r, dst, hop, r.generation(), false));
        return ro;
    }

    /** {@code hop} may be used to send to {@code dst}: it exists, is not a reject route, and obeys SO_DONTROUTE. */
    private static InRouting.Hop checkHop(InAddr dst, InRouting.Hop hop, boolean dontRoute) throws ErrnoException {
        if (hop == null) {
            throw new ErrnoException(Errno.ENETUNREACH, "no route to " + dst);
        }
        if (hop.kind() == InRouting.Hop.REJECT) {
            throw new ErrnoException(Errno.EHOSTUNREACH, "reject route to " + dst);
        }
        if (dontRoute && hop.gateway() != null) {
            throw new ErrnoException(Errno.ENETUNREACH, dst + " is not on a directly attached network");
        }
        return hop;
    }

    /** A datagram to one of our addresses: through lo0 ({@code looutput}), so it arrives as input. */
    private void sendLocal(Mbuf m, Ipv4View v) {
        if (v.src().isAny()) {
            v.setSrc(v.dst());
        }
        if ((m.csumFlags() & CSUM_DELAY_DATA) != 0) {
            delayedCksum(m, v);
        }
        v.fillChecksum();
        inet.loop().output(m, Ifnet.AF_INET);
    }

    /** The transport checksums a protocol may leave to the interface ({@code CSUM_DELAY_DATA}). */
    static final int CSUM_DELAY_DATA = Mbuf.CSUM_IP_UDP | Mbuf.CSUM_IP_TCP;

    /**
     * Finishes a delayed transport checksum ({@code in_delayed_cksum}): the field, seeded with the
     * pseudo-header sum, gets the checksum of the whole segment; the request is cleared.
     */
    static void delayedCksum(Mbuf m, Ipv4View v) {
        int off = v.hlen();
        int len = v.totalLength() - off;
        int at = off + m.csumData();
        int sum = InCksum.cksum(m, off, len);
        if (sum == 0 && (m.csumFlags() & Mbuf.CSUM_IP_UDP) != 0) {
            sum = 0xffff; // UDP: 0 means "no checksum"
        }
        byte[] two = {(byte) (sum >>> 8), (byte) sum};
        m.copyback(at, 2, two, 0, Mbuf.M_NOWAIT);
        m.setCsum(m.csumFlags() & ~CSUM_DELAY_DATA, 0);
    }

    /** Hands a copy of our own broadcast/multicast to local input as if received on {@code ifp}. */
    private void loopCopy(Mbuf m, Ifnet ifp) {
        Mbuf c = m.dup(Mbuf.M_NOWAIT);
        if (c == null) {
            stats.odropped.inc();
            return;
        }
        if (!c.writable() && !c.unshare(Mbuf.M_NOWAIT)) {
            c.freem();
            stats.odropped.inc();
            return;
        }
        Ipv4View cv = new Ipv4View(c.writableData(), c.dataOff());
        cv.fillChecksum();
        c.setRcvifIndex(ifp.index());
        c.setFlags(c.flags() | (cv.dst().isMulticast() ? Mbuf.M_MCAST : Mbuf.M_BCAST));
        inet.simloop(c);
    }

    /** Link-layer output: Ethernet with ARP, or loopback. Consumes {@code m}. */
    private void linkOutput(Ifnet ifp, Mbuf m, InAddr nexthop, InAddr dst, boolean linkBcast, IpRoute ro)
            throws ErrnoException {
        if (ifp.type() == IfType.LOOP) {
            Loop lo = (Loop) ifp.driver();
            lo.output(m, Ifnet.AF_INET);
            return;
        }
        MacAddr mac;
        if (linkBcast || dst.isLimitedBroadcast()) {
            mac = MacAddr.BROADCAST;
        } else if (dst.isMulticast()) {
            mac = multicastMac(dst);
        } else {
            mac = inet.arp().resolve(ifp, nexthop, m, ro);
            if (mac == null) {
                return; // queued until ARP answers
            }
        }
        inet.ether().outputInEpoch(ifp, m, mac, EtherRepr.ETHERTYPE_IP);
    }

    /** {@code ETHER_MAP_IP_MULTICAST}: 01:00:5e and the low 23 bits of the group. */
    public static MacAddr multicastMac(InAddr group) {
        return new MacAddr(0x01005e000000L | (group.bits() & 0x7fffffL));
    }

    // ------------------------------------------------------------------ input

    /** The simloop queue's consumer (copies of our own broadcasts and multicasts): {@code ip_input} in its own section. */
    void simloopInput(Mbuf m) {
        int et = Epoch.NET.enter();
        try {
            input(m);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    /** Netisr entry: {@code ip_input}. Netisr calls it in the net epoch. Consumes {@code m}. */
    void netisrInput(Mbuf m) {
        Epoch.NET.assertInEpoch();
        input(m);
    }

    /** {@code ip_input}: checks, options, local delivery, reassembly or forwarding. In the net epoch. Consumes {@code m}. */
    void input(Mbuf m) {
        stats.total.inc();
        Ifnet ifp = inet.ifnets().byIndex(m.rcvifIndex());
        if (ifp == null) {
            stats.odropped.inc();
            m.freem();
            return;
        }
        int plen = m.pktLen();
        if (plen < Ipv4View.MIN_HEADER_LEN) {
            stats.toosmall.inc();
            m.freem();
            return;
        }
        m = m.pullup(Ipv4View.MIN_HEADER_LEN);
        if (m == null) {
            stats.toosmall.inc();
            return;
        }
        Ipv4View v = new Ipv4View(m.data(), m.dataOff());
        int hlen = v.hlen();
        if (v.version() == 4 && hlen > Ipv4View.MIN_HEADER_LEN && hlen <= plen) {
            m = m.pullup(hlen);
            if (m == null) {
                stats.badhlen.inc();
                return;
            }
            v = new Ipv4View(m.data(), m.dataOff());
        }
        boolean hwsum = (m.csumFlags() & (Mbuf.CSUM_L3_CALC | Mbuf.CSUM_L3_VALID)) == (Mbuf.CSUM_L3_CALC | Mbuf.CSUM_L3_VALID);
        Ipv4Repr.Defect d = Ipv4Repr.check(v, plen, !hwsum); // hlen <= plen was pulled up above
        if (d != null) {
            count(d).inc();
            m.freem();
            return;
        }
        int ipLen = v.totalLength();
        if (plen > ipLen) {
            m.adj(ipLen - plen); // link-layer padding
        }
        InAddr src = v.src();
        InAddr dst = v.dst();
        boolean loopIf = ifp.type() == IfType.LOOP;
        if (!loopIf && (src.isLoopback() || dst.isLoopback())) {
            stats.badaddr.inc(); // RFC 1122: 127/8 never appears on a wire
            m.freem();
            return;
        }
        if (src.isMulticast()) {
            stats.badaddr.inc();
            m.freem();
            return;
        }
        InRouting r = inet.routing();
        if (hlen > Ipv4View.MIN_HEADER_LEN && !inet.options().process(m, ifp)) {
            return; // malformed options: answered with a parameter problem, or dropped; counted
        }
        boolean local = dst.isMulticast() || dst.isLimitedBroadcast() || r.isLocal(dst) || r.isBroadcast(dst, ifp)
                || (loopIf && dst.isLoopback());
        if (!local) {
            if ((m.flags() & (Mbuf.M_BCAST | Mbuf.M_MCAST)) != 0 || !forwarding.get()) {
                stats.cantforward.inc();
                m.freem();
                return;
            }
            inet.forward().forward(m, ifp);
            return;
        }
        if (v.mf() || v.fragOffset() != 0) {
            m = inet.reass().reass(m);
            if (m == null) {
                return;
            }
            v = new Ipv4View(m.data(), m.dataOff());
            hlen = v.hlen();
        }
        deliver(m, hlen, v.protocol());
    }

    /** Hands a complete local datagram to its protocol ({@code ip_protox}). */
    void deliver(Mbuf m, int hlen, int proto) {
        stats.delivered.inc();
        IpProtocols.Input in = inet.protocols().input(proto);
        if (in != null) {
            in.input(m, hlen);
            return;
        }
        IpProtocols.RawInput raw = inet.protocols().raw();
        if (raw != null && raw.input(m, hlen)) {
            m.freem();
            return;
        }
        stats.noproto.inc();
        stats.delivered.add(-1); // FreeBSD: ips_noproto packets are not "for this host"
        inet.icmp().error(m, Icmp.UNREACH, Icmp.UNREACH_PROTOCOL, 0);
    }

    private org.smpnet.kern.Counter count(Ipv4Repr.Defect d) {
        return switch (d) {
            case TOOSMALL -> stats.toosmall;
            case BADVERS -> stats.badvers;
            case BADHLEN -> stats.badhlen;
            case BADSUM -> stats.badsum;
            case BADLEN -> stats.badlen;
            case TOOSHORT -> stats.tooshort;
        };
    }
}
