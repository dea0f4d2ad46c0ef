package org.smpnet.socket;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.Sockaddr;

/**
 * The protocol families of one Vnet ({@code domains} list plus {@code socreate}'s lookup), owned by
 * the Vnet ({@code vnet.domains()}). The UNIX domain is registered at construction; a protocol
 * module registers its own, e.g. netinet's UDP:
 *
 * <pre>{@code
 * vnet.domains().register(Sockaddr.AF_INET, "internet", udpProtosw);
 * Socket so = vnet.domains().socreate(AF_INET, SOCK_DGRAM, 0, cred);   // finds it
 * }</pre>
 *
 * <p>Locking: the family map is concurrent and each {@link Domain}'s list is copy-on-write, so
 * lookups take no lock; registration publishes the protocol to later lookups. Counters are per-CPU.
 */
public final class Domains {
    private final String vnetName;
    private final Map<Integer, Domain> byFamily = new ConcurrentHashMap<>();
    private final Unp unp;

    /** Sockets created / freed in this Vnet. */
    final Counter created = new Counter();
    final Counter freed = new Counter();
    /** Data bytes and records discarded from socket buffers (flush at close or shutdown(SHUT_RD)). */
    final Counter sbDropBytes = new Counter();
    final Counter sbDropRecords = new Counter();
    /** Lingering closes that ran out of time / that did not linger because the socket was non-blocking. */
    final Counter lingerTimeouts = new Counter();
    /** Busy polls by waiting datagram readers that delivered packets ({@code kern.ipc.busy_polls}). */
    final Counter busyPolls = new Counter();
    final Counter lingerNbio = new Counter();

    /** A registry with the UNIX domain and no sysctl nodes (tests). */
    public Domains(String vnetName) {
        this(vnetName, null);
    }

    /** A registry with the UNIX domain; counters go under {@code kern.ipc} of {@code sysctl} when not null. */
    public Domains(String vnetName, Sysctl sysctl) {
        this.vnetName = Objects.requireNonNull(vnetName, "vnetName");
        this.unp = new Unp(this);
        register(unp.domain());
        if (sysctl != null) {
            sysctl.addProc("kern.ipc.numopensockets", "Number of open sockets", this::openSockets);
            unp.registerSysctl(sysctl);
            sysctl.addCounter("kern.ipc.sbdrop_bytes", "Bytes discarded from socket buffers", sbDropBytes);
            sysctl.addCounter("kern.ipc.sbdrop_records", "Records discarded from socket buffers", sbDropRecords);
            sysctl.addCounter("kern.ipc.linger_timeouts", "Closes whose SO_LINGER time ran out", lingerTimeouts);
            sysctl.addCounter("kern.ipc.busy_polls", "Busy polls of a driver queue by waiting readers that delivered packets", busyPolls);
            sysctl.addCounter("kern.ipc.linger_nbio", "SO_LINGER closes of non-blocking sockets that did not wait", lingerNbio);
        }
    }

    /** The UNIX domain of this Vnet. */
    Unp unp() {
        return unp;
    }

    /** Files in flight in SCM_RIGHTS messages sent in this Vnet ({@code net.local.inflight}). */
    public long unpInflight() {
        return unp.inflight.get();
    }

    /** Runs of the UNIX-domain garbage collector / sockets it reclaimed ({@code net.local.taskcount}, {@code net.local.recycled}). */
    public long unpGcRuns() {
        return unp.gcRuns.get();
    }

    public long unpGcRecycled() {
        return unp.gcRecycled.get();
    }

    /** Waits until no garbage collection of this Vnet's UNIX sockets is queued or running. May sleep. */
    public void unpGcDrain() {
        unp.gcDrain();
    }

    public String vnetName() {
        return vnetName;
    }

    /**
     * Adds a family ({@code domain_add}).
     *
     * @throws IllegalStateException if the family is already there
     */
    public void register(Domain d) {
        if (byFamily.putIfAbsent(d.family(), d) != null) {
            throw new IllegalStateException("address family " + d.family() + " already registered in " + vnetName);
        }
    }

    /**
     * Registers a protocol into family {@code family}, creating the family (named {@code domainName})
     * the first time. This is how netinet makes {@code socket(AF_INET, SOCK_DGRAM, 0)} find UDP.
     */
    public void register(int family, String domainName, Protosw pr) {
        byFamily.computeIfAbsent(family, f -> new Domain(f, domainName)).add(pr);
    }

    /** The family, or null ({@code pffinddomain}). */
    public Domain domain(int family) {
        return byFamily.get(family);
    }

    /** The registered families (a snapshot). */
    public List<Domain> list() {
        return List.copyOf(byFamily.values());
    }

    /**
     * Creates a socket ({@code socreate}): finds the protocol and calls its {@code pru_attach}.
     * Takes no lock held by the caller; may sleep only as far as the protocol's attach does.
     *
     * @throws ErrnoException EAFNOSUPPORT (unknown family), EPROTOTYPE (type not in the family),
     *     EPROTONOSUPPORT (no such protocol for the type), or the protocol's attach error
     */
    public Socket socreate(int family, int type, int protocol, Ucred cred) throws ErrnoException {
        Domain d = byFamily.get(family);
        if (d == null) {
            throw new ErrnoException(Errno.EAFNOSUPPORT, "family " + family + " in " + vnetName);
        }
        Protosw pr = d.find(type, protocol);
        if (pr == null) {
            throw new ErrnoException(d.hasType(type) ? Errno.EPROTONOSUPPORT : Errno.EPROTOTYPE,
                    d.name() + " " + SocketConst.typeName(type) + " protocol " + protocol);
        }
        Socket so = new Socket(this, d, pr, cred == null ? Ucred.KERNEL : cred, null);
        boolean giant = SoGiant.pickup();
        try {
            pr.pru_attach(so, protocol);
        } catch (ErrnoException | RuntimeException e) {
            so.sofreeUnattached();
            throw e;
        } finally {
            SoGiant.drop(giant);
        }
        return so;
    }

    /** Sockets created and not yet freed. */
    public long openSockets() {
        return created.get() - freed.get();
    }

    /** Bytes of data discarded from socket buffers at close or {@code shutdown(SHUT_RD)}. */
    public long droppedBytes() {
        return sbDropBytes.get();
    }

    /** Records (datagrams, messages) discarded from socket buffers at close or {@code shutdown(SHUT_RD)}. */
    public long droppedRecords() {
        return sbDropRecords.get();
    }

    /** Closes whose SO_LINGER time ran out before the peer took the data. */
    public long lingerTimeouts() {
        return lingerTimeouts.get();
    }

    /** SO_LINGER closes of non-blocking sockets, which do not wait. */
    public long lingerNbio() {
        return lingerNbio.get();
    }

    /** Address family of a socket address, or -1 for null (helper for protocols checking arguments). */
    static int familyOf(Sockaddr sa) {
        return sa == null ? -1 : sa.family();
    }

    @Override
    public String toString() {
        return "Domains[" + vnetName + " " + byFamily.keySet() + "]";
    }
}
