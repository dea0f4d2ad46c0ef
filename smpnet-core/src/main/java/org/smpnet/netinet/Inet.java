package org.smpnet.netinet;

import org.smpnet.kern.CalloutWheels;
import org.smpnet.kern.Clock;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.Ether;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.IfQueue;
import org.smpnet.net.IfType;
import org.smpnet.net.Ifaddr;
import org.smpnet.net.IfaddrListener;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InIfaddr;
import org.smpnet.net.NetAddrs;
import org.smpnet.net.Rtable;
import org.smpnet.net.IfnetList;
import org.smpnet.net.Loop;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Netisr;

/**
 * The IPv4 layer of one stack instance ({@code VNET(inet)}): the protocol switch, IP input/output,
 * ICMP, ARP and reassembly, with their sysctl nodes in the stack's tree. Registers IP (0x0800) and
 * ARP (0x0806) with {@link Ether} and the netisr, and ICMP in its own protocol switch.
 *
 * <p>Locking: the parts are thread-safe on their own; {@link #routing} is a volatile reference
 * replaced whole. Timers (ARP, reassembly) run on {@link #callouts}, driven by the stack's clock (a
 * {@link org.smpnet.kern.ManualClock} in tests).
 */
public final class Inet implements AutoCloseable {
    private final Sysctl sysctl;
    private final IfnetList ifnets;
    private final Ether ether;
    private final Netisr netisr;
    private final Loop loop;
    private final Clock clock;
    private final CalloutWheels callouts;
    private final boolean ownCallouts;
    private final IpProtocols protocols = new IpProtocols();
    private final Ip ip;
    private final Icmp icmp;
    private final IpOptions options;
    private final IpForward forward;
    private final IpReass reass;
    private final Arp arp;
    private final IfQueue simloop;
    private final NetAddrs addrs;
    private final IfaddrListener announcer = new IfaddrListener() {
        @Override
        public void added(Ifaddr ifa) {
            announce(ifa);
        }
    };
    private volatile InRouting routing;

    /**
     * Builds the layer for the stack {@code name} and registers its input routines.
     *
     * @param clock the stack's clock; the system clock shares {@link CalloutWheels#system()}, any
     *     other clock gets its own wheel set
     */
    public Inet(String name, Sysctl sysctl, IfnetList ifnets, Ether ether, Netisr netisr, Loop loop, Rtable rtable, Clock clock) {
        this.sysctl = sysctl;
        this.ifnets = ifnets;
        this.ether = ether;
        this.netisr = netisr;
        this.loop = loop;
        this.clock = clock;
        this.ownCallouts = clock != Clock.system();
        this.callouts = ownCallouts ? new CalloutWheels(name + " inet", clock) : CalloutWheels.system();
        this.routing = new RtableRouting(rtable);
        this.addrs = rtable.addrs();
        this.ip = new Ip(this, sysctl);
        this.icmp = new Icmp(this, sysctl);
        this.options = new IpOptions(this);
        this.forward = new IpForward(this);
        this.reass = new IpReass(this, sysctl);
        this.arp = new Arp(this, sysctl);
        this.simloop = new IfQueue(name + " ip simloop", 4096, Ip.class, ip::simloopInput);
        protocols.register(IpProtocols.IPPROTO_ICMP, icmp::input, null);
        netisr.register(Netisr.IP, "ip", ip::netisrInput, Netisr.Policy.HYBRID, 4096, Ip.class);
        netisr.register(Netisr.ARP, "arp", arp::netisrInput, Netisr.Policy.HYBRID, 1024, Arp.class);
        ether.register(EtherRepr.ETHERTYPE_IP, toNetisr(netisr, Netisr.IP));
        ether.register(EtherRepr.ETHERTYPE_ARP, toNetisr(netisr, Netisr.ARP));
        ifnets.addListener(arp);
        addrs.addListener(announcer);
    }

    /** The Ethernet handler of a netisr protocol: a frame or a run of frames goes to netisr as it came. */
    private static Ether.Handler toNetisr(Netisr netisr, int proto) {
        return new Ether.Handler() {
            @Override
            public void input(Ifnet ifp, Mbuf m) {
                netisr.dispatch(proto, m);
            }

            @Override
            public void inputList(Ifnet ifp, Mbuf first) {
                netisr.dispatchList(proto, first);
            }
        };
    }

    /** Gratuitous ARP for a new IPv4 address on an Ethernet interface that is up. */
    private void announce(Ifaddr ifa) {
        Ifnet ifp = ifa.ifp();
        if (ifa instanceof InIfaddr ia && (ifp.type() == IfType.ETHER || ifp.type() == IfType.L2VLAN) && ifp.isUp()) {
            arp.announce(ifp, ia.inAddr());
        }
    }

    /** The protocol switch: UDP, TCP, IGMP and raw IP register here. */
    public IpProtocols protocols() {
        return protocols;
    }

    public Ip ip() {
        return ip;
    }

    public Icmp icmp() {
        return icmp;
    }

    public Arp arp() {
        return arp;
    }

    public IpReass reass() {
        return reass;
    }

    public Clock clock() {
        return clock;
    }

    public Sysctl sysctl() {
        return sysctl;
    }

    /** {@code netstat -s} for ip, icmp and arp ({@code skipZero}: leave out zero counters, as netstat does). */
    public String netstat(boolean skipZero) {
        return ip.stats.table.render(skipZero) + icmp.stats.render(skipZero) + arp.stats.table.render(skipZero);
    }

    CalloutWheels callouts() {
        return callouts;
    }

    IfnetList ifnets() {
        return ifnets;
    }

    Ether ether() {
        return ether;
    }

    Loop loop() {
        return loop;
    }

    IpOptions options() {
        return options;
    }

    IpForward forward() {
        return forward;
    }

    InRouting routing() {
        return routing;
    }

    void setRouting(InRouting r) {
        routing = r;
    }

    /** Queues a looped-back copy of our own broadcast or multicast for input ({@code if_simloop}). */
    void simloop(Mbuf m) {
        simloop.enqueue(m);
    }

    long nanoTime() {
        return clock.nanoTime();
    }

    /** Stops timers and the loopback queue; the stack's interfaces are gone or going. May sleep. */
    @Override
    public void close() {
        ifnets.removeListener(arp);
        addrs.removeListener(announcer);
        arp.close();
        reass.close();
        simloop.close();
        if (ownCallouts) {
            callouts.close();
        }
    }

}
