package org.smpnet.netinet;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One hash table of PCB entries ({@code ipi_hash_exact}, {@code ipi_hash_wild}, {@code ipi_porthashbase}).
 * Each bucket is an immutable array replaced whole by the writer, so readers walk a bucket with no lock
 * and never see it half-changed (the role {@code CK_LIST} plays in FreeBSD).
 *
 * <p>Locking: {@link #insert} and {@link #remove} run under the owning {@link InPcbInfo}'s lock (one
 * writer at a time); {@link #bucket} needs no lock. The bucket store is volatile: an entry inserted
 * happens-before any reader that sees it.
 */
final class InPcbHash {
    private static final InPcbEntry[] EMPTY = new InPcbEntry[0];

    private final AtomicReferenceArray<InPcbEntry[]> buckets;
    private final int mask;

    /** A table of {@code size} buckets, rounded up to a power of two. */
    InPcbHash(int size) {
        int n = Integer.highestOneBit(Math.max(1, size - 1)) << 1;
        this.buckets = new AtomicReferenceArray<>(n);
        for (int i = 0; i < n; i++) {
            buckets.set(i, EMPTY);
        }
        this.mask = n - 1;
    }

    /** The bucket of a hash value: read once, then immutable. */
    InPcbEntry[] bucket(int hash) {
        return buckets.get(hash & mask);
    }

    void insert(int hash, InPcbEntry e) {
        int i = hash & mask;
        InPcbEntry[] old = buckets.get(i);
        InPcbEntry[] n = Arrays.copyOf(old, old.length + 1);
        n[old.length] = e;
        buckets.set(i, n);
    }

    /** Removes {@code e} (by identity); false if it was not there. */
    boolean remove(int hash, InPcbEntry e) {
        int i = hash & mask;
        InPcbEntry[] old = buckets.get(i);
        for (int k = 0; k < old.length; k++) {
            if (old[k] == e) {
                InPcbEntry[] n = new InPcbEntry[old.length - 1];
                System.arraycopy(old, 0, n, 0, k);
                System.arraycopy(old, k + 1, n, k, old.length - k - 1);
                buckets.set(i, n.length == 0 ? EMPTY : n);
                return true;
            }
        }
        return false;
    }

    static int exactHash(int faddr, int fport, int laddr, int lport) {
        return mix(faddr ^ laddr ^ (fport << 16 | lport));
    }

    static int portHash(int lport) {
        return mix(lport);
    }

    private static int mix(int h) {
        h *= 0x9E3779B1;
        return h ^ (h >>> 15);
    }
}
