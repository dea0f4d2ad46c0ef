package org.smpnet.cli;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;
import org.smpnet.netinet.Icmp;
import org.smpnet.netinet.IcmpCtl;
import org.smpnet.netinet.IpOutOpts;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Ucred;

/**
 * Real traffic for {@code smpnet demo --serve}: every period alpha (10.0.0.1) sends beta (10.0.0.2) an ICMP
 * echo request and a UDP datagram to port {@link #PORT}, which a thread on beta echoes back through the
 * socket API; alpha reads the echoes. Everything goes through the stacks (ARP, IP, ICMP, UDP), so captures
 * and {@code smpnet netstat -s} show it.
 *
 * <p>Threads: one sender (alpha) and one echo thread (beta); counters are atomics; {@link #close} stops and
 * joins both.
 */
final class LiveTraffic implements AutoCloseable {
    static final int PORT = 7777;

    private final Vnet alpha;
    private final SocketApi as;
    private final SocketApi bs;
    private final int sa;
    private final int sb;
    private final int echoId;
    private final long periodNanos;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong echoReplies = new AtomicLong();
    private final AtomicLong udpEchoed = new AtomicLong();
    private final Thread sender;
    private final Thread echoer;

    LiveTraffic(Vnet alpha, Vnet beta, long periodMillis) throws ErrnoException {
        this.alpha = alpha;
        this.periodNanos = TimeUnit.MILLISECONDS.toNanos(periodMillis);
        as = new SocketApi(alpha.domains(), new Filedesc(), Ucred.of(100, 1000, 1000));
        bs = new SocketApi(beta.domains(), new Filedesc(), Ucred.of(200, 1000, 1000));
        sa = as.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
        sb = bs.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
        bs.bind(sb, Sockaddr.In.of("10.0.0.2", PORT));
        echoId = alpha.inet().icmp().bindEcho(new Icmp.EchoListener() {
            @Override
            public void echoReply(InAddr from, int seq, byte[] data, int ttl) {
                echoReplies.incrementAndGet();
            }

            @Override
            public void echoError(InAddr from, IcmpCtl ctl, int seq) {
                // the link is perfect; an error would only show in netstat -s
            }
        });
        sender = Thread.ofPlatform().daemon().name("demo-serve-alpha").start(this::send);
        echoer = Thread.ofPlatform().daemon().name("demo-serve-beta").start(this::echo);
    }

    long rounds() {
        return rounds.get();
    }

    long echoReplies() {
        return echoReplies.get();
    }

    long udpEchoed() {
        return udpEchoed.get();
    }

    private void send() {
        InAddr beta = InAddr.parse("10.0.0.2");
        Sockaddr to = Sockaddr.In.of("10.0.0.2", PORT);
        byte[] buf = new byte[2048];
        Sockaddr[] from = new Sockaddr[1];
        for (int seq = 0; !stop.get(); seq++) {
            try {
                alpha.inet().icmp().sendEcho(InAddr.ANY, beta, echoId, seq & 0xffff, new byte[56], IpOutOpts.DEFAULT);
                byte[] d = ("round " + seq).getBytes(StandardCharsets.UTF_8);
                as.sendto(sa, d, 0, d.length, 0, to);
                while (as.recvfrom(sa, buf, 0, buf.length, SocketConst.MSG_DONTWAIT, from) >= 0) {
                    // drain beta's echoes
                }
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EBADF) {
                    return; // closed
                }
                // EAGAIN ends the drain; other errors (an interface going down) are shown by netstat -s
            }
            rounds.incrementAndGet();
            LockSupport.parkNanos(periodNanos);
        }
    }

    private void echo() {
        byte[] buf = new byte[2048];
        Sockaddr[] from = new Sockaddr[1];
        while (!stop.get()) {
            try {
                int n = bs.recvfrom(sb, buf, 0, buf.length, SocketConst.MSG_DONTWAIT, from);
                bs.sendto(sb, buf, 0, n, 0, from[0]);
                udpEchoed.incrementAndGet();
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EBADF) {
                    return;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
    }

    /** Stops both threads, closes the sockets and the echo binding. May sleep. */
    @Override
    public void close() {
        stop.set(true);
        join(sender);
        join(echoer);
        alpha.inet().icmp().unbindEcho(echoId);
        try {
            as.close(sa);
            bs.close(sb);
        } catch (ErrnoException alreadyClosed) {
            // the Vnets went first
        }
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
