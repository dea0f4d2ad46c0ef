package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Sysctl;

class NetisrTest {
    private final Sysctl sysctl = new Sysctl();
    private final List<Netisr> started = new ArrayList<>();

    private Netisr netisr(int threads) {
        Netisr n = new Netisr("isrtest", threads, sysctl);
        started.add(n);
        return n;
    }

    @AfterEach
    void close() {
        started.forEach(Netisr::close);
    }

    private static Mbuf packet(int flow, int seq) {
        Mbuf m = NetTestSupport.mbuf(NetTestSupport.seqPayload(flow, seq, 16));
        m.setFlowid(flow, Mbuf.M_HASHTYPE_OPAQUE);
        return m;
    }

    /** In a handler: says the thread got here and holds it until released, so later packets must queue behind it. */
    private static void holdThread(CountDownLatch entered, CountDownLatch release) {
        entered.countDown();
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Puts packet 0 of flow 7 on its netisr thread, whose handler holds it there ({@link #holdThread}), and
     * returns once it is held, with the protocols' own policies back in force.
     */
    private void occupyFlowThread(Netisr n, int proto, CountDownLatch entered) throws InterruptedException {
        sysctl.set("net.isr.dispatch", "deferred"); // force packet 0 onto the thread, where it blocks
        n.dispatch(proto, packet(7, 0));
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        sysctl.set("net.isr.dispatch", "default");
    }

    /** Waits (bounded) for a condition the netisr threads make true; fails the test if it never does. */
    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out waiting for " + what).isLessThan(deadline);
            Thread.sleep(1);
        }
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-ISR-1 stress: deferred dispatch over 3 threads keeps each of 96 flows in order, loses nothing")
    void deferredKeepsFlowsInOrder(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            Netisr n = netisr(3);
            int flows = 96;
            AtomicLongArray next = new AtomicLongArray(flows);
            AtomicLong disorder = new AtomicLong();
            Set<Thread> handlerThreads = ConcurrentHashMap.newKeySet();
            Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
                handlerThreads.add(Thread.currentThread());
                int flow = NetTestSupport.intAt(m, 0);
                int seq = NetTestSupport.intAt(m, 4);
                if (!next.compareAndSet(flow, seq, seq + 1)) {
                    disorder.incrementAndGet();
                }
                m.freem();
            }, Netisr.Policy.DEFERRED, 1_000_000, NetisrTest.class);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NetTestSupport.stressMillis(1000));
            int producers = 4;
            long[][] sent = new long[producers][];
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < producers; t++) {
                int id = t;
                sent[t] = new long[flows];
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        int k = 0;
                        while (System.nanoTime() < deadline && k < 400_000) {
                            int flow = id + producers * (k++ % (flows / producers)); // each producer owns its flows
                            n.dispatch(Netisr.IP, packet(flow, (int) sent[id][flow]++));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            assertThat(failure.get()).isNull();
            long total = 0;
            for (long[] s : sent) {
                for (long c : s) {
                    total += c;
                }
            }
            long expected = total;
            await("the queues to drain", () -> p.handled.get() == expected);
            assertThat(p.qdrops.get()).isZero();
            assertThat(disorder.get()).isZero();
            for (int f = 0; f < flows; f++) {
                assertThat(next.get(f)).isEqualTo(sent[f % producers][f]);
            }
            assertThat(p.queued.get()).isEqualTo(total);
            assertThat(p.dispatched.get()).isEqualTo(total);
            assertThat(handlerThreads).as("flows spread over every netisr thread").hasSize(3)
                    .noneMatch(threads::contains);
        });
    }

    @Test
    @DisplayName("R-ISR-1: a full queue drops and counts exactly what did not fit")
    void qlimitDropsCountedExactly() throws Exception {
        Netisr n = netisr(1);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong handled = new AtomicLong();
        Netisr.Proto p = n.register(Netisr.ARP, "arp", m -> {
            m.freem();
            if (handled.incrementAndGet() == 1) {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, Netisr.Policy.DEFERRED, 5, NetisrTest.class);
        n.dispatch(Netisr.ARP, packet(1, 0));
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue(); // the thread is busy with packet 0
        for (int i = 1; i <= 12; i++) {
            n.dispatch(Netisr.ARP, packet(1, i));
        }
        assertThat(p.qdrops.get()).isEqualTo(7);
        assertThat(p.queued.get()).isEqualTo(6);
        release.countDown();
        await("the five queued", () -> p.handled.get() == 6);
        assertThat(handled.get()).isEqualTo(6);
        assertThat(sysctl.get("net.isr.proto.arp.qdrops")).isEqualTo("7");
    }

    @Test
    @DisplayName("R-ISR-1: direct dispatch runs the handler in the caller's thread")
    void directRunsInCaller() {
        Netisr n = netisr(2);
        List<Thread> ran = new ArrayList<>();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            ran.add(Thread.currentThread());
            m.freem();
        }, Netisr.Policy.DIRECT, 10, NetisrTest.class);
        for (int i = 0; i < 5; i++) {
            n.dispatch(Netisr.IP, packet(i, 0));
        }
        assertThat(ran).hasSize(5).containsOnly(Thread.currentThread());
        assertThat(p.queued.get()).isZero();
        assertThat(p.dispatched.get()).isEqualTo(5);
    }

    @Test
    @DisplayName("R-ISR-1: hybrid dispatch runs directly when the flow's thread is idle and queues behind it when busy")
    void hybridFallsBackToQueueing() throws Exception {
        Netisr n = netisr(1);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread caller = Thread.currentThread();
        Netisr.Proto p = n.register(Netisr.IPV6, "ip6", m -> {
            int seq = NetTestSupport.intAt(m, 4);
            m.freem();
            order.add(seq + (Thread.currentThread() == caller ? "@caller" : "@isr"));
            if (seq == 0) {
                holdThread(entered, release);
            }
        }, Netisr.Policy.HYBRID, 100, NetisrTest.class);
        occupyFlowThread(n, Netisr.IPV6, entered);
        n.dispatch(Netisr.IPV6, packet(7, 1)); // the thread is busy: must queue, not overtake packet 0
        assertThat(p.hybridDirect.get()).isZero();
        assertThat(p.queued.get()).isEqualTo(2);
        release.countDown();
        await("packet 1", () -> p.handled.get() == 2);
        n.dispatch(Netisr.IPV6, packet(7, 2)); // idle again: direct
        assertThat(p.hybridDirect.get()).isEqualTo(1);
        assertThat(order).containsExactly("0@isr", "1@isr", "2@caller");
    }

    @Test
    @DisplayName("R-ISR-1: net.isr.dispatch overrides every protocol's policy; its nodes show the configuration")
    void dispatchOverrideAndSysctl() throws Exception {
        Netisr n = netisr(2);
        List<Thread> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            ran.add(Thread.currentThread());
            m.freem();
        }, Netisr.Policy.DEFERRED, 50, NetisrTest.class);
        assertThat(sysctl.get("net.isr.numthreads")).isEqualTo("2");
        assertThat(sysctl.get("net.isr.dispatch")).isEqualTo("default");
        assertThat(sysctl.get("net.isr.proto.ip.policy")).isEqualTo("deferred");
        assertThat(sysctl.get("net.isr.proto.ip.qlimit")).isEqualTo("50");
        sysctl.set("net.isr.dispatch", "direct");
        n.dispatch(Netisr.IP, packet(1, 0));
        assertThat(ran).containsExactly(Thread.currentThread());
        sysctl.set("net.isr.dispatch", "default");
        n.dispatch(Netisr.IP, packet(1, 1));
        await("the deferred packet", () -> p.handled.get() == 1);
        assertThat(ran).hasSize(2);
        assertThat(ran.get(1)).isNotSameAs(Thread.currentThread());
        assertThat(sysctl.get("net.isr.proto.ip.dispatched")).isEqualTo("2");
        assertThat(sysctl.get("net.isr.proto.ip.queued")).isEqualTo("1");
        assertThat(sysctl.get("net.isr.proto.ip.handled")).isEqualTo("1");
        assertThat(sysctl.get("net.isr.proto.ip.errors")).isEqualTo("0");
        assertThat(sysctl.list("net.isr.proto.ip")).hasSizeGreaterThanOrEqualTo(8);
    }

    @Test
    @DisplayName("R-ISR-1: a handler that throws is counted and its netisr thread goes on serving")
    void handlerExceptionCounted() throws Exception {
        Netisr n = netisr(1);
        AtomicLong good = new AtomicLong();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            int seq = NetTestSupport.intAt(m, 4);
            m.freem();
            if (seq % 3 == 0) {
                throw new IllegalStateException("handler bug on " + seq);
            }
            good.incrementAndGet();
        }, Netisr.Policy.DEFERRED, 100, NetisrTest.class);
        for (int i = 0; i < 9; i++) {
            n.dispatch(Netisr.IP, packet(0, i));
        }
        await("all nine", () -> p.handled.get() + p.errors.get() == 9);
        assertThat(p.errors.get()).isEqualTo(3);
        assertThat(good.get()).isEqualTo(6);
        assertThat(sysctl.get("net.isr.proto.ip.errors")).isEqualTo("3");
    }

    @ParameterizedTest(name = "policy {0}")
    @ValueSource(strings = {"DIRECT", "HYBRID"})
    @DisplayName("R-ISR-1: a handler that throws on the direct path is counted in errors and never reaches the caller")
    void directHandlerExceptionCounted(String policy) {
        Netisr n = netisr(1);
        AtomicLong good = new AtomicLong();
        List<Mbuf> seen = new ArrayList<>();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            int seq = NetTestSupport.intAt(m, 4);
            seen.add(m);
            m.freem();
            if (seq % 2 == 1) {
                throw new IllegalStateException("handler bug on " + seq);
            }
            good.incrementAndGet();
        }, Netisr.Policy.valueOf(policy), 100, NetisrTest.class);
        for (int i = 0; i < 6; i++) {
            n.dispatch(Netisr.IP, packet(0, i)); // must not throw
        }
        assertThat(seen).as("every packet ran in the caller (direct or hybrid-direct on an idle thread)").hasSize(6);
        assertThat(good.get()).isEqualTo(3);
        assertThat(p.errors.get()).isEqualTo(3);
        assertThat(p.dispatched.get()).isEqualTo(6);
        assertThat(sysctl.get("net.isr.proto.ip.errors")).isEqualTo("3");
    }

    @Test
    @DisplayName("R-ISR-1: net.isr.dispatch accepts only default/direct/deferred/hybrid; anything else is EINVAL and changes nothing")
    void dispatchSysctlValidated() {
        netisr(1);
        sysctl.set("net.isr.dispatch", "deferred");
        for (String bad : List.of("", "Direct", "fast", "direct ", "0")) {
            assertThatThrownBy(() -> sysctl.set("net.isr.dispatch", bad))
                    .isInstanceOfSatisfying(org.smpnet.kern.SysctlException.class,
                            e -> assertThat(e.errno()).isEqualTo(org.smpnet.kern.SysctlException.Errno.EINVAL))
                    .hasMessageContaining("one of default, direct, deferred, hybrid");
            assertThat(sysctl.get("net.isr.dispatch")).isEqualTo("deferred");
        }
        for (String ok : List.of("direct", "hybrid", "default")) {
            sysctl.set("net.isr.dispatch", ok);
            assertThat(sysctl.get("net.isr.dispatch")).isEqualTo(ok);
        }
    }

    @Test
    @DisplayName("R-ISR-1: bad registrations and unregistered protocols are refused with a clear error")
    void badRegistrations() {
        Netisr n = netisr(1);
        n.register(Netisr.IP, "ip", m -> m.freem(), Netisr.Policy.DIRECT, 10, NetisrTest.class);
        assertThatThrownBy(() -> n.register(Netisr.IP, "ip2", m -> m.freem(), Netisr.Policy.DIRECT, 10, NetisrTest.class))
                .hasMessageContaining("already registered as ip");
        assertThatThrownBy(() -> n.register(0, "x", m -> m.freem(), Netisr.Policy.DIRECT, 10, NetisrTest.class))
                .hasMessageContaining("out of range");
        assertThatThrownBy(() -> n.register(3, "x", m -> m.freem(), Netisr.Policy.DIRECT, 0, NetisrTest.class))
                .hasMessageContaining("queue limit");
        assertThatThrownBy(() -> n.dispatch(Netisr.ARP, packet(0, 0))).hasMessageContaining("not registered");
        assertThatThrownBy(() -> new Netisr("bad", 0, new Sysctl())).hasMessageContaining("threads");
    }

    /** Links packets of flow {@code flow}, sequence numbers {@code from} to {@code to - 1}, into a list through nextpkt. */
    private static Mbuf packetList(int flow, int from, int to) {
        return NetTestSupport.linked(java.util.stream.IntStream.range(from, to).mapToObj(i -> packet(flow, i)).toList());
    }

    @ParameterizedTest(name = "policy {0}")
    @ValueSource(strings = {"DIRECT", "DEFERRED", "HYBRID"})
    @DisplayName("R-ISR-1: a list goes where each of its packets would go, in order, each unlinked, counted once per packet")
    void dispatchListAsSinglePackets(String policy) throws Exception {
        Netisr n = netisr(1);
        List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread caller = Thread.currentThread();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            got.add(NetTestSupport.intAt(m, 4) + (Thread.currentThread() == caller ? "@caller" : "@isr")
                    + (m.nextpkt() == null ? "" : " linked"));
            m.freem();
        }, Netisr.Policy.valueOf(policy), 100, NetisrTest.class);
        n.dispatchList(Netisr.IP, packetList(3, 0, 5));
        await("five packets", () -> got.size() == 5);
        String where = policy.equals("DEFERRED") ? "@isr" : "@caller"; // hybrid: the flow's thread is idle
        assertThat(got).containsExactly("0" + where, "1" + where, "2" + where, "3" + where, "4" + where);
        assertThat(p.dispatched.get()).isEqualTo(5);
        assertThat(p.queued.get()).isEqualTo(policy.equals("DEFERRED") ? 5 : 0);
        assertThat(p.hybridDirect.get()).isEqualTo(policy.equals("HYBRID") ? 5 : 0);
    }

    @Test
    @DisplayName("R-ISR-1: hybrid dispatch of a list queues behind a busy flow thread, never overtaking it")
    void dispatchListHybridQueuesBehindBusyThread() throws Exception {
        Netisr n = netisr(1);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> order = new java.util.concurrent.CopyOnWriteArrayList<>();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            int seq = NetTestSupport.intAt(m, 4);
            m.freem();
            order.add(seq);
            if (seq == 0) {
                holdThread(entered, release);
            }
        }, Netisr.Policy.HYBRID, 100, NetisrTest.class);
        occupyFlowThread(n, Netisr.IP, entered);
        n.dispatchList(Netisr.IP, packetList(7, 1, 4));
        assertThat(p.hybridDirect.get()).isZero();
        release.countDown();
        await("all four", () -> p.handled.get() == 4);
        assertThat(order).containsExactly(0, 1, 2, 3);
    }

    @Test
    @DisplayName("R-ISR-1: in a directly dispatched list, a handler that throws loses only its packet (counted); an unregistered protocol frees the list and throws")
    void dispatchListFailures() {
        Netisr n = netisr(1);
        List<Integer> good = new ArrayList<>();
        Netisr.Proto p = n.register(Netisr.IP, "ip", m -> {
            int seq = NetTestSupport.intAt(m, 4);
            m.freem();
            if (seq % 2 == 1) {
                throw new IllegalStateException("handler bug on " + seq);
            }
            good.add(seq);
        }, Netisr.Policy.DIRECT, 100, NetisrTest.class);
        n.dispatchList(Netisr.IP, packetList(0, 0, 6)); // must not throw
        assertThat(good).containsExactly(0, 2, 4);
        assertThat(p.errors.get()).isEqualTo(3);
        assertThat(p.dispatched.get()).isEqualTo(6);
        Mbuf orphan = packetList(0, 0, 2);
        Mbuf second = orphan.nextpkt();
        assertThatThrownBy(() -> n.dispatchList(Netisr.IPV6, orphan)).hasMessageContaining("not registered");
        assertThat(orphan.type()).as("freed").isEqualTo(Mbuf.MT_NOTMBUF);
        assertThat(second.type()).as("freed").isEqualTo(Mbuf.MT_NOTMBUF);
    }

    @Test
    @DisplayName("R-LOCK-3: closing netisr while holding Giant (net.mpsafenet=0) does not deadlock with a netisr thread that waits for Giant to run its packet")
    void closeUnderGiantWhileAThreadWaitsForIt() throws Exception {
        NetTestSupport.inGiantMode(false, () -> {
            Netisr n = new Netisr("isrgiant", 1, sysctl); // closed here, under Giant
            java.util.concurrent.atomic.AtomicInteger handled = new java.util.concurrent.atomic.AtomicInteger();
            n.register(Netisr.IP, "ip", m -> {
                handled.incrementAndGet();
                m.freem();
            }, Netisr.Policy.DEFERRED, 10, NetisrTest.class);
            boolean[] waiting = new boolean[1];
            NetTestSupport.inThreadUnderGiant("isr-giant-closer", () -> {
                n.dispatch(Netisr.IP, packet(1, 0)); // the thread takes it, then waits for Giant to run it
                long until = System.nanoTime() + 10_000_000_000L;
                while (!org.smpnet.kern.Giant.GIANT.hasQueuedThreads() && System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                waiting[0] = org.smpnet.kern.Giant.GIANT.hasQueuedThreads();
                n.close();
            });
            assertThat(waiting[0]).as("the netisr thread waited for Giant").isTrue();
            assertThat(handled.get()).as("the packet it held was handled").isEqualTo(1);
        });
    }
}
