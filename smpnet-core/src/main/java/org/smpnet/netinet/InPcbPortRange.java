package org.smpnet.netinet;

import java.util.concurrent.ThreadLocalRandom;
import org.smpnet.kern.Sysctl;

/**
 * The ephemeral port range of one stack ({@code net.inet.ip.portrange.first/last}), shared by every
 * PCB table of the stack, and the random starting point of a port search ({@code in_pcb_lport}).
 *
 * <p>Locking: none; the two nodes are atomics and may change while a search runs (the search reads
 * them once).
 */
public final class InPcbPortRange {
    /** FreeBSD's {@code IPPORT_EPHEMERALFIRST} and {@code IPPORT_EPHEMERALLAST}. */
    public static final int DEFAULT_FIRST = 10000;
    public static final int DEFAULT_LAST = 65535;

    private final Sysctl.IntOid first;
    private final Sysctl.IntOid last;

    /** Registers {@code net.inet.ip.portrange.first} and {@code .last} in {@code tree}. */
    public InPcbPortRange(Sysctl tree) {
        this.first = tree.addInt("net.inet.ip.portrange.first", "First port of the ephemeral range",
                DEFAULT_FIRST, 1, 65535, true);
        this.last = tree.addInt("net.inet.ip.portrange.last", "Last port of the ephemeral range",
                DEFAULT_LAST, 1, 65535, true);
    }

    public int first() {
        return first.get();
    }

    public int last() {
        return last.get();
    }

    /** Sets both ends (tests); {@code first > last} is allowed and searches downward as FreeBSD does. */
    public void set(int lo, int hi) {
        first.set(lo);
        last.set(hi);
    }

    /**
     * Offers the candidate ports of one search, starting at a random point of the range and wrapping,
     * each port once. Returns the first port {@code free} accepts, or 0 when the range is exhausted.
     */
    int search(java.util.function.IntPredicate free) {
        int a = first.get();
        int b = last.get();
        int lo = Math.min(a, b);
        int count = Math.abs(b - a) + 1;
        int start = ThreadLocalRandom.current().nextInt(count);
        for (int i = 0; i < count; i++) {
            int port = lo + (start + i) % count;
            if (free.test(port)) {
                return port;
            }
        }
        return 0;
    }
}
