package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.socket.SocketConst.*;
import static org.smpnet.socket.SocketTestSupport.api;
import static org.smpnet.socket.SocketTestSupport.assertErrno;
import static org.smpnet.socket.SocketTestSupport.domainsOf;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.smpnet.kern.Errno;
import org.smpnet.net.Sockaddr;

/** SO_LINGER on close (R-SO-1) and the dissolution of a UNIX datagram association (R-SO-4). */
@Timeout(60)
class LingerDisconnectTest {
    private static final int PF_UNIX = Sockaddr.AF_UNIX;

    private static void linger(SocketApi api, int s, boolean on, int secs) throws Exception {
        api.setsockopt(s, SOL_SOCKET, SO_LINGER, Sockopt.linger(on, secs));
    }

    /** Waits until {@code t} sleeps (or ended); the state, not a duration, is what the tests check. */
    private static Thread.State awaitBlocked(Thread t) throws InterruptedException {
        while (true) {
            Thread.State st = t.getState();
            if (st == Thread.State.TIMED_WAITING || st == Thread.State.WAITING || st == Thread.State.TERMINATED) {
                return st;
            }
            Thread.sleep(1);
        }
    }

    private static int readAll(SocketApi api, int s, int want) throws Exception {
        byte[] b = new byte[want];
        int got = 0;
        while (got < want) {
            int n = api.recv(s, b, got, want - got, 0);
            if (n == 0) {
                break;
            }
            got += n;
        }
        return got;
    }

    @Test
    @DisplayName("R-SO-1: close with SO_LINGER waits until the peer has read the data, then returns (woken by the read, long before the linger time)")
    void lingerWaitsForPeerRead() throws Exception {
        SocketApi api = api("lingerwait");
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        linger(api, sv[0], true, 600);
        assertThat(api.send(sv[0], new byte[3000], 0, 3000, 0)).isEqualTo(3000);
        CountDownLatch closed = new CountDownLatch(1);
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread closer = Thread.ofPlatform().name("linger-closer").start(() -> {
            try {
                api.close(sv[0]);
            } catch (Throwable t) {
                err.set(t);
            } finally {
                closed.countDown();
            }
        });
        assertThat(awaitBlocked(closer)).isNotEqualTo(Thread.State.TERMINATED);
        assertThat(closed.getCount()).as("close returned while the peer had not read").isEqualTo(1);
        assertThat(readAll(api, sv[1], 1000)).isEqualTo(1000);
        assertThat(closed.getCount()).as("1000 of 3000 bytes read: still lingering").isEqualTo(1);
        assertThat(readAll(api, sv[1], 2000)).isEqualTo(2000);
        assertThat(closed.await(30, TimeUnit.SECONDS)).as("close woke up after the peer's read").isTrue();
        closer.join();
        assertThat(err.get()).isNull();
        assertThat(domainsOf(api).lingerTimeouts()).isZero();
        assertThat(readAll(api, sv[1], 1)).isZero(); // EOF after the close
        api.close(sv[1]);
        assertThat(domainsOf(api).openSockets()).isZero();
    }

    @Test
    @DisplayName("R-SO-1: close with SO_LINGER returns after the linger time when the peer never reads; the data stays readable by the peer")
    void lingerTimesOut() throws Exception {
        SocketApi api = api("lingerto");
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        linger(api, sv[0], true, 1);
        api.send(sv[0], new byte[] {1, 2, 3, 4, 5}, 0, 5, 0);
        api.close(sv[0]); // sleeps up to 1 s
        assertThat(domainsOf(api).lingerTimeouts()).isEqualTo(1);
        assertThat(domainsOf(api).droppedBytes()).isZero();
        byte[] b = new byte[16];
        assertThat(api.recv(sv[1], b, 0, 16, 0)).isEqualTo(5);
        assertThat(b[4]).isEqualTo((byte) 5);
        assertThat(api.recv(sv[1], b, 0, 16, 0)).isZero();
        api.close(sv[1]);
        assertThat(domainsOf(api).openSockets()).isZero();
    }

    @Test
    @DisplayName("R-SO-1: SO_LINGER 0 aborts: unsent data is dropped and counted, the peer reads what it already had and then gets ECONNRESET")
    void lingerZeroAborts() throws Exception {
        SocketApi api = api("lingerzero");
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        api.setNonblock(sv[0], true);
        int sent = 0;
        try {
            while (true) {
                sent += api.send(sv[0], new byte[1024], 0, 1024, 0);
            }
        } catch (org.smpnet.kern.ErrnoException full) {
            assertThat(full.errno()).isEqualTo(Errno.EAGAIN);
        }
        api.setNonblock(sv[0], false);
        int delivered = api.getsockoptInt(sv[1], SOL_SOCKET, SO_RCVBUF);
        assertThat(sent).isGreaterThan(delivered);
        linger(api, sv[0], true, 0);
        api.close(sv[0]);
        assertThat(domainsOf(api).droppedBytes()).isEqualTo(sent - delivered);
        assertThat(readAll(api, sv[1], delivered)).isEqualTo(delivered);
        assertErrno(Errno.ECONNRESET, () -> api.recv(sv[1], new byte[8], 0, 8, 0));
        assertThat(api.recv(sv[1], new byte[8], 0, 8, 0)).isZero(); // then EOF
        api.close(sv[1]);
    }

    @Test
    @DisplayName("R-SO-1: a non-blocking socket does not linger (FreeBSD soclose): close returns at once, the data stays readable")
    void nonblockingDoesNotLinger() throws Exception {
        SocketApi api = api("lingernb");
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        linger(api, sv[0], true, 600);
        api.send(sv[0], new byte[100], 0, 100, 0);
        api.setNonblock(sv[0], true);
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30), () -> api.close(sv[0]));
        assertThat(domainsOf(api).lingerNbio()).isEqualTo(1);
        assertThat(domainsOf(api).lingerTimeouts()).isZero();
        assertThat(readAll(api, sv[1], 100)).isEqualTo(100);
        api.close(sv[1]);
    }

    @Test
    @DisplayName("R-SO-1: the peer closing ends a lingering close")
    void peerCloseEndsLinger() throws Exception {
        SocketApi api = api("lingerpeer");
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        linger(api, sv[0], true, 600);
        api.send(sv[0], new byte[10], 0, 10, 0);
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                api.close(sv[0]);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                closed.countDown();
            }
        });
        assertThat(awaitBlocked(closer)).isNotEqualTo(Thread.State.TERMINATED);
        api.close(sv[1]);
        assertThat(closed.await(30, TimeUnit.SECONDS)).isTrue();
        closer.join();
        assertThat(domainsOf(api).openSockets()).isZero();
    }

    @Test
    @DisplayName("R-SO-4: a connected UNIX datagram socket is dissolved by connect(AF_UNSPEC); sendto and a new connect work")
    void unixDgramDisconnect() throws Exception {
        SocketApi api = api("unixdisc");
        int p1 = api.socket(PF_UNIX, SOCK_DGRAM, 0);
        api.bind(p1, new Sockaddr.Un("/p1"));
        int p2 = api.socket(PF_UNIX, SOCK_DGRAM, 0);
        api.bind(p2, new Sockaddr.Un("/p2"));
        int s = api.socket(PF_UNIX, SOCK_DGRAM, 0);
        api.connect(s, new Sockaddr.Un("/p1"));
        assertThat(api.getpeername(s)).isEqualTo(new Sockaddr.Un("/p1"));
        assertErrno(Errno.EISCONN, () -> api.sendto(s, new byte[1], 0, 1, 0, new Sockaddr.Un("/p2")));
        api.connect(s, null);
        assertErrno(Errno.ENOTCONN, () -> api.getpeername(s));
        assertErrno(Errno.EDESTADDRREQ, () -> api.send(s, new byte[1], 0, 1, 0));
        api.sendto(s, new byte[] {7}, 0, 1, 0, new Sockaddr.Un("/p2"));
        byte[] b = new byte[4];
        assertThat(api.recv(p2, b, 0, 4, MSG_DONTWAIT)).isEqualTo(1);
        api.connect(s, new Sockaddr.Un("/p2"));
        api.send(s, new byte[] {8}, 0, 1, 0);
        assertThat(api.recv(p2, b, 0, 4, MSG_DONTWAIT)).isEqualTo(1);
        assertThat(b[0]).isEqualTo((byte) 8);
        assertErrno(Errno.EAGAIN, () -> api.recv(p1, b, 0, 4, MSG_DONTWAIT));
        api.disconnect(s);
        assertErrno(Errno.EDESTADDRREQ, () -> api.send(s, new byte[1], 0, 1, 0));
        // a stream socket cannot be dissolved with AF_UNSPEC
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        assertErrno(Errno.EAFNOSUPPORT, () -> api.connect(sv[0], null));
        for (int fd : new int[] {p1, p2, s, sv[0], sv[1]}) {
            api.close(fd);
        }
        assertThat(domainsOf(api).openSockets()).isZero();
    }
}
