package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.smpnet.Vnet;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.ManualClock;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.UmaZone;
import org.smpnet.net.IfCounter;
import org.smpnet.net.IfDriver;
import org.smpnet.net.IfFlags;
import org.smpnet.net.IfType;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;
import org.smpnet.net.MbufZones;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Socket;
import org.smpnet.socket.Ucred;

/**
 * One fresh stack for one fuzz input: a Vnet on a manual clock with netisr dispatch forced to
 * {@code direct} (so input runs to its end in the caller's thread), one Ethernet interface
 * {@code fz0} at {@link #US}/24 whose driver counts and frees what is sent, a link-level membership in
 * {@link #GROUP}, and, once UDP is registered in the protocol switch, UDP sockets: a wildcard one on
 * {@link #PORT_ANY}, one bound to {@link #US}:{@link #PORT_US} and one connected from
 * {@link #US}:{@link #PORT_CONN} to {@link #PEER}:{@link #PORT_PEER} (the target of ICMP errors).
 *
 * <p>{@link #inject} hands one packet to a layer and checks the accounting rule of the fuzz targets:
 * the packet either took effect (a reply or request was sent, a socket received it, the ARP table
 * holds its sender, reassembly holds it) or raised at least one counter that names its fate; the
 * counters every packet raises on the way ({@link #PASSING}) do not count. {@link #close} checks
 * that no mbuf outlives the stack.
 *
 * <p>Thread-confined: one fuzz input, one thread.
 */
final class InetFuzzStack implements AutoCloseable {
    static final InAddr US = InAddr.parse("10.0.0.1");
    static final InAddr PEER = InAddr.parse("10.0.0.2");
    static final InAddr SUBNET_BCAST = InAddr.parse("10.0.0.255");
    static final InAddr GROUP = InAddr.parse("224.0.0.251");
    static final MacAddr MAC_US = MacAddr.parse("02:00:00:00:00:01");
    static final MacAddr MAC_PEER = MacAddr.parse("02:00:00:00:00:02");
    static final int PORT_ANY = 5353;
    static final int PORT_US = 7;
    static final int PORT_CONN = 4000;
    static final int PORT_PEER = 9;
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;

    /**
     * Counters that count a packet on its way and say nothing of where it ended: entry counts,
     * "handed on to the next layer" counts, and the netisr's bookkeeping.
     */
    static final Set<String> PASSING = Set.of(
            "net.inet.ip.stats.total", "net.inet.ip.stats.delivered", "net.inet.ip.stats.fragments",
            "net.inet.ip.stats.reassembled", "net.link.ether.arp.stats.received",
            "net.link.ether.arp.stats.rxrequests", "net.link.ether.arp.stats.rxreplies",
            "net.inet.udp.stats.ipackets", "net.inet.udp.stats.nosum", "net.inet.icmp.stats.error",
            "net.inet.icmp.stats.inhist." + Icmp.ECHO, "if.ipackets", "if.ibytes", "if.imcasts");

    /** Look past the drops already reported ({@link #knownUncounted}); for fuzzing runs only. */
    static final boolean SKIP_KNOWN = Boolean.getBoolean("smpnet.fuzz.skipKnown");

    final ManualClock clock = new ManualClock();
    final Vnet vnet;
    final Inet inet;
    final Ifnet ifp;
    final List<Socket> sockets = new ArrayList<>();
    private final List<Sysctl.CounterOid> counters = new ArrayList<>();
    private final AtomicLong sent = new AtomicLong();
    private final long mbufsBefore;

    /** The driver of {@code fz0}: the wire is a counter. */
    private final class CountingDriver implements IfDriver {
        @Override
        public void transmit(Ifnet i, Mbuf m) {
            sent.incrementAndGet();
            m.freem();
        }

        @Override
        public void init(Ifnet i) {
            i.setFlags(IfFlags.RUNNING, 0);
        }
    }

    InetFuzzStack() {
        mbufsBefore = mbufsInUse();
        vnet = new Vnet("fuzz", 1, clock);
        boolean ok = false;
        try {
            vnet.sysctl().set("net.isr.dispatch", "direct");
            inet = vnet.inet();
            ifp = Ifnet.alloc("fz0", IfType.ETHER, new CountingDriver());
            vnet.ether().ifattach(ifp, MAC_US);
            vnet.ifnets().attach(ifp);
            ifp.setFlags(IfFlags.UP, 0);
            ifp.addMulti(multicastMacBytes(GROUP));
            vnet.addrs().add(ifp, US, 24);
            if (inet.protocols().input(IpProtocols.IPPROTO_UDP) != null) {
                openSockets();
            }
            for (Sysctl.Oid o : vnet.sysctl().list("net")) {
                if (o instanceof Sysctl.CounterOid c && !o.name().startsWith("net.isr.")) {
                    counters.add(c);
                }
            }
            ok = true;
        } catch (ErrnoException e) {
            throw new IllegalStateException("fuzz stack setup: " + e.getMessage(), e);
        } finally {
            if (!ok) {
                vnet.close();
            }
        }
    }

    private void openSockets() throws ErrnoException {
        Socket any = socket();
        any.proto().pru_bind(any, new Sockaddr.In(InAddr.ANY, PORT_ANY));
        Socket us = socket();
        us.proto().pru_bind(us, new Sockaddr.In(US, PORT_US));
        Socket conn = socket();
        conn.proto().pru_bind(conn, new Sockaddr.In(US, PORT_CONN));
        conn.proto().pru_connect(conn, new Sockaddr.In(PEER, PORT_PEER));
    }

    private Socket socket() throws ErrnoException {
        Socket so = vnet.domains().socreate(AF_INET, SOCK_DGRAM, 0, Ucred.KERNEL);
        sockets.add(so);
        return so;
    }

    boolean hasUdp() {
        return !sockets.isEmpty();
    }

    private static byte[] multicastMacBytes(InAddr group) {
        long bits = Ip.multicastMac(group).bits();
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (bits >>> (40 - 8 * i));
        }
        return b;
    }

    /** Where {@link #inject} hands a packet. */
    enum Layer { ETHER, IP, ARP }

    /**
     * Hands {@code pkt} to {@code layer} as received on {@code fz0} with the given mbuf flags
     * ({@link Mbuf#M_BCAST}/{@link Mbuf#M_MCAST}) and checks that its fate was counted. Any exception
     * from the stack propagates: that is a finding.
     */
    void inject(Layer layer, byte[] pkt, int mflags) {
        Map<String, Long> before = snapshot();
        long sentBefore = sent.get();
        int heldBefore = inet.reass().fragsHeld();
        Mbuf m = Mbuf.devget(pkt, 0, pkt.length, Mbuf.M_NOWAIT);
        assertThat(m).as("mbuf for a %d-byte packet", pkt.length).isNotNull();
        m.setFlags(m.flags() | mflags);
        m.setRcvifIndex(ifp.index());
        int et = org.smpnet.kern.Epoch.NET.enter(); // as netisr calls its handlers
        try {
            switch (layer) {
                case ETHER -> ifp.input(m);
                case IP -> inet.ip().netisrInput(m);
                case ARP -> inet.arp().netisrInput(m);
            }
        } finally {
            org.smpnet.kern.Epoch.NET.exit(et);
        }
        if (sent.get() != sentBefore || inet.reass().fragsHeld() > heldBefore || arpLearned(layer, pkt)) {
            return; // it took effect: an answer went out, reassembly holds it, or ARP learnt its sender
        }
        if (SKIP_KNOWN && knownUncounted(layer, pkt)) {
            return;
        }
        Map<String, Long> after = snapshot();
        List<String> raised = new ArrayList<>();
        List<String> passing = new ArrayList<>();
        after.forEach((k, v) -> {
            if (v > before.getOrDefault(k, 0L)) {
                (PASSING.contains(k) ? passing : raised).add(k);
            }
        });
        assertThat(raised)
                .as("%s input of %s left no trace but %s (every packet must be delivered or counted)",
                        layer, hex(pkt), passing)
                .isNotEmpty();
    }

    /**
     * The uncounted drops already reported (see {@link InetInputAccountingFindingsTest}): an ICMP
     * message of an unassigned type (above {@link Icmp#MAXTYPE}, or one without a histogram line), an
     * ARP reply from 0.0.0.0. Skipped only with
     * {@code -Dsmpnet.fuzz.skipKnown=true}, so a long fuzzing run can look past them.
     */
    private static boolean knownUncounted(Layer layer, byte[] pkt) {
        int off = 0;
        if (layer == Layer.ETHER) {
            if (pkt.length < 14) {
                return false;
            }
            int type = ((pkt[12] & 0xff) << 8) | (pkt[13] & 0xff);
            layer = type == 0x0800 ? Layer.IP : type == 0x0806 ? Layer.ARP : Layer.ETHER;
            off = 14;
        }
        if (layer == Layer.IP && pkt.length > off + 20) {
            int hlen = (pkt[off] & 0xf) * 4;
            return pkt[off + 9] == IpProtocols.IPPROTO_ICMP && pkt.length > off + hlen
                    && !namedIcmpType(pkt[off + hlen] & 0xff);
        }
        if (layer == Layer.ARP && pkt.length >= off + ArpView.LEN) {
            ArpView v = new ArpView(pkt, off);
            return v.op() == ArpRepr.ARPOP_REPLY && v.spa().isAny();
        }
        return false;
    }

    private static boolean namedIcmpType(int type) {
        return type <= Icmp.MAXTYPE && IcmpStats.TYPE_NAMES[type] != null;
    }

    /** An ARP packet (or frame) whose sender the table now maps to its hardware address. */
    private boolean arpLearned(Layer layer, byte[] pkt) {
        int off = layer == Layer.ETHER ? 14 : layer == Layer.ARP ? 0 : -1;
        if (off < 0 || pkt.length < off + ArpView.LEN) {
            return false;
        }
        ArpView v = new ArpView(pkt, off);
        var e = inet.arp().lookup(ifp, v.spa());
        return e != null && v.sha().equals(e.mac());
    }

    /** Every counter of the stack's sysctl tree, the Ethernet layer's and {@code fz0}'s. */
    Map<String, Long> snapshot() {
        Map<String, Long> s = new TreeMap<>();
        for (Sysctl.CounterOid c : counters) {
            s.put(c.name(), c.counter().get());
        }
        var eth = vnet.ether();
        s.put("ether.runts", eth.runts.get());
        s.put("ether.noproto", eth.noproto.get());
        s.put("ether.notforus", eth.notForUs.get());
        s.put("ether.promiscdrops", eth.promiscDrops.get());
        s.put("ether.nomem", eth.nomem.get());
        for (IfCounter c : IfCounter.values()) {
            s.put("if." + c.sysctlName(), ifp.get(c));
        }
        return s;
    }

    /** Closes the sockets and the stack, then checks that every mbuf the run took came back. */
    @Override
    public void close() {
        for (Socket so : sockets) {
            so.soclose();
        }
        vnet.close();
        assertThat(mbufsInUse()).as("mbufs in use after the stack closed (a leak)").isEqualTo(mbufsBefore);
    }

    /**
     * Mbufs and clusters in use in the system zones, a packet-zone pair (in use or cached) counted
     * once: cached pairs keep their mbuf and cluster "in use" in the primary zones.
     */
    static long mbufsInUse() {
        MbufZones z = MbufZones.system();
        long n = 0;
        for (UmaZone<?> zone : z.zones()) {
            n += zone.inUse();
        }
        return n - 2 * z.packetZone().kegSize();
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(2 * b.length);
        for (byte x : b) {
            s.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
        }
        return s.toString();
    }
}
