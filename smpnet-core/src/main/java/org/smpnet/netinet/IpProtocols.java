package org.smpnet.netinet;

import java.util.concurrent.atomic.AtomicReferenceArray;
import org.smpnet.net.Mbuf;

/**
 * The IP protocol switch of one stack ({@code inetsw}/{@code ip_protox}): per protocol number an input
 * routine and a control-input routine for ICMP errors, plus the raw-IP catch-all.
 *
 * <p>Locking: entries are an atomic array read lock-free on every packet; registration publishes the
 * handlers (a registration happens-before every input it is chosen for). No lock is held while a
 * handler runs. Handlers run in the netisr context (or under Giant when {@code net.mpsafenet=0}) and
 * must not sleep.
 */
public final class IpProtocols {
    public static final int IPPROTO_IP = 0;
    public static final int IPPROTO_ICMP = 1;
    public static final int IPPROTO_IGMP = 2;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    public static final int IPPROTO_RAW = 255;
    public static final int IPPROTO_MAX = 256;

    /** {@code pr_input}: a datagram for this host. */
    @FunctionalInterface
    public interface Input {
        /**
         * Handles {@code m}: it starts with the IP header (as on the wire; a reassembled datagram has
         * offset 0, no MF and its full total length), the first {@code hlen} bytes are contiguous
         * ({@link Mbuf#pullup}), {@link Mbuf#pktLen} equals the IP total length, {@link Mbuf#rcvifIndex}
         * is the receiving interface (lo0 for this host's own packets) and {@link Mbuf#M_BCAST}/
         * {@link Mbuf#M_MCAST} mark link-level broadcast/multicast. Consumes {@code m}.
         */
        void input(Mbuf m, int hlen);
    }

    /** {@code pr_ctlinput}: an ICMP error quoting a datagram of this protocol that this host sent. */
    @FunctionalInterface
    public interface CtlInput {
        void ctlinput(IcmpCtl ctl);
    }

    /** Raw IP ({@code rip_input}): sees datagrams of protocols without a handler, and copies of ICMP/IGMP. */
    @FunctionalInterface
    public interface RawInput {
        /**
         * Offers {@code m} (as for {@link Input#input}) to raw sockets. Borrows it: copy what is kept.
         *
         * @return true if at least one socket matched, even if its buffer was full and its copy dropped
         *     (as FreeBSD's {@code rip_input}: no protocol-unreachable for a protocol a socket listens to)
         */
        boolean input(Mbuf m, int hlen);
    }

    record Entry(Input input, CtlInput ctl) {}

    private final AtomicReferenceArray<Entry> table = new AtomicReferenceArray<>(IPPROTO_MAX);
    private volatile RawInput raw;

    /**
     * Registers the handlers of protocol {@code proto} (1..254); {@code ctl} may be null (errors are
     * then counted in {@code icmp.stats.noctl} and dropped).
     *
     * @throws IllegalStateException if {@code proto} already has a handler
     */
    public void register(int proto, Input input, CtlInput ctl) {
        if (proto <= 0 || proto >= IPPROTO_RAW) {
            throw new IllegalArgumentException("IP protocol number " + proto + " not in 1..254");
        }
        if (input == null) {
            throw new IllegalArgumentException("IP protocol " + proto + " needs an input routine");
        }
        if (!table.compareAndSet(proto, null, new Entry(input, ctl))) {
            throw new IllegalStateException("IP protocol " + proto + " already has a handler");
        }
    }

    /** Removes protocol {@code proto}'s handlers; datagrams in flight may still reach them. */
    public void unregister(int proto) {
        if (proto <= 0 || proto >= IPPROTO_RAW) {
            throw new IllegalArgumentException("IP protocol number " + proto + " not in 1..254");
        }
        table.set(proto, null);
    }

    /** Installs (non-null) or removes (null) the raw-IP input routine. */
    public void setRawInput(RawInput r) {
        raw = r;
    }

    public boolean registered(int proto) {
        return proto > 0 && proto < IPPROTO_MAX && table.get(proto) != null;
    }

    Input input(int proto) {
        Entry e = table.get(proto);
        return e == null ? null : e.input;
    }

    CtlInput ctlInput(int proto) {
        Entry e = table.get(proto);
        return e == null ? null : e.ctl;
    }

    RawInput raw() {
        return raw;
    }
}
