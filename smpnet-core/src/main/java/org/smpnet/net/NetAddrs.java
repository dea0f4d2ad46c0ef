package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sx;
import org.smpnet.kern.Witness;

/**
 * The interface addresses of one stack instance ({@code in.c}, {@code if.c}'s address lists): the IPv4
 * address list ({@code in_ifaddrhead}), its hash by address ({@code in_ifaddrhashtbl}) and each interface's
 * own list ({@link Ifnet#addrs()}). Adding an address installs its interface route and the host route of the
 * local address (via loopback); deleting removes them; an interface's departure removes all its addresses.
 *
 * <p>Locking key: configuration (add, delete, purge) is serialised by {@link #control} ("in_control", class
 * "in_control", sleepable, outermost); the lists are written under {@link #lock} ("ifaddr", class "ifaddr")
 * and published as volatile copy-on-write snapshots. Readers take no lock and must be in the net epoch: an
 * address they find stays valid ({@link Ifaddr#freed()} false) until their section ends. The "ifaddr" lock is
 * never held together with the rib lock ("rtentry"), and neither is held while listeners or messages run.
 */
public final class NetAddrs {
    private final String owner;
    private final Rtable rtable;
    private final IfnetList ifnets;
    private final Ifnet loopback;
    private final RtEvents events;
    private final Sx control;
    final Mtx lock;
    @GuardedBy("lock") private InIfaddr[] all = new InIfaddr[0];
    private volatile InIfaddr[] allCopy = new InIfaddr[0];
    private volatile ByAddr byAddr = ByAddr.EMPTY;
    /**
     * Bumped (under {@link #lock}) after every change of the address lists has been published: route
     * caches that remember "is this address ours / a broadcast" compare it. Read lock-free.
     */
    private volatile long generation;
    private final CopyOnWriteArrayList<IfaddrListener> listeners = new CopyOnWriteArrayList<>();

    NetAddrs(String owner, Rtable rtable, IfnetList ifnets, Ifnet loopback, RtEvents events) {
        this.owner = owner;
        this.rtable = rtable;
        this.ifnets = ifnets;
        this.loopback = loopback;
        this.events = events;
        this.control = new Sx("in_control " + owner, "in_control");
        this.lock = new Mtx("ifaddr " + owner, "ifaddr");
        ifnets.addListener(new IfnetListener() {
            @Override
            public void arrived(Ifnet ifp) {
                events.ifAnnounce(ifp, Rtm.IFAN_ARRIVAL);
                events.ifInfo(ifp);
            }

            @Override
            public void departing(Ifnet ifp) {
                purge(ifp);
                rtable.purgeIfnet(ifp);
                events.ifAnnounce(ifp, Rtm.IFAN_DEPARTURE);
            }

            @Override
            public void linkStateChanged(Ifnet ifp, LinkState state) {
                events.ifInfo(ifp);
            }
        });
    }

    public void addListener(IfaddrListener l) {
        listeners.add(l);
    }

    public void removeListener(IfaddrListener l) {
        listeners.remove(l);
    }

    // ---- configuration (SIOCAIFADDR, SIOCDIFADDR) ----

    /**
     * Adds IPv4 address {@code addr/prefixLen} to {@code ifp} ({@code in_aifaddr}), with the broadcast
     * address derived from the prefix on broadcast-capable interfaces. See {@link #add(Ifnet, InAddr, int, InAddr)}.
     */
    public InIfaddr add(Ifnet ifp, InAddr addr, int prefixLen) throws ErrnoException {
        return add(ifp, addr, prefixLen, null);
    }

    /**
     * Adds IPv4 address {@code addr/prefixLen} to {@code ifp}: links it into the lists, installs the interface
     * route ({@code prefix link#N U}, or a host route to the far end on a point-to-point interface) unless
     * another address already provides it, and the local host route ({@code addr link#N UHS lo0}); then
     * reports {@code RTM_NEWADDR}/{@code RTM_ADD} and tells the {@link IfaddrListener}s. May sleep; the caller
     * must hold no lock but Giant and must not be in the net epoch. Lookups after the return see the address.
     *
     * @param other the broadcast address (broadcast interfaces; null to derive it) or the far end
     *     (point-to-point interfaces; required there)
     * @throws ErrnoException EEXIST if the address is configured already, EINVAL for a bad address or prefix,
     *     ENXIO if the interface is not attached to this stack
     */
    public InIfaddr add(Ifnet ifp, InAddr addr, int prefixLen, InAddr other) throws ErrnoException {
        Witness.checkSleep("in_aifaddr", null);
        if (addr == null || addr.isAny() || addr.isMulticast() || addr.isLimitedBroadcast()) {
            throw new ErrnoException(Errno.EINVAL, "cannot assign " + addr + " to an interface");
        }
        if (prefixLen < 1 || prefixLen > 32) {
            throw new ErrnoException(Errno.EINVAL, "prefix length " + prefixLen + " not in 1..32");
        }
        boolean p2p = (ifp.flags() & IfFlags.POINTOPOINT) != 0;
        if (p2p && other == null) {
            throw new ErrnoException(Errno.EINVAL, "point-to-point interface " + ifp.name() + " needs a destination");
        }
        InIfaddr ia = new InIfaddr(ifp, addr, prefixLen, p2p ? null : broadcastOf(ifp, addr, prefixLen, other),
                p2p ? other : null);
        List<Rtentry> added;
        control.writeLock().lock();
        try {
            if (ifp.state() != IfnetState.ATTACHED || ifp.list() != ifnets) {
                throw new ErrnoException(Errno.ENXIO, "interface " + ifp.name() + " is not attached to " + owner);
            }
            InIfaddr dup = byAddr.get(addr);
            if (dup != null) {
                throw new ErrnoException(Errno.EEXIST, addr + " is configured on " + dup.ifp().name());
            }
            link(ia);
            try {
                added = installRoutes(ia);
            } catch (ErrnoException | RuntimeException e) {
                unlink(ia);
                rtable.ifaRemoved(ia, null);
                throw e;
            }
        } finally {
            control.writeLock().unlock();
        }
        events.addr(Rtm.RTM_NEWADDR, ia);
        added.forEach(rt -> events.route(Rtm.RTM_ADD, rt));
        for (IfaddrListener l : listeners) {
            l.added(ia);
        }
        return ia;
    }

    /** Configures {@code 127.0.0.1/8} on a fresh stack's loopback interface (what rc.conf does at boot). */
    public void addLoopback(Ifnet lo) {
        try {
            add(lo, InAddr.LOOPBACK, 8);
        } catch (ErrnoException e) {
            throw new IllegalStateException("cannot configure 127.0.0.1 on " + lo.name() + ": " + e.getMessage(), e);
        }
    }

    private static InAddr broadcastOf(Ifnet ifp, InAddr addr, int prefixLen, InAddr given) {
        if ((ifp.flags() & IfFlags.BROADCAST) == 0 || prefixLen >= 31) {
            return null;
        }
        return given != null ? given : new InAddr(addr.bits() | ~InAddr.netmask(prefixLen).bits());
    }

    /** The address's routes. Under {@link #control}; takes the rib lock. */
    private List<Rtentry> installRoutes(InIfaddr ia) throws ErrnoException {
        Ifnet ifp = ia.ifp();
        Sockaddr.Dl link = new Sockaddr.Dl(ifp.index(), ifp.name(), new byte[0]);
        List<Rtentry> out = new ArrayList<>();
        boolean loop = (ifp.flags() & IfFlags.LOOPBACK) != 0;
        if (loop) {
            addIfAbsent(out, Prefix.host(ia.inAddr()), link, ifp, ia, Rtentry.RTF_PINNED);
            return out;
        }
        if (ia.dst() != null) {
            if (addIfAbsent(out, Prefix.host(ia.dst()), link, ifp, ia, Rtentry.RTF_PINNED)) {
                ia.setFlags(Ifaddr.IFA_ROUTE, 0);
            }
        } else if (ia.prefixLen() < 32) {
            installPrefix(out, ia);
        }
        addIfAbsent(out, Prefix.host(ia.inAddr()), link, loopback, ia,
                Rtentry.RTF_STATIC | Rtentry.RTF_LOCAL | Rtentry.RTF_PINNED);
        return out;
    }

    private void installPrefix(List<Rtentry> out, InIfaddr ia) throws ErrnoException {
        Ifnet ifp = ia.ifp();
        if (addIfAbsent(out, ia.prefix(), new Sockaddr.Dl(ifp.index(), ifp.name(), new byte[0]), ifp, ia, Rtentry.RTF_PINNED)) {
            ia.setFlags(Ifaddr.IFA_ROUTE, 0);
        }
    }

    /** Adds a route unless one exists for the prefix (another address provides it). */
    private boolean addIfAbsent(List<Rtentry> out, Prefix p, Sockaddr gw, Ifnet ifp, Ifaddr ia, int flags)
            throws ErrnoException {
        try {
            out.add(rtable.insert(p, gw, ifp, ia, flags, 0, 0));
            return true;
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EEXIST) {
                throw e;
            }
            return false;
        }
    }

    /**
     * Removes IPv4 address {@code addr} from {@code ifp} ({@code in_difaddr}) with its routes; routes of
     * others that used it as source move to another address of the interface, or go. If it provided a
     * subnet route another address of the same subnet has, that address takes it over. Reports
     * {@code RTM_DELADDR}/{@code RTM_DELETE} and tells the listeners. Same locking as {@link #add}; the
     * address is marked freed once the net epoch drains.
     *
     * @throws ErrnoException EADDRNOTAVAIL if the address is not configured on {@code ifp}
     */
    public InIfaddr delete(Ifnet ifp, InAddr addr) throws ErrnoException {
        Witness.checkSleep("in_difaddr", null);
        InIfaddr ia;
        control.writeLock().lock();
        try {
            ia = byAddr.get(addr);
            if (ia == null || ia.ifp() != ifp) {
                throw new ErrnoException(Errno.EADDRNOTAVAIL, addr + " is not configured on " + ifp.name());
            }
            unlink(ia);
            List<Rtentry> gone = rtable.ifaRemoved(ia, first(ifp, Sockaddr.AF_INET));
            ia.setFlags(0, Ifaddr.IFA_ROUTE);
            for (Rtentry rt : gone) {
                takeOverPrefix(rt);
            }
        } finally {
            control.writeLock().unlock();
        }
        Epoch.NET.call(ia::markFreed);
        events.addr(Rtm.RTM_DELADDR, ia);
        for (IfaddrListener l : listeners) {
            l.removed(ia);
        }
        return ia;
    }

    /** A removed subnet route is installed again for another address in that subnet, if any. */
    private void takeOverPrefix(Rtentry rt) {
        if (rt.dst().isHost() || rt.dst().family() != Sockaddr.AF_INET) {
            return;
        }
        for (InIfaddr o : allCopy) {
            if (o.prefix().equals(rt.dst()) && o.dst() == null && (o.ifp().flags() & IfFlags.LOOPBACK) == 0
                    && o.ifp().state() == IfnetState.ATTACHED) {
                List<Rtentry> out = new ArrayList<>();
                try {
                    installPrefix(out, o);
                } catch (ErrnoException e) {
                    continue; // that interface is going away too: try the next
                }
                out.forEach(r -> events.route(Rtm.RTM_ADD, r));
                return;
            }
        }
    }

    /** Removes every address of a departing interface ({@code if_purgeaddrs}). May sleep; no locks held. */
    void purge(Ifnet ifp) {
        for (Ifaddr ifa : ifp.addrArray()) {
            if (ifa instanceof InIfaddr ia) {
                try {
                    delete(ifp, ia.inAddr());
                } catch (ErrnoException raced) {
                    // deleted concurrently: nothing left to do
                }
            }
        }
    }

    private void link(InIfaddr ia) {
        lock.lock();
        try {
            InIfaddr[] a = Arrays.copyOf(all, all.length + 1);
            a[all.length] = ia;
            publish(a);
            Ifaddr[] own = ia.ifp().addrArray();
            Ifaddr[] n = Arrays.copyOf(own, own.length + 1);
            n[own.length] = ia;
            ia.setLinked(true);
            ia.ifp().setAddrArray(n);
            generation++; // a plain ++ is safe: only the lock holder writes
        } finally {
            lock.unlock();
        }
    }

    private void unlink(InIfaddr ia) {
        lock.lock();
        try {
            publish(Arrays.stream(all).filter(x -> x != ia).toArray(InIfaddr[]::new));
            ia.ifp().setAddrArray(Arrays.stream(ia.ifp().addrArray()).filter(x -> x != ia).toArray(Ifaddr[]::new));
            ia.setLinked(false);
            generation++; // a plain ++ is safe: only the lock holder writes
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private void publish(InIfaddr[] a) {
        lock.assertOwned();
        all = a;
        allCopy = a;
        byAddr = new ByAddr(a);
    }

    /**
     * The addresses by their bits, immutable once built: an open-addressed table, because every packet in
     * asks "is this one of mine?" and a {@code Map} of {@code InAddr} hashed and probed slower.
     */
    private static final class ByAddr {
        static final ByAddr EMPTY = new ByAddr(new InIfaddr[0]);

        private final int[] keys;
        private final InIfaddr[] values;
        private final int mask;

        ByAddr(InIfaddr[] a) {
            int size = Integer.highestOneBit(Math.max(2, a.length) * 4 - 1); // a power of two, under half full
            keys = new int[size];
            values = new InIfaddr[size];
            mask = size - 1;
            for (InIfaddr x : a) {
                int bits = x.inAddr().bits();
                int i = slot(bits);
                while (values[i] != null && keys[i] != bits) {
                    i = (i + 1) & mask;
                }
                keys[i] = bits;
                values[i] = x;
            }
        }

        InIfaddr get(InAddr a) {
            int bits = a.bits();
            for (int i = slot(bits); ; i = (i + 1) & mask) {
                InIfaddr v = values[i];
                if (v == null || keys[i] == bits) {
                    return v;
                }
            }
        }

        private int slot(int bits) {
            int h = bits * 0x9E3779B9;
            return (h ^ (h >>> 16)) & mask;
        }
    }

    // ---- lookups (lock-free, net epoch) ----

    /** Changes with every address added or removed (see the field). Lock-free. */
    public long generation() {
        return generation;
    }

    /**
     * The address if {@code a} is one of this host's ({@code "is this one of mine?"}, {@code INADDR_TO_IFADDR}),
     * else null. In the net epoch; takes no lock.
     */
    public InIfaddr local(InAddr a) {
        Epoch.NET.assertInEpoch();
        return byAddr.get(a);
    }

    /** Whether {@code a} is one of this host's addresses. In the net epoch. */
    public boolean isLocal(InAddr a) {
        return local(a) != null;
    }

    /**
     * The address on whose network {@code a} lies ({@code ifa_ifwithnet}): the far end of a point-to-point
     * link, else the longest subnet containing it. Null if none. In the net epoch.
     */
    public InIfaddr ifwithnet(InAddr a) {
        Epoch.NET.assertInEpoch();
        InIfaddr best = null;
        for (InIfaddr ia : allCopy) {
            if (ia.dst() != null) {
                if (ia.dst().equals(a)) {
                    return ia;
                }
            } else if (ia.contains(a) && (best == null || ia.prefixLen() > best.prefixLen())) {
                best = ia;
            }
        }
        return best;
    }

    /** The point-to-point address whose far end is {@code a} ({@code ifa_ifwithdstaddr}), or null. */
    public InIfaddr ifwithdstaddr(InAddr a) {
        Epoch.NET.assertInEpoch();
        for (InIfaddr ia : allCopy) {
            if (a.equals(ia.dst())) {
                return ia;
            }
        }
        return null;
    }

    /**
     * Whether {@code a} is a broadcast address on {@code ifp} ({@code in_broadcast}): 0.0.0.0,
     * 255.255.255.255, or one of the interface's subnet broadcast addresses. In the net epoch.
     */
    public boolean isBroadcast(InAddr a, Ifnet ifp) {
        if (a.isAny() || a.isLimitedBroadcast()) {
            return true;
        }
        if ((ifp.flags() & IfFlags.BROADCAST) == 0) {
            return false;
        }
        for (Ifaddr ifa : ifp.addrArray()) {
            if (ifa instanceof InIfaddr ia && a.equals(ia.broadcast())) {
                return true;
            }
        }
        return false;
    }

    /** The first address of {@code family} on {@code ifp} (its primary), or null. In the net epoch. */
    public Ifaddr first(Ifnet ifp, int family) {
        for (Ifaddr ifa : ifp.addrArray()) {
            if (ifa.family() == family && ifa.linked()) {
                return ifa;
            }
        }
        return null;
    }

    /** The primary IPv4 address of {@code ifp}, or null. In the net epoch. */
    public InIfaddr firstIn(Ifnet ifp) {
        return (InIfaddr) first(ifp, Sockaddr.AF_INET);
    }

    /** The IPv4 addresses of {@code ifp}, oldest first. Lock-free snapshot. */
    public List<InIfaddr> of(Ifnet ifp) {
        List<InIfaddr> out = new ArrayList<>();
        for (Ifaddr ifa : ifp.addrArray()) {
            if (ifa instanceof InIfaddr ia) {
                out.add(ia);
            }
        }
        return out;
    }

    /** Every IPv4 address of the stack instance, oldest first. Lock-free snapshot. */
    public List<InIfaddr> all() {
        return List.of(allCopy);
    }

    @Override
    public String toString() {
        return "NetAddrs[" + owner + " " + all() + "]";
    }
}
