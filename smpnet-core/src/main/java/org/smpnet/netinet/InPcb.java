package org.smpnet.netinet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Mtx;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.SocketConst;

/**
 * An Internet protocol control block ({@code struct inpcb}): the addresses, ports and IP-level options of
 * one UDP or raw socket.
 *
 * <p>Locking key:
 * <ul>
 *   <li>(c) constant: {@link #info}, {@link #lock}, {@link #owner}, {@link #protocol};</li>
 *   <li>(i) {@link #lock} ("inp", class "inp"): addresses, ports, the freed flag and every IP option;
 *       address changes also need the table lock of {@link #info}, taken first (pcbinfo before inp);</li>
 *   <li>(h) the hashed 4-tuple {@link #entry} is written under both locks and read by lock-free lookups
 *       (volatile: an entry is published before the hash tables point at it).</li>
 * </ul>
 *
 * <p>Lifetime: a lookup running in the net epoch may find a PCB that is being freed. It locks the PCB
 * and checks {@link #isFreed()} and that {@link #entry} still is the entry it matched
 * ({@link InPcbInfo#lookupLocked}); freeing sets the flag under the PCB lock, so nothing is
 * delivered to a PCB after {@link InPcbInfo#free} returns. Memory is the collector's: no reuse.
 */
public final class InPcb {
    /** Default multicast TTL and loopback ({@code IP_DEFAULT_MULTICAST_TTL/LOOP}). */
    public static final int DEFAULT_MULTICAST_TTL = 1;

    /** {@code inp_flags} bits (FreeBSD values). */
    public static final int INP_RECVDSTADDR = 0x0002;
    public static final int INP_HDRINCL = 0x0008;
    public static final int INP_RECVIF = 0x0080;
    public static final int INP_RECVTTL = 0x0400;

    /** Socket options the bind rules read ({@code sys/socket.h} values). */
    public static final int SO_REUSEADDR = 0x0004;
    public static final int SO_BROADCAST = 0x0020;
    public static final int SO_REUSEPORT = 0x0200;

    final InPcbInfo info;
    /** The PCB lock ("inp", class "inp"): take it after the table lock, before any socket buffer lock. */
    public final Mtx lock = new Mtx("inp", "inp");
    private final Object owner;
    private final int protocol;
    /** The PCB's route cache ({@code inp_route}); thread-safe by itself, so used without the PCB lock. */
    final IpRoute route = new IpRoute();

    @GuardedBy("lock") InAddr laddr = InAddr.ANY;
    @GuardedBy("lock") int lport;
    @GuardedBy("lock") InAddr faddr = InAddr.ANY;
    @GuardedBy("lock") int fport;
    @GuardedBy("lock") private boolean freed;
    /** The source of the last datagram delivered here, reused while the next comes from the same place. */
    @GuardedBy("lock") private Sockaddr.In lastFrom;
    @GuardedBy("lock") private int flags;
    @GuardedBy("lock") private int ttl;
    @GuardedBy("lock") private int tos;
    @GuardedBy("lock") private IpMoptions moptions;
    /** The last output options built from this PCB's settings, with what they were built from. */
    @GuardedBy("lock") private OutOptsCache outOptsCache;
    /** The hashed snapshot of the addresses, or null when not in the hash tables. */
    volatile InPcbEntry entry;
    /** Mirror of the socket's SO_REUSEADDR/SO_REUSEPORT/SO_BROADCAST, read by bind checks of other PCBs. */
    private volatile int soOptions;

    InPcb(InPcbInfo info, Object owner, int protocol, int defaultTtl) {
        this.info = info;
        this.owner = owner;
        this.protocol = protocol;
        this.ttl = defaultTtl;
    }

    /** The table this PCB belongs to. */
    public InPcbInfo info() {
        return info;
    }

    /** The socket (or other owner) this PCB serves ({@code inp_socket}); constant. */
    /**
     * The sender's address for a datagram delivered to this PCB: the last one's object when it is the
     * same (an immutable value, so readers may share it), saving an allocation per datagram of a flow.
     */
    @GuardedBy("lock")
    public Sockaddr.In fromAddress(InAddr src, int sport) {
        lock.assertOwned();
        Sockaddr.In f = lastFrom;
        if (f == null || f.port() != sport || !f.addr().equals(src)) {
            f = new Sockaddr.In(src, sport);
            lastFrom = f;
        }
        return f;
    }

    public Object owner() {
        return owner;
    }

    /** The IP protocol of a raw PCB ({@code inp_ip_p}), 0 for any; the protocol number for UDP. */
    public int protocol() {
        return protocol;
    }

    /** Sets the socket-level options the bind rules and the output path read (SO_REUSEADDR...). */
    public void setSoOptions(int options) {
        soOptions = options;
    }

    public int soOptions() {
        return soOptions;
    }

    /** Whether {@link InPcbInfo#free} has run. Caller holds {@link #lock}. */
    @GuardedBy("lock")
    public boolean isFreed() {
        lock.assertOwned();
        return freed;
    }

    /**
     * Locks this PCB if it still is hashed as {@code e} and not freed, and returns true holding the
     * lock; else returns false without it (the lookup that matched {@code e} raced with a change).
     */
    @SuppressWarnings("GuardedBy") // returns with the lock held on success, which the checker cannot follow
    public boolean lockIfCurrent(InPcbEntry e) {
        lock.lock();
        if (!freed && entry == e) {
            return true;
        }
        lock.unlock();
        return false;
    }

    @GuardedBy("lock")
    void markFreed() {
        freed = true;
    }

    @GuardedBy("lock")
    public InAddr laddr() {
        return laddr;
    }

    @GuardedBy("lock")
    public int lport() {
        return lport;
    }

    @GuardedBy("lock")
    public InAddr faddr() {
        return faddr;
    }

    @GuardedBy("lock")
    public int fport() {
        return fport;
    }

    /** Whether the PCB has a foreign address. Caller holds {@link #lock}. */
    @GuardedBy("lock")
    public boolean isConnected() {
        return !faddr.isAny();
    }

    /**
     * The local address ({@code in_getsockaddr}); takes and drops {@link #lock}, so the caller must not
     * hold a socket buffer lock. Never sleeps.
     *
     * @throws ErrnoException EINVAL once the PCB is freed
     */
    public Sockaddr.In sockaddr() throws ErrnoException {
        lock.lock();
        try {
            if (freed) {
                throw new ErrnoException(Errno.EINVAL, "socket's PCB is gone");
            }
            return new Sockaddr.In(laddr, lport);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The foreign address ({@code in_getpeeraddr}); locking as {@link #sockaddr()}.
     *
     * @throws ErrnoException ENOTCONN when not connected, EINVAL once freed
     */
    public Sockaddr.In peeraddr() throws ErrnoException {
        lock.lock();
        try {
            if (freed) {
                throw new ErrnoException(Errno.EINVAL, "socket's PCB is gone");
            }
            if (faddr.isAny()) {
                throw new ErrnoException(Errno.ENOTCONN, "not connected");
            }
            return new Sockaddr.In(faddr, fport);
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    public int flags() {
        return flags;
    }

    @GuardedBy("lock")
    public boolean flag(int f) {
        return (flags & f) != 0;
    }

    /** Sets or clears {@code inp_flags} bits. Caller holds {@link #lock}. */
    @GuardedBy("lock")
    public void setFlag(int f, boolean on) {
        lock.assertOwned();
        flags = on ? flags | f : flags & ~f;
    }

    /** {@code inp_ip_ttl}. */
    @GuardedBy("lock")
    public int ttl() {
        return ttl;
    }

    @GuardedBy("lock")
    public void setTtl(int v) {
        lock.assertOwned();
        ttl = v;
    }

    /** {@code inp_ip_tos}. */
    @GuardedBy("lock")
    public int tos() {
        return tos;
    }

    @GuardedBy("lock")
    public void setTos(int v) {
        lock.assertOwned();
        tos = v;
    }

    /** {@link IpOutOpts} and the settings they were made of; see {@link #outOpts}. */
    private record OutOptsCache(int ttl, int tos, int soBits, IpMoptions mo, int moVersion, IpOutOpts opts) {}

    private static final int OUT_SO_BITS = SocketConst.SO_DONTROUTE | SocketConst.SO_BROADCAST;

    /**
     * The IP output options of this PCB's socket options: built once and reused until a setting they
     * carry changes (each send would otherwise build the same immutable options). Caller holds {@link #lock}.
     */
    @GuardedBy("lock")
    IpOutOpts outOpts() {
        int so = soOptions & OUT_SO_BITS;
        IpMoptions mo = moptions;
        OutOptsCache c = outOptsCache;
        if (c != null && c.ttl == ttl && c.tos == tos && c.soBits == so && c.mo == mo
                && (mo == null || c.moVersion == mo.version())) {
            return c.opts;
        }
        IpOutOpts opts = new IpOutOpts(ttl, tos, false,
                mo == null ? null : mo.multicastIfp(),
                mo == null ? DEFAULT_MULTICAST_TTL : mo.ttl(),
                mo == null || mo.loop(),
                (so & SocketConst.SO_DONTROUTE) != 0,
                (so & SocketConst.SO_BROADCAST) != 0);
        outOptsCache = new OutOptsCache(ttl, tos, so, mo, mo == null ? 0 : mo.version(), opts);
        return opts;
    }

    /** The multicast options ({@code inp_moptions}), or null when none were ever set. */
    @GuardedBy("lock")
    public IpMoptions moptions() {
        return moptions;
    }

    /** The multicast options, created with the defaults on first use. Caller holds {@link #lock}. */
    @GuardedBy("lock")
    public IpMoptions moptionsForUpdate() {
        lock.assertOwned();
        if (moptions == null) {
            moptions = new IpMoptions();
        }
        return moptions;
    }

    @GuardedBy("lock")
    IpMoptions takeMoptions() {
        IpMoptions m = moptions;
        moptions = null;
        return m;
    }

    @Override
    public String toString() {
        InPcbEntry e = entry;
        return e == null ? "InPcb[unbound]"
                : "InPcb[" + new InAddr(e.laddr()) + ":" + e.lport() + " -> " + new InAddr(e.faddr()) + ":" + e.fport() + "]";
    }
}
