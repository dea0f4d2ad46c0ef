package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;

class IfnetLifecycleTest {
    /** Per-family data whose liveness readers check: torn down only after the grace period. */
    static final class AfData {
        volatile boolean freed;
    }

    /** A driver that counts what it is given and frees it. */
    static final class SinkDriver implements IfDriver {
        final AtomicLong sent = new AtomicLong();

        @Override
        public void transmit(Ifnet ifp, Mbuf m) {
            sent.incrementAndGet();
            m.freem();
        }

        @Override
        public void init(Ifnet ifp) {
            ifp.setFlags(IfFlags.RUNNING, 0);
        }
    }

    private static Ifnet newIfnet(String name, AtomicLong delivered) {
        Ifnet ifp = Ifnet.alloc(name, IfType.ETHER, new SinkDriver());
        AfData d = new AfData();
        ifp.setAfData(Ifnet.AF_INET, d);
        ifp.setInput((i, m) -> {
            assertThat(((AfData) i.afData(Ifnet.AF_INET)).freed).isFalse();
            delivered.incrementAndGet();
            m.freem();
        });
        return ifp;
    }

    @Test
    @DisplayName("R-IF-1: set-up after attach is refused; use after detach is a clear error")
    void lifecycleRules() {
        IfnetList list = new IfnetList("t");
        Ifnet ifp = newIfnet("if0", new AtomicLong());
        list.attach(ifp);
        assertThat(ifp.index()).isEqualTo(1);
        assertThatThrownBy(() -> ifp.setAfData(Ifnet.AF_INET6, new Object()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("only before attach");
        assertThatThrownBy(() -> list.attach(newIfnet("if0", new AtomicLong())))
                .hasMessageContaining("already exists");
        list.detach(ifp);
        assertThat(ifp.state()).isEqualTo(IfnetState.DETACHED);
        assertThat(ifp.afData(Ifnet.AF_INET)).isNull();
        assertThatThrownBy(() -> list.detach(ifp)).isInstanceOf(IfnetGoneException.class).hasMessageContaining("ENXIO");
        assertThatThrownBy(ifp::checkAttached).isInstanceOf(IfnetGoneException.class);
        Mbuf m = Mbuf.devget(new byte[60], 0, 60, Mbuf.M_NOWAIT);
        ifp.input(m); // counted, not thrown
        assertThat(ifp.get(IfCounter.IQDROPS)).isEqualTo(1);
        Ifnet again = newIfnet("if0", new AtomicLong());
        list.attach(again);
        assertThat(again.index()).isEqualTo(1); // index reused
        int et = Epoch.NET.enter();
        try {
            assertThat(list.byName("if0")).isSameAs(again);
            assertThat(list.byIndex(1)).isSameAs(again);
        } finally {
            Epoch.NET.exit(et);
        }
        list.detach(again);
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IF-1 stress: attach/detach under concurrent lookups and traffic; nothing is seen before it is "
            + "initialised or after it is torn down")
    void attachDetachUnderLookupsAndTraffic(boolean mpsafenet) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafenet);
        try {
            runStress();
        } finally {
            Giant.setMpsafenet(saved);
        }
    }

    private void runStress() throws Exception {
        IfnetList list = new IfnetList("stress");
        AtomicLong delivered = new AtomicLong();
        AtomicLong lookups = new AtomicLong();
        AtomicLong found = new AtomicLong();
        AtomicLong cycles = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long millis = Math.min(2000, Long.getLong("smpnet.stress.millis", 1500));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        String[] names = {"st0", "st1", "st2", "st3"};
        java.util.Queue<Ifnet> created = new java.util.concurrent.ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        // writers: each owns two names and keeps creating and destroying them
        for (int w = 0; w < 2; w++) {
            int base = w * 2;
            threads.add(Thread.ofPlatform().name("attach-detach-" + w).start(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        for (int k = 0; k < 2; k++) {
                            Ifnet ifp = newIfnet(names[base + k], delivered);
                            AfData d = (AfData) ifp.afData(Ifnet.AF_INET);
                            created.add(ifp);
                            list.attach(ifp);
                            ifp.setFlags(IfFlags.UP, 0);
                            java.util.concurrent.locks.LockSupport.parkNanos(200_000 + k * 300_000L); // let traffic find it
                            list.detach(ifp);
                            d.freed = true; // the grace period is over: "free" the per-family data
                            cycles.incrementAndGet();
                            assertThat(ifp.state()).isEqualTo(IfnetState.DETACHED);
                            assertThat(ifp.afData(Ifnet.AF_INET)).isNull();
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        // readers: look up in the epoch, check full initialisation and that nothing is torn down under them
        for (int r = 0; r < 2; r++) {
            threads.add(Thread.ofPlatform().name("lookup-" + r).start(() -> {
                try {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < deadline) {
                        int et = Epoch.NET.enter();
                        try {
                            lookups.incrementAndGet();
                            Ifnet ifp = rnd.nextBoolean() ? list.byName(names[rnd.nextInt(names.length)])
                                    : list.byIndex(1 + rnd.nextInt(4));
                            if (ifp != null) {
                                found.incrementAndGet();
                                AfData d = (AfData) ifp.afData(Ifnet.AF_INET);
                                assertThat(d).as("if_afdata of a visible interface").isNotNull();
                                assertThat(ifp.index()).isPositive();
                                Thread.onSpinWait();
                                assertThat(ifp.state()).isNotEqualTo(IfnetState.DETACHED);
                                assertThat(ifp.afData(Ifnet.AF_INET)).isSameAs(d);
                                assertThat(d.freed).isFalse();
                            }
                        } finally {
                            Epoch.NET.exit(et);
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        // traffic: frames into whatever interface is there, also virtual threads
        AtomicLong offered = new AtomicLong();
        for (int s = 0; s < 2; s++) {
            threads.add(Thread.ofVirtual().name("traffic-" + s).start(() -> {
                try {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < deadline) {
                        Ifnet ifp;
                        int et = Epoch.NET.enter();
                        try {
                            ifp = list.byIndex(1 + rnd.nextInt(4));
                        } finally {
                            Epoch.NET.exit(et);
                        }
                        if (ifp != null) {
                            offered.incrementAndGet();
                            // deliberately used outside the epoch: input must cope with a detached interface
                            ifp.input(Mbuf.devget(new byte[64], 0, 64, Mbuf.M_WAITOK));
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(cycles.get()).isPositive();
        assertThat(lookups.get()).isPositive();
        assertThat(list.snapshot()).isEmpty();
        assertThat(offered.get()).isPositive();
        assertThat(found.get()).isPositive();
        long dropped = created.stream().mapToLong(i -> i.get(IfCounter.IQDROPS)).sum();
        long received = created.stream().mapToLong(i -> i.get(IfCounter.IPACKETS)).sum();
        assertThat(received).isEqualTo(delivered.get());
        assertThat(delivered.get() + dropped).as("every frame delivered or counted as dropped").isEqualTo(offered.get());
    }
}
