package org.smpnet.cli;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.smpnet.net.InCksum;
import org.smpnet.net.Ifnet;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;

/**
 * Synthetic traffic across an epair for {@code smpnet demo --serve}, so {@code smpnet tcpdump -i} has
 * something to show before the stack has an IP layer: each round side A sends an ICMP echo request, a UDP
 * query to port 53 and a TCP SYN to port 80, side B sends the matching echo reply, UDP answer and SYN-ACK,
 * and every tenth round an ARP request (broadcast) and reply go by. The frames are well-formed
 * (IPv4 and ICMP checksums set) but nothing in the stack answers them: both directions are generated here.
 *
 * <p>One thread sends; {@link #rounds} counts completed rounds. The ICMP sequence number is the round.
 */
final class DemoTraffic implements AutoCloseable {
    static final int IP_A = 0x0a000001; // 10.0.0.1
    static final int IP_B = 0x0a000002; // 10.0.0.2

    private final Ifnet a;
    private final Ifnet b;
    private final long periodNanos;
    private final AtomicLong rounds = new AtomicLong();
    private volatile boolean stop;
    private final Thread thread;

    DemoTraffic(Ifnet a, Ifnet b, long periodMillis) {
        this.a = a;
        this.b = b;
        this.periodNanos = TimeUnit.MILLISECONDS.toNanos(periodMillis);
        this.thread = Thread.ofPlatform().daemon().name("demo traffic " + a.name()).start(this::run);
    }

    long rounds() {
        return rounds.get();
    }

    private void run() {
        MacAddr ma = MacAddr.read(a.lladdr(), 0);
        MacAddr mb = MacAddr.read(b.lladdr(), 0);
        for (int seq = 0; !stop; seq++) {
            if (seq % 10 == 0) {
                send(a, arp(MacAddr.BROADCAST, ma, 1, ma, IP_A, MacAddr.ZERO, IP_B));
                send(b, arp(ma, mb, 2, mb, IP_B, ma, IP_A));
            }
            send(a, icmpEcho(mb, ma, IP_A, IP_B, false, 0x5eed, seq & 0xffff));
            send(b, icmpEcho(ma, mb, IP_B, IP_A, true, 0x5eed, seq & 0xffff));
            send(a, udp(mb, ma, IP_A, IP_B, 40000 + seq % 1000, 53, new byte[20]));
            send(b, udp(ma, mb, IP_B, IP_A, 53, 40000 + seq % 1000, new byte[40]));
            send(a, tcp(mb, ma, IP_A, IP_B, 50000 + seq % 1000, 80, seq, 0, 0x02));
            send(b, tcp(ma, mb, IP_B, IP_A, 80, 50000 + seq % 1000, 1000 + seq, seq + 1, 0x12));
            rounds.incrementAndGet();
            LockSupport.parkNanos(periodNanos);
        }
    }

    private static void send(Ifnet ifp, byte[] frame) {
        ifp.transmit(Mbuf.devget(frame, 0, frame.length, Mbuf.M_WAITOK)); // dropped and counted once detached
    }

    @Override
    public void close() {
        stop = true;
        LockSupport.unpark(thread);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- frames ----

    static byte[] ether(MacAddr dst, MacAddr src, int type, byte[] payload) {
        return ByteBuffer.allocate(14 + payload.length).put(dst.bytes()).put(src.bytes()).putShort((short) type).put(payload)
                .array();
    }

    static byte[] arp(MacAddr dst, MacAddr src, int op, MacAddr sha, int spa, MacAddr tha, int tpa) {
        ByteBuffer p = ByteBuffer.allocate(28).putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4)
                .putShort((short) op).put(sha.bytes()).putInt(spa).put(tha.bytes()).putInt(tpa);
        return ether(dst, src, 0x0806, p.array());
    }

    static byte[] ipv4(MacAddr dst, MacAddr src, int ipSrc, int ipDst, int proto, byte[] payload) {
        ByteBuffer h = ByteBuffer.allocate(20 + payload.length);
        h.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) 1)
                .putShort((short) 0x4000).put((byte) 64).put((byte) proto).putShort((short) 0).putInt(ipSrc).putInt(ipDst);
        byte[] ip = h.put(payload).array();
        int sum = InCksum.cksum(ip, 0, 20);
        ip[10] = (byte) (sum >>> 8);
        ip[11] = (byte) sum;
        return ether(dst, src, 0x0800, ip);
    }

    static byte[] icmpEcho(MacAddr dst, MacAddr src, int ipSrc, int ipDst, boolean reply, int id, int seq) {
        byte[] icmp = ByteBuffer.allocate(64).put((byte) (reply ? 0 : 8)).put((byte) 0).putShort((short) 0)
                .putShort((short) id).putShort((short) seq).array();
        int sum = InCksum.cksum(icmp, 0, icmp.length);
        icmp[2] = (byte) (sum >>> 8);
        icmp[3] = (byte) sum;
        return ipv4(dst, src, ipSrc, ipDst, 1, icmp);
    }

    static byte[] udp(MacAddr dst, MacAddr src, int ipSrc, int ipDst, int sport, int dport, byte[] data) {
        byte[] u = ByteBuffer.allocate(8 + data.length).putShort((short) sport).putShort((short) dport)
                .putShort((short) (8 + data.length)).putShort((short) 0).put(data).array();
        return ipv4(dst, src, ipSrc, ipDst, 17, u);
    }

    static byte[] tcp(MacAddr dst, MacAddr src, int ipSrc, int ipDst, int sport, int dport, int seq, int ack, int flags) {
        byte[] t = ByteBuffer.allocate(20).putShort((short) sport).putShort((short) dport).putInt(seq).putInt(ack)
                .put((byte) 0x50).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0).array();
        return ipv4(dst, src, ipSrc, ipDst, 6, t);
    }
}
