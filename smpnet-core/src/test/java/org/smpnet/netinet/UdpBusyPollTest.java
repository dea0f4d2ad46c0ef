package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.UdpTestSupport.bind;
import static org.smpnet.netinet.UdpTestSupport.sendto;
import static org.smpnet.netinet.UdpTestSupport.udp;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.Vnet;
import org.smpnet.net.Epair;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketIo;

/**
 * A blocking UDP reader busy-polls the epair queue its datagrams come through (Linux's busy_read): the
 * receive work runs in the reader's thread, and every datagram still arrives exactly once, in order.
 */
class UdpBusyPollTest {
    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-UDP-1: a blocking reader polls its queue; lockstep and burst traffic arrive exactly, in order")
    void blockingReaderBusyPolls(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            try (Vnet a = new Vnet("bpa", 2); Vnet b = new Vnet("bpb", 2)) {
                Epair e = a.epair(b);
                a.addrs().add(e.a(), ip("10.0.0.1"), 24);
                b.addrs().add(e.b(), ip("10.0.0.2"), 24);
                Socket rx = udp(b);
                Socket tx = udp(a);
                try {
                    bind(rx, "10.0.0.2", 7000);
                    UdpTestSupport.setInt(rx, org.smpnet.socket.SocketConst.SOL_SOCKET,
                            org.smpnet.socket.SocketConst.SO_RCVBUF, 1 << 20);
                    Sockaddr to = Sockaddr.In.of("10.0.0.2", 7000);
                    sendto(tx, ByteBuffer.allocate(8).putInt(-1).array(), to); // ARP resolved before counting
                    boolean wantPolls = mpsafenet && Runtime.getRuntime().availableProcessors() > 1;
                    int minLockstep = 2000;
                    int burst = 3000;
                    int end = Integer.MAX_VALUE; // the last datagram
                    AtomicInteger total = new AtomicInteger(-1); // datagrams the reader must see, once known
                    AtomicInteger received = new AtomicInteger(); // the -1 included
                    AtomicInteger outOfOrder = new AtomicInteger();
                    AtomicReference<Throwable> failure = new AtomicReference<>();
                    Thread reader = Thread.ofPlatform().name("bp-reader").start(() -> {
                        byte[] buf = new byte[64];
                        int expect = -1;
                        try {
                            while (true) {
                                int n = SocketIo.soreceive(rx, Msghdr.recv(buf, 0, buf.length, 0), 0);
                                int seq = ByteBuffer.wrap(buf, 0, n).getInt();
                                if (seq == end) {
                                    break;
                                }
                                if (seq != expect) {
                                    outOfOrder.incrementAndGet();
                                }
                                expect = seq + 1;
                                received.incrementAndGet();
                            }
                        } catch (Throwable t) {
                            failure.set(t);
                        }
                    });
                    // Lockstep: the reader waits (and polls) for each one. On a machine so loaded that reader and
                    // sender never run at once no poll can find anything, so this goes on (up to 10 s) until one has.
                    long lockstepEnd = System.nanoTime() + 10_000_000_000L;
                    int i = 0;
                    for (; i < minLockstep || (wantPolls && polls(b) == 0 && System.nanoTime() < lockstepEnd); i++) {
                        sendto(tx, ByteBuffer.allocate(8).putInt(i).array(), to);
                        long deadline = System.nanoTime() + 10_000_000_000L;
                        while (received.get() < i + 2 && failure.get() == null && System.nanoTime() < deadline) {
                            Thread.onSpinWait();
                        }
                    }
                    for (int last = i + burst; i < last; i++) {
                        // bursts of up to 64 outstanding: UDP may drop what overflows the buffer, exactness may not
                        long deadline = System.nanoTime() + 10_000_000_000L;
                        while (i + 1 - received.get() > 64 && failure.get() == null && System.nanoTime() < deadline) {
                            Thread.onSpinWait();
                        }
                        sendto(tx, ByteBuffer.allocate(8).putInt(i).array(), to);
                    }
                    total.set(i + 1);
                    sendto(tx, ByteBuffer.allocate(8).putInt(end).array(), to);
                    reader.join(20_000);
                    assertThat(failure.get()).isNull();
                    assertThat(reader.isAlive()).as("reader still waiting after %d datagrams (full socket drops %d): one was stranded", received.get(),
                            b.ipSockets().udp().stats().fullsock.get()).isFalse();
                    assertThat(received.get()).isEqualTo(total.get());
                    assertThat(outOfOrder.get()).isZero();
                    assertThat(b.ipSockets().udp().stats().fullsock.get()).isZero();
                    long polls = polls(b);
                    if (wantPolls) {
                        assertThat(polls).as("kern.ipc.busy_polls").isPositive();
                    } else {
                        assertThat(polls).as("no polling under Giant or on one CPU").isZero();
                    }
                } finally {
                    rx.soclose();
                    tx.soclose();
                }
            }
        });
    }

    private static long polls(Vnet v) {
        return Long.parseLong(v.sysctl().get("kern.ipc.busy_polls"));
    }
}
