package org.smpnet.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.smpnet.Vnet;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Ucred;

/**
 * The CPU cost of one 64-byte UDP datagram through the whole stack, measured in one thread so no
 * hand-off or wake-up is counted: {@code sendto} on host A, the epair, A's output and B's input
 * (run by the sender at its system call's exit), then a non-blocking {@code recv} on host B. The
 * baseline is the Linux kernel doing the same in the same JVM: a {@code DatagramChannel} send to
 * 127.0.0.1 and a non-blocking receive (two system calls, the kernel's UDP loopback path).
 *
 * <p>Each operation returns the bytes received, so nothing can be elided; an operation that
 * received nothing fails the benchmark (the path must deliver every datagram).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class UdpPathBench {
    private static final int PAYLOAD = 64;
    static final int BATCH = 32;

    /** Two Vnets over an epair, one socket each. */
    @State(Scope.Thread)
    public static class Smpnet {
        Vnet a;
        Vnet b;
        SocketApi apiA;
        SocketApi apiB;
        int tx;
        int rx;
        Sockaddr to;
        final byte[] out = new byte[PAYLOAD];
        final byte[] in = new byte[2048];

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            a = new Vnet("pathbench-a");
            b = new Vnet("pathbench-b");
            Epair e = a.epair(b);
            a.addrs().add(e.a(), InAddr.parse("10.0.0.1"), 24);
            b.addrs().add(e.b(), InAddr.parse("10.0.0.2"), 24);
            apiA = new SocketApi(a.domains(), new Filedesc(), Ucred.of(1, 0, 0));
            apiB = new SocketApi(b.domains(), new Filedesc(), Ucred.of(2, 0, 0));
            rx = apiB.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            apiB.bind(rx, Sockaddr.In.of("10.0.0.2", 9000));
            tx = apiA.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            to = Sockaddr.In.of("10.0.0.2", 9000);
            apiA.sendto(tx, out, 0, PAYLOAD, 0, to); // resolves ARP
            apiB.recv(rx, in, 0, in.length, 0);
            setUpVectors();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            a.close();
            b.close();
        }

        int roundTrip() throws ErrnoException {
            apiA.sendto(tx, out, 0, PAYLOAD, 0, to);
            return apiB.recv(rx, in, 0, in.length, SocketConst.MSG_DONTWAIT);
        }

        final Msghdr[] outv = new Msghdr[BATCH];
        final Msghdr[] inv = new Msghdr[BATCH];

        private void setUpVectors() {
            for (int i = 0; i < BATCH; i++) {
                outv[i] = Msghdr.send(out, 0, PAYLOAD, to, null);
                inv[i] = new Msghdr(new byte[2048]);
            }
        }

        /** One sendmmsg of {@link #BATCH} datagrams, then recvmmsg until all came; returns the bytes received. */
        int batchTrip() throws ErrnoException {
            int sent = apiA.sendmmsg(tx, outv, 0, BATCH, 0);
            int bytes = 0;
            for (int got = 0; got < sent; ) {
                int n = apiB.recvmmsg(rx, inv, 0, sent - got, SocketConst.MSG_DONTWAIT);
                for (int i = 0; i < n; i++) {
                    bytes += inv[i].msgLen;
                }
                got += n;
            }
            return bytes;
        }
    }

    /** Two kernel UDP sockets on 127.0.0.1 through the JDK. */
    @State(Scope.Thread)
    public static class Kernel {
        DatagramChannel tx;
        DatagramChannel rx;
        InetSocketAddress to;
        final ByteBuffer out = ByteBuffer.allocateDirect(PAYLOAD);
        final ByteBuffer in = ByteBuffer.allocateDirect(2048);

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            rx = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress("127.0.0.1", 0));
            rx.configureBlocking(false);
            tx = DatagramChannel.open(StandardProtocolFamily.INET);
            to = (InetSocketAddress) rx.getLocalAddress();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            tx.close();
            rx.close();
        }

        int roundTrip() throws IOException {
            out.clear();
            tx.send(out, to);
            in.clear();
            return rx.receive(in) == null ? 0 : in.position();
        }
    }

    @Benchmark
    public int smpnetSendRecv(Smpnet s) throws ErrnoException {
        int n = s.roundTrip();
        if (n != PAYLOAD) {
            throw new IllegalStateException("smpnet lost a datagram: received " + n);
        }
        return n;
    }

    /** Per datagram: one sendmmsg and one recvmmsg of {@link #BATCH} datagrams each, divided by the batch. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int smpnetSendRecvBatch(Smpnet s) throws ErrnoException {
        int n = s.batchTrip();
        if (n != PAYLOAD * BATCH) {
            throw new IllegalStateException("smpnet lost datagrams: received " + n + " bytes of " + PAYLOAD * BATCH);
        }
        return n;
    }

    @Benchmark
    public int kernelSendRecv(Kernel k) throws IOException {
        int n = k.roundTrip();
        if (n != PAYLOAD) {
            throw new IllegalStateException("the kernel's loopback lost a datagram: received " + n);
        }
        return n;
    }
}
