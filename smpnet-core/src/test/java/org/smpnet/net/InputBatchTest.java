package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class InputBatchTest {
    private final MbufZones z = new MbufZones(true);
    /** What the sinks saw: "sink:key:attachment" per packet, in call order, and one "|" per run. */
    private final List<String> seen = new ArrayList<>();

    private InputBatch.Sink recorder(String name) {
        return (key, packets, first, second, from, to) -> {
            for (int i = from; i < to; i++) {
                seen.add(name + ":" + key + ":" + first[i]);
                packets[i].freem();
                packets[i] = null;
            }
            seen.add("|");
        };
    }

    @AfterEach
    void allFreed() {
        assertThat(InputBatch.current()).as("no batch left open").isNull();
        assertThat(z.mbufZone().inUse()).as("every deferred packet consumed or freed").isZero();
    }

    @Test
    @DisplayName("R-UDP-1: outside a batch nothing is deferred; inside, runs for one sink and key are handed over together, in order, at close")
    void runsInOrderAtClose() {
        assertThat(InputBatch.current()).isNull();
        InputBatch b = InputBatch.open();
        assertThat(b).isNotNull();
        assertThat(InputBatch.open()).as("nested: the outer batch flushes").isNull();
        assertThat(InputBatch.current()).isSameAs(b);
        InputBatch.Sink s = recorder("s");
        InputBatch.Sink t = recorder("t");
        String[][] order = {{"s", "A", "1"}, {"s", "A", "2"}, {"s", "B", "3"}, {"t", "B", "4"}, {"s", "A", "5"}, {"s", "A", "6"}};
        for (String[] o : order) {
            b.defer(o[0].equals("s") ? s : t, o[1], z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), o[2], null);
        }
        assertThat(seen).as("nothing runs before the close").isEmpty();
        assertThat(b.pending()).isEqualTo(6);
        b.close();
        assertThat(seen).containsExactly("s:A:1", "s:A:2", "|", "s:B:3", "|", "t:B:4", "|", "s:A:5", "s:A:6", "|");
        assertThat(InputBatch.current()).isNull();
    }

    @Test
    @DisplayName("R-UDP-1: a batch flushes every CAPACITY deferrals, so no packet waits for a long batch's end")
    void flushesWhenFull() {
        InputBatch b = InputBatch.open();
        InputBatch.Sink s = recorder("s");
        for (int i = 0; i < InputBatch.CAPACITY + 3; i++) {
            b.defer(s, "A", z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), i, null);
        }
        assertThat(seen.stream().filter(x -> !x.equals("|"))).hasSize(InputBatch.CAPACITY);
        assertThat(b.pending()).isEqualTo(3);
        b.close();
        assertThat(seen.stream().filter(x -> !x.equals("|"))).hasSize(InputBatch.CAPACITY + 3);
        assertThat(seen.get(seen.size() - 2)).isEqualTo("s:A:" + (InputBatch.CAPACITY + 2));
    }

    @Test
    @DisplayName("R-UDP-1: a sink that throws loses no mbuf: its unconsumed packets and the later runs' are freed, and the batch closes")
    void throwingSinkFreesTheRest() {
        InputBatch b = InputBatch.open();
        InputBatch.Sink bad = (key, packets, first, second, from, to) -> {
            packets[from].freem(); // consumes the first, then fails
            packets[from] = null;
            throw new IllegalStateException("sink failed");
        };
        for (int i = 0; i < 3; i++) {
            b.defer(bad, "A", z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), i, null);
        }
        b.defer(recorder("s"), "B", z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), 9, null);
        assertThatThrownBy(b::close).hasMessage("sink failed");
        assertThat(seen).as("the run after the failure was freed, not delivered").isEmpty();
    }

    @Test
    @DisplayName("R-UDP-1: a protocol's lookup memo answers only its owner and key, and no longer than to the next flush")
    void memoLastsUntilTheNextFlush() {
        Object udp = new Object();
        Object other = new Object();
        InputBatch b = InputBatch.open();
        try {
            assertThat(b.recall(udp, 1, 2)).isNull();
            b.remember(udp, 1, 2, "pcb");
            assertThat(b.recall(udp, 1, 2)).isEqualTo("pcb");
            assertThat(b.recall(other, 1, 2)).as("another owner").isNull();
            assertThat(b.recall(udp, 1, 3)).as("another key").isNull();
            assertThat(b.recall(udp, 0, 2)).as("another key").isNull();
            InputBatch.Sink s = recorder("s");
            for (int i = 0; i < InputBatch.CAPACITY; i++) {
                b.defer(s, "A", z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), i, null);
            }
            assertThat(b.recall(udp, 1, 2)).as("still before the flush").isEqualTo("pcb");
            b.defer(s, "A", z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), 64, null); // full: flushes first
            assertThat(b.recall(udp, 1, 2)).as("after a flush").isNull();
            b.remember(udp, 1, 2, "pcb");
        } finally {
            b.close();
        }
        InputBatch again = InputBatch.open();
        try {
            assertThat(again.recall(udp, 1, 2)).as("a closed batch's memo is gone").isNull();
        } finally {
            again.close();
        }
    }

    @Test
    @DisplayName("R-UDP-1: the batch's arrays are renewed after RENEW_AFTER deferrals (a flush replaces them): no deferral is lost or reordered across it")
    void arraysRenewedWithoutLoss() {
        InputBatch.Sink s = recorder("s");
        int total = InputBatch.RENEW_AFTER + 100;
        int sent = 0;
        while (sent < total) {
            InputBatch b = InputBatch.open();
            for (int k = 0; k < 50 && sent < total; k++, sent++) {
                b.defer(s, "A", z.gethdr(Mbuf.M_WAITOK, Mbuf.MT_DATA), sent, null);
            }
            b.close();
        }
        List<String> got = seen.stream().filter(x -> !x.equals("|")).toList();
        assertThat(got).hasSize(total);
        for (int i = 0; i < total; i++) {
            assertThat(got.get(i)).isEqualTo("s:A:" + i);
        }
        InputBatch b = InputBatch.open();
        assertThat(b.deferredIntoArrays()).as("more than RENEW_AFTER went through: renewed on the way")
                .isLessThan(InputBatch.RENEW_AFTER);
        b.close();
    }
}
