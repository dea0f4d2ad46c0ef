package org.smpnet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.smpnet.kern.Clock;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.Epair;
import org.smpnet.net.Ether;
import org.smpnet.net.IfClones;
import org.smpnet.net.IfnetExistsException;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetList;
import org.smpnet.net.Loop;
import org.smpnet.net.Netisr;
import org.smpnet.net.PipeConfig;
import org.smpnet.net.NetAddrs;
import org.smpnet.net.Rtable;
import org.smpnet.net.Sockaddr;
import org.smpnet.net.Vlans;
import org.smpnet.netinet.Inet;
import org.smpnet.netinet.IpSockets;
import org.smpnet.socket.Domains;
import org.smpnet.socket.RouteSock;

/**
 * One stack instance (FreeBSD VIMAGE): its own interfaces, netisr, sysctl tree and, in later layers,
 * routes and PCBs. Many live in one JVM; tests and the demo join them with {@link #epair}.
 *
 * <p>Locking key: {@code epairs} and {@code closed} are guarded by {@link #lock} ("vnet"); the parts are
 * thread-safe on their own.
 */
public final class Vnet implements AutoCloseable {
    private static final AtomicInteger EPAIR_UNITS = new AtomicInteger();

    private final String name;
    private final Sysctl sysctl = new Sysctl();
    private final IfnetList ifnets;
    private final Ether ether = new Ether();
    private final Netisr netisr;
    private final Loop lo0;
    private final Vlans vlans;
    private final IfClones clones;
    private final Rtable rtable;
    private final Inet inet;
    private final IpSockets ipSockets;
    private final Mtx lock;
    @GuardedBy("lock") private final List<Epair> epairs = new ArrayList<>();
    @GuardedBy("lock") private boolean closed;
    private final Domains domains;

    /** A stack instance with one netisr thread per CPU (at most 4) and {@code lo0}. */
    public Vnet(String name) {
        this(name, Math.min(4, Runtime.getRuntime().availableProcessors()));
    }

    public Vnet(String name, int netisrThreads) {
        this(name, netisrThreads, Clock.system());
    }

    /** A stack instance whose timers (ARP, reassembly...) run on {@code clock}: a ManualClock in tests. */
    public Vnet(String name, int netisrThreads, Clock clock) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a vnet needs a name");
        }
        this.name = name;
        this.lock = new Mtx("vnet " + name, "vnet");
        this.ifnets = new IfnetList(name);
        this.netisr = new Netisr(name, netisrThreads, sysctl);
        this.lo0 = Loop.create("lo0", ifnets, netisr);
        this.vlans = new Vlans(name, ifnets, ether);
        this.clones = new IfClones(name, ifnets);
        clones.register(Epair.cloner(ifnets, ether));
        clones.register(Loop.cloner(ifnets, netisr));
        clones.register(vlans.cloner());
        this.domains = new Domains(name, sysctl);
        this.rtable = new Rtable(name, sysctl, ifnets, netisr, lo0.ifnet());
        rtable.addrs().addLoopback(lo0.ifnet());
        this.inet = new Inet(name, sysctl, ifnets, ether, netisr, lo0, rtable, clock);
        this.ipSockets = new IpSockets(inet, rtable, ifnets, domains, sysctl);
        domains.register(Sockaddr.AF_ROUTE, "route", new RouteSock(rtable.rtsock(), sysctl));
    }

    public String name() {
        return name;
    }

    /** This stack's sysctl tree (net.*); JVM-wide nodes are in {@link Sysctl#kernel()}. */
    public Sysctl sysctl() {
        return sysctl;
    }

    public IfnetList ifnets() {
        return ifnets;
    }

    public Ether ether() {
        return ether;
    }

    public Netisr netisr() {
        return netisr;
    }

    public Ifnet loopback() {
        return lo0.ifnet();
    }

    /** The IPv4 layer: protocol switch, IP output, ICMP, ARP. */
    public Inet inet() {
        return inet;
    }

    /** PCBs, UDP, raw IP, IP socket options and IGMP of this stack. */
    public IpSockets ipSockets() {
        return ipSockets;
    }

    public Vlans vlans() {
        return vlans;
    }

    /** The interface cloners ({@code epair}, {@code vlan}, {@code lo}). */
    public IfClones clones() {
        return clones;
    }

    /** The routing table (R-RT-1); lookups run in the net epoch. */
    public Rtable rtable() {
        return rtable;
    }

    /** The interface addresses ({@code ifconfig inet}); same as {@code rtable().addrs()}. */
    public NetAddrs addrs() {
        return rtable.addrs();
    }

    /**
     * Creates interfaces by name ({@code ifconfig NAME create}): {@code epair} or {@code epair4},
     * {@code lo1}, {@code vlan5} with {@code tag} and {@code parent}. May sleep; hold no lock.
     *
     * @return the names created ({@code [epair0a, epair0b]})
     * @see IfClones#create
     */
    public List<String> ifCreate(String ifname, Map<String, String> params) {
        return clones.create(ifname, params);
    }

    public List<String> ifCreate(String ifname) {
        return clones.create(ifname, Map.of());
    }

    /** Destroys a cloned interface by name ({@code ifconfig NAME destroy}). May sleep; hold no lock. */
    public void ifDestroy(String ifname) {
        clones.destroy(ifname);
    }

    /** Joins this stack to {@code other} with a perfect epair ({@code epairNa} here, {@code epairNb} there). */
    public Epair epair(Vnet other) {
        return epair(other, PipeConfig.NONE, PipeConfig.NONE);
    }

    /** Joins this stack to {@code other} with an epair impaired per direction. */
    public Epair epair(Vnet other, PipeConfig toOther, PipeConfig fromOther) {
        Epair e;
        for (int attempt = 0; ; attempt++) {
            try {
                e = Epair.create(EPAIR_UNITS.getAndIncrement(), ifnets, ether, other.ifnets, other.ether, toOther, fromOther);
                break;
            } catch (IfnetExistsException taken) { // the unit was cloned by name in one of the stacks
                if (attempt >= 64) {
                    throw taken;
                }
            }
        }
        lock.lock();
        try {
            epairs.add(e);
        } finally {
            lock.unlock();
        }
        return e;
    }

    /** Detaches every interface and stops the threads. May sleep; idempotent. */
    @Override
    public void close() {
        List<Epair> es;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            es = List.copyOf(epairs);
            epairs.clear();
        } finally {
            lock.unlock();
        }
        clones.close();
        es.forEach(Epair::destroy);
        for (Ifnet ifp : ifnets.snapshot()) {
            try {
                ifnets.detach(ifp);
            } catch (IllegalStateException alreadyGone) {
                // detached concurrently by its owner: nothing left to do
            }
        }
        inet.close();
        netisr.close();
    }

    /** The protocol families of this Vnet: where protocols register and {@code socreate} looks. */
    public Domains domains() {
        return domains;
    }

    @Override
    public String toString() {
        return "Vnet[" + name + "]";
    }
}
