package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Giant;
import org.smpnet.kern.Mtx;

/**
 * R-RT-1 stress: route adds, changes and deletes by writers holding a PCB lock ("inp"), interfaces with
 * addresses and routes created and destroyed, concurrent lookups from several threads, and a routing-socket
 * listener that takes a socket-buffer lock ("sockbuf") on every message. WITNESS (on in every test) fails the
 * test on a lock-order reversal, which delivering messages under the rib lock would cause (inp -> rtentry ->
 * sockbuf against the declared sockbuf -> rtentry). Lookups check continuously that what they see is complete,
 * covers the address, and is neither freed nor on a detached interface while their epoch section lasts.
 */
@org.junit.jupiter.api.Tag("stress")
class RouteStressTest {
    private static final InAddr GW1 = InAddr.parse("10.0.0.254");
    private static final InAddr GW2 = InAddr.parse("10.0.0.253");
    private static final int WRITERS = 2;
    private static final int READERS = 3;
    private static final int PREFIXES = 24;

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-RT-1: routing changes and interface detach during lookups and a locking listener: no LOR, no freed or half-built entry")
    void routeChurn(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, this::churn);
    }

    private static Prefix writerPrefix(int w, int i) {
        return Prefix.in(new InAddr((10 << 24) | ((100 + w) << 16) | (i << 8)), i % 3 == 0 ? 16 + i % 8 : 24);
    }

    private void churn() throws Exception {
        Vnet a = new Vnet("rstress", 2);
        Vnet b = new Vnet("rstress-b", 1);
        try {
            Epair ep = a.epair(b);
            a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
            Mtx sockbuf = new Mtx("so_rcv", "sockbuf");
            AtomicLong heard = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            RouteListener socket = (msg, wire) -> {
                sockbuf.lock(); // what a PF_ROUTE socket does: sbappendaddr under its buffer lock
                try {
                    heard.incrementAndGet();
                    if (wire.length < 4 || wire[3] != (byte) msg.type()) {
                        failure.compareAndSet(null, new AssertionError("wire and message disagree: " + msg));
                    }
                } finally {
                    sockbuf.unlock();
                }
            };
            RtSock rs = a.rtable().rtsock();
            rs.addListener(socket);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NetTestSupport.stressMillis(3000));
            AtomicLong ops = new AtomicLong();
            AtomicLong lookups = new AtomicLong();
            AtomicLong hits = new AtomicLong();
            AtomicLong detaches = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int me = w;
                threads.add(start("rt-writer-" + w, failure, () -> writer(a, me, deadline, ops)));
            }
            for (int r = 0; r < READERS; r++) {
                long seed = r;
                threads.add(start("rt-reader-" + r, failure, () -> reader(a, ep.a(), seed, deadline, lookups, hits)));
            }
            threads.add(start("rt-detacher", failure, () -> detacher(a, deadline, detaches)));
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(60));
                assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
            }
            if (failure.get() != null) {
                throw new AssertionError("stress failure", failure.get());
            }
            assertThat(ops.get()).isPositive();
            assertThat(lookups.get()).isPositive();
            assertThat(hits.get()).isPositive();
            assertThat(detaches.get()).isPositive();
            // every message queued reached the listener or was counted as a queue drop
            Netisr.Proto route = a.netisr().proto(Netisr.ROUTE);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (heard.get() + route.qdrops.get() + rs.dropped.get() != rs.sent.get() && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertThat(heard.get() + route.qdrops.get() + rs.dropped.get()).isEqualTo(rs.sent.get());
            assertThat(rs.listenerErrors.get()).isZero();
            assertThat(heard.get()).isPositive();
            // writers removed all they added: only the address routes and lo0's remain
            assertThat(a.rtable().entries(Sockaddr.AF_INET)).extracting(r -> r.dst().toString())
                    .containsExactlyInAnyOrder("10.0.0.0/24", "10.0.0.1", "127.0.0.1");
        } finally {
            a.close();
            b.close();
        }
    }

    private interface Body {
        void run() throws Exception;
    }

    private static Thread start(String name, AtomicReference<Throwable> failure, Body body) {
        return Thread.ofPlatform().name(name).start(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }

    /** Adds, changes and deletes its own prefixes under a PCB lock, as TCP updating a route would. */
    private static void writer(Vnet a, int me, long deadline, AtomicLong ops) throws Exception {
        Rtable rt = a.rtable();
        Mtx inp = new Mtx("inp", "inp");
        Random rnd = new Random(me);
        Map<Prefix, Boolean> present = new HashMap<>();
        while (System.nanoTime() < deadline) {
            Prefix p = writerPrefix(me, rnd.nextInt(PREFIXES));
            boolean giant = Giant.pickup(RtSock.class);
            inp.lock();
            try {
                if (!present.getOrDefault(p, false)) {
                    rt.add(p, new Sockaddr.In(GW1, 0), null, Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC, 0);
                    present.put(p, true);
                } else if (rnd.nextBoolean()) {
                    rt.change(p, new Sockaddr.In(rnd.nextBoolean() ? GW1 : GW2, 0), null, 0, 0, rnd.nextBoolean() ? 1400 : 0);
                } else {
                    rt.delete(p);
                    present.put(p, false);
                }
            } finally {
                inp.unlock();
                Giant.drop(giant);
            }
            ops.incrementAndGet();
        }
        for (Map.Entry<Prefix, Boolean> e : present.entrySet()) {
            if (e.getValue()) {
                rt.delete(e.getKey());
            }
        }
    }

    /** Looks up addresses in the writers' and the detacher's ranges; checks every answer while in the epoch. */
    private static void reader(Vnet a, Ifnet main, long seed, long deadline, AtomicLong lookups, AtomicLong hits) {
        Rtable rt = a.rtable();
        Random rnd = new Random(seed);
        while (System.nanoTime() < deadline) {
            int second = rnd.nextInt(4) == 0 ? 200 + rnd.nextInt(2) : 100 + rnd.nextInt(WRITERS);
            InAddr dst = new InAddr((10 << 24) | (second << 16) | rnd.nextInt(1 << 16));
            int et = Epoch.NET.enter();
            try {
                Nexthop nh = rt.lookup(dst);
                lookups.incrementAndGet();
                if (nh == null) {
                    continue;
                }
                hits.incrementAndGet();
                check(nh, dst, main);
                Thread.onSpinWait();
                if (nh.rt().freed() || (nh.ifa() != null && nh.ifa().freed())) {
                    throw new AssertionError("entry freed while a lookup still holds it: " + nh.rt());
                }
            } finally {
                Epoch.NET.exit(et);
            }
        }
    }

    private static void check(Nexthop nh, InAddr dst, Ifnet main) {
        Rtentry e = nh.rt();
        if (e.freed()) {
            throw new AssertionError("lookup returned a freed entry " + e);
        }
        if (e.nexthop() != nh || e.dst() == null || !e.dst().contains(dst) || (e.flags() & Rtentry.RTF_UP) == 0
                || nh.ifp() == null || nh.flags() != e.flags()) {
            throw new AssertionError("inconsistent entry " + e + " for " + dst);
        }
        if (nh.ifp().state() == IfnetState.DETACHED) {
            throw new AssertionError("route through detached " + nh.ifp() + " seen inside the epoch: " + e);
        }
        int second = (dst.bits() >>> 16) & 0xff;
        if (second >= 100 && second < 100 + WRITERS) {
            InAddr g = nh.gateway4();
            if (nh.ifp() != main || !(GW1.equals(g) || GW2.equals(g)) || (e.mtu() != 0 && e.mtu() != 1400)) {
                throw new AssertionError("writer route with unexpected contents: " + e);
            }
        }
    }

    /** Creates an interface with an address and a route through it, then destroys it. */
    private static void detacher(Vnet a, long deadline, AtomicLong detaches) throws Exception {
        while (System.nanoTime() < deadline) {
            List<String> names = a.ifCreate("epair");
            Ifnet ifp;
            int et = Epoch.NET.enter();
            try {
                ifp = a.ifnets().byName(names.get(0));
            } finally {
                Epoch.NET.exit(et);
            }
            ifp.setFlags(IfFlags.UP, 0);
            a.addrs().add(ifp, InAddr.parse("10.200.0.1"), 24);
            a.rtable().add(Prefix.parse("10.201.0.0/16"), new Sockaddr.In(InAddr.parse("10.200.0.9"), 0), Rtentry.RTF_GATEWAY);
            java.util.concurrent.locks.LockSupport.parkNanos(300_000);
            a.ifDestroy(names.get(0));
            if (ifp.state() != IfnetState.DETACHED || !ifp.addrs().isEmpty()) {
                throw new AssertionError("destroyed " + ifp + " keeps addresses " + ifp.addrs());
            }
            detaches.incrementAndGet();
        }
    }
}
