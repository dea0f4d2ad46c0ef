package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;

/**
 * R-UDP-1: binders, connectors, closers and lookups on one table at once. Every locked lookup result
 * must be alive and carry the queried 4-tuple; every unlocked lookup result must have been hashed
 * with a matching port; getsockname on a PCB being freed must give EINVAL, never a torn address.
 */
class InPcbStressTest {
    private static final InAddr PEER = InAddr.parse("10.0.0.9");

    @Test
    @DisplayName("R-UDP-1: concurrent bind/connect/close/lookup keep the PCB tables consistent")
    void concurrentBindConnectCloseLookup() throws Exception {
        long millis = Math.min(3000, Long.getLong("smpnet.stress.millis", 1500));
        InPcbInfo info = InPcbTestSupport.info("udbinfo", 64);
        long deadline = System.nanoTime() + millis * 1_000_000;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong found = new AtomicLong();
        AtomicLong churn = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
            threads.add(Thread.ofPlatform().name("pcb-churn-" + w).start(guard(failure, () -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                while (System.nanoTime() < deadline && failure.get() == null) {
                    InPcb p = info.alloc("so", 17);
                    try {
                        info.bind(p, new Sockaddr.In(r.nextBoolean() ? InAddr.ANY : InPcbTestSupport.A1, 20000 + r.nextInt(32)));
                        if (r.nextBoolean()) {
                            info.connect(p, new Sockaddr.In(PEER, 1 + r.nextInt(8)));
                        }
                    } catch (ErrnoException inUse) {
                        // EADDRINUSE between churners is expected
                    }
                    if (r.nextInt(4) == 0) {
                        info.disconnect(p, r.nextBoolean());
                    }
                    info.free(p);
                    churn.incrementAndGet();
                }
            })));
        }
        for (int rd = 0; rd < 2; rd++) {
            threads.add(Thread.ofPlatform().name("pcb-lookup-" + rd).start(guard(failure, () -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                while (System.nanoTime() < deadline && failure.get() == null) {
                    int lport = 20000 + r.nextInt(32);
                    int fport = 1 + r.nextInt(8);
                    InPcb p = InPcbTestSupport.lookupLocked(info, PEER, fport, InPcbTestSupport.A1, lport, true);
                    if (p == null) {
                        continue;
                    }
                    try {
                        assertThat(p.isFreed()).isFalse();
                        assertThat(p.lport()).isEqualTo(lport);
                        if (p.isConnected()) {
                            assertThat(p.faddr()).isEqualTo(PEER);
                            assertThat(p.fport()).isEqualTo(fport);
                            assertThat(p.laddr()).isEqualTo(InPcbTestSupport.A1);
                        } else {
                            assertThat(p.laddr().isAny() || p.laddr().equals(InPcbTestSupport.A1)).isTrue();
                        }
                        found.incrementAndGet();
                    } finally {
                        p.lock.unlock();
                    }
                }
            })));
        }
        threads.add(Thread.ofPlatform().name("pcb-getsockname").start(guard(failure, () -> {
            while (System.nanoTime() < deadline && failure.get() == null) {
                for (InPcb p : info.pcbs()) {
                    try {
                        Sockaddr.In a = p.sockaddr();
                        assertThat(a.port() == 0 || (a.port() >= 10000)).isTrue();
                    } catch (ErrnoException gone) {
                        assertThat(gone.errno().name()).isEqualTo("EINVAL");
                    }
                }
            }
        })));
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("stress failed", failure.get());
        }
        assertThat(churn.get()).isPositive();
        assertThat(info.count()).isZero();
        for (int port = 20000; port < 20032; port++) {
            assertThat(InPcbTestSupport.lookupLocked(info, PEER, 1, InPcbTestSupport.A1, port, true)).isNull();
        }
    }

    private interface Body {
        void run() throws Exception;
    }

    private static Runnable guard(AtomicReference<Throwable> failure, Body b) {
        return () -> {
            try {
                b.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        };
    }
}
