package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * R-MBUF-1 / R-UMA-2: packets whose clusters (packet pairs, jumbo clusters, external storage) are
 * shared by copym are freed by several threads in racing order. Each thread checks, before freeing,
 * that the bytes it holds are intact: a cluster recycled while still referenced would have been
 * trash-filled (test mode) or reused. At the end every zone is back to zero in use and every
 * external buffer's free callback ran exactly once.
 */
@Tag("stress")
class MbufRefcountStressTest {
    private static final Mbuf POISON = null;

    private record Held(Mbuf m, byte fill) {}

    @Test
    @DisplayName("R-MBUF-1: shared storage freed from racing threads is released exactly once, never early")
    void racingFrees() throws Exception {
        long millis = Long.getLong("smpnet.stress.millis", 1500);
        MbufZones z = new MbufZones(true);
        AtomicInteger extCreated = new AtomicInteger();
        AtomicInteger extFreed = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<BlockingQueue<Held>> queues = List.of(new ArrayBlockingQueue<>(256), new ArrayBlockingQueue<>(256));
        List<Thread> freers = new ArrayList<>();
        for (BlockingQueue<Held> q : queues) {
            freers.add(Thread.ofPlatform().start(() -> {
                try {
                    for (Held h; (h = q.take()).m != POISON; ) {
                        check(h);
                        h.m.freem();
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        SplittableRandom rnd = new SplittableRandom(7);
        long deadline = System.nanoTime() + millis * 1_000_000;
        long packets = 0;
        while (System.nanoTime() < deadline && failure.get() == null) {
            byte fill = (byte) rnd.nextInt();
            Mbuf m = source(z, rnd, fill, extCreated, extFreed);
            int len = m.length();
            List<Held> parts = new ArrayList<>();
            parts.add(new Held(m, fill));
            for (int i = 1 + rnd.nextInt(3); i > 0; i--) {
                int off = rnd.nextInt(len + 1);
                parts.add(new Held(m.copym(off, rnd.nextInt(len - off + 1), Mbuf.M_NOWAIT), fill));
            }
            for (Held h : parts) {
                int to = rnd.nextInt(3);
                if (to == 2) {
                    check(h);
                    h.m.freem();
                } else {
                    queues.get(to).put(h);
                }
            }
            packets++;
        }
        for (BlockingQueue<Held> q : queues) {
            q.put(new Held(POISON, (byte) 0));
        }
        for (Thread t : freers) {
            t.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(packets).isPositive();
        Chains.checkNoLeaks(z);
        assertThat(extFreed.get()).isEqualTo(extCreated.get());
    }

    private static Mbuf source(MbufZones z, SplittableRandom rnd, byte fill, AtomicInteger created, AtomicInteger freed) {
        int kind = rnd.nextInt(3);
        Mbuf m;
        if (kind == 0) {
            m = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        } else if (kind == 1) {
            m = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR, Mbuf.MJUMPAGESIZE);
        } else {
            byte[] mem = new byte[1500];
            created.incrementAndGet();
            m = z.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
            m.extadd(ExtBuf.external(mem, 0, mem.length, freed::incrementAndGet), false);
        }
        int n = 1 + rnd.nextInt(Math.min(m.size(), 1500));
        java.util.Arrays.fill(m.writableData(), m.dataOff(), m.dataOff() + n, fill);
        m.setLen(n);
        m.setPktLen(n);
        return m;
    }

    private static void check(Held h) {
        for (Mbuf x = h.m; x != null; x = x.next()) {
            for (int i = 0; i < x.len(); i++) {
                if (x.data()[x.dataOff() + i] != h.fill) {
                    throw new AssertionError("shared storage changed while referenced: " + x);
                }
            }
        }
    }
}
