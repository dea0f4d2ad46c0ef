package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.net.NetTestSupport.ETHERTYPE_TEST;
import static org.smpnet.net.NetTestSupport.mbuf;
import static org.smpnet.net.NetTestSupport.taggedFrame;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;

class IfClonesTest {
    private static Ifnet lookup(Vnet v, String name) {
        int et = Epoch.NET.enter();
        try {
            return v.ifnets().byName(name);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private static List<String> names(Vnet v) {
        return v.ifnets().snapshot().stream().map(Ifnet::name).toList();
    }

    @Test
    @DisplayName("R-IF-2: epair cloner parameters impair both pipes; unknown keys and bad values are EINVAL naming the key")
    void epairImpairmentParameters() throws Exception {
        try (Vnet v = new Vnet("clonepipe", 1)) {
            List<String> names = v.ifCreate("epair", Map.of("delay", "5ms", "jitter", "250us", "loss", "0.25",
                    "duplicate", "0.5", "reorder", "0.1", "reorder_gap", "2", "bandwidth", "10M", "qlimit", "64", "seed", "7"));
            PipeConfig want = new PipeConfig(java.time.Duration.ofMillis(5), java.time.Duration.ofNanos(250_000), 0.25, 0.5,
                    0.1, java.time.Duration.ofMillis(2), 10_000_000L, 64, 7);
            assertThat(Epair.pipeOut(lookup(v, names.get(0))).config()).isEqualTo(want);
            assertThat(Epair.pipeOut(lookup(v, names.get(1))).config()).isEqualTo(want);
            assertThat(Epair.pipeOut(lookup(v, v.ifCreate("epair").get(0))).config()).isEqualTo(PipeConfig.NONE);
            assertThatThrownBy(() -> Epair.pipeOut(v.loopback())).hasMessageContaining("lo0 is not an epair");

            // duplicate=1: every frame arrives twice
            List<String> dup = v.ifCreate("epair", Map.of("duplicate", "1"));
            Ifnet a = lookup(v, dup.get(0));
            Ifnet b = lookup(v, dup.get(1));
            for (int i = 0; i < 5; i++) {
                a.transmit(NetTestSupport.mbuf(NetTestSupport.frame(MacAddr.BROADCAST, MacAddr.read(a.lladdr(), 0),
                        NetTestSupport.ETHERTYPE_TEST, new byte[46])));
            }
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (b.get(IfCounter.IPACKETS) < 10) {
                assertThat(System.nanoTime()).as("duplicates never arrived").isLessThan(deadline);
                Thread.sleep(1);
            }
            assertThat(Epair.pipeOut(a).duplicated.get()).isEqualTo(5);

            assertThatThrownBy(() -> v.ifCreate("epair", Map.of("lag", "5ms")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lag=5ms").hasMessageContaining("unknown parameter")
                    .hasMessageContaining("EINVAL");
            assertThatThrownBy(() -> v.ifCreate("epair", Map.of("loss", "1.5")))
                    .hasMessageContaining("loss=1.5").hasMessageContaining("probability");
            assertThatThrownBy(() -> v.ifCreate("epair", Map.of("delay", "-3ms"))).hasMessageContaining("delay=-3ms");
            assertThatThrownBy(() -> v.ifCreate("epair", Map.of("bandwidth", "fast"))).hasMessageContaining("bandwidth=fast");
            assertThat(names(v)).as("failed creates leave nothing behind").hasSize(1 + 2 + 2 + 2);
        }
    }

    @Test
    @DisplayName("R-IF-2: epair, lo and vlan are created and destroyed by name; units are explicit or the lowest free")
    void createAndDestroyByName() {
        try (Vnet v = new Vnet("clone", 1)) {
            assertThat(v.clones().prefixes()).containsExactly("epair", "lo", "vlan");
            assertThat(v.ifCreate("epair")).containsExactly("epair0a", "epair0b");
            assertThat(v.ifCreate("epair")).containsExactly("epair1a", "epair1b");
            assertThat(v.ifCreate("epair7")).containsExactly("epair7a", "epair7b");
            assertThat(lookup(v, "epair0b").isUp()).isTrue();
            v.ifDestroy("epair0b"); // either side destroys the pair
            assertThat(names(v)).doesNotContain("epair0a", "epair0b");
            assertThat(v.ifCreate("epair")).containsExactly("epair0a", "epair0b");
            assertThat(v.ifCreate("lo")).containsExactly("lo1"); // lo0 exists, though not cloned
            assertThat(v.ifCreate("lo3")).containsExactly("lo3");
            assertThat(v.ifCreate("vlan", Map.of("tag", "5", "parent", "epair1a"))).containsExactly("vlan0");
            assertThat(v.ifCreate("vlan5", Map.of("tag", "6", "parent", "epair1a"))).containsExactly("vlan5");
            Ifnet vlan5 = lookup(v, "vlan5");
            assertThat(((Vlan) vlan5.driver()).tag()).isEqualTo(6);
            assertThat(v.clones().isCloned("vlan5")).isTrue();
            v.ifDestroy("vlan5");
            assertThat(vlan5.state()).isEqualTo(IfnetState.DETACHED);
            v.ifDestroy("lo1");
            assertThat(names(v)).containsExactlyInAnyOrder("lo0", "epair0a", "epair0b", "epair1a", "epair1b", "epair7a",
                    "epair7b", "lo3", "vlan0");
        }
    }

    @Test
    @DisplayName("R-IF-2: clear errors for unknown prefixes, bad names, taken names (EEXIST), interfaces not cloned "
            + "(EINVAL), missing ones (ENXIO) and bad vlan parameters")
    void errors() {
        try (Vnet v = new Vnet("clonerr", 1)) {
            assertThatThrownBy(() -> v.ifCreate("foo0")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no interface cloner for 'foo'").hasMessageContaining("EINVAL");
            for (String bad : List.of("epair0a", "vlan01", "Lo1", "", "lo-1")) {
                assertThatThrownBy(() -> v.ifCreate(bad)).as(bad).hasMessageContaining("bad interface name");
            }
            assertThatThrownBy(() -> v.ifCreate("lo0")).isInstanceOf(IfnetExistsException.class).hasMessageContaining("EEXIST");
            v.ifCreate("epair2");
            assertThatThrownBy(() -> v.ifCreate("epair2")).isInstanceOf(IfnetExistsException.class);
            assertThatThrownBy(() -> v.ifCreate("lo40000")).hasMessageContaining("out of range");
            assertThatThrownBy(() -> v.ifCreate("epair", Map.of("x", "1"))).hasMessageContaining("unknown parameter");
            assertThatThrownBy(() -> v.ifDestroy("lo0")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not created by cloning").hasMessageContaining("EINVAL");
            assertThatThrownBy(() -> v.ifDestroy("lo9")).isInstanceOf(IfnetGoneException.class).hasMessageContaining("ENXIO");
            assertThatThrownBy(() -> v.ifCreate("vlan1")).hasMessageContaining("needs parameters tag and parent");
            assertThatThrownBy(() -> v.ifCreate("vlan1", Map.of("tag", "x", "parent", "epair2a")))
                    .hasMessageContaining("not a number");
            assertThatThrownBy(() -> v.ifCreate("vlan1", Map.of("tag", "4095", "parent", "epair2a")))
                    .hasMessageContaining("out of range");
            assertThatThrownBy(() -> v.ifCreate("vlan1", Map.of("tag", "1", "parent", "em9")))
                    .isInstanceOf(IfnetGoneException.class).hasMessageContaining("em9");
            assertThatThrownBy(() -> v.ifCreate("vlan1", Map.of("tag", "1", "parent", "lo0")))
                    .hasMessageContaining("not Ethernet");
            assertThatThrownBy(() -> v.ifCreate("vlan1", Map.of("tag", "1", "vlandev", "epair2a")))
                    .hasMessageContaining("unknown vlan parameter 'vlandev'");
            v.ifCreate("vlan1", Map.of("tag", "1", "parent", "epair2a"));
            assertThatThrownBy(() -> v.ifCreate("vlan2", Map.of("tag", "1", "parent", "epair2a")))
                    .isInstanceOf(IfnetExistsException.class).hasMessageContaining("already used");
            assertThat(v.clones().isCloned("vlan2")).isFalse();
            // failed creates released their units
            assertThat(v.ifCreate("vlan", Map.of("tag", "2", "parent", "epair2a"))).containsExactly("vlan0");
            assertThat(names(v)).containsExactlyInAnyOrder("lo0", "epair2a", "epair2b", "vlan1", "vlan0");
        }
    }

    @Test
    @DisplayName("R-IF-2: destroying a parent takes its cloned vlans along and frees their names and units")
    void parentDestroyFreesVlanUnits() {
        try (Vnet v = new Vnet("cloneparent", 1)) {
            v.ifCreate("epair0");
            v.ifCreate("epair1");
            v.ifCreate("vlan3", Map.of("tag", "3", "parent", "epair0a"));
            v.ifDestroy("epair0a");
            assertThat(v.clones().isCloned("vlan3")).isFalse();
            assertThatThrownBy(() -> v.ifDestroy("vlan3")).isInstanceOf(IfnetGoneException.class);
            assertThat(v.ifCreate("vlan3", Map.of("tag", "3", "parent", "epair1a"))).containsExactly("vlan3");
            // Vnet.epair skips units taken by name
            try (Vnet other = new Vnet("cloneother", 1)) {
                Epair e = v.epair(other);
                assertThat(e.a().name()).isNotIn("epair1a");
            }
        }
    }

    @Test
    @DisplayName("R-IF-2: a unit being created is EBUSY to destroy and EEXIST to create; a failed create frees it")
    void unitInTransit() throws Exception {
        try (Vnet v = new Vnet("clonebusy", 1)) {
            java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            IfCloner lo = Loop.cloner(v.ifnets(), v.netisr());
            v.clones().register(new IfCloner() {
                @Override
                public String prefix() {
                    return "slow";
                }

                @Override
                public Clone create(int unit, Map<String, String> params) {
                    entered.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    if (params.containsKey("fail")) {
                        throw new IllegalArgumentException("slow" + unit + " refused (EINVAL)");
                    }
                    return lo.create(unit + 100, Map.of());
                }
            });
            AtomicReference<Object> result = new AtomicReference<>();
            Thread creator = Thread.ofPlatform().start(() -> {
                try {
                    result.set(v.ifCreate("slow0", Map.of("fail", "yes")));
                } catch (RuntimeException e) {
                    result.set(e);
                }
            });
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            assertThatThrownBy(() -> v.ifDestroy("slow0")).hasMessageContaining("EBUSY");
            assertThatThrownBy(() -> v.ifCreate("slow0")).isInstanceOf(IfnetExistsException.class);
            release.countDown();
            creator.join(10_000);
            assertThat(result.get()).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> v.ifDestroy("slow0")).isInstanceOf(IfnetGoneException.class);
            assertThat(v.ifCreate("slow")).containsExactly("lo100"); // unit 0 was freed by the failure
            assertThat(v.clones().isCloned("lo100")).isTrue();
            v.ifDestroy("lo100");
            assertThat(names(v)).containsExactly("lo0");
        }
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IF-2 stress: vlans, their parent and loopbacks are created and destroyed by name while tagged "
            + "traffic flows and lookups run; every frame is delivered or counted, nothing is seen half-made")
    void cloneUnderTrafficAndLookups(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, this::stress);
    }

    private void stress() throws Exception {
        try (Vnet v = new Vnet("clonestress", 2)) {
            Set<Ifnet> everAttached = ConcurrentHashMap.newKeySet();
            v.ifnets().addListener(new IfnetListener() {
                @Override
                public void arrived(Ifnet ifp) {
                    everAttached.add(ifp);
                }
            });
            AtomicLong delivered = new AtomicLong();
            v.ether().register(ETHERTYPE_TEST, (ifp, m) -> {
                assertThat(ifp.type()).isEqualTo(IfType.L2VLAN);
                delivered.incrementAndGet();
                m.freem();
            });
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NetTestSupport.stressMillis(2000));
            AtomicLong offered = new AtomicLong();
            AtomicLong outOffered = new AtomicLong();
            AtomicLong parentCycles = new AtomicLong();
            AtomicLong vlanCycles = new AtomicLong();
            AtomicLong vlansTakenByParent = new AtomicLong();
            AtomicLong lookups = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            threads.add(start("parent", failure, () -> {
                while (System.nanoTime() < deadline) {
                    assertThat(v.ifCreate("epair9")).containsExactly("epair9a", "epair9b");
                    LockSupport.parkNanos(20_000_000); // long enough for the vlan threads to use it
                    v.ifDestroy(ThreadLocalRandom.current().nextBoolean() ? "epair9a" : "epair9b");
                    parentCycles.incrementAndGet();
                }
            }));
            for (int w = 0; w < 2; w++) {
                int tagBase = 10 + w * 4;
                threads.add(start("vlan-" + w, failure, () -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < deadline) {
                        int tag = tagBase + rnd.nextInt(4);
                        String name = "vlan" + tag;
                        try {
                            v.ifCreate(name, Map.of("tag", Integer.toString(tag), "parent", "epair9a"));
                        } catch (IfnetGoneException noParent) {
                            continue; // the parent is between lives
                        }
                        int et = Epoch.NET.enter();
                        try { // one frame out through the new vlan, so output always overlaps the churn
                            Ifnet vi = v.ifnets().byName(name);
                            if (vi != null) {
                                outOffered.incrementAndGet();
                                v.ether().output(vi, mbuf(new byte[46]), MacAddr.local(12345), ETHERTYPE_TEST);
                            }
                        } finally {
                            Epoch.NET.exit(et);
                        }
                        LockSupport.parkNanos(1_000_000 + rnd.nextInt(2_000_000));
                        try {
                            v.ifDestroy(name);
                            vlanCycles.incrementAndGet();
                        } catch (IfnetGoneException tookAlong) {
                            vlansTakenByParent.incrementAndGet();
                        }
                    }
                }));
            }
            threads.add(start("lo", failure, () -> {
                while (System.nanoTime() < deadline) {
                    String lo = v.ifCreate("lo").get(0);
                    assertThat(lo).isNotEqualTo("lo0");
                    v.ifDestroy(lo);
                }
            }));
            for (int s = 0; s < 2; s++) {
                threads.add(start("traffic-" + s, failure, () -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < deadline) {
                        if (rnd.nextBoolean()) { // output through whatever vlan is there, as a protocol would
                            int et = Epoch.NET.enter();
                            try {
                                Ifnet vi = v.ifnets().byName("vlan" + (10 + rnd.nextInt(8)));
                                if (vi != null) {
                                    outOffered.incrementAndGet();
                                    v.ether().output(vi, mbuf(new byte[46]), MacAddr.local(12345), ETHERTYPE_TEST);
                                }
                            } finally {
                                Epoch.NET.exit(et);
                            }
                        }
                        Ifnet p = lookup(v, "epair9a");
                        if (p == null) {
                            Thread.onSpinWait();
                            continue;
                        }
                        byte[] f = taggedFrame(MacAddr.of(p.lladdr()), MacAddr.local(99), 10 + rnd.nextInt(8),
                                ETHERTYPE_TEST, new byte[46]);
                        offered.incrementAndGet();
                        p.input(mbuf(f)); // outside the epoch on purpose: input copes with a detached parent
                        if ((offered.get() & 63) == 0) {
                            LockSupport.parkNanos(20_000); // leave the creators some CPU on small machines
                        }
                    }
                }));
            }
            threads.add(start("lookup", failure, () -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                String[] candidates = {"epair9a", "epair9b", "vlan10", "vlan13", "vlan14", "vlan17", "lo1", "lo2"};
                while (System.nanoTime() < deadline) {
                    int et = Epoch.NET.enter();
                    try {
                        lookups.incrementAndGet();
                        Ifnet ifp = v.ifnets().byName(candidates[rnd.nextInt(candidates.length)]);
                        if (ifp != null) {
                            assertThat(ifp.state()).isNotEqualTo(IfnetState.DETACHED).isNotEqualTo(IfnetState.ALLOCATED);
                            assertThat(ifp.index()).isPositive();
                            if (ifp.type() != IfType.LOOP) {
                                assertThat(ifp.lladdr()).hasSize(6);
                            }
                            if (ifp.driver() instanceof Vlan vl) {
                                assertThat(vl.parent().name()).isEqualTo("epair9a");
                                assertThat(ifp.lladdr()).isEqualTo(vl.parent().lladdr());
                            }
                        }
                    } finally {
                        Epoch.NET.exit(et);
                    }
                    if ((lookups.get() & 255) == 0) {
                        LockSupport.parkNanos(20_000);
                    }
                }
            }));
            for (Thread t : threads) {
                t.join();
            }
            assertThat(failure.get()).isNull();
            assertThat(parentCycles.get()).isPositive();
            assertThat(vlanCycles.get() + vlansTakenByParent.get()).isPositive();
            assertThat(offered.get()).isPositive();
            assertThat(lookups.get()).isPositive();
            assertThat(names(v)).containsExactly("lo0");
            List<Ifnet> parents = everAttached.stream().filter(i -> i.name().equals("epair9a")).toList();
            List<Ifnet> vlanIfs = everAttached.stream().filter(i -> i.type() == IfType.L2VLAN).toList();
            long iqdrops = sum(parents, IfCounter.IQDROPS) + sum(vlanIfs, IfCounter.IQDROPS);
            assertThat(delivered.get() + sum(parents, IfCounter.NOPROTO) + iqdrops)
                    .as("every tagged frame delivered, unknown or dropped by a leaving interface").isEqualTo(offered.get());
            assertThat(outOffered.get()).isPositive();
            assertThat(sum(vlanIfs, IfCounter.OPACKETS) + sum(vlanIfs, IfCounter.OERRORS) + v.ether().nomem.get())
                    .as("every frame sent on a vlan counted by it").isEqualTo(outOffered.get());
            assertThat(sum(parents, IfCounter.OPACKETS) + sum(parents, IfCounter.OERRORS) + sum(vlanIfs, IfCounter.OQDROPS))
                    .as("every frame a vlan sent reached its parent").isEqualTo(sum(vlanIfs, IfCounter.OPACKETS));
            assertThat(sum(parents, IfCounter.OPACKETS)).isPositive();
            assertThat(v.ether().notForUs.get()).isZero();
        }
    }

    private static long sum(List<Ifnet> ifs, IfCounter c) {
        return ifs.stream().mapToLong(i -> i.get(c)).sum();
    }

    private static Thread start(String name, AtomicReference<Throwable> failure, ThrowingRunnable body) {
        return Thread.ofPlatform().name(name).start(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }
}
