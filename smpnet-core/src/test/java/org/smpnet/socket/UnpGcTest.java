package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.socket.SocketConst.*;
import static org.smpnet.socket.SocketTestSupport.domainsOf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.Vnet;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.File;
import org.smpnet.kern.Filedesc;
import org.smpnet.kern.Giant;
import org.smpnet.net.Sockaddr;

/**
 * R-SO-4: the UNIX-domain garbage collector ({@code unp_gc}) reclaims sockets that are only reachable
 * through SCM_RIGHTS messages queued in each other's buffers, and nothing reachable.
 */
@Timeout(120)
class UnpGcTest {
    private static final int PF_UNIX = Sockaddr.AF_UNIX;
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);
    /** Descriptors the stress ringers leave for the closer before they wait for it (the table holds 65536). */
    private static final int CLOSE_BACKLOG = 4096;

    /** Sends descriptor {@code fd} with one data byte over {@code via}. */
    private static void pass(SocketApi api, int via, int fd, int flags) throws ErrnoException {
        api.sendmsg(via, Msghdr.send(new byte[] {1}, 0, 1, null, List.of(Cmsg.rights(fd))), flags);
    }

    private static File file(SocketApi api, int fd) throws ErrnoException {
        File f = api.filedesc().get(fd);
        f.drop(); // only the object is kept, no reference
        return f;
    }

    /**
     * A ring of {@code n} socketpairs (s_i, t_i): s_(i+1 mod n) is sent over t_i, so it sits in s_i's
     * receive buffer. Returns {s_0..s_(n-1), t_0..t_(n-1)}.
     */
    private static int[] ring(SocketApi api, int n, int type) throws ErrnoException {
        int[] fds = new int[2 * n];
        for (int i = 0; i < n; i++) {
            int[] p = api.socketpair(PF_UNIX, type, 0);
            fds[i] = p[0];
            fds[n + i] = p[1];
        }
        for (int i = 0; i < n; i++) {
            pass(api, fds[n + i], fds[(i + 1) % n], 0);
        }
        return fds;
    }

    @ParameterizedTest(name = "cycle of {0} {1}")
    @CsvSource({"1, dgram", "1, stream", "2, dgram", "2, stream", "7, dgram", "7, seqpacket"})
    @DisplayName("R-SO-4: a cycle of 1, 2 or N sockets whose descriptors are all closed is collected: files closed, counts back to zero, queued data freed")
    void cycleCollected(int n, String kind) throws Exception {
        int type = switch (kind) {
            case "dgram" -> SOCK_DGRAM;
            case "stream" -> SOCK_STREAM;
            default -> SOCK_SEQPACKET;
        };
        SocketApi api = SocketTestSupport.api("gc" + n + kind);
        Domains d = domainsOf(api);
        int[] fds = ring(api, n, type);
        List<File> ss = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ss.add(file(api, fds[i]));
        }
        assertThat(d.unpInflight()).isEqualTo(n);
        for (int fd : fds) {
            api.close(fd);
        }
        d.unpGcDrain();
        for (File f : ss) {
            assertThat(f.isClosing()).as("collected " + f).isTrue();
            assertThat(f.refcount()).isZero();
        }
        assertThat(d.unpGcRecycled()).isEqualTo(n);
        assertThat(d.unpInflight()).isZero();
        assertThat(d.openSockets()).isZero();
        assertThat(d.droppedBytes()).as("the one data byte of each message was freed").isEqualTo(n);
        assertThat(api.filedesc().count()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"dgram", "stream"})
    @DisplayName("R-SO-4: a cycle through sockets of two Vnets (one process holding descriptors in both) is collected, as FreeBSD's global collector does")
    void crossVnetCycleCollected(String kind) throws Exception {
        int type = kind.equals("dgram") ? SOCK_DGRAM : SOCK_STREAM;
        Filedesc fdp = new Filedesc();
        Domains da = new Domains("gc-cross-a");
        Domains db = new Domains("gc-cross-b");
        SocketApi a = new SocketApi(da, fdp, Ucred.of(100, 1000, 1000));
        SocketApi b = new SocketApi(db, fdp, Ucred.of(100, 1000, 1000));
        int[] pa = a.socketpair(PF_UNIX, type, 0);
        int[] pb = b.socketpair(PF_UNIX, type, 0);
        File fa = file(a, pa[0]);
        File fb = file(b, pb[0]);
        pass(a, pa[1], pb[0], 0); // B's socket waits in A's receive buffer
        pass(b, pb[1], pa[0], 0); // and A's in B's
        for (int fd : new int[] {pa[0], pa[1], pb[0], pb[1]}) {
            a.close(fd);
        }
        da.unpGcDrain();
        assertThat(fa.isClosing()).as("A's socket collected").isTrue();
        assertThat(fb.isClosing()).as("B's socket collected").isTrue();
        assertThat(fa.refcount()).isZero();
        assertThat(fb.refcount()).isZero();
        assertThat(da.unpGcRecycled()).isEqualTo(1);
        assertThat(db.unpGcRecycled()).isEqualTo(1);
        assertThat(da.unpInflight()).isZero();
        assertThat(db.unpInflight()).isZero();
        assertThat(da.openSockets()).isZero();
        assertThat(db.openSockets()).isZero();
        assertThat(fdp.count()).isZero();
    }

    @Test
    @DisplayName("R-SO-4: a stream cycle whose rights still wait in the senders' queues (receivers full) is collected; the queued data is freed")
    void cycleInSendQueues() throws Exception {
        SocketApi api = SocketTestSupport.api("gcsndq");
        Domains d = domainsOf(api);
        int[] p = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        int rcv0 = api.getsockoptInt(p[0], SOL_SOCKET, SO_RCVBUF);
        int rcv1 = api.getsockoptInt(p[1], SOL_SOCKET, SO_RCVBUF);
        assertThat(api.send(p[1], new byte[rcv0], 0, rcv0, 0)).isEqualTo(rcv0); // p0's receive buffer full
        assertThat(api.send(p[0], new byte[rcv1], 0, rcv1, 0)).isEqualTo(rcv1);
        pass(api, p[1], p[0], 0); // p0's own descriptor waits in p1's send queue
        pass(api, p[0], p[1], 0);
        File f0 = file(api, p[0]);
        File f1 = file(api, p[1]);
        api.close(p[0]);
        api.close(p[1]);
        d.unpGcDrain();
        assertThat(f0.isClosing()).isTrue();
        assertThat(f1.isClosing()).isTrue();
        assertThat(f0.refcount() + f1.refcount()).isZero();
        assertThat(d.unpGcRecycled()).isEqualTo(2);
        assertThat(d.unpInflight()).isZero();
        assertThat(d.openSockets()).isZero();
        assertThat(d.droppedBytes()).isEqualTo(rcv0 + rcv1 + 2);
    }

    @Test
    @DisplayName("R-SO-4: a cycle still reachable through an open descriptor is not collected; receiving from it works, and it closes normally afterwards")
    void reachableKept() throws Exception {
        SocketApi api = SocketTestSupport.api("gckeep");
        Domains d = domainsOf(api);
        int[] fds = ring(api, 2, SOCK_DGRAM); // s0 holds s1, s1 holds s0
        File s1 = file(api, fds[1]);
        api.close(fds[2]);
        api.close(fds[3]);
        api.close(fds[1]); // s1 now only in flight, but s0's descriptor reaches it
        d.unpGcDrain();
        assertThat(d.unpGcRecycled()).isZero();
        assertThat(s1.isClosing()).isFalse();
        // a socket whose own descriptor is queued in its own buffer while the descriptor is still open
        int[] self = api.socketpair(PF_UNIX, SOCK_DGRAM, 0);
        pass(api, self[1], self[0], 0);
        api.close(self[1]);
        d.unpGcDrain();
        assertThat(d.unpGcRecycled()).isZero();

        Msghdr m = Msghdr.recv(new byte[4], 0, 4, 64);
        api.recvmsg(fds[0], m, 0);
        int x = Cmsg.fdsOf((Cmsg.Data) m.control.get(0))[0];
        assertThat(file(api, x)).isSameAs(s1);
        Msghdr m2 = Msghdr.recv(new byte[4], 0, 4, 64);
        api.recvmsg(x, m2, 0);
        int y = Cmsg.fdsOf((Cmsg.Data) m2.control.get(0))[0];
        assertThat(file(api, y)).isSameAs(file(api, fds[0]));
        assertThat(d.unpInflight()).isEqualTo(1); // self[0] in its own buffer
        for (int fd : new int[] {fds[0], x, y}) {
            api.close(fd);
        }
        assertThat(s1.isClosing()).isTrue();
        api.close(self[0]); // now the self-cycle is garbage
        d.unpGcDrain();
        assertThat(d.unpGcRecycled()).isEqualTo(1);
        assertThat(d.unpInflight()).isZero();
        assertThat(d.openSockets()).isZero();
    }

    @Test
    @DisplayName("R-SO-4: net.local sysctl counters of a Vnet: inflight, taskcount, recycled")
    void sysctlCounters() throws Exception {
        try (Vnet v = new Vnet("gcsysctl", 1)) {
            SocketApi api = new SocketApi(v.domains(), new Filedesc(), Ucred.of(1, 0, 0));
            int[] fds = ring(api, 3, SOCK_STREAM);
            assertThat(v.sysctl().get("net.local.inflight")).isEqualTo("3");
            for (int fd : fds) {
                api.close(fd);
            }
            v.domains().unpGcDrain();
            assertThat(v.sysctl().get("net.local.inflight")).isEqualTo("0");
            assertThat(v.sysctl().get("net.local.recycled")).isEqualTo("3");
            assertThat(Long.parseLong(v.sysctl().get("net.local.taskcount"))).isPositive();
            assertThat(v.sysctl().get("net.local.gc_tracked")).isEqualTo("0");
        }
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-SO-4: stress: rings of sockets (and counted files) passed in cycles and closed by several threads while the collector runs; "
            + "every file closed exactly once, no socket left, counts zero")
    void stress(boolean mpsafe) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafe);
        try {
            runStress();
        } finally {
            Giant.setMpsafenet(saved);
        }
    }

    private void runStress() throws Exception {
        SocketApi api = SocketTestSupport.api("gcstress");
        Domains d = domainsOf(api);
        Filedesc fdp = api.filedesc();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        List<SocketStressTest.CountingFile> made = Collections.synchronizedList(new ArrayList<>());
        ConcurrentLinkedQueue<Integer> toClose = new ConcurrentLinkedQueue<>();
        // Descriptors waiting for the closer: the ringers wait while it is far behind, or three of them
        // outrun one closer on a busy machine and fill the descriptor table (EMFILE) in a long run.
        AtomicInteger backlog = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        long deadline = System.nanoTime() + MILLIS * 1_000_000L;
        List<Thread> ts = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
            ts.add(Thread.ofPlatform().name("gc-ringer-" + w).start(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                int[] types = {SOCK_DGRAM, SOCK_STREAM, SOCK_SEQPACKET};
                try {
                    while (System.nanoTime() < deadline) {
                        if (backlog.get() > CLOSE_BACKLOG) {
                            Thread.yield();
                            continue;
                        }
                        int n = 1 + rnd.nextInt(4);
                        int[] fds = ring(api, n, types[rnd.nextInt(3)]);
                        SocketStressTest.CountingFile cf = new SocketStressTest.CountingFile();
                        made.add(cf);
                        int cfd = fdp.install(cf);
                        pass(api, fds[n], cfd, 0); // a leaf in the ring: closed when the ring is
                        fdp.close(cfd);
                        if (rnd.nextInt(4) == 0) { // sometimes take one socket back out before closing
                            Msghdr m = Msghdr.recv(new byte[4], 0, 4, 64);
                            api.recvmsg(fds[0], m, MSG_DONTWAIT);
                            if (m.control != null) {
                                for (Cmsg c : m.control) {
                                    for (int fd : Cmsg.fdsOf((Cmsg.Data) c)) {
                                        backlog.incrementAndGet();
                                        toClose.add(fd);
                                    }
                                }
                            }
                        }
                        for (int fd : fds) {
                            if (rnd.nextBoolean()) {
                                backlog.incrementAndGet();
                                toClose.add(fd);
                            } else {
                                fdp.close(fd);
                            }
                        }
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        Thread closer = Thread.ofPlatform().name("gc-closer").start(() -> {
            while (!stop.get() || !toClose.isEmpty()) {
                Integer fd = toClose.poll();
                if (fd == null) {
                    Thread.onSpinWait();
                    continue;
                }
                backlog.decrementAndGet();
                try {
                    fdp.close(fd);
                } catch (Throwable t) {
                    failures.add(t); // each descriptor is closed exactly once
                }
            }
        });
        for (Thread t : ts) {
            t.join(60_000);
            assertThat(t.isAlive()).isFalse();
        }
        stop.set(true);
        closer.join(60_000);
        assertThat(closer.isAlive()).isFalse();
        d.unpGcDrain();
        assertThat(failures).isEmpty();
        assertThat(fdp.count()).isZero();
        assertThat(d.unpInflight()).isZero();
        assertThat(d.openSockets()).isZero();
        assertThat(d.unpGcRecycled()).isPositive();
        assertThat(made).isNotEmpty();
        for (SocketStressTest.CountingFile cf : made) {
            assertThat(cf.mine.get()).as("closed exactly once").isEqualTo(1);
            assertThat(cf.refcount()).isZero();
        }
    }
}
