package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * R-MBUF-1: random chains (small mbufs, clusters of every size, external storage, read-only shared
 * copies) under random sequences of chain operations, checked after every step against a plain byte
 * array: bytes, pkthdr.len, structure, in_cksum; copies taken earlier must never change (shared
 * storage is copied before writing); at the end every zone is back to zero in use.
 */
class MbufChainPropertyTest {
    private static final int ADJ = 0;
    private static final int PULLUP = 1;
    private static final int PREPEND = 2;
    private static final int SPLIT = 3;
    private static final int CAT = 4;
    private static final int COPYM = 5;
    private static final int DUP = 6;
    private static final int COPYDATA = 7;
    private static final int COPYBACK = 8;
    private static final int APPEND = 9;
    private static final int OPS = 10;

    /** A copy kept alive with the bytes it must keep. */
    private record Kept(Mbuf chain, byte[] expect) {}

    @Property(tries = 250)
    @Label("R-MBUF-1: chain operations match a byte-array model")
    void chainOpsMatchModel(@ForAll long seed, @ForAll @Size(max = 30) List<@IntRange(min = 0, max = OPS - 1) Integer> ops) {
        MbufZones zones = new MbufZones(true);
        Random rnd = new Random(seed);
        Chains.Builder b = new Chains.Builder(zones, rnd);
        List<Mbuf> sources = new ArrayList<>();
        List<Kept> kept = new ArrayList<>();
        ByteArrayOutputStream initial = new ByteArrayOutputStream();
        Mbuf m = b.chain(true, initial, sources);
        byte[] model = initial.toByteArray();
        List<byte[]> sourceBytes = new ArrayList<>();
        for (Mbuf s : sources) {
            sourceBytes.add(Chains.bytes(s));
        }
        check(m, model, rnd);
        for (int op : ops) {
            int len = model.length;
            switch (op) {
                case ADJ -> {
                    int req = rnd.nextInt(2 * len + 11) - len - 5;
                    m.adj(req);
                    int cut = Math.min(Math.abs(req), len);
                    model = req >= 0 ? Arrays.copyOfRange(model, cut, len) : Arrays.copyOf(model, len - cut);
                }
                case PULLUP -> {
                    if (len == 0) {
                        continue;
                    }
                    int n = Math.min(1 + rnd.nextInt(len), Mbuf.MJUM16BYTES);
                    m = m.pullup(n);
                    assertThat(m).as("pullup of %d of %d bytes", n, len).isNotNull();
                    assertThat(m.len()).isGreaterThanOrEqualTo(n);
                }
                case PREPEND -> {
                    int n = rnd.nextInt(4) == 0 ? rnd.nextInt(3000) : rnd.nextInt(64);
                    m = m.prepend(n, Mbuf.M_NOWAIT);
                    byte[] head = b.randomBytes(n);
                    assertThat(m.copyback(0, n, head, 0, Mbuf.M_NOWAIT)).isTrue();
                    model = concat(head, model);
                }
                case SPLIT -> {
                    int at = rnd.nextInt(len + 1);
                    Mbuf tail = m.split(at, Mbuf.M_NOWAIT);
                    assertThat(tail).isNotNull();
                    check(m, Arrays.copyOf(model, at), rnd);
                    check(tail, Arrays.copyOfRange(model, at, len), rnd);
                    if (rnd.nextBoolean()) {
                        m.catpkt(tail);
                    } else {
                        tail.freem();
                        model = Arrays.copyOf(model, at);
                    }
                }
                case CAT -> {
                    ByteArrayOutputStream more = new ByteArrayOutputStream();
                    Mbuf n = b.chain(rnd.nextBoolean(), more, sources);
                    refreshSources(sources, sourceBytes);
                    m.catpkt(n);
                    model = concat(model, more.toByteArray());
                }
                case COPYM -> {
                    int off = rnd.nextInt(len + 1);
                    boolean all = rnd.nextInt(4) == 0;
                    int n = all ? Mbuf.M_COPYALL : rnd.nextInt(len - off + 1);
                    Mbuf c = m.copym(off, n, Mbuf.M_NOWAIT);
                    byte[] expect = Arrays.copyOfRange(model, off, all ? len : off + n);
                    assertThat(Chains.bytes(c)).isEqualTo(expect);
                    if (off == 0) {
                        assertThat(c.pktLen()).isEqualTo(expect.length);
                    }
                    keepOrFree(c, expect, kept, rnd);
                }
                case DUP -> {
                    Mbuf d = m.dup(Mbuf.M_NOWAIT);
                    check(d, model, rnd);
                    for (Mbuf x = d; x != null; x = x.next()) {
                        assertThat(x.writable()).as("dup storage is private").isTrue();
                    }
                    if (rnd.nextBoolean()) {
                        m.freem();
                        m = d;
                    } else {
                        keepOrFree(d, model.clone(), kept, rnd);
                    }
                }
                case COPYDATA -> {
                    int off = rnd.nextInt(len + 1);
                    int n = rnd.nextInt(len - off + 1);
                    byte[] out = new byte[n + 3];
                    m.copydata(off, n, out, 3);
                    assertThat(Arrays.copyOfRange(out, 3, n + 3)).isEqualTo(Arrays.copyOfRange(model, off, off + n));
                }
                case COPYBACK -> {
                    int off = rnd.nextInt(len + 40);
                    int n = rnd.nextInt(rnd.nextInt(5) == 0 ? 5000 : 100);
                    byte[] data = b.randomBytes(n);
                    assertThat(m.copyback(off, n, data, 0, Mbuf.M_NOWAIT)).isTrue();
                    byte[] nm = Arrays.copyOf(model, Math.max(len, off + n));
                    System.arraycopy(data, 0, nm, off, n);
                    model = nm;
                }
                case APPEND -> {
                    byte[] data = b.randomBytes(rnd.nextInt(rnd.nextInt(5) == 0 ? 6000 : 300));
                    assertThat(m.append(data, 0, data.length)).isTrue();
                    model = concat(model, data);
                }
                default -> throw new AssertionError(op);
            }
            check(m, model, rnd);
            for (Kept k : kept) {
                assertThat(Chains.bytes(k.chain)).as("an earlier copy changed").isEqualTo(k.expect);
            }
            for (int i = 0; i < sources.size(); i++) {
                assertThat(Chains.bytes(sources.get(i))).as("a shared source changed").isEqualTo(sourceBytes.get(i));
            }
        }
        m.freem();
        kept.forEach(k -> k.chain.freem());
        sources.forEach(Mbuf::freem);
        Chains.checkNoLeaks(zones);
        assertThat(b.externalsFreed.get()).as("external storage freed exactly once each").isEqualTo(b.externalsCreated.get());
    }

    private static void refreshSources(List<Mbuf> sources, List<byte[]> sourceBytes) {
        for (int i = sourceBytes.size(); i < sources.size(); i++) {
            sourceBytes.add(Chains.bytes(sources.get(i)));
        }
    }

    private static void keepOrFree(Mbuf c, byte[] expect, List<Kept> kept, Random rnd) {
        if (rnd.nextBoolean() && kept.size() < 4) {
            kept.add(new Kept(c, expect));
        } else {
            c.freem();
        }
    }

    private static void check(Mbuf m, byte[] model, Random rnd) {
        Chains.checkStructure(m);
        assertThat(Chains.bytes(m)).isEqualTo(model);
        if ((m.flags() & Mbuf.M_PKTHDR) != 0) {
            assertThat(m.pktLen()).isEqualTo(model.length);
        }
        assertThat(InCksum.cksum(m, 0, model.length)).isEqualTo(refCksum(model, 0, model.length));
        int off = rnd.nextInt(model.length + 1);
        int n = rnd.nextInt(model.length - off + 1);
        assertThat(InCksum.cksum(m, off, n)).as("in_cksum(%d, %d)", off, n).isEqualTo(refCksum(model, off, n));
    }

    /** RFC 1071 over an array, written plainly as the reference. */
    static int refCksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i < len; i++) {
            int v = b[off + i] & 0xff;
            sum += (i % 2 == 0) ? v << 8 : v;
        }
        while (sum > 0xffff) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
