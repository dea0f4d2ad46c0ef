package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * R-RT-1: longest-prefix match of the routing trie against a naive model (a map of prefixes, scanned for the
 * longest that covers the address), over random adds, replaces and removes of IPv4 and IPv6 prefixes drawn
 * around a few base addresses so that prefixes nest and part at every depth.
 */
class RtTriePropertyTest {
    @Property(tries = 300)
    @Label("R-RT-1: IPv4 longest-prefix match equals a naive scan, under random adds and deletes")
    void ipv4(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int ops) {
        run(new Random(seed), ops, Sockaddr.AF_INET);
    }

    @Property(tries = 300)
    @Label("R-RT-1: IPv6 longest-prefix match equals a naive scan, under random adds and deletes")
    void ipv6(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int ops) {
        run(new Random(seed), ops, Sockaddr.AF_INET6);
    }

    private static void run(Random rnd, int ops, int family) {
        int max = Prefix.maxLen(family);
        RtTrie<Prefix> trie = new RtTrie<>(max);
        Map<Prefix, Prefix> model = new HashMap<>();
        long[][] bases = new long[3][];
        for (int i = 0; i < bases.length; i++) {
            bases[i] = randomKey(rnd, family);
        }
        for (int op = 0; op < ops; op++) {
            Prefix p = randomPrefix(rnd, family, bases);
            switch (rnd.nextInt(4)) {
                case 0, 1 -> {
                    Prefix old = trie.putIfAbsent(p.hi(), p.lo(), p.len(), p);
                    assertThat(old).isEqualTo(model.get(p));
                    model.putIfAbsent(p, p);
                }
                case 2 -> assertThat(trie.remove(p.hi(), p.lo(), p.len())).isEqualTo(model.remove(p));
                default -> {
                    Prefix any = model.keySet().stream().skip(model.isEmpty() ? 0 : rnd.nextInt(model.size())).findFirst().orElse(p);
                    assertThat(trie.remove(any.hi(), any.lo(), any.len())).isEqualTo(model.remove(any));
                }
            }
            assertThat(trie.size()).isEqualTo(model.size());
            for (int q = 0; q < 8; q++) {
                long[] k = probe(rnd, family, bases, model);
                assertThat(trie.match(k[0], k[1])).as("match after op %d", op).isEqualTo(naive(model, k, max));
            }
        }
        for (Prefix p : model.keySet()) {
            assertThat(trie.get(p.hi(), p.lo(), p.len())).isEqualTo(p);
        }
        int[] n = {0};
        trie.forEach(v -> n[0]++);
        assertThat(n[0]).isEqualTo(model.size());
    }

    private static long[] randomKey(Random rnd, int family) {
        return family == Sockaddr.AF_INET ? new long[] {(rnd.nextLong() >>> 32) << 32, 0} : new long[] {rnd.nextLong(), rnd.nextLong()};
    }

    /** A prefix near one of the bases: the base with a few bits flipped, cut at a random length. */
    private static Prefix randomPrefix(Random rnd, int family, long[][] bases) {
        int max = Prefix.maxLen(family);
        long[] b = bases[rnd.nextInt(bases.length)].clone();
        int flips = rnd.nextInt(3);
        for (int i = 0; i < flips; i++) {
            flip(b, rnd.nextInt(max));
        }
        int len = rnd.nextInt(8) == 0 ? max : rnd.nextInt(max + 1);
        return new Prefix(family, b[0], b[1], len);
    }

    private static void flip(long[] k, int bit) {
        if (bit < 64) {
            k[0] ^= 1L << (63 - bit);
        } else {
            k[1] ^= 1L << (127 - bit);
        }
    }

    /** An address inside a stored prefix (mostly), or near a base. */
    private static long[] probe(Random rnd, int family, long[][] bases, Map<Prefix, Prefix> model) {
        long[] k;
        if (!model.isEmpty() && rnd.nextBoolean()) {
            Prefix p = model.keySet().stream().skip(rnd.nextInt(model.size())).findFirst().orElseThrow();
            long[] r = randomKey(rnd, family);
            k = new long[] {p.hi() | (r[0] & ~Prefix.maskHi(p.len())), p.lo() | (r[1] & ~Prefix.maskLo(p.len()))};
        } else {
            k = bases[rnd.nextInt(bases.length)].clone();
            flip(k, rnd.nextInt(Prefix.maxLen(family)));
        }
        if (family == Sockaddr.AF_INET) {
            k[0] &= 0xffffffff00000000L;
            k[1] = 0;
        }
        return k;
    }

    private static Prefix naive(Map<Prefix, Prefix> model, long[] k, int max) {
        Prefix best = null;
        for (Prefix p : model.keySet()) {
            boolean covers = ((k[0] ^ p.hi()) & Prefix.maskHi(p.len())) == 0 && ((k[1] ^ p.lo()) & Prefix.maskLo(p.len())) == 0;
            if (covers && (best == null || p.len() > best.len())) {
                best = p;
            }
        }
        return best;
    }
}
