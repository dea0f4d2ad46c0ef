package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.NetTestSupport.ETHERTYPE_TEST;
import static org.smpnet.net.NetTestSupport.mbuf;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EpairPipeTest {
    /** One run: what b's handler saw, and the a-to-b pipe's counters. */
    private record Run(List<Integer> delivered, long entered, long pipeDelivered, long lost, long duplicated,
                       long reordered, long queueDrops) {}

    /** Sends {@code n} numbered frames from a to b through a pipe configured with {@code cfg}. */
    private static Run send(PipeConfig cfg, int n) {
        return send(cfg, n, 1);
    }

    /** {@link #send(PipeConfig, int)} in lists of up to {@code batch} frames ({@link Ether#outputListInEpoch}) when above 1. */
    private static Run send(PipeConfig cfg, int n, int batch) {
        IfnetList la = new IfnetList("pipeA");
        IfnetList lb = new IfnetList("pipeB");
        Ether ea = new Ether();
        Ether eb = new Ether();
        List<Integer> got = new CopyOnWriteArrayList<>();
        eb.register(ETHERTYPE_TEST, (ifp, m) -> {
            got.add(NetTestSupport.intAt(m, 4));
            m.freem();
        });
        Epair e = Epair.create(0, la, ea, lb, eb, cfg, PipeConfig.NONE);
        try {
            MacAddr dst = MacAddr.of(e.b().lladdr());
            for (int i = 0; i < n; i += batch) {
                if (batch == 1) {
                    ea.output(e.a(), mbuf(NetTestSupport.seqPayload(0, i, 46)), dst, ETHERTYPE_TEST);
                    continue;
                }
                List<Mbuf> ms = new ArrayList<>();
                for (int j = i; j < Math.min(n, i + batch); j++) {
                    ms.add(mbuf(NetTestSupport.seqPayload(0, j, 46)));
                }
                int et = org.smpnet.kern.Epoch.NET.enter();
                try {
                    ea.outputListInEpoch(e.a(), NetTestSupport.linked(ms), dst, ETHERTYPE_TEST);
                } finally {
                    org.smpnet.kern.Epoch.NET.exit(et);
                }
            }
            e.quiesce();
            LinkPipe p = e.pipeAtoB();
            assertThat(e.b().get(IfCounter.IPACKETS)).isEqualTo(got.size());
            return new Run(List.copyOf(got), p.entered.get(), p.delivered.get(), p.lost.get(), p.duplicated.get(),
                    p.reordered.get(), p.queueDrops.get());
        } finally {
            e.destroy();
        }
    }

    @Test
    @DisplayName("R-IF-3: the epair passes checksums its sender computed or left to it as verified (IPv4 header, UDP/TCP); a frame written raw carries no claim")
    void checksumOffloadFlags() {
        IfnetList la = new IfnetList("csumA");
        IfnetList lb = new IfnetList("csumB");
        Ether ea = new Ether();
        Ether eb = new Ether();
        List<Integer> flags = new CopyOnWriteArrayList<>();
        eb.register(ETHERTYPE_TEST, (ifp, m) -> {
            flags.add(m.csumFlags());
            m.freem();
        });
        Epair e = Epair.create(0, la, ea, lb, eb, PipeConfig.NONE, PipeConfig.NONE);
        try {
            MacAddr dst = MacAddr.of(e.b().lladdr());
            int[] sent = {0, Mbuf.CSUM_IP, Mbuf.CSUM_IP | Mbuf.CSUM_IP_UDP, Mbuf.CSUM_IP_TCP};
            List<Mbuf> batch = new ArrayList<>();
            for (int f : sent) {
                Mbuf m = mbuf(NetTestSupport.seqPayload(0, f, 46));
                m.setCsum(f, 0);
                ea.output(e.a(), m, dst, ETHERTYPE_TEST);
                Mbuf again = mbuf(NetTestSupport.seqPayload(0, f, 46));
                again.setCsum(f, 0);
                batch.add(again);
            }
            int et = org.smpnet.kern.Epoch.NET.enter();
            try {
                ea.outputListInEpoch(e.a(), NetTestSupport.linked(batch), dst, ETHERTYPE_TEST); // the list transmit too
            } finally {
                org.smpnet.kern.Epoch.NET.exit(et);
            }
            e.quiesce();
            int l3 = Mbuf.CSUM_L3_CALC | Mbuf.CSUM_L3_VALID;
            int l4 = Mbuf.CSUM_L4_CALC | Mbuf.CSUM_L4_VALID;
            List<Integer> each = List.of(0, Mbuf.CSUM_IP | l3, Mbuf.CSUM_IP | Mbuf.CSUM_IP_UDP | l3 | l4, Mbuf.CSUM_IP_TCP | l4);
            List<Integer> twice = new ArrayList<>(each);
            twice.addAll(each);
            assertThat(flags).containsExactlyElementsOf(twice);
        } finally {
            e.destroy();
        }
    }

    private static void assertAccounting(Run r, int n) {
        assertThat(r.entered()).isEqualTo(n);
        assertThat(r.entered()).as("entered = delivered + lost + queueDrops - duplicated")
                .isEqualTo(r.pipeDelivered() + r.lost() + r.queueDrops() - r.duplicated());
        assertThat(r.delivered()).hasSize((int) r.pipeDelivered());
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IF-3: a perfect epair delivers every frame, in order, sent alone or in lists")
    void perfectLink(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                expected.add(i);
            }
            for (int batch : new int[] {1, 32}) {
                Run r = send(PipeConfig.NONE, 2000, batch);
                assertAccounting(r, 2000);
                assertThat(r.delivered()).as("in lists of %d", batch).isEqualTo(expected);
            }
        });
    }

    @Test
    @DisplayName("R-IF-3: loss, duplication and reordering with a fixed seed give the same delivered sequence twice; "
            + "the counters add up")
    void impairmentReplays() {
        // The reorder gap is far longer than the burst takes to send, so which frames overtake which depends only
        // on the seeded choices, not on timing.
        PipeConfig cfg = PipeConfig.NONE.withLoss(0.1).withDuplicate(0.05).withReorder(0.1, Duration.ofMillis(400))
                .withSeed(42);
        Run first = send(cfg, 300);
        Run second = send(cfg, 300);
        assertAccounting(first, 300);
        assertThat(second).isEqualTo(first);
        assertThat(first.lost()).isPositive();
        assertThat(first.duplicated()).isPositive();
        assertThat(first.reordered()).isPositive();
        assertThat(first.queueDrops()).isZero();
        // shape: the held-back frames come last, each stream in sending order
        List<Integer> delivered = first.delivered();
        int tail = delivered.size() - (int) first.reordered();
        List<Integer> head = delivered.subList(0, tail);
        assertThat(head).isSorted();
        assertThat(delivered.subList(tail, delivered.size())).isSorted();
        Run other = send(cfg.withSeed(43), 300);
        assertThat(other.delivered()).isNotEqualTo(first.delivered());
        assertThat(send(cfg, 300, 7)).as("frames sent in lists meet the same fates").isEqualTo(first);
    }

    @Test
    @DisplayName("R-IF-3: a rate-limited pipe delivers everything in order, and a full pipe counts its drops exactly")
    void bandwidthAndQueueLimit() {
        Run slow = send(PipeConfig.NONE.withBandwidth(2_000_000), 200); // 200 x 60 bytes = 48 ms of link time
        assertAccounting(slow, 200);
        assertThat(slow.delivered()).hasSize(200).isSorted();
        for (int batch : new int[] {1, 16}) {
            Run full = send(PipeConfig.NONE.withDelay(Duration.ofMillis(300)).withQueueLimit(10), 50, batch);
            assertAccounting(full, 50);
            assertThat(full.queueDrops()).isEqualTo(40);
            assertThat(full.delivered()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        }
    }

    /** Arrival times (virtual ms) and sequence numbers of what a manual-clock pipe delivers. */
    private record Arrivals(List<Long> millis, List<Integer> seqs) {}

    /** A pipe's sender is a driver's transmit, inside a net-epoch section. */
    private static void sendInEpoch(LinkPipe p, Mbuf m) {
        int et = org.smpnet.kern.Epoch.NET.enter();
        try {
            p.send(m);
        } finally {
            org.smpnet.kern.Epoch.NET.exit(et);
        }
    }

    private static Arrivals runManual(PipeConfig cfg, int n, long advanceMillis) {
        org.smpnet.kern.ManualClock clock = new org.smpnet.kern.ManualClock();
        Arrivals a = new Arrivals(new ArrayList<>(), new ArrayList<>());
        try (org.smpnet.kern.CalloutWheels wheels = new org.smpnet.kern.CalloutWheels("pipetest", clock)) {
            LinkPipe p = new LinkPipe("manual", cfg, m -> {
                a.millis().add(clock.nanoTime() / 1_000_000);
                a.seqs().add(NetTestSupport.intAt(m, 4));
                m.freem();
            }, wheels);
            for (int i = 0; i < n; i++) {
                sendInEpoch(p, mbuf(NetTestSupport.seqPayload(0, i, 100)));
            }
            clock.advance(Duration.ofMillis(advanceMillis));
            assertThat(p.inFlight()).isZero();
            p.close();
        }
        return a;
    }

    @Test
    @DisplayName("R-IF-2: with a manual clock a pipe delivers at exactly the virtual times its bandwidth and delay give")
    void manualClockTiming() {
        org.smpnet.kern.ManualClock clock = new org.smpnet.kern.ManualClock();
        List<Long> at = new ArrayList<>();
        try (org.smpnet.kern.CalloutWheels wheels = new org.smpnet.kern.CalloutWheels("pipetest", clock)) {
            // 100-byte packets at 8 kbit/s: 100 ms each on the wire, then 10 ms of delay
            LinkPipe p = new LinkPipe("manual", PipeConfig.NONE.withDelay(Duration.ofMillis(10)).withBandwidth(8_000), m -> {
                at.add(clock.nanoTime() / 1_000_000);
                m.freem();
            }, wheels);
            for (int i = 0; i < 3; i++) {
                sendInEpoch(p, mbuf(NetTestSupport.seqPayload(0, i, 100)));
            }
            clock.advance(Duration.ofMillis(109));
            assertThat(at).isEmpty();
            assertThat(p.inFlight()).isEqualTo(3);
            clock.advance(Duration.ofMillis(1));
            assertThat(at).containsExactly(110L);
            clock.advance(Duration.ofMillis(250));
            assertThat(at).containsExactly(110L, 210L, 310L);
            assertThat(p.delivered.get()).isEqualTo(3);
            p.drain(); // nothing in flight: returns at once
            p.close();
        }
    }

    @Test
    @DisplayName("R-IF-2: on a manual clock the same seed replays the same jitter, reordering and loss exactly")
    void manualClockReplays() {
        PipeConfig cfg = PipeConfig.NONE.withDelay(Duration.ofMillis(20)).withJitter(Duration.ofMillis(15)).withLoss(0.2)
                .withReorder(0.2, Duration.ofMillis(30)).withSeed(42);
        Arrivals first = runManual(cfg, 200, 1000);
        Arrivals again = runManual(cfg, 200, 1000);
        assertThat(again).isEqualTo(first);
        assertThat(first.seqs().size()).isBetween(100, 199); // some lost, most through
        assertThat(first.seqs()).as("jitter and reordering change the order")
                .isNotEqualTo(first.seqs().stream().sorted().toList());
        assertThat(first.millis()).isSorted().allMatch(t -> t >= 5 && t <= 65);
        Arrivals other = runManual(cfg.withSeed(43), 200, 1000);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    @DisplayName("R-IF-2: an epair timed by a manual clock holds its frames until virtual time reaches their delay")
    void epairOnManualClock() throws Exception {
        org.smpnet.kern.ManualClock clock = new org.smpnet.kern.ManualClock();
        IfnetList la = new IfnetList("mca");
        IfnetList lb = new IfnetList("mcb");
        Ether ea = new Ether();
        Ether eb = new Ether();
        List<Integer> got = new CopyOnWriteArrayList<>();
        eb.register(ETHERTYPE_TEST, (ifp, m) -> {
            got.add(NetTestSupport.intAt(m, 4));
            m.freem();
        });
        try (org.smpnet.kern.CalloutWheels wheels = new org.smpnet.kern.CalloutWheels("mcpipe", clock)) {
            PipeConfig d = PipeConfig.NONE.withDelay(Duration.ofMillis(50));
            Epair e = Epair.create(900, la, ea, lb, eb, d, d, wheels);
            MacAddr dst = MacAddr.read(e.b().lladdr(), 0);
            MacAddr src = MacAddr.read(e.a().lladdr(), 0);
            for (int i = 0; i < 4; i++) {
                e.a().transmit(mbuf(NetTestSupport.frame(dst, src, ETHERTYPE_TEST, NetTestSupport.seqPayload(0, i, 46))));
            }
            clock.advance(Duration.ofMillis(49));
            assertThat(e.pipeAtoB().inFlight()).isEqualTo(4);
            assertThat(e.pipeAtoB().delivered.get()).isZero();
            org.assertj.core.api.Assertions.assertThatThrownBy(e::quiesce).hasMessageContaining("advance the clock");
            clock.advance(Duration.ofMillis(1));
            e.quiesce();
            assertThat(got).containsExactly(0, 1, 2, 3);
            e.destroy();
        }
    }
}
