package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Arrays;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.NeedsGiant;

/**
 * A network interface ({@code struct ifnet}).
 *
 * <p>Lifecycle (R-IF-1): {@link #alloc} returns an {@link IfnetState#ALLOCATED ALLOCATED} interface that
 * its driver initialises completely — link-layer address, input routine, per-address-family data
 * ({@link #setAfData}) — before {@link IfnetList#attach} makes it visible. After attach those fields
 * never change, so readers in the net epoch need no lock. {@link IfnetList#detach} unlinks it, waits for
 * the net epoch so no packet or lookup still uses it, then tears it down; later use throws
 * {@link IfnetGoneException} or counts a drop.
 *
 * <p>Locking key:
 * <ul>
 *   <li>(c) constant after attach: {@link #name}, {@link #type}, {@link #driver}, {@code input}, {@code afdata},
 *       {@code index} (set under the list lock before publication);</li>
 *   <li>(i) guarded by {@link #lock} ("ifnet"): flags, MTU, link state, promiscuous and all-multicast counts,
 *       link-layer address and multicast list (the latter two also published in volatile copies for
 *       epoch readers);</li>
 *   <li>(e) read in the net epoch without locks: the volatile {@code state}, {@code tap}, {@code lladdrCopy},
 *       {@code multiCopy};</li>
 *   <li>counters are per-CPU {@link Counter}s.</li>
 * </ul>
 */
public final class Ifnet {
    /** Address families for {@link #afData}: AF_INET and AF_INET6 as in BSD. */
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 28;
    private static final int AF_MAX = 64;

    private final String name;
    private final IfType type;
    private final IfDriver driver;
    private final boolean needsGiant;
    final Mtx lock;

    private volatile IfnetState state = IfnetState.ALLOCATED;
    private volatile int index;
    private volatile IfnetList list;
    private volatile IfInput input;
    private final Object[] afdata = new Object[AF_MAX];
    /** The BPF tap; {@link #TAP_GONE} once detached, so no tap can be installed on a dead interface. */
    private final java.util.concurrent.atomic.AtomicReference<PacketTap> tap = new java.util.concurrent.atomic.AtomicReference<>();
    private static final PacketTap TAP_GONE = new PacketTap() {
        @Override
        public void tap(Ifnet ifp, Mbuf m, Direction dir) {}

        @Override
        public void detached(Ifnet ifp) {}
    };

    @GuardedBy("lock") private int flags;
    @GuardedBy("lock") private int mtu = 1500;
    @GuardedBy("lock") private LinkState linkState = LinkState.UNKNOWN;
    @GuardedBy("lock") private int promiscRefs;
    @GuardedBy("lock") private int allmultiRefs;
    @GuardedBy("lock") private byte[][] multi = new byte[0][];
    private volatile byte[] lladdrCopy = new byte[0];
    private volatile byte[][] multiCopy = new byte[0][];
    private volatile int flagsCopy;
    private volatile int mtuCopy = 1500;
    private volatile int hwassist;
    private volatile int hwassistCapable;
    /** Addresses ({@code if_addrhead}): written by {@link NetAddrs} under its "ifaddr" lock, read in the net epoch. */
    private volatile Ifaddr[] addrs = new Ifaddr[0];

    /** Indexed by {@link IfCounter#ordinal()}: an array, not an EnumMap, as it is read per packet. */
    private final Counter[] counters = new Counter[IfCounter.values().length];

    private Ifnet(String name, IfType type, IfDriver driver) {
        this.name = name;
        this.type = type;
        this.driver = driver;
        this.needsGiant = driver.getClass().isAnnotationPresent(NeedsGiant.class);
        this.lock = new Mtx(name, "ifnet");
        for (IfCounter c : IfCounter.values()) {
            counters[c.ordinal()] = new Counter();
        }
        lock.lock();
        try {
            setFlagsLocked(needsGiant ? IfFlags.NEEDSGIANT : 0);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Allocates an interface for {@code driver}. It is invisible until attached.
     *
     * @throws IllegalArgumentException for a bad name (empty, too long, or not ending in a unit number
     *     where one is expected is allowed: names are free-form but must be 1..15 printable characters)
     */
    public static Ifnet alloc(String name, IfType type, IfDriver driver) {
        if (name == null || name.isEmpty() || name.length() > 15 || !name.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new IllegalArgumentException("bad interface name '" + name + "' (1..15 printable characters)");
        }
        if (type == null || driver == null) {
            throw new IllegalArgumentException("interface " + name + " needs a type and a driver");
        }
        return new Ifnet(name, type, driver);
    }

    public String name() {
        return name;
    }

    public IfType type() {
        return type;
    }

    public IfDriver driver() {
        return driver;
    }

    /** The interface index: 0 until attached, then constant (indexes are reused after detach). */
    public int index() {
        return index;
    }

    public IfnetState state() {
        return state;
    }

    /** The list (stack instance) this interface is attached to, or null. */
    public IfnetList list() {
        return list;
    }

    /** Whether the driver needs Giant (IFF_NEEDSGIANT, from {@link NeedsGiant} on the driver class). */
    public boolean needsGiant() {
        return needsGiant;
    }

    public Counter counter(IfCounter c) {
        return counters[c.ordinal()];
    }

    public long get(IfCounter c) {
        return counters[c.ordinal()].get();
    }

    // ---- set-up before attach: everything here is frozen once the interface is visible ----

    private void checkAllocated(String what) {
        if (state != IfnetState.ALLOCATED) {
            throw new IllegalStateException("interface " + name + ": " + what + " only before attach (state " + state + ")");
        }
    }

    /** Sets the input routine (ether_ifattach does). Only before attach. */
    public void setInput(IfInput input) {
        checkAllocated("setInput");
        this.input = input;
    }

    /** Sets the per-address-family data ({@code if_afdata[af]}). Only before attach (R-IF-1). */
    public void setAfData(int af, Object data) {
        checkAllocated("setAfData");
        if (af <= 0 || af >= AF_MAX) {
            throw new IllegalArgumentException("address family " + af + " out of range");
        }
        afdata[af] = data;
    }

    /** The per-address-family data; non-null for every family set up before attach. */
    public Object afData(int af) {
        if (af <= 0 || af >= AF_MAX) {
            throw new IllegalArgumentException("address family " + af + " out of range");
        }
        return afdata[af];
    }

    /**
     * The checksums the driver computes or need not be computed at all ({@code if_hwassist}: Mbuf CSUM_*
     * request bits). Protocols leave those to the driver ("delayed" checksums); for other interfaces IP
     * computes them before transmit. Read without locks.
     */
    public int hwassist() {
        return hwassist;
    }

    /** The checksums the driver can take over ({@code if_capabilities}' TXCSUM, as CSUM_* bits). */
    public int hwassistCapable() {
        return hwassistCapable;
    }

    /** Declares what the driver can offload and turns it all on; for drivers, before attach. */
    public void setHwassistCapable(int csumFlags) {
        hwassistCapable = csumFlags;
        hwassist = csumFlags;
    }

    /**
     * Sets {@link #hwassist()} (ifconfig {@code txcsum}/{@code -txcsum}); takes effect for packets sent after.
     *
     * @throws IllegalArgumentException (EINVAL) for a checksum the driver cannot take over
     */
    public void setHwassist(int csumFlags) {
        if ((csumFlags & ~hwassistCapable) != 0) {
            throw new IllegalArgumentException(name + " cannot offload checksums 0x" + Integer.toHexString(csumFlags
                    & ~hwassistCapable) + " (EINVAL)");
        }
        hwassist = csumFlags;
    }

    // ---- state guarded by the interface lock ----

    public int flags() {
        return flagsCopy;
    }

    public boolean isUp() {
        return (flagsCopy & IfFlags.UP) != 0;
    }

    /** Sets and clears flags; bringing the interface up or down calls the driver's init or stop. */
    public void setFlags(int set, int clear) {
        int before;
        int after;
        lock.lock();
        try {
            before = flags;
            setFlagsLocked((flags | set) & ~clear);
            after = flags;
        } finally {
            lock.unlock();
        }
        boolean giant = Giant.pickup(needsGiant);
        try {
            if ((before & IfFlags.UP) == 0 && (after & IfFlags.UP) != 0) {
                driver.init(this);
            } else if ((before & IfFlags.UP) != 0 && (after & IfFlags.UP) == 0) {
                driver.stop(this);
            }
        } finally {
            Giant.drop(giant);
        }
    }

    @GuardedBy("lock")
    private void setFlagsLocked(int f) {
        lock.assertOwned();
        flags = f | (needsGiant ? IfFlags.NEEDSGIANT : 0);
        flagsCopy = flags;
    }

    /** The MTU. Lock-free (a volatile copy of the locked field), for the packet path. */
    public int mtu() {
        return mtuCopy;
    }

    /** Sets the MTU; if it changed on an attached interface, tells the listeners (without locks held). */
    public void setMtu(int mtu) {
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("MTU " + mtu + " out of range [68, 65535] for " + name);
        }
        boolean changed;
        lock.lock();
        try {
            changed = this.mtu != mtu;
            this.mtu = mtu;
            mtuCopy = mtu;
        } finally {
            lock.unlock();
        }
        IfnetList l = list;
        if (changed && l != null && state == IfnetState.ATTACHED) {
            l.fireMtu(this, mtu);
        }
    }

    /** The link-layer address (a copy; empty if none). Lock-free. */
    public byte[] lladdr() {
        return lladdrCopy.clone();
    }

    /** The link-layer address without copying: callers must not modify it. For the packet path. */
    byte[] lladdrShared() {
        return lladdrCopy;
    }

    public void setLladdr(byte[] addr) {
        lock.lock();
        try {
            lladdrCopy = addr.clone();
        } finally {
            lock.unlock();
        }
    }

    public LinkState linkState() {
        lock.lock();
        try {
            return linkState;
        } finally {
            lock.unlock();
        }
    }

    /** Sets the link state and tells the listeners if it changed (if_link_state_change). */
    public void setLinkState(LinkState s) {
        boolean changed;
        lock.lock();
        try {
            changed = linkState != s;
            linkState = s;
        } finally {
            lock.unlock();
        }
        IfnetList l = list;
        if (changed && l != null && state == IfnetState.ATTACHED) {
            l.fireLinkState(this, s);
        }
    }

    /** Counts one more promiscuous user (BPF); the first sets IFF_PROMISC. {@code ifpromisc(9)}. */
    public void setPromisc(boolean on) {
        lock.lock();
        try {
            promiscRefs += on ? 1 : -1;
            if (promiscRefs < 0) {
                promiscRefs = 0;
                throw new IllegalStateException("promiscuous count of " + name + " below zero");
            }
            setFlagsLocked(promiscRefs > 0 ? flags | IfFlags.PROMISC : flags & ~IfFlags.PROMISC);
        } finally {
            lock.unlock();
        }
    }

    /** Counts one more all-multicast user; the first sets IFF_ALLMULTI ({@code if_allmulti(9)}). */
    public void setAllmulti(boolean on) {
        lock.lock();
        try {
            allmultiRefs += on ? 1 : -1;
            if (allmultiRefs < 0) {
                allmultiRefs = 0;
                throw new IllegalStateException("all-multicast count of " + name + " below zero");
            }
            setFlagsLocked(allmultiRefs > 0 ? flags | IfFlags.ALLMULTI : flags & ~IfFlags.ALLMULTI);
        } finally {
            lock.unlock();
        }
    }

    /** Joins a link-layer multicast group (if_addmulti); joining twice is fine. */
    public void addMulti(byte[] mac) {
        lock.lock();
        try {
            for (byte[] m : multi) {
                if (Arrays.equals(m, mac)) {
                    return;
                }
            }
            multi = Arrays.copyOf(multi, multi.length + 1);
            multi[multi.length - 1] = mac.clone();
            multiCopy = multi;
        } finally {
            lock.unlock();
        }
    }

    /** Leaves a link-layer multicast group; returns whether it was joined. */
    public boolean delMulti(byte[] mac) {
        lock.lock();
        try {
            for (int i = 0; i < multi.length; i++) {
                if (Arrays.equals(multi[i], mac)) {
                    byte[][] n = new byte[multi.length - 1][];
                    System.arraycopy(multi, 0, n, 0, i);
                    System.arraycopy(multi, i + 1, n, i, multi.length - i - 1);
                    multi = n;
                    multiCopy = n;
                    return true;
                }
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Whether the multicast filter passes {@code mac} at {@code off} (6 bytes). Lock-free, for input. */
    public boolean multiMatches(byte[] frame, int off) {
        if ((flagsCopy & (IfFlags.ALLMULTI | IfFlags.PROMISC)) != 0) {
            return true;
        }
        for (byte[] m : multiCopy) {
            if (Arrays.equals(m, 0, 6, frame, off, off + 6)) {
                return true;
            }
        }
        return false;
    }

    // ---- addresses ----

    /** The interface's addresses, oldest first (a snapshot). Lock-free; in the net epoch to use them. */
    public java.util.List<Ifaddr> addrs() {
        return java.util.List.of(addrs);
    }

    /** The address array without copying: callers must not modify it. For lookups. */
    Ifaddr[] addrArray() {
        return addrs;
    }

    /** Publishes a new address array. Only {@link NetAddrs}, under its "ifaddr" lock. */
    void setAddrArray(Ifaddr[] a) {
        addrs = a;
    }

    // ---- BPF tap ----

    /**
     * Installs the tap (BPF attaches one per interface). Fails with {@link IfnetGoneException} once the
     * interface is detaching, so a tap can never be left on a dead interface.
     *
     * @throws IllegalStateException if another tap is installed
     */
    public void installTap(PacketTap t) {
        if (state != IfnetState.ATTACHED) {
            throw new IfnetGoneException(name, state);
        }
        if (!tap.compareAndSet(null, t)) {
            PacketTap cur = tap.get();
            if (cur == TAP_GONE) {
                throw new IfnetGoneException(name, state);
            }
            throw new IllegalStateException("interface " + name + " already has a tap");
        }
    }

    /** The installed tap, or null. */
    public PacketTap tap() {
        PacketTap t = tap.get();
        return t == TAP_GONE ? null : t;
    }

    // ---- packet path ----

    /**
     * Receives one frame from the driver ({@code if_input}). Consumes {@code m}. Safe from any thread,
     * including while the interface detaches: a frame arriving after the unlink is counted and dropped.
     * Runs in the net epoch; the caller holds no interface lock.
     */
    public void input(Mbuf m) {
        int et = Epoch.NET.enter();
        try {
            inputInEpoch(m);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    /**
     * {@link #input} for a driver already in a net-epoch section (one per batch of received frames, as
     * drivers enter it once per interrupt).
     */
    public void inputInEpoch(Mbuf m) {
        Epoch.NET.assertInEpoch();
        if (state != IfnetState.ATTACHED) {
            counters[IfCounter.IQDROPS.ordinal()].inc();
            m.freem();
            return;
        }
        counters[IfCounter.IPACKETS.ordinal()].inc();
        counters[IfCounter.IBYTES.ordinal()].add(m.pktLen());
        m.setRcvifIndex(index);
        PacketTap t = tap.get();
        if (t != null) {
            t.tap(this, m, PacketTap.Direction.IN);
        }
        IfInput in = input;
        if (in == null) {
            counters[IfCounter.NOPROTO.ordinal()].inc();
            m.freem();
            return;
        }
        in.input(this, m);
    }

    /**
     * {@link #inputInEpoch} for a driver's batch of frames, a list linked through {@code nextpkt}, oldest
     * first: the interface's state, counters, tap and input routine are read once for the list, and the
     * list goes to the input routine whole ({@link IfInput#inputList}), which keeps its order. Consumes them all.
     */
    public void inputListInEpoch(Mbuf first) {
        Epoch.NET.assertInEpoch();
        if (first == null) {
            return;
        }
        int n = 0;
        long bytes = 0;
        for (Mbuf m = first; m != null; m = m.nextpkt()) {
            n++;
            bytes += m.pktLen();
            m.setRcvifIndex(index);
        }
        IfInput in = input;
        if (state != IfnetState.ATTACHED || in == null) {
            counters[(state != IfnetState.ATTACHED ? IfCounter.IQDROPS : IfCounter.NOPROTO).ordinal()].add(n);
            Mbuf.freeList(first);
            return;
        }
        counters[IfCounter.IPACKETS.ordinal()].add(n);
        counters[IfCounter.IBYTES.ordinal()].add(bytes);
        PacketTap t = tap.get();
        if (t != null) {
            for (Mbuf m = first; m != null; m = m.nextpkt()) {
                t.tap(this, m, PacketTap.Direction.IN);
            }
        }
        in.inputList(this, first);
    }

    /**
     * Hands one complete frame to the driver ({@code if_transmit}). Consumes {@code m}. Dropped and
     * counted as an output error if the interface is not attached, up and running.
     */
    public void transmit(Mbuf m) {
        int et = Epoch.NET.enter();
        try {
            transmitInEpoch(m);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    /** {@link #transmit} for a caller already in a net-epoch section (IP output). */
    public void transmitInEpoch(Mbuf m) {
        Epoch.NET.assertInEpoch();
        if (!transmitting()) {
            counters[IfCounter.OERRORS.ordinal()].inc();
            m.freem();
            return;
        }
        counters[IfCounter.OPACKETS.ordinal()].inc();
        counters[IfCounter.OBYTES.ordinal()].add(m.pktLen());
        PacketTap t = tap.get();
        if (t != null) {
            t.tap(this, m, PacketTap.Direction.OUT);
        }
        boolean giant = Giant.pickup(needsGiant);
        try {
            driver.transmit(this, m);
        } finally {
            Giant.drop(giant);
        }
    }

    /**
     * {@link #transmitInEpoch} for a batch of complete frames linked through {@code nextpkt} (a protocol
     * sending a {@code sendmmsg}'s datagrams): the interface's state, counters and Giant are taken once for
     * the list, which goes to the driver whole ({@link IfDriver#transmitList}), in order. Consumes them all.
     */
    public void transmitListInEpoch(Mbuf first) {
        Epoch.NET.assertInEpoch();
        if (first == null) {
            return;
        }
        int n = 0;
        long bytes = 0;
        for (Mbuf m = first; m != null; m = m.nextpkt()) {
            n++;
            bytes += m.pktLen();
        }
        if (!transmitting()) {
            counters[IfCounter.OERRORS.ordinal()].add(n);
            Mbuf.freeList(first);
            return;
        }
        counters[IfCounter.OPACKETS.ordinal()].add(n);
        counters[IfCounter.OBYTES.ordinal()].add(bytes);
        PacketTap t = tap.get();
        if (t != null) {
            for (Mbuf m = first; m != null; m = m.nextpkt()) {
                t.tap(this, m, PacketTap.Direction.OUT);
            }
        }
        boolean giant = Giant.pickup(needsGiant);
        try {
            driver.transmitList(this, first);
        } finally {
            Giant.drop(giant);
        }
    }

    /** Attached, up and running: frames may go to the driver. */
    private boolean transmitting() {
        int f = flagsCopy;
        return state == IfnetState.ATTACHED && (f & (IfFlags.UP | IfFlags.RUNNING)) == (IfFlags.UP | IfFlags.RUNNING);
    }

    /** Fails with {@link IfnetGoneException} unless attached: for control paths (ioctl-like calls). */
    public void checkAttached() {
        IfnetState s = state;
        if (s != IfnetState.ATTACHED) {
            throw new IfnetGoneException(name, s);
        }
    }

    // ---- lifecycle, driven by IfnetList under its lock ----

    void markAttached(IfnetList l, int idx) {
        checkAllocated("attach");
        this.list = l;
        this.index = idx;
        this.state = IfnetState.ATTACHED;
    }

    void markDetaching() {
        state = IfnetState.DETACHING;
    }

    /** Last step of detach, after the grace period: nothing can reach the interface any more. */
    void markDetached() {
        boolean giant = Giant.pickup(needsGiant);
        try {
            driver.stop(this);
        } finally {
            Giant.drop(giant);
        }
        PacketTap t = tap.getAndSet(TAP_GONE);
        if (t != null) {
            t.detached(this);
        }
        lock.lock();
        try {
            setFlagsLocked(flags & ~(IfFlags.UP | IfFlags.RUNNING));
        } finally {
            lock.unlock();
        }
        Arrays.fill(afdata, null);
        state = IfnetState.DETACHED;
        boolean giant2 = Giant.pickup(needsGiant);
        try {
            driver.detached(this);
        } finally {
            Giant.drop(giant2);
        }
    }

    @Override
    public String toString() {
        return name + "[" + index + " " + state + " " + IfFlags.describe(flagsCopy) + "]";
    }
}
