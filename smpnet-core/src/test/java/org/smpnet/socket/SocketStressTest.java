package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.socket.SocketConst.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.DisplayName;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.kern.Giant;
import org.smpnet.net.Sockaddr;

/**
 * Races of the socket layer, each bounded by {@code smpnet.stress.millis} and run with and without
 * Giant. Failures of worker threads are collected and fail the test; only ErrnoException is expected.
 */
class SocketStressTest {
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);

    private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();

    interface Body {
        void run() throws Exception;
    }

    private Thread start(String name, Body b) {
        Thread t = new Thread(() -> {
            try {
                b.run();
            } catch (Throwable e) {
                failures.add(e);
            }
        }, name);
        t.start();
        return t;
    }

    private static void joinAll(List<Thread> ts) throws InterruptedException {
        for (Thread t : ts) {
            t.join(60_000);
            assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
        }
    }

    private void inMode(boolean mpsafe, Body b) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafe);
        try {
            b.run();
        } finally {
            Giant.setMpsafenet(saved);
        }
        assertThat(failures).isEmpty();
    }

    @SuppressWarnings("GuardedBy") // sbcheck runs with the buffer mutex held
    private static void check(Sockbuf sb) {
        sb.mtx.lock();
        try {
            sb.sbcheck();
        } finally {
            sb.mtx.unlock();
        }
    }

    private static Socket sock(SocketApi api, int fd) throws ErrnoException {
        SocketFile f = (SocketFile) api.filedesc().get(fd);
        try {
            return f.socket();
        } finally {
            f.drop();
        }
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-SO-1: UNIX datagrams: senders, receivers, a closer and SO_RCVBUF/SO_SNDBUF changers race; "
            + "sbcheck holds throughout and every datagram sent is received or counted dropped")
    void dgramRace(boolean mpsafe) throws Exception {
        inMode(mpsafe, () -> {
            SocketApi api = SocketTestSupport.api("dgram-stress");
            Domains d = SocketTestSupport.domainsOf(api);
            int r = api.socket(PF_UNIX, SOCK_DGRAM, 0);
            api.bind(r, new Sockaddr.Un("/r"));
            Socket rso = sock(api, r);
            AtomicLong sent = new AtomicLong();
            AtomicLong received = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            long end = System.currentTimeMillis() + MILLIS;
            List<Thread> ts = new ArrayList<>();
            List<Integer> senders = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int s = api.socket(PF_UNIX, SOCK_DGRAM, 0);
                senders.add(s);
                ts.add(start("sender" + i, () -> {
                    byte[] b = new byte[64 + ThreadLocalRandom.current().nextInt(900)];
                    while (!stop.get()) {
                        try {
                            api.sendto(s, b, 0, b.length, 0, new Sockaddr.Un("/r"));
                            sent.incrementAndGet();
                        } catch (ErrnoException e) {
                            Thread.onSpinWait(); // ENOBUFS (full), ENOENT/ECONNREFUSED (closed): not sent
                        }
                    }
                }));
            }
            for (int i = 0; i < 2; i++) {
                ts.add(start("receiver" + i, () -> {
                    byte[] b = new byte[2048];
                    while (true) {
                        try {
                            api.recv(r, b, 0, b.length, 0);
                            received.incrementAndGet();
                        } catch (ErrnoException e) {
                            return; // EBADF once closed
                        }
                    }
                }));
            }
            ts.add(start("bufsizes", () -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (!stop.get()) {
                    try {
                        api.setsockopt(r, SOL_SOCKET, SO_RCVBUF, 1024 + rnd.nextInt(64 * 1024));
                        api.setsockopt(senders.get(rnd.nextInt(3)), SOL_SOCKET, SO_SNDBUF, 1024 + rnd.nextInt(8192));
                    } catch (ErrnoException closed) {
                        return;
                    }
                }
            }));
            ts.add(start("checker", () -> {
                while (!stop.get()) {
                    check(rso.rcv());
                }
            }));
            while (System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            api.close(r); // the closer: receivers wake with EBADF, what is queued is counted dropped
            stop.set(true);
            joinAll(ts);
            for (int s : senders) {
                api.close(s);
            }
            assertThat(received.get()).isPositive();
            assertThat(sent.get()).isEqualTo(received.get() + d.droppedRecords());
            assertThat(d.openSockets()).isZero();
        });
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-SO-1: UNIX stream: two writers, two readers, buffer-size changers and a closer; sbcheck throughout, "
            + "bytes written = bytes read + bytes dropped")
    void streamRace(boolean mpsafe) throws Exception {
        inMode(mpsafe, () -> {
            SocketApi api = SocketTestSupport.api("stream-stress");
            Domains d = SocketTestSupport.domainsOf(api);
            int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
            Socket w = sock(api, sv[0]);
            Socket rd = sock(api, sv[1]);
            AtomicLong written = new AtomicLong();
            AtomicLong read = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> writers = new ArrayList<>();
            List<Thread> others = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                writers.add(start("writer" + i, () -> {
                    byte[] b = new byte[1 + ThreadLocalRandom.current().nextInt(20_000)];
                    while (true) {
                        try {
                            written.addAndGet(api.send(sv[0], b, 0, b.length, 0));
                        } catch (ErrnoException e) {
                            return; // EBADF/EPIPE after the close
                        }
                    }
                }));
            }
            for (int i = 0; i < 2; i++) {
                others.add(start("reader" + i, () -> {
                    byte[] b = new byte[7000];
                    while (true) {
                        int n = api.recv(sv[1], b, 0, b.length, 0);
                        if (n == 0) {
                            return;
                        }
                        read.addAndGet(n);
                    }
                }));
            }
            others.add(start("bufsizes", () -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (!stop.get()) {
                    api.setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, 512 + rnd.nextInt(64 * 1024));
                    try {
                        api.setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, 512 + rnd.nextInt(64 * 1024));
                    } catch (ErrnoException closed) {
                        Thread.onSpinWait();
                    }
                }
            }));
            others.add(start("checker", () -> {
                while (!stop.get()) {
                    check(w.snd());
                    check(rd.rcv());
                }
            }));
            Thread.sleep(MILLIS);
            api.close(sv[0]); // the closer: writers get EBADF, readers drain and see EOF
            joinAll(writers);
            stop.set(true);
            joinAll(others);
            api.close(sv[1]);
            assertThat(read.get()).isPositive();
            assertThat(written.get()).isEqualTo(read.get() + d.droppedBytes());
            assertThat(d.openSockets()).isZero();
        });
    }

    /** A file whose closing and close are counted, to prove each runs exactly once. */
    static final class CountingFile extends org.smpnet.kern.File {
        static final AtomicInteger CLOSINGS = new AtomicInteger();
        static final AtomicInteger CLOSES = new AtomicInteger();
        final AtomicInteger mine = new AtomicInteger();

        CountingFile() {
            super(DTYPE_PIPE, FREAD | FWRITE);
        }

        @Override
        public int read(java.nio.ByteBuffer dst, int ioflags) {
            return 0;
        }

        @Override
        public int write(java.nio.ByteBuffer src, int ioflags) {
            return src.remaining();
        }

        @Override
        public int poll(int events, org.smpnet.kern.PollWaiter waiter) {
            return 0;
        }

        @Override
        public void kqfilter(org.smpnet.kern.Knote kn) throws ErrnoException {
            throw new ErrnoException(org.smpnet.kern.Errno.EINVAL, "no filters");
        }

        @Override
        public FileStat stat() {
            return new FileStat(DTYPE_PIPE, 0, 0);
        }

        @Override
        protected void closing() {
            CLOSINGS.incrementAndGet();
        }

        @Override
        protected void close() {
            CLOSES.incrementAndGet();
            mine.incrementAndGet();
        }
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-SO-4: SCM_RIGHTS while closing: sockets and files passed as another thread closes them, "
            + "receivers keep or discard them; every file is closed exactly once and no socket is left")
    void passWhileClosing(boolean mpsafe) throws Exception {
        inMode(mpsafe, () -> {
            SocketApi api = SocketTestSupport.api("pass-stress");
            Domains d = SocketTestSupport.domainsOf(api);
            Filedesc fdp = api.filedesc();
            int[] chan = api.socketpair(PF_UNIX, SOCK_DGRAM, 0);
            api.setsockopt(chan[1], SOL_SOCKET, SO_RCVBUF, 256 * 1024);
            List<CountingFile> made = java.util.Collections.synchronizedList(new ArrayList<>());
            ConcurrentLinkedQueue<Integer> toClose = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> ts = new ArrayList<>();
            ts.add(start("passer", () -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (!stop.get()) {
                    int fd;
                    if (rnd.nextBoolean()) {
                        CountingFile cf = new CountingFile();
                        made.add(cf);
                        fd = fdp.install(cf);
                    } else {
                        int[] p = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
                        toClose.add(p[1]);
                        fd = p[0];
                    }
                    toClose.add(fd);
                    try {
                        api.sendmsg(chan[0], Msghdr.send(new byte[1], 0, 1, null, List.of(Cmsg.rights(fd))), MSG_DONTWAIT);
                    } catch (ErrnoException e) {
                        Thread.onSpinWait(); // EBADF: the closer won; EAGAIN/ENOBUFS: buffer full
                    }
                }
            }));
            Thread passer = ts.get(0);
            ts.add(start("closer", () -> {
                // drain until the passer is gone: it may still queue a descriptor after stop is set
                while (passer.isAlive() || !toClose.isEmpty()) {
                    Integer fd = toClose.poll();
                    if (fd != null) {
                        try {
                            fdp.close(fd);
                        } catch (ErrnoException alreadyGone) {
                            failures.add(alreadyGone); // each descriptor is closed once, by this thread only
                        }
                    }
                }
            }));
            ts.add(start("receiver", () -> {
                byte[] b = new byte[4];
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                while (true) {
                    Msghdr m = Msghdr.recv(b, 0, 4, rnd.nextBoolean() ? 64 : 0);
                    try {
                        api.recvmsg(chan[1], m, 0);
                    } catch (ErrnoException e) {
                        return; // EBADF at the end
                    }
                    if (m.control != null) {
                        for (Cmsg c : m.control) {
                            for (int fd : Cmsg.fdsOf((Cmsg.Data) c)) {
                                fdp.close(fd);
                            }
                        }
                    }
                }
            }));
            Thread.sleep(MILLIS);
            stop.set(true);
            ts.get(0).join(60_000);
            ts.get(1).join(60_000);
            api.close(chan[0]);
            api.close(chan[1]); // messages still queued are discarded: their files close
            joinAll(ts);
            for (CountingFile cf : made) {
                assertThat(cf.mine.get()).as("closed exactly once").isEqualTo(1);
                assertThat(cf.refcount()).isZero();
            }
            assertThat(made).isNotEmpty();
            assertThat(d.openSockets()).isZero();
            assertThat(fdp.count()).isZero();
        });
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-API-1: getsockname/getpeername race bind, connect and close (the dhclient crash): "
            + "only ErrnoException, never a torn or foreign address")
    void namesRace(boolean mpsafe) throws Exception {
        inMode(mpsafe, () -> {
            SocketApi api = SocketTestSupport.api("names-stress");
            int srv = api.socket(PF_UNIX, SOCK_DGRAM, 0);
            api.bind(srv, new Sockaddr.Un("/server"));
            AtomicInteger current = new AtomicInteger(-1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong answers = new AtomicLong();
            Set<Sockaddr> allowed = Set.of(new Sockaddr.Un(""), new Sockaddr.Un("/server"));
            List<Thread> ts = new ArrayList<>();
            ts.add(start("churn", () -> {
                int i = 0;
                while (!stop.get()) {
                    int s = api.socket(PF_UNIX, SOCK_DGRAM, 0);
                    current.set(s);
                    String path = "/c" + (i++ % 4);
                    try {
                        api.bind(s, new Sockaddr.Un(path));
                        api.connect(s, new Sockaddr.Un("/server"));
                    } catch (ErrnoException e) {
                        Thread.onSpinWait();
                    }
                    api.close(s);
                }
            }));
            for (int k = 0; k < 3; k++) {
                ts.add(start("names" + k, () -> {
                    do {
                        int s = current.get();
                        try {
                            Sockaddr a = api.getsockname(s);
                            assertThat(a instanceof Sockaddr.Un u && (u.path().isEmpty() || u.path().matches("/c[0-3]|/server")))
                                    .as("getsockname " + a).isTrue();
                            Sockaddr p = api.getpeername(s);
                            assertThat(allowed).contains(p);
                        } catch (ErrnoException expected) {
                            Thread.onSpinWait(); // EBADF, ENOTSOCK (fd reused), ENOTCONN
                        }
                        answers.incrementAndGet();
                    } while (!stop.get());
                }));
            }
            Thread.sleep(MILLIS);
            stop.set(true);
            joinAll(ts);
            assertThat(answers.get()).as("calls that raced (each returned or threw ErrnoException)").isPositive();
            int s = api.socket(PF_UNIX, SOCK_DGRAM, 0);
            api.bind(s, new Sockaddr.Un("/after"));
            api.connect(s, new Sockaddr.Un("/server"));
            assertThat(api.getsockname(s)).isEqualTo(new Sockaddr.Un("/after"));
            assertThat(api.getpeername(s)).isEqualTo(new Sockaddr.Un("/server"));
            api.close(s);
            api.close(srv);
        });
    }
}
