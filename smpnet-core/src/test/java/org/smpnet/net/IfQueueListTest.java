package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.NetTestSupport.intAt;
import static org.smpnet.net.NetTestSupport.mbuf;
import static org.smpnet.net.NetTestSupport.seqPayload;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.Epoch;

/** A queue whose drainers hand each batch over whole ({@link IfQueue#forLists}). */
class IfQueueListTest {
    @Test
    @DisplayName("R-IF-1: a batch reaches the list consumer whole, oldest first, in the net epoch; a consumer that throws counts one drop and the queue goes on")
    void batchesHandedOverWhole() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        List<Integer> epochDepths = new CopyOnWriteArrayList<>();
        IfQueue q = IfQueue.forLists("listq", 64, IfQueueListTest.class, first -> {
            List<Integer> seqs = new java.util.ArrayList<>();
            for (Mbuf m = first; m != null; ) {
                Mbuf next = m.nextpkt();
                m.setNextpkt(null);
                seqs.add(intAt(m, 4));
                m.freem();
                m = next;
            }
            batches.add(seqs);
            epochDepths.add(Epoch.NET.depth());
            if (seqs.contains(99)) {
                throw new IllegalStateException("consumer bug");
            }
        });
        try {
            boolean in = DeferredInput.enter(); // one section: its packets are published in one push
            try {
                for (int i = 0; i < 5; i++) {
                    assertThat(q.enqueue(mbuf(seqPayload(0, i, 16)))).isTrue();
                }
            } finally {
                DeferredInput.exit(in);
            }
            await(q, 5);
            assertThat(batches).containsExactly(List.of(0, 1, 2, 3, 4));
            assertThat(epochDepths.get(0)).as("in a net epoch section (-1 without INVARIANTS)").isNotZero();
            assertThat(q.enqueue(mbuf(seqPayload(0, 99, 16)))).isTrue();
            await(q, 6);
            assertThat(q.drops.get()).isEqualTo(1);
            assertThat(q.enqueue(mbuf(seqPayload(0, 100, 16)))).isTrue();
            await(q, 7);
            assertThat(batches).endsWith(List.of(100));
        } finally {
            q.close();
        }
    }

    private static void await(IfQueue q, long delivered) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (q.delivered.get() < delivered || q.length() > 0) {
            assertThat(System.nanoTime()).as("timed out waiting for %d delivered", delivered).isLessThan(deadline);
            Thread.sleep(1);
        }
    }
}
