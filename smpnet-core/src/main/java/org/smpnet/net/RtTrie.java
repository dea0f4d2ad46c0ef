package org.smpnet.net;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A path-compressed binary trie over left-aligned 128-bit keys (IPv4 uses the top 32 bits), giving
 * longest-prefix match: the lookup structure behind {@link Rtable} (FreeBSD's {@code radix.c} does the same
 * job with a Patricia tree; this one is built for lock-free readers).
 *
 * <p>Each node is a prefix ({@code key/len}); a child's prefix extends its parent's, and sits in the
 * parent's child slot named by the child's bit at position {@code parent.len}. A node carries a value (a
 * route) or is a glue node with exactly two children; the root ({@code /0}) is never removed.
 *
 * <p>Locking key: every method except {@link #match}, {@link #get} and {@link #forEach} is a writer and
 * the caller must hold the owner's writer lock ({@link Rtable}'s "rib"). Readers take no lock and must be in
 * the net epoch (or hold the writer lock). A writer changes the structure only by a single volatile store
 * of a fully built node, or of a value, into a node reachable from the root; unlinked nodes keep their
 * child pointers, so a reader standing on one still walks into a valid subtree. A reader therefore sees,
 * at every step, a structure some writer published, and never a half-built node.
 */
final class RtTrie<V> {
    static final class Node<V> {
        final long hi;
        final long lo;
        final int len;
        final long mhi;
        final long mlo;
        volatile V value;
        volatile Node<V> left;
        volatile Node<V> right;

        Node(long hi, long lo, int len, V value) {
            this.mhi = Prefix.maskHi(len);
            this.mlo = Prefix.maskLo(len);
            this.hi = hi & mhi;
            this.lo = lo & mlo;
            this.len = len;
            this.value = value;
        }

        boolean covers(long khi, long klo) {
            return ((khi ^ hi) & mhi) == 0 && ((klo ^ lo) & mlo) == 0;
        }

        Node<V> child(int bit) {
            return bit == 0 ? left : right;
        }

        void setChild(int bit, Node<V> n) {
            if (bit == 0) {
                left = n;
            } else {
                right = n;
            }
        }
    }

    private final int maxLen;
    private final Node<V> root = new Node<>(0, 0, 0, null);
    private final AtomicInteger size = new AtomicInteger();

    /** @param maxLen 32 for IPv4 keys, 128 for IPv6 */
    RtTrie(int maxLen) {
        this.maxLen = maxLen;
    }

    static int bit(long hi, long lo, int i) {
        return (int) (i < 64 ? (hi >>> (63 - i)) & 1 : (lo >>> (127 - i)) & 1);
    }

    /** Length of the common prefix of two keys, at most {@code limit}. */
    static int common(long ahi, long alo, long bhi, long blo, int limit) {
        long x = ahi ^ bhi;
        int n = x != 0 ? Long.numberOfLeadingZeros(x) : 64 + Long.numberOfLeadingZeros(alo ^ blo);
        return Math.min(n, limit);
    }

    /** The number of values. Lock-free. */
    int size() {
        return size.get();
    }

    /** The value of the longest prefix covering the key, or null. Lock-free; in the net epoch. */
    V match(long hi, long lo) {
        Node<V> n = root;
        V best = null;
        while (n != null && n.covers(hi, lo)) {
            V v = n.value;
            if (v != null) {
                best = v;
            }
            if (n.len >= maxLen) {
                break;
            }
            n = n.child(bit(hi, lo, n.len));
        }
        return best;
    }

    /** The value stored for exactly {@code key/len}, or null. Lock-free; in the net epoch. */
    V get(long hi, long lo, int len) {
        Node<V> n = find(hi, lo, len);
        return n != null ? n.value : null;
    }

    /**
     * Stores {@code v} for {@code key/len} unless a value is there already. Writer lock held.
     *
     * @return the value already there (nothing changed), or null if {@code v} was stored
     */
    V putIfAbsent(long hi, long lo, int len, V v) {
        Node<V> parent = null;
        Node<V> n = root;
        while (true) {
            if (n.len == len) { // n covers the key to len bits: exact
                V old = n.value;
                if (old == null) {
                    n.value = v;
                    size.incrementAndGet();
                }
                return old;
            }
            parent = n;
            int b = bit(hi, lo, n.len);
            Node<V> c = n.child(b);
            if (c == null) {
                n.setChild(b, new Node<>(hi, lo, len, v));
                size.incrementAndGet();
                return null;
            }
            int cpl = common(hi, lo, c.hi, c.lo, Math.min(len, c.len));
            if (cpl == c.len) {
                n = c;
                continue;
            }
            Node<V> fresh;
            if (cpl == len) { // the new prefix sits above c
                fresh = new Node<>(hi, lo, len, v);
                fresh.setChild(bit(c.hi, c.lo, len), c);
            } else { // they part at cpl: a glue node holds both
                fresh = new Node<>(hi, lo, cpl, null);
                Node<V> leaf = new Node<>(hi, lo, len, v);
                fresh.setChild(bit(c.hi, c.lo, cpl), c);
                fresh.setChild(bit(hi, lo, cpl), leaf);
            }
            parent.setChild(b, fresh); // publication: fresh is complete
            size.incrementAndGet();
            return null;
        }
    }

    /**
     * Replaces the value stored for {@code key/len}. Writer lock held.
     *
     * @return the old value, or null if there was none (nothing stored then)
     */
    V replace(long hi, long lo, int len, V v) {
        Node<V> n = find(hi, lo, len);
        if (n == null || n.value == null) {
            return null;
        }
        V old = n.value;
        n.value = v;
        return old;
    }

    private Node<V> find(long hi, long lo, int len) {
        Node<V> n = root;
        while (n != null && n.len < len && n.covers(hi, lo)) {
            n = n.child(bit(hi, lo, n.len));
        }
        return n != null && n.len == len && n.covers(hi, lo) ? n : null;
    }

    /**
     * Removes the value stored for {@code key/len} and prunes the nodes that no longer carry anything.
     * Writer lock held.
     *
     * @return the removed value, or null if there was none
     */
    V remove(long hi, long lo, int len) {
        Node<V> gp = null;
        Node<V> p = null;
        Node<V> n = root;
        while (n != null && n.len < len && n.covers(hi, lo)) {
            gp = p;
            p = n;
            n = n.child(bit(hi, lo, n.len));
        }
        if (n == null || n.len != len || !n.covers(hi, lo) || n.value == null) {
            return null;
        }
        V old = n.value;
        n.value = null;
        size.decrementAndGet();
        if (p != null) {
            prune(n, p, gp);
        }
        return old;
    }

    /** Unlinks the now empty {@code n} (child of {@code p}) unless it is glue between two subtrees. */
    private void prune(Node<V> n, Node<V> p, Node<V> gp) {
        Node<V> l = n.left;
        Node<V> r = n.right;
        if (l != null && r != null) {
            return;
        }
        p.setChild(bit(n.hi, n.lo, p.len), l != null ? l : r);
        if (l == null && r == null && gp != null && p.value == null) {
            Node<V> other = p.left != null ? p.left : p.right; // p was glue: one child left, splice it out
            gp.setChild(bit(p.hi, p.lo, gp.len), other);
        }
    }

    /** Calls {@code f} for every value, in key order (shorter prefixes first at equal keys). */
    void forEach(Consumer<V> f) {
        walk(root, f);
    }

    private void walk(Node<V> n, Consumer<V> f) {
        if (n == null) {
            return;
        }
        V v = n.value;
        if (v != null) {
            f.accept(v);
        }
        walk(n.left, f);
        walk(n.right, f);
    }
}
