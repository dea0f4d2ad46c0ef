package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.Netisr;
import org.smpnet.net.Prefix;
import org.smpnet.net.RtMsg;
import org.smpnet.net.RtSock;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Rtm;
import org.smpnet.net.Sockaddr;

/**
 * R-RT-1 stress on routing sockets: route writers (through route sockets and directly), an address churner,
 * route sockets opened, read and closed while the churn runs, and UDP traffic between the two Vnets. Every
 * message a socket reads must parse and come from AF_ROUTE; per socket {@code sent = delivered + dropped};
 * a socket open the whole run was offered exactly every message the netisr handed out, and read exactly what
 * was delivered. WITNESS fails the run on any lock-order reversal.
 */
@Tag("stress")
class RouteSockStressTest {
    private static final int PERSISTENT = 3;

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-RT-1: route and address churn with route sockets reading, closing and reopening, and UDP traffic: no LOR, every message well formed, counts reconcile exactly")
    void churn(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, this::run);
    }

    /** One socket read by one thread. */
    private static final class Reader {
        final int fd;
        final RouteSock.Rcb rcb;
        final AtomicLong received = new AtomicLong();
        long sent0;

        Reader(SocketApi api, int fd) throws ErrnoException {
            this.fd = fd;
            this.rcb = RouteSock.rcbOf(RouteSockTest.sock(api, fd));
        }
    }

    private void run() throws Exception {
        Vnet a = new Vnet("rss-a", 2);
        Vnet b = new Vnet("rss-b", 1);
        try {
            Epair ep = a.epair(b);
            a.addrs().add(ep.a(), InAddr.parse("10.0.0.1"), 24);
            b.addrs().add(ep.b(), InAddr.parse("10.0.0.2"), 24);
            ep.quiesce();
            SocketApi api = new SocketApi(a.domains(), new Filedesc(), Ucred.of(RouteSockTest.PID, 0, 0));
            SocketApi apiB = new SocketApi(b.domains(), new Filedesc(), Ucred.of(7, 0, 0));
            RtSock rs = a.rtable().rtsock();
            Netisr.Proto route = a.netisr().proto(Netisr.ROUTE);
            int listeners0 = rs.listenerCount();
            RouteSockTest.settle(api);

            List<Reader> persistent = new ArrayList<>();
            for (int i = 0; i < PERSISTENT; i++) {
                int fd = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, i == 1 ? Sockaddr.AF_INET : 0);
                api.setsockopt(fd, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(50_000));
                if (i == 2) {
                    api.setsockopt(fd, SocketConst.SOL_SOCKET, SocketConst.SO_RCVBUF, 2048); // drops, and slow
                }
                persistent.add(new Reader(api, fd));
            }
            RouteSockTest.settle(api);
            long sentRs0 = rs.sent.get();
            long qdrops0 = route.qdrops.get();
            for (Reader r : persistent) {
                drain(api, r);
                r.sent0 = r.rcb.sent.get();
            }

            int rx = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            int tx = apiB.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            warmUp(api, apiB, rx, tx); // ARP resolved before the churn, which could delay its retries

            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.getLong("smpnet.stress.millis", 1500));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong writes = new AtomicLong();
            AtomicLong addrOps = new AtomicLong();
            AtomicLong reopened = new AtomicLong();
            AtomicLong udpIn = new AtomicLong();
            List<Thread> churners = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            churners.add(start("rss-writer-sock", failure, () -> socketWriter(api, deadline, writes)));
            churners.add(start("rss-writer-rib", failure, () -> ribWriter(a, deadline, writes)));
            churners.add(start("rss-addrs", failure, () -> addrChurn(a, ep, deadline, addrOps)));
            churners.add(start("rss-reopen", failure, () -> reopener(api, deadline, reopened)));
            churners.add(start("rss-udp", failure, () -> udp(api, apiB, rx, tx, deadline, udpIn)));
            for (int i = 0; i < persistent.size(); i++) {
                Reader r = persistent.get(i);
                boolean slow = i == 2;
                readers.add(start("rss-reader-" + i, failure, () -> {
                    while (!stop.get()) {
                        readOne(api, r);
                        if (slow) {
                            Thread.sleep(1);
                        }
                    }
                }));
            }
            for (Thread t : churners) {
                t.join(TimeUnit.SECONDS.toMillis(60));
                assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
            }
            stop.set(true);
            for (Thread t : readers) {
                t.join(TimeUnit.SECONDS.toMillis(60));
                assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
            }
            if (failure.get() != null) {
                throw new AssertionError("stress failure", failure.get());
            }
            RouteSockTest.settle(api); // everything queued so far has been delivered
            long handedOut = (rs.sent.get() - sentRs0) - (route.qdrops.get() - qdrops0);
            for (Reader r : persistent) {
                drain(api, r);
                long sent = r.rcb.sent.get() - r.sent0;
                assertThat(sent).as("messages offered to fd %d", r.fd).isEqualTo(handedOut);
                assertThat(r.rcb.delivered.get() + r.rcb.dropped.get()).isEqualTo(r.rcb.sent.get());
                assertThat(r.received.get()).as("read from fd %d", r.fd).isEqualTo(r.rcb.delivered.get());
                api.close(r.fd);
            }
            assertThat(rs.listenerCount()).isEqualTo(listeners0);
            assertThat(rs.listenerErrors.get()).isZero();
            assertThat(writes.get()).isPositive();
            assertThat(addrOps.get()).isPositive();
            assertThat(reopened.get()).isPositive();
            assertThat(udpIn.get()).as("udp a %s b %s", stats(a), stats(b)).isPositive();
            assertThat(a.rtable().entries(Sockaddr.AF_INET)).extracting(e -> e.dst().toString())
                    .containsExactlyInAnyOrder("10.0.0.0/24", "10.0.0.1", "127.0.0.1");
        } finally {
            a.close();
            b.close();
        }
    }

    private static String stats(Vnet v) {
        StringBuilder sb = new StringBuilder();
        for (var o : v.sysctl().list("net.inet")) {
            String val = v.sysctl().get(o.name());
            if (!val.equals("0") && (o.name().contains("udp") || o.name().contains("ip.") || o.name().contains("arp"))) {
                sb.append(o.name()).append('=').append(val).append(' ');
            }
        }
        return sb.toString();
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

    /** Reads one message (or times out) and checks it. */
    private static boolean readOne(SocketApi api, Reader r) throws ErrnoException {
        byte[] buf = new byte[2048];
        Sockaddr[] from = new Sockaddr[1];
        int n;
        try {
            n = api.recvfrom(r.fd, buf, 0, buf.length, 0, from);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return false;
            }
            throw e;
        }
        check(buf, n, from[0]);
        r.received.incrementAndGet();
        return true;
    }

    private static void drain(SocketApi api, Reader r) throws ErrnoException {
        api.setNonblock(r.fd, true);
        while (readOne(api, r)) {
            // until EAGAIN
        }
        api.setNonblock(r.fd, false);
    }

    private static void check(byte[] buf, int n, Sockaddr from) throws ErrnoException {
        if (!Sockaddr.Route.SRC.equals(from)) {
            throw new AssertionError("message from " + from);
        }
        RtMsg m = RtMsg.parse(buf, 0, n);
        if (n < 4 || (buf[0] & 0xff | (buf[1] & 0xff) << 8) != n || buf[2] != Rtm.RTM_VERSION
                || Rtm.typeName(m.type()).equals("RTM_" + m.type())) {
            throw new AssertionError("malformed " + m);
        }
    }

    private static Prefix prefix(int who, int i) {
        return Prefix.in(new InAddr((10 << 24) | ((100 + who) << 16) | (i << 8)), 24);
    }

    /** RTM_ADD/CHANGE/DELETE through a route socket; errors must be the expected ones. */
    private static void socketWriter(SocketApi api, long deadline, AtomicLong writes) throws Exception {
        int s = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, 0);
        api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_USELOOPBACK, 0);
        Random rnd = new Random(1);
        boolean[] present = new boolean[16];
        int seq = 0;
        try {
            while (System.nanoTime() < deadline) {
                int i = rnd.nextInt(present.length);
                String dst = prefix(0, i).inAddr().toString();
                if (!present[i]) {
                    RouteSockTest.write(api, s, Rtm.RTM_ADD, ++seq, RouteSockTest.net(dst, "10.0.0.254", "255.255.255.0"));
                    present[i] = true;
                } else if (rnd.nextBoolean()) {
                    RouteSockTest.write(api, s, Rtm.RTM_CHANGE, ++seq, RouteSockTest.net(dst, rnd.nextBoolean() ? "10.0.0.253" : "10.0.0.254", "255.255.255.0"));
                } else {
                    RouteSockTest.write(api, s, Rtm.RTM_DELETE, ++seq, RouteSockTest.net(dst, null, "255.255.255.0"));
                    present[i] = false;
                }
                try {
                    RouteSockTest.write(api, s, Rtm.RTM_GET, ++seq, RouteSockTest.net(dst, null, "255.255.255.0"));
                    if (!present[i]) {
                        throw new AssertionError("RTM_GET found deleted " + dst);
                    }
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.ESRCH || present[i]) {
                        throw e;
                    }
                }
                writes.incrementAndGet();
            }
            for (int i = 0; i < present.length; i++) {
                if (present[i]) {
                    RouteSockTest.write(api, s, Rtm.RTM_DELETE, ++seq, RouteSockTest.net(prefix(0, i).inAddr().toString(), null, "255.255.255.0"));
                }
            }
        } finally {
            api.close(s);
        }
    }

    /** Adds and deletes routes in the rib directly, as the kernel's own callers do. */
    private static void ribWriter(Vnet a, long deadline, AtomicLong writes) throws Exception {
        Random rnd = new Random(2);
        boolean[] present = new boolean[16];
        while (System.nanoTime() < deadline) {
            int i = rnd.nextInt(present.length);
            if (!present[i]) {
                a.rtable().add(prefix(1, i), RouteSockTest.in("10.0.0.254"), Rtentry.RTF_GATEWAY);
            } else {
                a.rtable().delete(prefix(1, i));
            }
            present[i] = !present[i];
            writes.incrementAndGet();
        }
        for (int i = 0; i < present.length; i++) {
            if (present[i]) {
                a.rtable().delete(prefix(1, i));
            }
        }
    }

    /** Adds and removes addresses (with their interface routes) on the epair. */
    private static void addrChurn(Vnet a, Epair ep, long deadline, AtomicLong ops) throws Exception {
        int n = 0;
        while (System.nanoTime() < deadline) {
            InAddr x = InAddr.parse("10.50." + (n++ % 8) + ".1");
            a.addrs().add(ep.a(), x, 24);
            a.addrs().delete(ep.a(), x);
            ops.incrementAndGet();
        }
    }

    /** Opens route sockets with random filters, reads a few messages, closes them; checks each one's counts. */
    private static void reopener(SocketApi api, long deadline, AtomicLong reopened) throws Exception {
        Random rnd = new Random(3);
        while (System.nanoTime() < deadline) {
            int fd = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, rnd.nextBoolean() ? 0 : Sockaddr.AF_INET);
            Reader r = new Reader(api, fd);
            if (rnd.nextBoolean()) {
                api.setsockopt(fd, SocketConst.PF_ROUTE, RouteSock.ROUTE_MSGFILTER,
                        RouteSock.filter(Rtm.RTM_ADD) | RouteSock.filter(Rtm.RTM_NEWADDR));
            }
            api.setNonblock(fd, true);
            int want = rnd.nextInt(20);
            for (int i = 0; i < want && System.nanoTime() < deadline; i++) {
                if (!readOne(api, r)) {
                    Thread.sleep(0, 200_000);
                }
            }
            api.close(fd);
            // after close nothing more is counted: the books of a closed socket are final
            long sent = r.rcb.sent.get();
            if (r.rcb.delivered.get() + r.rcb.dropped.get() != sent || r.received.get() > r.rcb.delivered.get()) {
                throw new AssertionError("closed socket: sent " + sent + " delivered " + r.rcb.delivered.get()
                        + " dropped " + r.rcb.dropped.get() + " read " + r.received.get());
            }
            reopened.incrementAndGet();
        }
    }

    private static final Sockaddr.In UDP_DST = Sockaddr.In.of("10.0.0.1", 5353);

    /** Binds {@code rx} and sends until one datagram came through; leaves {@code rx} non-blocking and empty. */
    private static void warmUp(SocketApi apiA, SocketApi apiB, int rx, int tx) throws Exception {
        apiA.bind(rx, UDP_DST);
        apiA.setsockopt(rx, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(200_000));
        byte[] buf = new byte[128];
        for (int i = 0; ; i++) {
            apiB.sendto(tx, buf, 0, 1, 0, UDP_DST);
            try {
                apiA.recv(rx, buf, 0, buf.length, 0);
                break;
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EAGAIN || i == 100) {
                    throw e;
                }
            }
        }
        apiA.setNonblock(rx, true);
        try {
            while (true) {
                apiA.recv(rx, buf, 0, buf.length, 0);
            }
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EAGAIN) {
                throw e;
            }
        }
    }

    /** UDP datagrams from b to a over the epair while the routing churn runs. */
    private static void udp(SocketApi apiA, SocketApi apiB, int rx, int tx, long deadline, AtomicLong in) throws Exception {
        try {
            byte[] p = new byte[64];
            byte[] buf = new byte[128];
            while (System.nanoTime() < deadline) {
                try {
                    apiB.sendto(tx, p, 0, p.length, 0, UDP_DST);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.ENOBUFS && e.errno() != Errno.EAGAIN) {
                        throw e;
                    }
                }
                try {
                    while (apiA.recv(rx, buf, 0, buf.length, 0) == p.length) {
                        in.incrementAndGet();
                    }
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN) {
                        throw e;
                    }
                }
                Thread.sleep(0, 100_000);
            }
        } finally {
            apiA.close(rx);
            apiB.close(tx);
        }
    }
}
