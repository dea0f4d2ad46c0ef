package org.smpnet.net;

import java.util.concurrent.atomic.AtomicReferenceArray;
import org.smpnet.kern.Counter;

/**
 * Ethernet input and output for one stack instance ({@code if_ethersubr.c}): attaches Ethernet
 * interfaces, filters received frames by destination, demultiplexes them by ethertype to the
 * handlers protocols registered, and frames outgoing packets.
 *
 * <p>Locking: the demux table is an atomic array read lock-free on input; counters are per-CPU.
 * No lock is held while a handler runs.
 */
public final class Ether {
    /** The receiver of one ethertype: gets the frame with the Ethernet header removed. Consumes it. */
    @FunctionalInterface
    public interface Handler {
        void input(Ifnet ifp, Mbuf m);

        /**
         * Takes a run of frames of this type from one batch, linked through {@code nextpkt}, oldest first,
         * and consumes every one. This default gives each to {@link #input} in turn; one that throws is
         * dropped and counted in the interface's {@code iqdrops}, and the rest still go. A protocol that
         * can handle a list at once overrides it.
         */
        default void inputList(Ifnet ifp, Mbuf first) {
            IfInput.eachPacket(ifp, first, this::input);
        }
    }

    /** Counted drops and events, as netstat shows them. */
    public final Counter runts = new Counter();
    public final Counter noproto = new Counter();
    public final Counter notForUs = new Counter();
    public final Counter promiscDrops = new Counter();
    public final Counter nomem = new Counter();

    private final AtomicReferenceArray<Handler> handlers = new AtomicReferenceArray<>(0x10000);
    private final IfInput input = new IfInput() {
        @Override
        public void input(Ifnet ifp, Mbuf m) {
            Ether.this.input(ifp, m);
        }

        @Override
        public void inputList(Ifnet ifp, Mbuf first) {
            Ether.this.inputList(ifp, first);
        }
    };
    /** {@code vlan_input_p}: gets 802.1Q frames whole, header and tag included; null when no vlan layer. */
    private volatile Handler vlanInput;

    /** Registers the handler for {@code type}; one per type. */
    public void register(int type, Handler h) {
        checkType(type);
        if (!handlers.compareAndSet(type, null, h)) {
            throw new IllegalStateException("ethertype 0x" + Integer.toHexString(type) + " already has a handler");
        }
    }

    public void unregister(int type) {
        checkType(type);
        handlers.set(type, null);
    }

    /**
     * Installs the 802.1Q input hook ({@code vlan_input_p}): frames of type 0x8100 go to it whole,
     * before destination filtering, which the vlan interface's own input does. Null removes it; then
     * tagged frames count as unknown protocol. Frames already in flight may still reach the old hook.
     */
    public void setVlanInput(Handler h) {
        vlanInput = h;
    }

    private static void checkType(int type) {
        if (type < EtherRepr.ETHERTYPE_MIN || type > 0xffff) {
            throw new IllegalArgumentException("ethertype 0x" + Integer.toHexString(type) + " out of range");
        }
    }

    /**
     * Sets up an allocated interface as Ethernet ({@code ether_ifattach}): link-layer address, input
     * routine, flags and MTU. Call before {@link IfnetList#attach}.
     */
    public void ifattach(Ifnet ifp, MacAddr addr) {
        if (addr.isMulticast()) {
            throw new IllegalArgumentException("interface address " + addr + " is a group address");
        }
        ifp.setLladdr(addr.bytes());
        ifp.setInput(input);
        ifp.setFlags(IfFlags.BROADCAST | IfFlags.SIMPLEX | IfFlags.MULTICAST, 0);
    }

    /** {@code ether_input}: consumes {@code m}. Called by {@link Ifnet#input} in the net epoch. */
    void input(Ifnet ifp, Mbuf m) {
        m = pullHeader(ifp, m);
        if (m != null) {
            Handler h = demux(ifp, m);
            if (h != null) {
                h.input(ifp, m);
            }
        }
    }

    /**
     * {@code ether_input} of a driver's batch, a list linked through {@code nextpkt}, oldest first: each
     * frame is checked and demultiplexed as {@link #input} does, and each run of consecutive frames for one
     * handler goes to it as a list ({@link Handler#inputList}), in order. Consumes them all. In the net epoch.
     */
    void inputList(Ifnet ifp, Mbuf first) {
        Handler runHandler = null;
        Mbuf runHead = null;
        Mbuf runTail = null;
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                cur = pullHeader(ifp, cur);
                Handler h = cur == null ? null : demux(ifp, cur);
                if (h == null) {
                    continue;
                }
                if (h != runHandler && runHead != null) {
                    Mbuf run = runHead;
                    runHead = null;
                    runHandler.inputList(ifp, run);
                }
                if (runHead == null) {
                    runHandler = h;
                    runHead = cur;
                } else {
                    runTail.setNextpkt(cur);
                }
                runTail = cur;
            }
            if (runHead != null) {
                Mbuf run = runHead;
                runHead = null;
                runHandler.inputList(ifp, run);
            }
        } finally {
            Mbuf.freeList(runHead); // only after an Error: the frames not handed on
            Mbuf.freeList(m);
        }
    }

    /** Makes the Ethernet header contiguous; null (counted) for a runt or when memory ran out. Consumes {@code m} then. */
    private Mbuf pullHeader(Ifnet ifp, Mbuf m) {
        if (m.pktLen() < EtherView.HEADER_LEN) {
            runts.inc();
            ifp.counter(IfCounter.IERRORS).inc();
            m.freem();
            return null;
        }
        m = m.pullup(EtherView.HEADER_LEN);
        if (m == null) {
            nomem.inc();
            ifp.counter(IfCounter.IQDROPS).inc();
        }
        return m;
    }

    /**
     * Filters a frame by destination and finds its handler: the handler with the Ethernet header removed,
     * the vlan layer's with the frame whole, or null when the frame was dropped (counted; consumed).
     */
    private Handler demux(Ifnet ifp, Mbuf m) {
        EtherView eh = new EtherView(m.data(), m.dataOff());
        Handler vlan = vlanInput;
        if (vlan != null && eh.type() == EtherRepr.ETHERTYPE_VLAN) {
            return vlan;
        }
        if (eh.dstIsMulticast()) {
            if (eh.dstIsBroadcast()) {
                m.setFlags(m.flags() | Mbuf.M_BCAST);
            } else if (ifp.multiMatches(m.data(), m.dataOff())) {
                m.setFlags(m.flags() | Mbuf.M_MCAST);
                ifp.counter(IfCounter.IMCASTS).inc();
            } else {
                notForUs.inc();
                m.freem();
                return null;
            }
        } else if (!java.util.Arrays.equals(ifp.lladdrShared(), 0, 6, m.data(), m.dataOff(), m.dataOff() + 6)) {
            // Seen by BPF already; in promiscuous mode this is expected, otherwise the peer is confused.
            (((ifp.flags() & IfFlags.PROMISC) != 0) ? promiscDrops : notForUs).inc();
            m.freem();
            return null;
        }
        int type = eh.type();
        Handler h = type >= EtherRepr.ETHERTYPE_MIN ? handlers.get(type) : null;
        if (h == null) {
            noproto.inc();
            ifp.counter(IfCounter.NOPROTO).inc();
            m.freem();
            return null;
        }
        m.adj(EtherView.HEADER_LEN);
        return h;
    }

    /**
     * {@code ether_output} for a resolved destination: prepends the header and transmits.
     * Consumes {@code m}; a failed prepend is counted and the packet dropped.
     */
    public void output(Ifnet ifp, Mbuf m, MacAddr dst, int type) {
        Mbuf h = encap(ifp, m, dst, type);
        if (h != null) {
            ifp.transmit(h);
        }
    }

    /** {@link #output} for a caller in the net epoch (IP and ARP output): no section of its own. */
    public void outputInEpoch(Ifnet ifp, Mbuf m, MacAddr dst, int type) {
        Mbuf h = encap(ifp, m, dst, type);
        if (h != null) {
            ifp.transmitInEpoch(h);
        }
    }

    /**
     * {@link #outputInEpoch} for a batch of packets linked through {@code nextpkt}, all to {@code dst}: each
     * gets its header (one that cannot is dropped and counted, as alone), and the batch goes to the
     * interface whole ({@link Ifnet#transmitListInEpoch}), in order. Consumes them all.
     */
    public void outputListInEpoch(Ifnet ifp, Mbuf first, MacAddr dst, int type) {
        EtherRepr repr = new EtherRepr(dst, MacAddr.read(ifp.lladdrShared(), 0), type);
        Mbufq framed = new Mbufq();
        Mbuf m = first;
        try {
            while (m != null) {
                Mbuf cur = m;
                m = cur.nextpkt();
                cur.setNextpkt(null);
                Mbuf h = encap(ifp, cur, repr);
                if (h != null) {
                    framed.enqueue(h);
                }
            }
        } catch (RuntimeException | Error e) {
            Mbuf.freeList(m);
            framed.drain();
            throw e;
        }
        ifp.transmitListInEpoch(framed.first());
    }

    private Mbuf encap(Ifnet ifp, Mbuf m, MacAddr dst, int type) {
        return encap(ifp, m, new EtherRepr(dst, MacAddr.read(ifp.lladdrShared(), 0), type));
    }

    private Mbuf encap(Ifnet ifp, Mbuf m, EtherRepr repr) {
        Mbuf h = m.prepend(EtherView.HEADER_LEN, Mbuf.M_NOWAIT);
        if (h == null) {
            nomem.inc();
            ifp.counter(IfCounter.OQDROPS).inc();
            return null;
        }
        repr.emit(new EtherView(h.writableData(), h.dataOff()));
        return h;
    }
}
