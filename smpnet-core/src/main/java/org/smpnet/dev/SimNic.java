package org.smpnet.dev;

import java.util.function.Consumer;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Giant;
import org.smpnet.kern.NeedsGiant;
import org.smpnet.net.Ether;
import org.smpnet.net.IfCounter;
import org.smpnet.net.IfDriver;
import org.smpnet.net.IfFlags;
import org.smpnet.net.IfQueue;
import org.smpnet.net.IfType;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetList;
import org.smpnet.net.LinkState;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;

/**
 * A simulated multi-queue Ethernet NIC (R-IF-5): frames arriving from the "wire" ({@link #receive}) are
 * hashed by flow like RSS hardware does, the hash is set on the mbuf ({@code M_HASHTYPE_OPAQUE}), and
 * the frame goes to that hash's receive queue; each queue has its own interrupt thread ({@link IfQueue})
 * that calls {@link Ifnet#input}. One flow always lands in one queue, so it stays in order.
 *
 * <p>Two variants: {@link Mpsafe}, whose receive path takes no lock of its own, and {@link Legacy},
 * a driver that is not MPSAFE ({@link NeedsGiant}): its interrupt threads and entry points run under
 * Giant whatever {@code net.mpsafenet} says, and it keeps unlocked soft state only Giant protects.
 *
 * <p>Locking key: {@code ifp}, {@code rx} are final; {@code wire} is volatile;
 * counters are per-CPU; {@link Legacy#softcRx} is guarded by Giant.
 */
public abstract sealed class SimNic implements IfDriver permits SimNic.Mpsafe, SimNic.Legacy {
    /** An MPSAFE simulated NIC. */
    public static final class Mpsafe extends SimNic {
        Mpsafe(String name, int queues, int queueLimit) {
            super(name, queues, queueLimit);
        }

        @Override
        void rxIntr(int queue, Mbuf m) {
            ifnet().input(m);
        }
    }

    /** A simulated NIC whose driver is not MPSAFE. */
    @NeedsGiant("simulated legacy NIC for tests: its receive path updates driver soft state that only Giant protects")
    public static final class Legacy extends SimNic {
        private long softcRx; // guarded by Giant (why this driver NEEDSGIANT)

        Legacy(String name, int queues, int queueLimit) {
            super(name, queues, queueLimit);
        }

        @Override
        void rxIntr(int queue, Mbuf m) {
            Giant.GIANT.assertOwned();
            softcRx++;
            ifnet().input(m);
        }

        /** Frames the receive path handled, counted in unlocked soft state: exact only if Giant serialised them. */
        public long softcRx() {
            Giant.GIANT.lock();
            try {
                return softcRx;
            } finally {
                Giant.GIANT.unlock();
            }
        }
    }

    private final IfQueue[] rx;
    private final Ifnet ifp;
    private volatile Consumer<Mbuf> wire;

    /** Frames handed to the wire. */
    public final Counter txFrames = new Counter();
    /** Frames that arrived while the interface was down. */
    public final Counter rxDown = new Counter();

    SimNic(String name, int queues, int queueLimit) {
        if (queues < 1 || queues > 64) {
            throw new IllegalArgumentException("a simulated NIC has 1..64 receive queues, not " + queues);
        }
        ifp = Ifnet.alloc(name, IfType.ETHER, this);
        rx = new IfQueue[queues];
        for (int i = 0; i < queues; i++) {
            int q = i;
            rx[i] = new IfQueue(name + " rxq" + i, queueLimit, getClass(), m -> rxIntr(q, m));
        }
    }

    /**
     * Creates a NIC with {@code queues} receive queues of {@code queueLimit} frames, attaches it to
     * {@code list} as Ethernet interface {@code name} with address {@code mac}, and brings it up.
     *
     * @param mpsafe false for the {@link Legacy} (NEEDSGIANT) variant
     */
    public static SimNic attach(String name, int queues, int queueLimit, boolean mpsafe, IfnetList list, Ether ether,
                                MacAddr mac) {
        SimNic nic = mpsafe ? new Mpsafe(name, queues, queueLimit) : new Legacy(name, queues, queueLimit);
        Ifnet ifp = nic.ifp;
        try {
            ether.ifattach(ifp, mac);
        } catch (RuntimeException e) {
            nic.closeQueues();
            throw e;
        }
        try {
            list.attach(ifp);
        } catch (RuntimeException e) {
            nic.closeQueues();
            throw e;
        }
        ifp.setFlags(IfFlags.UP, 0);
        return nic;
    }

    /** Called by a queue's interrupt thread (under Giant if the driver needs it) with one frame. Consumes it. */
    abstract void rxIntr(int queue, Mbuf m);

    public Ifnet ifnet() {
        return ifp;
    }

    public int queues() {
        return rx.length;
    }

    /** The receive queue {@code i} (its counters: enqueued, delivered, drops). */
    public IfQueue rxQueue(int i) {
        return rx[i];
    }

    /** Where transmitted frames go (consumed); null frees them. */
    public void setWire(Consumer<Mbuf> w) {
        wire = w;
    }

    /**
     * A frame arrives from the wire (the NIC's DMA): copied into an mbuf, hashed, steered to its queue.
     * Safe from any thread; holds no lock across the call.
     *
     * @return false if the frame was dropped (interface down or queue full; counted)
     */
    public boolean receive(byte[] frame, int off, int len) {
        if ((ifp.flags() & (IfFlags.UP | IfFlags.RUNNING)) != (IfFlags.UP | IfFlags.RUNNING)) {
            rxDown.inc();
            return false;
        }
        Mbuf m = Mbuf.devget(frame, off, len, Mbuf.M_NOWAIT);
        if (m == null) {
            ifp.counter(IfCounter.IQDROPS).inc();
            return false;
        }
        int hash = flowHash(frame, off, len);
        m.setFlowid(hash, Mbuf.M_HASHTYPE_OPAQUE);
        if (!rx[queueOf(hash)].enqueue(m)) {
            ifp.counter(IfCounter.IQDROPS).inc();
            return false;
        }
        return true;
    }

    /** The receive queue a flow hash selects. */
    public int queueOf(int hash) {
        return (hash & 0x7fff_ffff) % rx.length;
    }

    /**
     * The flow hash the hardware computes: over addresses, protocol and ports for IPv4 TCP/UDP (not for
     * fragments after the first), over addresses and protocol for other IPv4, else over the MAC addresses
     * and the ethertype.
     */
    public static int flowHash(byte[] f, int off, int len) {
        if (len < 14) {
            return 0;
        }
        int type = u16(f, off + 12);
        int ip = off + 14;
        if (type == 0x0800 && len >= 34 && (f[ip] & 0xf0) == 0x40) {
            int h = mix(0x0800, u32(f, ip + 12));
            h = mix(h, u32(f, ip + 16));
            int proto = f[ip + 9] & 0xff;
            h = mix(h, proto);
            int ihl = (f[ip] & 0x0f) * 4;
            boolean firstFragment = (u16(f, ip + 6) & 0x1fff) == 0;
            if ((proto == 6 || proto == 17) && firstFragment && len >= 14 + ihl + 4) {
                h = mix(h, u32(f, ip + ihl));
            }
            return fmix(h);
        }
        int h = mix(type, u32(f, off));
        h = mix(h, u32(f, off + 4));
        h = mix(h, u32(f, off + 8));
        return fmix(h);
    }

    private static int mix(int h, int k) {
        k *= 0xcc9e2d51;
        k = Integer.rotateLeft(k, 15) * 0x1b873593;
        h ^= k;
        return Integer.rotateLeft(h, 13) * 5 + 0xe6546b64;
    }

    private static int fmix(int h) {
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        return h ^ (h >>> 16);
    }

    private static int u16(byte[] b, int o) {
        return (b[o] & 0xff) << 8 | (b[o + 1] & 0xff);
    }

    private static int u32(byte[] b, int o) {
        return (b[o] & 0xff) << 24 | (b[o + 1] & 0xff) << 16 | (b[o + 2] & 0xff) << 8 | (b[o + 3] & 0xff);
    }

    /** Waits until every receive queue is empty and its thread idle. May sleep; hold no lock. */
    public void drain() {
        for (IfQueue q : rx) {
            q.drain();
        }
    }

    @Override
    public void transmit(Ifnet ifp, Mbuf m) {
        txFrames.inc();
        Consumer<Mbuf> w = wire;
        if (w == null) {
            m.freem();
        } else {
            w.accept(m);
        }
    }

    @Override
    public void init(Ifnet ifp) {
        ifp.setFlags(IfFlags.RUNNING, 0);
        ifp.setLinkState(LinkState.UP);
    }

    @Override
    public void stop(Ifnet ifp) {
        if ((ifp.flags() & IfFlags.RUNNING) != 0) {
            ifp.setFlags(0, IfFlags.RUNNING);
        }
        ifp.setLinkState(LinkState.DOWN);
    }

    @Override
    public void detached(Ifnet ifp) {
        closeQueues();
    }

    private void closeQueues() {
        for (IfQueue q : rx) {
            q.close();
        }
    }
}
