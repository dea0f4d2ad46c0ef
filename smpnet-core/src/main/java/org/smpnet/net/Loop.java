package org.smpnet.net;

import java.util.List;
import java.util.Map;

/**
 * The loopback interface ({@code if_loop}): what is sent on it is received on it. Frames carry the
 * 4-byte address-family header of DLT_NULL (host byte order as on the sending machine: smpnet writes it
 * little-endian), which input uses to pick the netisr protocol.
 */
public final class Loop implements IfDriver {
    public static final int HEADER_LEN = 4;
    private static final int QUEUE_LIMIT = 4096;

    private final Netisr netisr;
    private final IfQueue queue;
    private final Ifnet ifp;

    private Loop(String name, Netisr netisr) {
        this.netisr = netisr;
        this.ifp = Ifnet.alloc(name, IfType.LOOP, this);
        this.queue = new IfQueue(name + " rx", QUEUE_LIMIT, Loop.class, ifp::inputInEpoch, true);
        ifp.setInput(this::input);
        ifp.setMtu(16384);
        ifp.setFlags(IfFlags.LOOPBACK | IfFlags.MULTICAST, 0);
    }

    /** Creates and attaches loopback interface {@code name}, up. */
    public static Loop create(String name, IfnetList list, Netisr netisr) {
        Loop l = new Loop(name, netisr);
        try {
            list.attach(l.ifp);
        } catch (RuntimeException e) {
            l.queue.close();
            throw e;
        }
        l.ifp.setFlags(IfFlags.UP, 0);
        return l;
    }

    /** The {@code lo} cloner of a stack instance: {@code loN} creates loopback {@code loN}. No parameters. */
    public static IfCloner cloner(IfnetList list, Netisr netisr) {
        return new IfCloner() {
            @Override
            public String prefix() {
                return "lo";
            }

            @Override
            public Clone create(int unit, Map<String, String> params) {
                if (!params.isEmpty()) {
                    throw new IllegalArgumentException("lo takes no parameters, not " + params.keySet() + " (EINVAL)");
                }
                Loop l = Loop.create("lo" + unit, list, netisr);
                return new Clone() {
                    @Override
                    public List<Ifnet> ifnets() {
                        return List.of(l.ifp);
                    }

                    @Override
                    public void destroy() {
                        try {
                            list.detach(l.ifp);
                        } catch (IfnetGoneException alreadyGone) {
                            // detached by another path (stack shutdown)
                        }
                    }
                };
            }
        };
    }

    public Ifnet ifnet() {
        return ifp;
    }

    /** Sends a packet of family {@code af} ({@link Ifnet#AF_INET}...) to ourselves ({@code looutput}). Consumes it. */
    public void output(Mbuf m, int af) {
        Mbuf h = m.prepend(HEADER_LEN, Mbuf.M_NOWAIT);
        if (h == null) {
            ifp.counter(IfCounter.OQDROPS).inc();
            return;
        }
        byte[] b = h.writableData();
        int o = h.dataOff();
        b[o] = (byte) af;
        b[o + 1] = (byte) (af >>> 8);
        b[o + 2] = (byte) (af >>> 16);
        b[o + 3] = (byte) (af >>> 24);
        ifp.transmit(h);
    }

    @Override
    public void transmit(Ifnet ifp, Mbuf m) {
        queue.enqueue(m);
    }

    @Override
    public void init(Ifnet ifp) {
        ifp.setFlags(IfFlags.RUNNING, 0);
        ifp.setLinkState(LinkState.UP);
    }

    @Override
    public void stop(Ifnet ifp) {
        ifp.setLinkState(LinkState.DOWN);
    }

    @Override
    public void detached(Ifnet ifp) {
        queue.close();
    }

    private void input(Ifnet ifp, Mbuf m) {
        if (m.pktLen() < HEADER_LEN || (m = m.pullup(HEADER_LEN)) == null) {
            ifp.counter(IfCounter.IERRORS).inc();
            if (m != null) {
                m.freem();
            }
            return;
        }
        byte[] b = m.data();
        int o = m.dataOff();
        int af = (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
        int isr = switch (af) {
            case Ifnet.AF_INET -> Netisr.IP;
            case Ifnet.AF_INET6 -> Netisr.IPV6;
            default -> 0;
        };
        if (isr == 0 || netisr.proto(isr) == null) {
            ifp.counter(IfCounter.NOPROTO).inc();
            m.freem();
            return;
        }
        m.adj(HEADER_LEN);
        netisr.dispatch(isr, m);
    }
}
