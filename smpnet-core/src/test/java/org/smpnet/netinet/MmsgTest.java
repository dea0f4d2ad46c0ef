package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.socket.SocketConst.MSG_DONTWAIT;
import static org.smpnet.socket.SocketConst.MSG_TRUNC;
import static org.smpnet.socket.SocketConst.MSG_WAITFORONE;
import static org.smpnet.socket.SocketConst.SOCK_DGRAM;
import static org.smpnet.socket.SocketConst.SOL_SOCKET;
import static org.smpnet.socket.SocketConst.SO_RCVBUF;
import static org.smpnet.socket.SocketConst.SO_RCVTIMEO;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.Sockopt;
import org.smpnet.socket.Ucred;

/** {@code sendmmsg}/{@code recvmmsg} on UDP between two hosts over an epair. */
class MmsgTest {
    private static final Sockaddr TO = Sockaddr.In.of("10.0.0.2", 7100);

    private InetTestSupport.TwoHosts hosts;
    private SocketApi apiA;
    private SocketApi apiB;
    private int tx;
    private int rx;

    @BeforeEach
    void setUp() throws Exception {
        hosts = InetTestSupport.TwoHosts.create("mm");
        apiA = new SocketApi(hosts.a().domains(), new Filedesc(), Ucred.of(1, 0, 0));
        apiB = new SocketApi(hosts.b().domains(), new Filedesc(), Ucred.of(2, 0, 0));
        rx = apiB.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        apiB.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, 1 << 20);
        apiB.bind(rx, TO);
        tx = apiA.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        apiA.bind(tx, Sockaddr.In.of("10.0.0.1", 7200));
        apiA.sendto(tx, new byte[1], 0, 1, 0, TO); // resolves ARP: later datagrams never wait in its hold queue
        assertThat(apiB.recv(rx, new byte[8], 0, 8, 0)).isEqualTo(1);
    }

    @AfterEach
    void tearDown() {
        hosts.close();
    }

    private static byte[] seq(int i, int len) {
        return ByteBuffer.allocate(len).putInt(i).array();
    }

    private static Msghdr[] recvVector(int n, int bufLen) {
        Msghdr[] v = new Msghdr[n];
        for (int i = 0; i < n; i++) {
            v[i] = new Msghdr(new byte[bufLen]);
        }
        return v;
    }

    /** Receives until {@code total} datagrams came, checking each one's sequence number, length and source. */
    private void receiveInOrder(int total, int vlen, int len, AtomicInteger progress) throws ErrnoException {
        Msghdr[] in = recvVector(vlen, 256);
        int expect = 0;
        while (expect < total) {
            int n = apiB.recvmmsg(rx, in, 0, vlen, MSG_WAITFORONE);
            assertThat(n).isBetween(1, Math.min(vlen, total - expect));
            for (int i = 0; i < n; i++) {
                assertThat(in[i].msgLen).isEqualTo(len);
                assertThat(ByteBuffer.wrap(in[i].buf).getInt()).isEqualTo(expect++);
                assertThat(in[i].name).isEqualTo(Sockaddr.In.of("10.0.0.1", 7200));
                assertThat(in[i].flags).isZero();
            }
            progress.set(expect);
        }
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-API-1: sendmmsg batches arrive through recvmmsg(MSG_WAITFORONE) exactly, in order, with lengths and sources")
    void batchesArriveInOrder(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            int total = 2000;
            int batch = 16;
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger received = new AtomicInteger();
            Thread reader = Thread.ofPlatform().name("mm-reader").start(() -> {
                try {
                    receiveInOrder(total, 7, 40, received);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            Msghdr[] out = new Msghdr[batch];
            int sent = 0;
            while (sent < total) {
                // UDP has no flow control: keep what is in flight within the epair's queue, so none is dropped.
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (sent - received.get() > 64 && failure.get() == null && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                int k = Math.min(batch, total - sent);
                for (int i = 0; i < k; i++) {
                    out[i] = Msghdr.send(seq(sent + i, 40), 0, 40, TO, null);
                }
                int n = apiA.sendmmsg(tx, out, 0, k, 0);
                assertThat(n).isEqualTo(k);
                for (int i = 0; i < n; i++) {
                    assertThat(out[i].msgLen).isEqualTo(40);
                }
                sent += n;
            }
            reader.join(20_000);
            assertThat(reader.isAlive()).as("reader still waiting").isFalse();
            assertThat(failure.get()).isNull();
        });
    }

    @Test
    @DisplayName("R-API-1: recvmmsg without MSG_WAITFORONE fills the vector, or stops at SO_RCVTIMEO with what it has")
    void waitsForAllUntilTimeout() throws Exception {
        for (int i = 0; i < 3; i++) {
            apiA.sendto(tx, seq(i, 8), 0, 8, 0, TO);
        }
        hosts.e().quiesce();
        Msghdr[] in = recvVector(5, 64);
        apiB.setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, Sockopt.timeval(200_000));
        long t0 = System.nanoTime();
        assertThat(apiB.recvmmsg(rx, in, 0, 5, 0)).isEqualTo(3);
        assertThat(System.nanoTime() - t0).as("waited for the other two until the timeout").isGreaterThan(150_000_000L);
        for (int i = 0; i < 3; i++) {
            assertThat(ByteBuffer.wrap(in[i].buf).getInt()).isEqualTo(i);
        }
        // Enough queued: it returns at once with the full vector, the rest stays queued.
        for (int i = 3; i < 10; i++) {
            apiA.sendto(tx, seq(i, 8), 0, 8, 0, TO);
        }
        hosts.e().quiesce();
        assertThat(apiB.recvmmsg(rx, in, 1, 4, 0)).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            assertThat(ByteBuffer.wrap(in[1 + i].buf).getInt()).isEqualTo(3 + i);
        }
        assertThat(apiB.recvmmsg(rx, in, 0, 5, MSG_DONTWAIT)).isEqualTo(3);
        assertThat(ByteBuffer.wrap(in[2].buf).getInt()).isEqualTo(9);
        assertThatThrownBy(() -> apiB.recvmmsg(rx, in, 0, 5, MSG_DONTWAIT))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
        assertThat(apiB.recvmmsg(rx, in, 0, 0, 0)).isZero();
    }

    @Test
    @DisplayName("R-API-1: a socket error that ends a recvmmsg waiting for more after its first datagram is reported by the next call (Linux's sk_err)")
    void errorWhileWaitingForMoreIsKept() throws Exception {
        Sockaddr peer = Sockaddr.In.of("10.0.0.1", 7300);
        int from = apiA.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        apiA.bind(from, peer);
        apiB.connect(rx, peer);
        var receiving = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            Msghdr[] in = recvVector(4, 64);
            try {
                return apiB.recvmmsg(rx, in, 0, 4, 0, java.time.Duration.ofSeconds(20)); // waits for all four
            } catch (ErrnoException e) {
                throw new IllegalStateException(e);
            }
        });
        apiA.sendto(from, seq(1, 8), 0, 8, 0, TO);
        apiA.close(from); // the peer's port is closed now: the next datagram to it is refused
        Thread.sleep(200); // the reader has taken the first datagram and waits for more
        apiB.send(rx, seq(2, 8), 0, 8, 0);
        assertThat(receiving.get(10, java.util.concurrent.TimeUnit.SECONDS)).as("the error ends the call with one").isEqualTo(1);
        assertThatThrownBy(() -> apiB.recv(rx, new byte[8], 0, 8, MSG_DONTWAIT))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ECONNREFUSED));
        assertThatThrownBy(() -> apiB.recv(rx, new byte[8], 0, 8, MSG_DONTWAIT)) // reported once
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
    }

    @Test
    @DisplayName("R-API-1: recvmmsg's timeout bounds the whole call: what came by then, EAGAIN if nothing; zero does not wait; negative is EINVAL")
    void timeoutBoundsTheCall() throws Exception {
        Msghdr[] in = recvVector(5, 64);
        for (int i = 0; i < 3; i++) {
            apiA.sendto(tx, seq(i, 8), 0, 8, 0, TO);
        }
        hosts.e().quiesce();
        long t0 = System.nanoTime();
        assertThat(apiB.recvmmsg(rx, in, 0, 5, 0, java.time.Duration.ofMillis(200))).isEqualTo(3);
        assertThat(System.nanoTime() - t0).as("waited for the other two until the timeout").isGreaterThan(150_000_000L);
        long t1 = System.nanoTime();
        assertThatThrownBy(() -> apiB.recvmmsg(rx, in, 0, 5, 0, java.time.Duration.ofMillis(100)))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
        assertThat(System.nanoTime() - t1).isGreaterThan(80_000_000L);
        assertThatThrownBy(() -> apiB.recvmmsg(rx, in, 0, 5, 0, java.time.Duration.ZERO))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
        assertThatThrownBy(() -> apiB.recvmmsg(rx, in, 0, 5, 0, java.time.Duration.ofMillis(-1)))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        // A datagram that comes while the call waits ends it as soon as the vector is full.
        Thread late = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
                apiA.sendto(tx, seq(42, 8), 0, 8, 0, TO);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long t2 = System.nanoTime();
        assertThat(apiB.recvmmsg(rx, in, 0, 1, 0, java.time.Duration.ofSeconds(20))).isEqualTo(1);
        assertThat(System.nanoTime() - t2).isLessThan(10_000_000_000L);
        assertThat(ByteBuffer.wrap(in[0].buf).getInt()).isEqualTo(42);
        late.join();
        apiA.sendto(tx, seq(43, 8), 0, 8, 0, TO);
        assertThat(apiB.recvmmsg(rx, in, 0, 1, 0, java.time.Duration.ofSeconds(Long.MAX_VALUE / 2)))
                .as("a huge timeout does not overflow into an expired one").isEqualTo(1);
        assertThat(ByteBuffer.wrap(in[0].buf).getInt()).isEqualTo(43);
    }

    @Test
    @DisplayName("R-API-1: recvmmsg truncates each datagram to its own buffer and says so (MSG_TRUNC)")
    void truncatesPerMessage() throws Exception {
        apiA.sendto(tx, seq(1, 100), 0, 100, 0, TO);
        apiA.sendto(tx, seq(2, 10), 0, 10, 0, TO);
        hosts.e().quiesce();
        Msghdr[] in = {new Msghdr(new byte[50]), new Msghdr(new byte[50])};
        assertThat(apiB.recvmmsg(rx, in, 0, 2, MSG_DONTWAIT)).isEqualTo(2);
        assertThat(in[0].msgLen).isEqualTo(50);
        assertThat(in[0].flags & MSG_TRUNC).isEqualTo(MSG_TRUNC);
        assertThat(in[1].msgLen).isEqualTo(10);
        assertThat(in[1].flags & MSG_TRUNC).isZero();
        assertThat(ByteBuffer.wrap(in[1].buf).getInt()).isEqualTo(2);
    }

    @Test
    @DisplayName("R-API-1: sendmmsg throws the first message's error, returns the count before a later one's; bad vectors are EINVAL")
    void sendErrorsAndBadVectors() throws Exception {
        Sockaddr port0 = Sockaddr.In.of("10.0.0.2", 0);
        Msghdr[] out = {Msghdr.send(seq(0, 8), 0, 8, port0, null), Msghdr.send(seq(1, 8), 0, 8, TO, null)};
        assertThatThrownBy(() -> apiA.sendmmsg(tx, out, 0, 2, 0))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EADDRNOTAVAIL));
        Msghdr[] out2 = {Msghdr.send(seq(7, 8), 0, 8, TO, null), Msghdr.send(seq(8, 8), 0, 8, port0, null),
                Msghdr.send(seq(9, 8), 0, 8, TO, null)};
        assertThat(apiA.sendmmsg(tx, out2, 0, 3, 0)).isEqualTo(1);
        hosts.e().quiesce();
        Msghdr[] in = recvVector(4, 64);
        assertThat(apiB.recvmmsg(rx, in, 0, 4, MSG_DONTWAIT)).isEqualTo(1);
        assertThat(ByteBuffer.wrap(in[0].buf).getInt()).isEqualTo(7);
        List<Runnable> bad = new ArrayList<>();
        bad.add(() -> call(() -> apiA.sendmmsg(tx, out2, 2, 2, 0)));
        bad.add(() -> call(() -> apiA.sendmmsg(tx, out2, -1, 1, 0)));
        bad.add(() -> call(() -> apiB.recvmmsg(rx, in, 0, 5, 0)));
        bad.add(() -> call(() -> apiB.recvmmsg(rx, new Msghdr[2], 0, 2, 0)));
        bad.add(() -> call(() -> apiB.recvmmsg(rx, null, 0, 1, 0)));
        for (Runnable r : bad) {
            assertThatThrownBy(r::run).hasCauseInstanceOf(ErrnoException.class)
                    .satisfies(t -> assertThat(((ErrnoException) t.getCause()).errno()).isEqualTo(Errno.EINVAL));
        }
        assertThatThrownBy(() -> apiB.recvmmsg(999, in, 0, 1, 0))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
    }

    /** Receives everything queued on {@code s} now, as the sequence numbers of 8-byte datagrams. */
    private static List<Integer> drain(SocketApi api, int s) throws ErrnoException {
        List<Integer> got = new ArrayList<>();
        Msghdr[] in = recvVector(32, 64);
        while (true) {
            int n;
            try {
                n = api.recvmmsg(s, in, 0, in.length, MSG_DONTWAIT);
            } catch (ErrnoException e) {
                assertThat(e.errno()).isEqualTo(Errno.EAGAIN);
                return got;
            }
            for (int i = 0; i < n; i++) {
                assertThat(in[i].msgLen).isEqualTo(8);
                got.add(ByteBuffer.wrap(in[i].buf).getInt());
            }
        }
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-API-1: a sendmmsg longer than one chunk, to two alternating destinations, delivers every datagram to its own socket in order")
    void longVectorToTwoDestinations(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            Sockaddr to2 = Sockaddr.In.of("10.0.0.2", 7101);
            int rx2 = apiB.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
            apiB.bind(rx2, to2);
            int total = 150; // over two chunks of SocketIo.SEND_CHUNK
            Msghdr[] out = new Msghdr[total];
            for (int i = 0; i < total; i++) {
                out[i] = Msghdr.send(seq(i, 8), 0, 8, (i / 3) % 2 == 0 ? TO : to2, null); // runs of three
            }
            assertThat(apiA.sendmmsg(tx, out, 0, total, 0)).isEqualTo(total);
            hosts.e().quiesce();
            List<Integer> first = new ArrayList<>();
            List<Integer> second = new ArrayList<>();
            for (int i = 0; i < total; i++) {
                assertThat(out[i].msgLen).isEqualTo(8);
                ((i / 3) % 2 == 0 ? first : second).add(i);
            }
            assertThat(drain(apiB, rx)).isEqualTo(first);
            assertThat(drain(apiB, rx2)).isEqualTo(second);
            apiB.close(rx2);
        });
    }

    @Test
    @DisplayName("R-API-1: in a sendmmsg, a message the chunk cannot take (bad family, too long, control) ends the call at its place with the count before it, or with its error when first")
    void messagesOutsideTheChunkEndItInPlace() throws Exception {
        List<Errno> errors = new ArrayList<>();
        List<java.util.function.Supplier<Msghdr>> odds = List.of(
                () -> Msghdr.send(seq(0, 8), 0, 8, new Sockaddr.Un("/nowhere"), null),
                () -> Msghdr.send(new byte[Udp.MAXDGRAM + 1], 0, Udp.MAXDGRAM + 1, TO, null),
                () -> Msghdr.send(seq(0, 8), 0, 8, TO, List.of(new org.smpnet.socket.Cmsg.Data(
                        IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_TTL, new byte[] {1, 0, 0, 0}))));
        int next = 0;
        for (var odd : odds) {
            Msghdr[] v = new Msghdr[5];
            for (int i = 0; i < v.length; i++) {
                v[i] = i == 3 ? odd.get() : Msghdr.send(seq(next++, 8), 0, 8, TO, null);
            }
            assertThat(apiA.sendmmsg(tx, v, 0, v.length, 0)).as(v[3].toString()).isEqualTo(3);
            Msghdr[] again = {odd.get(), v[4]}; // the first call may have consumed the odd one's control
            ErrnoException e = org.assertj.core.api.Assertions.catchThrowableOfType(ErrnoException.class,
                    () -> apiA.sendmmsg(tx, again, 0, 2, 0));
            assertThat(e).as("first in its call").isNotNull();
            errors.add(e.errno()); // v[4] (sequence 3, 7, 11) is never sent
        }
        assertThat(errors).containsExactly(Errno.EAFNOSUPPORT, Errno.EMSGSIZE, Errno.EINVAL);
        hosts.e().quiesce();
        assertThat(drain(apiB, rx)).containsExactly(0, 1, 2, 4, 5, 6, 8, 9, 10);
    }

    @Test
    @DisplayName("R-API-1: sendmmsg on an unbound socket binds it once, with its first datagram, and sends all from that port; a socket shut for sending fails with EPIPE")
    void unboundSocketIsBoundByTheFirstDatagram() throws Exception {
        int s = apiA.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        Msghdr[] out = new Msghdr[10];
        for (int i = 0; i < out.length; i++) {
            out[i] = Msghdr.send(seq(i, 8), 0, 8, TO, null);
        }
        assertThat(apiA.sendmmsg(s, out, 0, out.length, 0)).isEqualTo(out.length);
        Sockaddr.In bound = (Sockaddr.In) apiA.getsockname(s);
        assertThat(bound.port()).isNotZero();
        hosts.e().quiesce();
        Msghdr[] in = recvVector(16, 64);
        assertThat(apiB.recvmmsg(rx, in, 0, 16, MSG_DONTWAIT)).isEqualTo(out.length);
        for (int i = 0; i < out.length; i++) {
            assertThat(ByteBuffer.wrap(in[i].buf).getInt()).isEqualTo(i);
            assertThat(((Sockaddr.In) in[i].name).port()).isEqualTo(bound.port());
        }
        apiA.connect(s, TO);
        apiA.shutdown(s, org.smpnet.socket.SocketConst.SHUT_WR);
        Msghdr[] toPeer = {Msghdr.send(seq(0, 8), 0, 8, null, null), Msghdr.send(seq(1, 8), 0, 8, null, null)};
        assertThatThrownBy(() -> apiA.sendmmsg(s, toPeer, 0, toPeer.length, 0))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPIPE));
        apiA.close(s);
    }

    private interface Call {
        void run() throws ErrnoException;
    }

    private static void call(Call c) {
        try {
            c.run();
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
    }
}
