package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.ip;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.DisplayName;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;

/**
 * R-UDP-1 stress, in both net.mpsafenet modes with WITNESS on: senders on one stack, receivers and
 * closers on the other, a checker verifying every live receive buffer's accounting (sb_cc) under its
 * lock, and getsockname racing with bind, connect and close. Bounded by smpnet.stress.millis.
 */
class UdpStressTest {
    private static final int PORT0 = 30000;
    private static final int PORTS = 16;

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-UDP-1: concurrent UDP senders, receivers and closers with the sockbuf invariant checked; getsockname races bind/connect/close")
    void sendersReceiversClosers(boolean mpsafe) throws Exception {
        NetTestSupport.inGiantMode(mpsafe, this::run);
    }

    private void run() throws Exception {
        long millis = NetTestSupport.stressMillis(3000);
        try (Vnet a = new Vnet("stressa", 2); Vnet b = new Vnet("stressb", 2)) {
            Epair e = a.epair(b);
            a.addrs().add(e.a(), ip("10.0.0.1"), 24);
            b.addrs().add(e.b(), ip("10.0.0.2"), 24);
            e.quiesce();
            Set live = new Set();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong received = new AtomicLong();
            AtomicLong checks = new AtomicLong();
            AtomicLong names = new AtomicLong();
            long deadline = System.nanoTime() + millis * 1_000_000;
            List<Thread> threads = new ArrayList<>();
            for (int s = 0; s < 2; s++) {
                threads.add(start("sender-" + s, failure, () -> {
                    Socket tx = UdpTestSupport.udp(a);
                    try {
                        ThreadLocalRandom r = ThreadLocalRandom.current();
                        for (int i = 0; System.nanoTime() < deadline && failure.get() == null; i++) {
                            byte[] p = ByteBuffer.allocate(64 + r.nextInt(400)).putInt(i).array();
                            try {
                                UdpTestSupport.sendto(tx, p, new Sockaddr.In(ip("10.0.0.2"), PORT0 + r.nextInt(PORTS)));
                            } catch (ErrnoException transient_) {
                                assertThat(transient_.errno()).isIn(Errno.ENOBUFS, Errno.ECONNREFUSED, Errno.EHOSTDOWN);
                            }
                            if ((i & 63) == 0) {
                                Thread.yield();
                            }
                        }
                    } finally {
                        tx.soclose();
                    }
                }));
            }
            for (int c = 0; c < 3; c++) {
                threads.add(start("recv-closer-" + c, failure, () -> {
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    while (System.nanoTime() < deadline && failure.get() == null) {
                        Socket so = UdpTestSupport.udp(b);
                        live.add(so);
                        try {
                            UdpTestSupport.setInt(so, SocketConst.SOL_SOCKET, SocketConst.SO_REUSEPORT, 1);
                            UdpTestSupport.bind(so, r.nextBoolean() ? "0.0.0.0" : "10.0.0.2", PORT0 + r.nextInt(PORTS));
                            if (r.nextInt(4) == 0) {
                                UdpTestSupport.connect(so, "10.0.0.1", 1 + r.nextInt(65535));
                            }
                            for (int k = r.nextInt(50); k > 0; k--) {
                                UdpTestSupport.Got g = UdpTestSupport.poll(so);
                                if (g != null) {
                                    assertThat(g.from().addr()).isEqualTo(ip("10.0.0.1"));
                                    assertThat(g.data().length).isBetween(64, 463);
                                    received.incrementAndGet();
                                }
                            }
                        } finally {
                            so.soclose(); // often with datagrams queued and more arriving
                            live.remove(so);
                        }
                    }
                }));
            }
            threads.add(start("sbcheck", failure, () -> {
                while (System.nanoTime() < deadline && failure.get() == null) {
                    for (Socket so : live.snapshot()) {
                        var sb = so.rcv();
                        sb.mtx().lock();
                        try {
                            sbcheck(sb);
                        } finally {
                            sb.mtx().unlock();
                        }
                        checks.incrementAndGet();
                    }
                }
            }));
            threads.add(start("getsockname", failure, () -> {
                while (System.nanoTime() < deadline && failure.get() == null) {
                    for (Socket so : live.snapshot()) {
                        try {
                            Sockaddr.In n = (Sockaddr.In) so.proto().pru_sockaddr(so);
                            boolean unbound = n.port() == 0 && n.addr().isAny();
                            boolean bound = n.port() >= PORT0 && n.port() < PORT0 + PORTS
                                    && (n.addr().isAny() || n.addr().equals(ip("10.0.0.2")));
                            assertThat(unbound || bound).as("torn getsockname %s", n).isTrue();
                            names.incrementAndGet();
                        } catch (ErrnoException closed) {
                            assertThat(closed.errno()).isEqualTo(Errno.EINVAL);
                        }
                    }
                }
            }));
            for (Thread t : threads) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("stress failed", failure.get());
            }
            UdpStats st = b.ipSockets().udp().stats();
            assertThat(st.ipackets.get()).isPositive();
            assertThat(checks.get()).isPositive();
            assertThat(names.get()).isPositive();
            assertThat(b.ipSockets().udp().info().count()).isZero();
            assertThat(st.badsum.get() + st.badlen.get() + st.hdrops.get()).isZero();
        }
    }

    @SuppressWarnings("GuardedBy") // the caller holds the buffer's mtx, obtained through its accessor
    private static void sbcheck(org.smpnet.socket.Sockbuf sb) {
        sb.sbcheck();
        assertThat(sb.cc()).isBetween(0, sb.hiwat());
    }

    /** The receive sockets alive now. */
    private static final class Set {
        private final java.util.Set<Socket> set = ConcurrentHashMap.newKeySet();

        void add(Socket so) {
            set.add(so);
        }

        void remove(Socket so) {
            set.remove(so);
        }

        List<Socket> snapshot() {
            return List.copyOf(set);
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

}
