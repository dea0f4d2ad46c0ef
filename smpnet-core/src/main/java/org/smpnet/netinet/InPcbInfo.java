package org.smpnet.netinet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Mtx;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;

/**
 * The PCBs of one protocol in one stack ({@code struct inpcbinfo}: {@code udbinfo}, {@code ripcbinfo})
 * with three hash tables: exact (connected PCBs by 4-tuple), wildcard (bound, unconnected PCBs by local
 * port) and port (every bound PCB by local port, for bind checks and multicast delivery).
 *
 * <p>Locking key:
 * <ul>
 *   <li>{@link #lock} (class "pcbinfo") serialises every change of the tables and of {@link #all};
 *       it is taken before the PCB lock ("inp");</li>
 *   <li>lookups ({@link #lookup}, {@link #forEachBound}, {@link #pcbs}) take no lock: they run in the
 *       net epoch over immutable bucket arrays published with volatile stores, and match on
 *       immutable {@link InPcbEntry} snapshots;</li>
 *   <li>{@link #lookupLocked} returns the PCB locked after re-checking it was neither freed nor moved.</li>
 * </ul>
 */
public final class InPcbInfo {
    private final String name;
    /** The table lock (class "pcbinfo"): take it before any PCB lock. */
    public final Mtx lock;
    private final InPcbAddrs addrs;
    private final InPcbPortRange ports;
    private final int defaultTtl;
    private final InPcbHash exact;
    private final InPcbHash wild;
    private final InPcbHash porthash;
    /** Every PCB allocated and not freed; replaced (copy-on-write) under {@link #lock}, read without. */
    private volatile InPcb[] all = new InPcb[0];

    /**
     * @param name the lock name ("udbinfo", "ripcbinfo")
     * @param hashSize buckets per table (rounded up to a power of two)
     * @param defaultTtl the TTL new PCBs start with ({@code net.inet.ip.ttl})
     */
    public InPcbInfo(String name, int hashSize, InPcbAddrs addrs, InPcbPortRange ports, int defaultTtl) {
        this.name = Objects.requireNonNull(name, "name");
        this.lock = new Mtx(name, "pcbinfo");
        this.addrs = Objects.requireNonNull(addrs, "addrs");
        this.ports = Objects.requireNonNull(ports, "ports");
        this.defaultTtl = defaultTtl;
        this.exact = new InPcbHash(hashSize);
        this.wild = new InPcbHash(hashSize);
        this.porthash = new InPcbHash(hashSize);
    }

    public String name() {
        return name;
    }

    public InPcbAddrs addrs() {
        return addrs;
    }

    /**
     * Allocates a PCB for {@code owner} ({@code in_pcballoc}). Takes the table lock; hold no PCB lock.
     * Never sleeps.
     */
    public InPcb alloc(Object owner, int protocol) {
        InPcb inp = new InPcb(this, owner, protocol, defaultTtl);
        lock.lock();
        try {
            InPcb[] a = all;
            InPcb[] n = Arrays.copyOf(a, a.length + 1);
            n[a.length] = inp;
            all = n;
        } finally {
            lock.unlock();
        }
        return inp;
    }

    /** The PCBs alive now (a snapshot); no lock needed. */
    public List<InPcb> pcbs() {
        return List.of(all);
    }

    public int count() {
        return all.length;
    }

    /**
     * Unhashes and frees a PCB ({@code in_pcbdetach} + {@code in_pcbfree}): takes the table lock and
     * the PCB lock, in that order; hold neither. After it returns nothing finds or delivers to the PCB.
     * Idempotent. Never sleeps.
     */
    public void free(InPcb inp) {
        checkOwn(inp);
        lock.lock();
        try {
            inp.lock.lock();
            try {
                if (inp.isFreed()) {
                    return;
                }
                unhash(inp);
                inp.markFreed();
                InPcb[] a = all;
                int k = Arrays.asList(a).indexOf(inp);
                if (k >= 0) {
                    InPcb[] n = new InPcb[a.length - 1];
                    System.arraycopy(a, 0, n, 0, k);
                    System.arraycopy(a, k + 1, n, k, a.length - k - 1);
                    all = n;
                }
            } finally {
                inp.lock.unlock();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Binds {@code inp} to {@code nam} ({@code in_pcbbind}), or to an ephemeral port on any address when
     * {@code nam} is null. Takes the table lock then the PCB lock; hold neither. Never sleeps.
     *
     * @throws ErrnoException EINVAL if already bound or freed, EADDRNOTAVAIL for an address that is not
     *     local or when the ephemeral range is exhausted, EADDRINUSE for a conflicting binding
     */
    public void bind(InPcb inp, Sockaddr.In nam) throws ErrnoException {
        checkOwn(inp);
        lock.lock();
        inp.lock.lock();
        try {
            bindLocked(inp, nam);
        } finally {
            inp.lock.unlock();
            lock.unlock();
        }
    }

    /**
     * {@link #bind} for callers that hold the table lock and then the PCB lock.
     */
    @GuardedBy("inp.lock") // and this.lock, asserted
    public void bindLocked(InPcb inp, Sockaddr.In nam) throws ErrnoException {
        lock.assertOwned();
        inp.lock.assertOwned();
        if (inp.isFreed()) {
            throw new ErrnoException(Errno.EINVAL, "PCB freed");
        }
        if (inp.lport != 0 || !inp.laddr.isAny()) {
            throw new ErrnoException(Errno.EINVAL, "already bound to " + inp.laddr + ":" + inp.lport);
        }
        InAddr laddr = nam == null ? InAddr.ANY : nam.addr();
        int lport = nam == null ? 0 : nam.port();
        int so = inp.soOptions();
        boolean wildLookup = (so & (InPcb.SO_REUSEADDR | InPcb.SO_REUSEPORT)) == 0;
        int reuseport = so & InPcb.SO_REUSEPORT;
        if (laddr.isMulticast()) {
            // SO_REUSEADDR means SO_REUSEPORT for multicast: many receivers of one group and port.
            if ((so & (InPcb.SO_REUSEADDR | InPcb.SO_REUSEPORT)) != 0) {
                reuseport = InPcb.SO_REUSEADDR | InPcb.SO_REUSEPORT;
            }
        } else if (!laddr.isAny() && !addrs.isLocal(laddr)) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, laddr + " is not an address of this host");
        }
        if (lport != 0) {
            InPcb t = lookupLocal(laddr.bits(), lport, wildLookup);
            if (t != null && (reuseport & t.soOptions()) == 0) {
                throw new ErrnoException(Errno.EADDRINUSE, laddr + ":" + lport + " in use");
            }
        } else {
            lport = ephemeral(laddr.bits(), wildLookup);
        }
        inp.laddr = laddr;
        inp.lport = lport;
        rehash(inp);
    }

    /**
     * Connects {@code inp} to {@code nam} ({@code in_pcbconnect}): picks a source address by route when
     * unbound to one and an ephemeral port when it has none. Takes the table lock then the PCB lock;
     * hold neither. Never sleeps.
     *
     * @throws ErrnoException EADDRNOTAVAIL for port 0 or no port left, ENETUNREACH/EHOSTUNREACH with no
     *     route, EADDRINUSE if the 4-tuple is taken, EINVAL if freed
     */
    public void connect(InPcb inp, Sockaddr.In nam) throws ErrnoException {
        checkOwn(inp);
        lock.lock();
        inp.lock.lock();
        try {
            connectLocked(inp, nam);
        } finally {
            inp.lock.unlock();
            lock.unlock();
        }
    }

    /** {@link #connect} for callers that hold the table lock and then the PCB lock. */
    @GuardedBy("inp.lock") // and this.lock, asserted
    public void connectLocked(InPcb inp, Sockaddr.In nam) throws ErrnoException {
        lock.assertOwned();
        inp.lock.assertOwned();
        if (inp.isFreed()) {
            throw new ErrnoException(Errno.EINVAL, "PCB freed");
        }
        Objects.requireNonNull(nam, "connect needs an address");
        if (nam.port() == 0) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, "connect to port 0");
        }
        InAddr faddr = nam.addr();
        if (faddr.isAny()) {
            InAddr p = addrs.primary(); // connect to INADDR_ANY means "this host"
            faddr = p != null ? p : InAddr.LOOPBACK;
        }
        InAddr laddr = inp.laddr.isAny() ? source(inp, faddr) : inp.laddr;
        int lport = inp.lport;
        if (lport != 0 && findExact(faddr.bits(), nam.port(), laddr.bits(), lport) != null) {
            throw new ErrnoException(Errno.EADDRINUSE, laddr + ":" + lport + " -> " + nam + " in use");
        }
        if (lport == 0) {
            int so = inp.soOptions();
            lport = ephemeral(laddr.bits(), (so & (InPcb.SO_REUSEADDR | InPcb.SO_REUSEPORT)) == 0);
        }
        inp.laddr = laddr;
        inp.lport = lport;
        inp.faddr = faddr;
        inp.fport = nam.port();
        rehash(inp);
    }

    @GuardedBy("inp.lock")
    private InAddr source(InPcb inp, InAddr faddr) throws ErrnoException {
        IpMoptions mo = inp.moptions();
        if (faddr.isMulticast() && mo != null && !mo.multicastAddr().isAny()) {
            return mo.multicastAddr();
        }
        return addrs.source(faddr);
    }

    /**
     * Drops the foreign address ({@code in_pcbdisconnect}); with {@code clearLaddr} also the local
     * address, as UDP does so a later connect picks a fresh source. Takes the table lock then the PCB
     * lock; hold neither.
     */
    public void disconnect(InPcb inp, boolean clearLaddr) {
        checkOwn(inp);
        lock.lock();
        inp.lock.lock();
        try {
            disconnectLocked(inp, clearLaddr);
        } finally {
            inp.lock.unlock();
            lock.unlock();
        }
    }

    @GuardedBy("inp.lock") // and this.lock, asserted
    public void disconnectLocked(InPcb inp, boolean clearLaddr) {
        lock.assertOwned();
        inp.lock.assertOwned();
        if (inp.isFreed()) {
            return;
        }
        inp.faddr = InAddr.ANY;
        inp.fport = 0;
        if (clearLaddr) {
            inp.laddr = InAddr.ANY;
        }
        rehash(inp);
    }

    /**
     * Sets the addresses of a raw PCB, which has no ports ({@code rip_bind}/{@code rip_connect}).
     * Takes the table lock then the PCB lock; hold neither.
     *
     * @throws ErrnoException EADDRNOTAVAIL for a local address not of this host, EINVAL if freed
     */
    public void setRawAddrs(InPcb inp, InAddr laddr, InAddr faddr) throws ErrnoException {
        checkOwn(inp);
        lock.lock();
        inp.lock.lock();
        try {
            if (inp.isFreed()) {
                throw new ErrnoException(Errno.EINVAL, "PCB freed");
            }
            if (laddr != null) {
                if (!laddr.isAny() && !laddr.isMulticast() && !addrs.isLocal(laddr)) {
                    throw new ErrnoException(Errno.EADDRNOTAVAIL, laddr + " is not an address of this host");
                }
                inp.laddr = laddr;
            }
            if (faddr != null) {
                inp.faddr = faddr;
            }
            inp.entry = new InPcbEntry(inp, inp.laddr.bits(), 0, inp.faddr.bits(), 0);
        } finally {
            inp.lock.unlock();
            lock.unlock();
        }
    }

    /**
     * Finds the PCB for a packet ({@code in_pcblookup_hash}): the connected PCB with this exact
     * 4-tuple, else with {@code wildcard} the bound one with local address {@code laddr}, else one bound
     * to any address. Returns it unlocked, or null. Caller is in the net epoch; takes no lock.
     */
    public InPcb lookup(InAddr faddr, int fport, InAddr laddr, int lport, boolean wildcard) {
        InPcbEntry e = find(faddr.bits(), fport, laddr.bits(), lport, wildcard);
        return e == null ? null : e.inp();
    }

    /**
     * {@link #lookup} returning the PCB with its lock held, re-checked after locking: not freed and
     * still hashed as matched (else the lookup is retried). In the net epoch (protocol input's, as
     * {@code in_pcblookup}); the caller must hold no PCB or socket buffer lock and unlocks
     * {@link InPcb#lock}. Never sleeps.
     */
    public InPcb lookupLocked(InAddr faddr, int fport, InAddr laddr, int lport, boolean wildcard) {
        Epoch.NET.assertInEpoch();
        while (true) {
            InPcbEntry e = find(faddr.bits(), fport, laddr.bits(), lport, wildcard);
            if (e == null) {
                return null;
            }
            if (e.inp().lockIfCurrent(e)) {
                return e.inp();
            }
        }
    }

    /**
     * The entry {@link #lookupLocked} would lock, found without any lock, or null; in the net epoch. Its
     * PCB may change at once: lock it with {@link InPcb#lockIfCurrent} before reading it.
     */
    InPcbEntry lookupEntry(InAddr faddr, int fport, InAddr laddr, int lport, boolean wildcard) {
        Epoch.NET.assertInEpoch();
        return find(faddr.bits(), fport, laddr.bits(), lport, wildcard);
    }

    private InPcbEntry find(int faddr, int fport, int laddr, int lport, boolean wildcard) {
        InPcbEntry e = findExact(faddr, fport, laddr, lport);
        if (e != null || !wildcard) {
            return e;
        }
        InPcbEntry any = null;
        for (InPcbEntry w : wild.bucket(InPcbHash.portHash(lport))) {
            if (w.lport() != lport) {
                continue;
            }
            if (w.laddr() == laddr) {
                return w;
            }
            if (w.laddr() == 0 && any == null) {
                any = w;
            }
        }
        return any;
    }

    private InPcbEntry findExact(int faddr, int fport, int laddr, int lport) {
        for (InPcbEntry e : exact.bucket(InPcbHash.exactHash(faddr, fport, laddr, lport))) {
            if (e.faddr() == faddr && e.fport() == fport && e.laddr() == laddr && e.lport() == lport) {
                return e;
            }
        }
        return null;
    }

    /**
     * Calls {@code action} with the entry of every bound PCB on local port {@code lport} (for broadcast
     * and multicast delivery, {@code udp_input}'s loop) until it returns false. Caller is in the net
     * epoch; the action gets an unlocked PCB and must lock and re-check it
     * ({@link InPcb#lockIfCurrent}).
     */
    public void forEachBound(int lport, Predicate<InPcbEntry> action) {
        for (InPcbEntry e : porthash.bucket(InPcbHash.portHash(lport))) {
            if (e.lport() == lport && !action.test(e)) {
                return;
            }
        }
    }

    /**
     * The bound PCB that a bind to (laddr, lport) collides with ({@code in_pcblookup_local}): without
     * {@code wildcard} only an unconnected PCB on exactly that address; with it the best match counting
     * wildcards (fewest first). Caller holds the table lock.
     */
    private InPcb lookupLocal(int laddr, int lport, boolean wildcard) {
        lock.assertOwned();
        InPcb best = null;
        int bestWild = 3;
        for (InPcbEntry e : porthash.bucket(InPcbHash.portHash(lport))) {
            if (e.lport() != lport) {
                continue;
            }
            if (!wildcard) {
                if (!e.connected() && e.laddr() == laddr) {
                    return e.inp();
                }
                continue;
            }
            int w = e.connected() ? 1 : 0;
            if (e.laddr() != 0) {
                if (laddr == 0) {
                    w++;
                } else if (e.laddr() != laddr) {
                    continue;
                }
            } else if (laddr != 0) {
                w++;
            }
            if (w < bestWild) {
                best = e.inp();
                bestWild = w;
                if (w == 0) {
                    break;
                }
            }
        }
        return best;
    }

    private int ephemeral(int laddr, boolean wildLookup) throws ErrnoException {
        int port = ports.search(p -> lookupLocal(laddr, p, wildLookup) == null);
        if (port == 0) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, "no free port in " + ports.first() + ".." + ports.last());
        }
        return port;
    }

    /** Replaces the PCB's entry in the tables by one for its current addresses ({@code in_pcbrehash}). */
    @GuardedBy("inp.lock") // and this.lock, asserted
    private void rehash(InPcb inp) {
        lock.assertOwned();
        unhash(inp);
        InPcbEntry e = new InPcbEntry(inp, inp.laddr.bits(), inp.lport, inp.faddr.bits(), inp.fport);
        inp.entry = e; // published before the tables point at it
        if (inp.lport == 0) {
            return; // raw or anonymous: not findable by port
        }
        porthash.insert(InPcbHash.portHash(e.lport()), e);
        if (e.connected()) {
            exact.insert(InPcbHash.exactHash(e.faddr(), e.fport(), e.laddr(), e.lport()), e);
        } else {
            wild.insert(InPcbHash.portHash(e.lport()), e);
        }
    }

    @GuardedBy("inp.lock") // and this.lock, asserted
    private void unhash(InPcb inp) {
        lock.assertOwned();
        InPcbEntry e = inp.entry;
        if (e == null) {
            return;
        }
        if (e.lport() != 0) {
            porthash.remove(InPcbHash.portHash(e.lport()), e);
            if (e.connected()) {
                exact.remove(InPcbHash.exactHash(e.faddr(), e.fport(), e.laddr(), e.lport()), e);
            } else {
                wild.remove(InPcbHash.portHash(e.lport()), e);
            }
        }
        inp.entry = null;
    }

    private void checkOwn(InPcb inp) {
        if (inp.info != this) {
            throw new IllegalArgumentException(inp + " belongs to " + inp.info.name() + ", not " + name);
        }
    }

    @Override
    public String toString() {
        return "InPcbInfo[" + name + ", " + all.length + " pcbs]";
    }
}
