package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sysctl;

/**
 * The routing table of one stack instance ({@code V_rt_tables}, one rib per family), with longest-prefix match
 * for IPv4 and IPv6 destinations (R-RT-1), its {@link NetAddrs interface addresses} and its
 * {@link RtSock routing socket} message channel.
 *
 * <p>Locking key: the two tries are written under {@link #lock} ("rib", class "rtentry"); lookups take no lock
 * and run in the net epoch ({@link RtTrie} explains why they never see a half-built structure). Entries are
 * immutable ({@link Rtentry}); an entry unlinked or replaced is marked freed through {@link Epoch#call} only
 * after the epoch drains. The rib lock is never held while messages are delivered or listeners run, nor
 * while taking any other lock but the epoch's: messages are handed to {@link RtEvents} after it is dropped.
 *
 * <p>Statistics ({@code rtstat}) are per-CPU counters under {@code net.route.stats.}.
 */
public final class Rtable {
    private final String owner;
    final Mtx lock;
    /**
     * Bumped after every change of either trie, still under {@link #lock} ({@code rnh_gen}): a route cache
     * that read it before its lookup and finds it unchanged later may reuse the result.
     */
    private volatile long generation;
    private final RtTrie<Rtentry> inet = new RtTrie<>(32);
    private final RtTrie<Rtentry> inet6 = new RtTrie<>(128);
    private final IfnetList ifnets;
    private final Ifnet loopback;
    private final NetAddrs addrs;
    private final RtSock rtsock;
    private final RtEvents events;

    /** {@code rts_badredirect}: bogus redirects. */
    public final Counter badredirect = new Counter();
    /** {@code rts_dynamic}: host routes created by redirects. */
    public final Counter dynamic = new Counter();
    /** {@code rts_newgateway}: routes whose gateway a redirect changed. */
    public final Counter newgateway = new Counter();
    /** {@code rts_unreach}: lookups that found no route. */
    public final Counter unreach = new Counter();
    /** {@code rts_wildcard}: lookups answered by a default route. */
    public final Counter wildcard = new Counter();

    /**
     * The routing table of stack instance {@code owner}. Registers {@code net.route.*} in {@code sysctl}, the
     * {@link Netisr#ROUTE} protocol in {@code netisr}, and an interface listener on {@code ifnets}.
     *
     * @param loopback the stack's {@code lo0}: local-address and reject routes point at it
     */
    public Rtable(String owner, Sysctl sysctl, IfnetList ifnets, Netisr netisr, Ifnet loopback) {
        this.owner = owner;
        this.lock = new Mtx("rib " + owner, "rtentry");
        this.ifnets = ifnets;
        this.loopback = loopback;
        this.rtsock = new RtSock(owner, sysctl, netisr, this, ifnets);
        this.events = rtsock;
        this.addrs = new NetAddrs(owner, this, ifnets, loopback, events);
        sysctl.addCounter("net.route.stats.badredirect", "Bogus redirect calls", badredirect);
        sysctl.addCounter("net.route.stats.dynamic", "Routes created by redirects", dynamic);
        sysctl.addCounter("net.route.stats.newgateway", "Routes modified by redirects", newgateway);
        sysctl.addCounter("net.route.stats.unreach", "Lookups which failed", unreach);
        sysctl.addCounter("net.route.stats.wildcard", "Lookups satisfied by a wildcard (default) route", wildcard);
        sysctl.addProc("net.route.inet.count", "IPv4 routes", inet::size);
        sysctl.addProc("net.route.inet6.count", "IPv6 routes", inet6::size);
    }

    /** The interface addresses of this stack instance. */
    public NetAddrs addrs() {
        return addrs;
    }

    /** The routing-socket side: listeners, and requests as a routing-socket write makes them. */
    public RtSock rtsock() {
        return rtsock;
    }

    Ifnet loopback() {
        return loopback;
    }

    RtEvents events() {
        return events;
    }

    private RtTrie<Rtentry> trie(int family) {
        return family == Sockaddr.AF_INET6 ? inet6 : inet;
    }

    private static long key4(InAddr a) {
        return (a.bits() & 0xffffffffL) << 32;
    }

    /** The change counter route caches compare (see {@link #generation}'s field). Lock-free. */
    public long generation() {
        return generation;
    }

    // ---- lookups (lock-free, net epoch) ----

    /**
     * The next hop for {@code dst} by longest-prefix match ({@code fib4_lookup}), or null if there is no
     * route (counted in {@code unreach}). The caller must be in the net epoch and may hold any lock; this
     * takes none and never sleeps. The result stays valid until the caller's epoch section ends. A lookup is
     * not a use: the sender counts each packet it sends through the route ({@link Nexthop#pksent()}).
     */
    public Nexthop lookup(InAddr dst) {
        Epoch.NET.assertInEpoch();
        return found(inet.match(key4(dst), 0));
    }

    /** The next hop for an IPv6 destination ({@code fib6_lookup}); same rules as {@link #lookup(InAddr)}. */
    public Nexthop lookup(In6Addr dst) {
        Epoch.NET.assertInEpoch();
        return found(inet6.match(dst.hi(), dst.lo()));
    }

    private Nexthop found(Rtentry rt) {
        if (rt == null) {
            unreach.inc();
            return null;
        }
        if (rt.dst().len() == 0) {
            wildcard.inc();
        }
        return rt.nexthop();
    }

    /** The route matching {@code dst} longest, without counting a use. In the net epoch. */
    public Rtentry match(InAddr dst) {
        Epoch.NET.assertInEpoch();
        return inet.match(key4(dst), 0);
    }

    /** The route matching {@code dst} longest, without counting a use. In the net epoch. */
    public Rtentry match(In6Addr dst) {
        Epoch.NET.assertInEpoch();
        return inet6.match(dst.hi(), dst.lo());
    }

    /** The route for exactly {@code dst}, or null. In the net epoch (or any thread for a snapshot read). */
    public Rtentry get(Prefix dst) {
        return trie(dst.family()).get(dst.hi(), dst.lo(), dst.len());
    }

    /**
     * Reports a failed lookup to routing-socket listeners ({@code RTM_MISS}); callers that want routing
     * daemons to hear about misses call it after {@link #lookup} returned null. Takes no routing lock.
     */
    public void miss(Sockaddr dst) {
        events.miss(dst);
    }

    // ---- changes ----

    /**
     * Adds a route ({@code rtrequest1_fib(RTM_ADD)}). May be called with any lock of a class ordered before
     * "rtentry" held (a PCB, a socket buffer); takes the rib lock, then, with it dropped, reports
     * {@code RTM_ADD}. Does not sleep. The entry is visible to every lookup that starts after the return.
     *
     * @param gateway the next hop: with {@link Rtentry#RTF_GATEWAY} an address of the destination's family
     *     reachable on a connected network; without it, a {@code Sockaddr.Dl} interface or one of this host's
     *     addresses (an interface route); null only for reject and blackhole routes
     * @param ifp the outgoing interface, or null to derive it from the gateway
     * @param flags {@code RTF_*} flags ({@code RTF_HOST} is implied by a host prefix)
     * @param mtu the route MTU, 0 for the interface's
     * @return the entry added
     * @throws ErrnoException EEXIST if a route for {@code dst} exists, ENETUNREACH if the gateway is not
     *     reachable or the interface is gone, EINVAL for bad arguments
     */
    public Rtentry add(Prefix dst, Sockaddr gateway, Ifnet ifp, int flags, int mtu) throws ErrnoException {
        Rtentry rt = insert(dst, gateway, ifp, null, flags, mtu, 0);
        events.route(Rtm.RTM_ADD, rt);
        return rt;
    }

    /** {@link #add(Prefix, Sockaddr, Ifnet, int, int)} with the interface derived and the interface MTU. */
    public Rtentry add(Prefix dst, Sockaddr gateway, int flags) throws ErrnoException {
        return add(dst, gateway, null, flags, 0);
    }

    /** Installs a route; no message. For {@link #add} and the address code (which passes its own ifa). */
    Rtentry insert(Prefix dst, Sockaddr gateway, Ifnet ifp, Ifaddr ifa, int flags, int mtu, long expire)
            throws ErrnoException {
        check(dst, gateway, flags, mtu);
        for (int attempt = 0; ; attempt++) {
            Rtentry rt = resolve(dst, gateway, ifp, ifa, flags, mtu, expire, null);
            lock.lock();
            try {
                if (!stillValid(rt)) {
                    if (ifa != null || attempt >= 8) {
                        throw new ErrnoException(Errno.ENETUNREACH, "interface or address of " + dst + " went away");
                    }
                    continue; // the address we picked was removed meanwhile: pick again
                }
                Rtentry old = trie(dst.family()).putIfAbsent(dst.hi(), dst.lo(), dst.len(), rt);
                if (old != null) {
                    throw new ErrnoException(Errno.EEXIST, "route to " + dst + " exists (" + old + ")");
                }
                return rt;
            } finally {
                generation++; // a plain ++ is safe: only the rib lock holder writes
            lock.unlock();
            }
        }
    }

    /** Under the rib lock: the entry's interface and address are still attached and linked. */
    @GuardedBy("lock")
    private boolean stillValid(Rtentry rt) {
        lock.assertOwned();
        return rt.ifp().state() == IfnetState.ATTACHED && (rt.ifa() == null || rt.ifa().linked());
    }

    /**
     * Deletes the route for exactly {@code dst} ({@code RTM_DELETE}); if {@code gateway} is not null it must
     * match the route's. Same locking as {@link #add}. Lookups starting after the return no longer find it;
     * ones already running may, until their epoch section ends.
     *
     * @throws ErrnoException ESRCH if there is no such route
     */
    public Rtentry delete(Prefix dst, Sockaddr gateway) throws ErrnoException {
        Rtentry rt = remove(dst, gateway);
        events.route(Rtm.RTM_DELETE, rt);
        return rt;
    }

    /** {@link #delete(Prefix, Sockaddr)} without the message (the routing socket replies itself). */
    Rtentry remove(Prefix dst, Sockaddr gateway) throws ErrnoException {
        Rtentry rt;
        lock.lock();
        try {
            RtTrie<Rtentry> t = trie(dst.family());
            rt = t.get(dst.hi(), dst.lo(), dst.len());
            if (rt == null || (gateway != null && !gatewayMatches(rt, gateway))) {
                throw new ErrnoException(Errno.ESRCH, "no route to " + dst + (rt != null ? " via " + gateway : ""));
            }
            t.remove(dst.hi(), dst.lo(), dst.len());
        } finally {
            generation++; // a plain ++ is safe: only the rib lock holder writes
            lock.unlock();
        }
        retire(rt);
        return rt;
    }

    /** {@link #delete(Prefix, Sockaddr)} whatever the gateway. */
    public Rtentry delete(Prefix dst) throws ErrnoException {
        return delete(dst, null);
    }

    private static boolean gatewayMatches(Rtentry rt, Sockaddr gw) {
        Sockaddr g = rt.gateway();
        if (g instanceof Sockaddr.Dl d && gw instanceof Sockaddr.Dl e) {
            return d.index() == e.index();
        }
        if (g instanceof Sockaddr.In a && gw instanceof Sockaddr.In b) {
            return a.addr().equals(b.addr());
        }
        if (g instanceof Sockaddr.In6 a && gw instanceof Sockaddr.In6 b) {
            return a.addr().equals(b.addr());
        }
        return false;
    }

    /**
     * Changes a route ({@code RTM_CHANGE}): a new entry replaces the old one in one step, so a lookup sees
     * either. Same locking as {@link #add}.
     *
     * @param gateway the new gateway, or null to keep it
     * @param ifp the new interface, or null to keep it (or derive it from a new gateway)
     * @param flags new values of the flags in {@code flagMask}
     * @param mtu the new MTU, or -1 to keep it
     * @throws ErrnoException ESRCH if there is no such route, ENETUNREACH/EINVAL as for {@link #add}
     */
    public Rtentry change(Prefix dst, Sockaddr gateway, Ifnet ifp, int flags, int flagMask, int mtu)
            throws ErrnoException {
        Rtentry rt = modify(dst, gateway, ifp, flags, flagMask, mtu);
        events.route(Rtm.RTM_CHANGE, rt);
        return rt;
    }

    /** {@link #change} without the message. */
    Rtentry modify(Prefix dst, Sockaddr gateway, Ifnet ifp, int flags, int flagMask, int mtu)
            throws ErrnoException {
        for (int attempt = 0; ; attempt++) {
            Rtentry old = inEpoch(() -> get(dst));
            if (old == null) {
                throw new ErrnoException(Errno.ESRCH, "no route to " + dst);
            }
            int nflags = (old.flags() & ~flagMask) | (flags & flagMask);
            Sockaddr ngw = gateway != null ? gateway : old.gateway();
            int nmtu = mtu >= 0 ? mtu : old.mtu();
            check(dst, ngw, nflags, nmtu);
            boolean reresolve = gateway != null || ifp != null;
            Rtentry rt = reresolve
                    ? resolve(dst, ngw, ifp, null, nflags, nmtu, old.expire(), old.useCounter())
                    : new Rtentry(dst, ngw, old.ifp(), old.ifa(), nflags, nmtu, old.expire(), old.useCounter());
            lock.lock();
            try {
                RtTrie<Rtentry> t = trie(dst.family());
                if (t.get(dst.hi(), dst.lo(), dst.len()) != old || !stillValid(rt)) {
                    if (attempt >= 8) {
                        throw new ErrnoException(Errno.ESRCH, "route to " + dst + " keeps changing");
                    }
                    continue; // raced with another change: start over from the current entry
                }
                t.replace(dst.hi(), dst.lo(), dst.len(), rt);
            } finally {
                generation++; // a plain ++ is safe: only the rib lock holder writes
            lock.unlock();
            }
            retire(old);
            return rt;
        }
    }

    /**
     * Applies an ICMP redirect ({@code rtredirect}): router {@code src} says {@code dst} is better reached
     * through {@code gateway}. A host route for {@code dst} is changed ({@code RTF_MODIFIED}, counted in
     * {@code newgateway}); otherwise a host route {@code RTF_DYNAMIC} is added (counted in {@code dynamic}).
     * Reports {@code RTM_REDIRECT}. Same locking as {@link #add}.
     *
     * @throws ErrnoException counted in {@code badredirect}: ENETUNREACH if {@code gateway} is not on a
     *     connected network, EHOSTUNREACH if it is one of ours, or if {@code src} is not the gateway we use
     *     for {@code dst} (an old or forged redirect)
     */
    public Rtentry redirect(InAddr dst, InAddr gateway, InAddr src) throws ErrnoException {
        Rtentry cur;
        int et = Epoch.NET.enter();
        try {
            if (addrs.ifwithnet(gateway) == null) {
                badredirect.inc();
                throw new ErrnoException(Errno.ENETUNREACH, "redirect to " + gateway + ", not on a connected network");
            }
            if (addrs.isLocal(gateway) || addrs.isLocal(dst)) {
                badredirect.inc();
                throw new ErrnoException(Errno.EHOSTUNREACH, "redirect for or through one of our addresses");
            }
            cur = inet.match(key4(dst), 0);
        } finally {
            Epoch.NET.exit(et);
        }
        if (cur == null || (cur.flags() & Rtentry.RTF_GATEWAY) == 0
                || !(cur.gateway() instanceof Sockaddr.In g && g.addr().equals(src))) {
            badredirect.inc();
            throw new ErrnoException(Errno.EHOSTUNREACH, "redirect for " + dst + " from " + src + ", which is not its gateway");
        }
        Sockaddr gw = new Sockaddr.In(gateway, 0);
        Rtentry rt;
        if (cur.dst().isHost()) {
            rt = modify(cur.dst(), gw, null, Rtentry.RTF_MODIFIED, Rtentry.RTF_MODIFIED, -1);
            newgateway.inc();
        } else {
            rt = insert(Prefix.host(dst), gw, null, null, Rtentry.RTF_GATEWAY | Rtentry.RTF_DYNAMIC, 0, 0);
            dynamic.inc();
        }
        events.route(Rtm.RTM_REDIRECT, rt);
        return rt;
    }

    /**
     * Removes every route through {@code ifp} or using one of its addresses ({@code rt_flushifroutes}),
     * reporting each with {@code RTM_DELETE}. Called when the interface departs, after it is marked
     * detaching (so no new route can name it) and before the epoch drains.
     */
    void purgeIfnet(Ifnet ifp) {
        removeIf(rt -> rt.ifp() == ifp || (rt.ifa() != null && rt.ifa().ifp() == ifp));
    }

    /** Removes every route matching {@code p} under the rib lock; reports each after dropping it. */
    List<Rtentry> removeIf(Predicate<Rtentry> p) {
        List<Rtentry> gone = new ArrayList<>();
        lock.lock();
        try {
            for (RtTrie<Rtentry> t : List.of(inet, inet6)) {
                List<Rtentry> hit = new ArrayList<>();
                t.forEach(rt -> {
                    if (p.test(rt)) {
                        hit.add(rt);
                    }
                });
                for (Rtentry rt : hit) {
                    Prefix d = rt.dst();
                    t.remove(d.hi(), d.lo(), d.len());
                }
                gone.addAll(hit);
            }
        } finally {
            generation++; // a plain ++ is safe: only the rib lock holder writes
            lock.unlock();
        }
        for (Rtentry rt : gone) {
            retire(rt);
            events.route(Rtm.RTM_DELETE, rt);
        }
        return gone;
    }

    /**
     * Points every route using address {@code from} at {@code to} instead (same interface), or removes it if
     * {@code to} is null or the route is one of {@code from}'s own (pinned) routes. Reports each change.
     *
     * @return the pinned prefix routes removed (another address of the same subnet may take them over)
     */
    List<Rtentry> ifaRemoved(Ifaddr from, Ifaddr to) {
        List<Rtentry> removed = new ArrayList<>();
        List<Rtentry> changed = new ArrayList<>();
        List<Rtentry> retired = new ArrayList<>();
        lock.lock();
        try {
            for (RtTrie<Rtentry> t : List.of(inet, inet6)) {
                List<Rtentry> hit = new ArrayList<>();
                t.forEach(rt -> {
                    if (rt.ifa() == from) {
                        hit.add(rt);
                    }
                });
                for (Rtentry rt : hit) {
                    Prefix d = rt.dst();
                    if (to == null || (rt.flags() & Rtentry.RTF_PINNED) != 0) {
                        t.remove(d.hi(), d.lo(), d.len());
                        removed.add(rt);
                    } else {
                        Rtentry n = new Rtentry(d, rt.gateway(), rt.ifp(), to, rt.flags(), rt.mtu(), rt.expire(), rt.useCounter());
                        t.replace(d.hi(), d.lo(), d.len(), n);
                        changed.add(n);
                    }
                    retired.add(rt);
                }
            }
        } finally {
            generation++; // a plain ++ is safe: only the rib lock holder writes
            lock.unlock();
        }
        retired.forEach(this::retire);
        removed.forEach(rt -> events.route(Rtm.RTM_DELETE, rt));
        changed.forEach(rt -> events.route(Rtm.RTM_CHANGE, rt));
        return removed;
    }

    /** Marks an unlinked entry freed once every epoch section that might hold it has ended. */
    private void retire(Rtentry rt) {
        Epoch.NET.call(rt::markFreed);
    }

    // ---- resolution of the outgoing interface (rt_getifa_fib, ifa_ifwithroute) ----

    private static void check(Prefix dst, Sockaddr gateway, int flags, int mtu) throws ErrnoException {
        if (dst == null) {
            throw new ErrnoException(Errno.EINVAL, "route without a destination");
        }
        if ((flags & ~Rtentry.RTF_USER) != 0) {
            throw new ErrnoException(Errno.EINVAL, "route flags 0x" + Integer.toHexString(flags & ~Rtentry.RTF_USER)
                    + " are not settable");
        }
        if (mtu < 0 || mtu > 65535) {
            throw new ErrnoException(Errno.EINVAL, "route MTU " + mtu + " not in 0..65535");
        }
        boolean gw = (flags & Rtentry.RTF_GATEWAY) != 0;
        boolean noIf = (flags & (Rtentry.RTF_REJECT | Rtentry.RTF_BLACKHOLE)) != 0;
        if (gateway == null) {
            if (!noIf) {
                throw new ErrnoException(Errno.EINVAL, "route to " + dst + " needs a gateway");
            }
            return;
        }
        if (gateway instanceof Sockaddr.Dl) {
            if (gw) {
                throw new ErrnoException(Errno.EINVAL, "RTF_GATEWAY with a link-layer gateway");
            }
            return;
        }
        if (gateway.family() != dst.family()) {
            throw new ErrnoException(Errno.EINVAL, "gateway " + gateway + " is not of the family of " + dst);
        }
    }

    /** Builds the entry: finds interface and source address. Runs in the net epoch; takes no lock. */
    private Rtentry resolve(Prefix dst, Sockaddr gateway, Ifnet ifp, Ifaddr ifa, int flags, int mtu, long expire,
            Counter use) throws ErrnoException {
        int et = Epoch.NET.enter();
        try {
            Ifnet oif = ifp;
            Ifaddr oifa = ifa;
            Sockaddr ogw = gateway;
            if (gateway == null) { // reject or blackhole
                oif = oif != null ? oif : loopback;
            } else if (gateway instanceof Sockaddr.Dl dl) {
                if (oif == null) {
                    oif = ifnets.byIndex(dl.index());
                    if (oif == null) {
                        throw new ErrnoException(Errno.ENETUNREACH, "no interface with index " + dl.index());
                    }
                    ogw = new Sockaddr.Dl(oif.index(), oif.name(), new byte[0]);
                }
            } else if ((flags & Rtentry.RTF_GATEWAY) != 0) {
                Rtentry via = viaRoute(gateway);
                oif = oif != null ? oif : via.ifp();
                oifa = oifa != null ? oifa : via.ifa() != null && via.ifa().ifp() == oif ? via.ifa() : null;
            } else { // an interface route named by one of our addresses (route add -interface)
                Ifaddr mine = gateway instanceof Sockaddr.In in ? addrs.local(in.addr()) : null;
                if (mine == null) {
                    throw new ErrnoException(Errno.ENETUNREACH, gateway + " is not an address of this host");
                }
                oif = oif != null ? oif : mine.ifp();
                oifa = oifa != null ? oifa : mine;
                ogw = new Sockaddr.Dl(oif.index(), oif.name(), new byte[0]);
            }
            if (oif.state() != IfnetState.ATTACHED || oif.list() != ifnets) {
                throw new ErrnoException(Errno.ENETUNREACH, "interface " + oif.name() + " is not attached here");
            }
            if (oifa == null) {
                oifa = addrs.first(oif, dst.family());
            }
            return new Rtentry(dst, ogw, oif, oifa, flags, mtu, expire, use);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    /** The on-link route that reaches a gateway ({@code ifa_ifwithroute}). In the net epoch. */
    private Rtentry viaRoute(Sockaddr gateway) throws ErrnoException {
        Rtentry via = gateway instanceof Sockaddr.In in ? inet.match(key4(in.addr()), 0)
                : gateway instanceof Sockaddr.In6 in6 ? inet6.match(in6.addr().hi(), in6.addr().lo()) : null;
        if (via == null || (via.flags() & (Rtentry.RTF_GATEWAY | Rtentry.RTF_REJECT | Rtentry.RTF_BLACKHOLE)) != 0) {
            throw new ErrnoException(Errno.ENETUNREACH, "gateway " + gateway + " is not on a connected network");
        }
        return via;
    }

    private interface EpochRead<T> {
        T get();
    }

    private static <T> T inEpoch(EpochRead<T> r) {
        int et = Epoch.NET.enter();
        try {
            return r.get();
        } finally {
            Epoch.NET.exit(et);
        }
    }

    // ---- inspection ----

    /** Every route of a family, in prefix order (a snapshot; takes no lock). */
    public List<Rtentry> entries(int family) {
        List<Rtentry> out = new ArrayList<>();
        int et = Epoch.NET.enter();
        try {
            trie(family).forEach(out::add);
        } finally {
            Epoch.NET.exit(et);
        }
        out.sort((a, b) -> a.dst().compareTo(b.dst()));
        return out;
    }

    /** The number of routes of a family. */
    public int size(int family) {
        return trie(family).size();
    }

    /** The table as {@code netstat -rn} prints it. Takes no lock. */
    public String dump() {
        StringBuilder sb = new StringBuilder("Routing tables\n");
        dumpFamily(sb, "Internet", Sockaddr.AF_INET, 18);
        dumpFamily(sb, "Internet6", Sockaddr.AF_INET6, 39);
        return sb.toString();
    }

    private void dumpFamily(StringBuilder sb, String title, int family, int width) {
        sb.append('\n').append(title).append(":\n");
        String fmt = "%-" + width + "s %-" + width + "s %-8s %7s %8s %s%n";
        sb.append(String.format(fmt, "Destination", "Gateway", "Flags", "Use", "Mtu", "Netif"));
        for (Rtentry rt : entries(family)) {
            Sockaddr g = rt.gateway();
            String gw = g == null ? (rt.ifp() != null ? "link#" + rt.ifp().index() : "-")
                    : g instanceof Sockaddr.In in ? in.addr().toString()
                    : g instanceof Sockaddr.In6 in6 ? in6.addr().toString()
                    : "link#" + ((Sockaddr.Dl) g).index();
            sb.append(String.format(fmt, rt.dst(), gw, Rtentry.flagString(rt.flags()), rt.use(),
                    rt.mtu() != 0 ? rt.mtu() : rt.ifp().mtu(), rt.ifp().name()));
        }
    }

    @Override
    public String toString() {
        return "Rtable[" + owner + " inet " + inet.size() + " inet6 " + inet6.size() + "]";
    }
}
