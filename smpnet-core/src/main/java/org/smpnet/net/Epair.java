package org.smpnet.net;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.smpnet.kern.CalloutWheels;

/**
 * A virtual crossover cable ({@code if_epair}): two Ethernet interfaces, {@code epairNa} and
 * {@code epairNb}, usually in two stack instances. A frame sent on one side goes through that
 * direction's {@link LinkPipe} (impairment) into the other side's receive queue, whose ithread calls
 * the other interface's input. Queuing there, not calling across directly, keeps one stack's locks
 * from ever being held while the other stack's input runs.
 */
public final class Epair {
    private static final int QUEUE_LIMIT = 4096;
    /**
     * Receive queues per side: flows hash onto them, so senders of different flows, each serving its own
     * queue ({@link DeferredInput}), do not contend or overtake each other's batches. More than FreeBSD's
     * one per CPU: two flows that hash onto one queue make their senders take turns draining each other's
     * packets across CPUs (2 flows, 2 CPUs: 4.7M datagrams/s median with 2 queues, 6.1M with 16), and an
     * idle queue costs no thread (its ithread starts at its first wake-up). {@code smpnet.epair.queues}
     * (1 to 16), default 16.
     */
    static final int QUEUES = Math.max(1, Math.min(16, Integer.getInteger("smpnet.epair.queues", 16)));

    /** The driver of one side. MPSAFE: it keeps no state of its own beyond final references. */
    private final class Side implements IfDriver {
        private LinkPipe out;    // set once in the constructor, before attach

        /**
         * A crossover cable corrupts nothing, so checksums the sender left to the "hardware" (delayed) are
         * as good as verified on the other side, as FreeBSD's epair with checksum offload does: the delayed
         * request stays set, so a stack that forwards the packet on computes it then. So is an IPv4 header
         * whose checksum the sending stack filled in ({@link Mbuf#CSUM_IP}); a frame written raw (BPF)
         * carries no such flag and is verified as usual.
         */
        @Override
        public void transmit(Ifnet ifp, Mbuf m) {
            offload(m);
            out.send(m);
        }

        /** A batch goes into the pipe whole ({@link LinkPipe#sendList}). */
        @Override
        public void transmitList(Ifnet ifp, Mbuf first) {
            for (Mbuf m = first; m != null; m = m.nextpkt()) {
                offload(m);
            }
            out.sendList(first);
        }

        private static void offload(Mbuf m) {
            int f = m.csumFlags();
            int g = f;
            if ((f & (Mbuf.CSUM_IP_UDP | Mbuf.CSUM_IP_TCP)) != 0) {
                g |= Mbuf.CSUM_L4_CALC | Mbuf.CSUM_L4_VALID;
            }
            if ((f & Mbuf.CSUM_IP) != 0) {
                g |= Mbuf.CSUM_L3_CALC | Mbuf.CSUM_L3_VALID;
            }
            if (g != f) {
                m.setCsum(g, m.csumData());
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
    }

    private final Ifnet a;
    private final Ifnet b;
    private final IfnetList listA;
    private final IfnetList listB;
    private final LinkPipe aToB;
    private final LinkPipe bToA;
    private final IfQueue[] inA;
    private final IfQueue[] inB;
    private final AtomicBoolean destroyed = new AtomicBoolean();

    private Epair(int unit, IfnetList listA, Ether etherA, IfnetList listB, Ether etherB, PipeConfig ab, PipeConfig ba,
                  CalloutWheels wheels) {
        this.listA = listA;
        this.listB = listB;
        Side sa = new Side();
        Side sb = new Side();
        a = Ifnet.alloc("epair" + unit + "a", IfType.ETHER, sa);
        b = Ifnet.alloc("epair" + unit + "b", IfType.ETHER, sb);
        inA = queues(a);
        inB = queues(b);
        aToB = new LinkPipe(a.name() + "->" + b.name(), ab, m -> inB[queueOf(m, inB.length)].enqueue(m), wheels);
        bToA = new LinkPipe(b.name() + "->" + a.name(), ba, m -> inA[queueOf(m, inA.length)].enqueue(m), wheels);
        sa.out = aToB;
        sb.out = bToA;
        a.setHwassistCapable(Mbuf.CSUM_IP_UDP | Mbuf.CSUM_IP_TCP);
        b.setHwassistCapable(Mbuf.CSUM_IP_UDP | Mbuf.CSUM_IP_TCP);
        etherA.ifattach(a, MacAddr.local(0xe0000000 | (unit << 1)));
        etherB.ifattach(b, MacAddr.local(0xe0000000 | (unit << 1) | 1));
    }

    /**
     * Creates {@code epair<unit>a} in {@code listA} and {@code epair<unit>b} in {@code listB}, attached
     * and up, with the given impairment per direction.
     *
     * @throws IllegalArgumentException if either name is taken (nothing is left attached then)
     */
    public static Epair create(int unit, IfnetList listA, Ether etherA, IfnetList listB, Ether etherB,
                               PipeConfig aToB, PipeConfig bToA) {
        return create(unit, listA, etherA, listB, etherB, aToB, bToA, null);
    }

    /**
     * As {@link #create(int, IfnetList, Ether, IfnetList, Ether, PipeConfig, PipeConfig)}, with both pipes
     * timed by {@code wheels} (see {@link LinkPipe}; a {@link org.smpnet.kern.ManualClock} behind them puts
     * the link's delays in virtual time); null: the wall clock.
     */
    public static Epair create(int unit, IfnetList listA, Ether etherA, IfnetList listB, Ether etherB,
                               PipeConfig aToB, PipeConfig bToA, CalloutWheels wheels) {
        if (unit < 0) {
            throw new IllegalArgumentException("epair unit must not be negative: " + unit);
        }
        Epair e = new Epair(unit, listA, etherA, listB, etherB, aToB, bToA, wheels);
        try {
            listA.attach(e.a);
        } catch (RuntimeException ex) {
            e.closeQueues();
            throw ex;
        }
        try {
            listB.attach(e.b);
        } catch (RuntimeException ex) {
            listA.detach(e.a);
            e.closeQueues();
            throw ex;
        }
        e.a.setFlags(IfFlags.UP, 0);
        e.b.setFlags(IfFlags.UP, 0);
        return e;
    }

    /**
     * The {@code epair} cloner of a stack instance: {@code epairN} creates {@code epairNa} and
     * {@code epairNb} in {@code list}, joined by pipes impaired as the parameters say, the same in both
     * directions ({@link PipeConfig#parse}: delay, jitter, loss, duplicate, reorder, reorder_gap,
     * bandwidth, qlimit, seed; none gives perfect pipes). To put a side in another stack, use
     * {@link #create} or {@code Vnet.epair}.
     */
    public static IfCloner cloner(IfnetList list, Ether ether) {
        return new IfCloner() {
            @Override
            public String prefix() {
                return "epair";
            }

            @Override
            public List<String> names(int unit) {
                return List.of("epair" + unit + "a", "epair" + unit + "b");
            }

            @Override
            public Clone create(int unit, Map<String, String> params) {
                PipeConfig pipe = PipeConfig.parse(params);
                Epair e = Epair.create(unit, list, ether, list, ether, pipe, pipe);
                return new Clone() {
                    @Override
                    public List<Ifnet> ifnets() {
                        return List.of(e.a, e.b);
                    }

                    @Override
                    public void destroy() {
                        e.destroy();
                    }
                };
            }
        };
    }

    private static IfQueue[] queues(Ifnet ifp) {
        IfQueue[] q = new IfQueue[QUEUES];
        for (int i = 0; i < q.length; i++) {
            q[i] = IfQueue.forLists(ifp.name() + " rx" + (q.length == 1 ? "" : Integer.toString(i)), QUEUE_LIMIT, Side.class, ifp::inputListInEpoch);
        }
        return q;
    }

    /**
     * The receive queue of a frame: a hash of the IPv4 addresses, protocol and (unfragmented TCP/UDP)
     * ports, as a NIC's RSS does, so one flow stays in one queue and in order; everything else (ARP,
     * IPv6 for now, fragments' ports) uses the addresses or queue 0.
     */
    static int queueOf(Mbuf m, int n) {
        if (n == 1) {
            return 0;
        }
        byte[] b = m.data();
        int o = m.dataOff();
        int len = m.len();
        if (len < 34 || b[o + 12] != 0x08 || b[o + 13] != 0x00) {
            return 0;
        }
        int ip = o + 14;
        int hl = (b[ip] & 0x0f) * 4;
        int proto = b[ip + 9] & 0xff;
        int h = int32(b, ip + 12) * 31 + int32(b, ip + 16);
        h = h * 31 + proto;
        boolean fragment = ((b[ip + 6] & 0x3f) | b[ip + 7]) != 0;
        if (!fragment && (proto == 6 || proto == 17) && len >= 14 + hl + 4) {
            h = h * 31 + int32(b, ip + hl);
        }
        h ^= h >>> 16;
        h *= 0x45d9f3b;
        h ^= h >>> 16;
        return (int) (((h & 0xffff_ffffL) * n) >>> 32); // h scaled to [0, n): no division per packet
    }

    private static int int32(byte[] b, int i) {
        return ((b[i] & 0xff) << 24) | ((b[i + 1] & 0xff) << 16) | ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
    }

    public Ifnet a() {
        return a;
    }

    /**
     * The pipe {@code ifp} transmits into, for an epair side (also one made by the cloner): where its
     * impairment can be read or {@link LinkPipe#configure reconfigured}.
     *
     * @throws IllegalArgumentException if {@code ifp} is not an epair side
     */
    public static LinkPipe pipeOut(Ifnet ifp) {
        if (ifp.driver() instanceof Side s) {
            return s.out;
        }
        throw new IllegalArgumentException(ifp.name() + " is not an epair (EINVAL)");
    }

    public Ifnet b() {
        return b;
    }

    public LinkPipe pipeAtoB() {
        return aToB;
    }

    public LinkPipe pipeBtoA() {
        return bToA;
    }

    /** Packets both sides' receive queues dropped (full or closed). Lock-free. */
    public long rxQueueDrops() {
        long n = 0;
        for (IfQueue q : inA) {
            n += q.drops.get();
        }
        for (IfQueue q : inB) {
            n += q.drops.get();
        }
        return n;
    }

    /** Both sides' receive queues, side a's first (for their counters). */
    public List<IfQueue> rxQueues() {
        List<IfQueue> all = new ArrayList<>(Arrays.asList(inA));
        all.addAll(Arrays.asList(inB));
        return List.copyOf(all);
    }

    /** Waits until both directions are empty: pipes delivered and receive queues drained. May sleep. */
    public void quiesce() {
        for (int round = 0; round < 2; round++) { // a delivery may trigger a reply the other way
            aToB.drain();
            bToA.drain();
            for (IfQueue q : inA) {
                q.drain();
            }
            for (IfQueue q : inB) {
                q.drain();
            }
        }
    }

    /** Detaches both sides and stops the pipes and queues. Idempotent. May sleep; hold no lock. */
    public void destroy() {
        if (!destroyed.compareAndSet(false, true)) {
            return;
        }
        detachQuietly(listA, a);
        detachQuietly(listB, b);
        closeQueues();
    }

    private static void detachQuietly(IfnetList list, Ifnet ifp) {
        try {
            list.detach(ifp);
        } catch (IfnetGoneException alreadyGone) {
            // detached by another path (stack shutdown): nothing left to do here
        }
    }

    private void closeQueues() {
        aToB.close();
        bToA.close();
        for (IfQueue q : inA) {
            q.close();
        }
        for (IfQueue q : inB) {
            q.close();
        }
    }
}
