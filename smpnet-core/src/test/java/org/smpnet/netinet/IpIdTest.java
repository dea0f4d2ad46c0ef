package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.UdpTestSupport.bind;
import static org.smpnet.netinet.UdpTestSupport.sendto;
import static org.smpnet.netinet.UdpTestSupport.udp;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfHeader;
import org.smpnet.socket.Socket;

/** R-IP-1: IP IDs from a keyed per-destination counter (default) or the entropy source (random_id). */
class IpIdTest {
    private static final int UDP = 17;
    private static final InAddr SRC = InAddr.parse("10.0.0.1");

    private Vnet a;
    private Vnet b;
    private Epair e;
    private Ip ip;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("ipida", 1);
        b = new Vnet("ipidb", 1);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
        ip = a.inet().ip();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    /** A second destination whose counter is another slot than {@code first}'s (no shared increments). */
    private InAddr otherSlot(InAddr first) {
        int slot = ip.idents().slot(SRC, first, UDP);
        for (int i = 1; ; i++) {
            InAddr d = new InAddr(first.bits() + i);
            if (ip.idents().slot(SRC, d, UDP) != slot) {
                return d;
            }
        }
    }

    @Test
    @DisplayName("R-IP-1: IDs toward one destination go up by one per datagram; another destination's are independent")
    void perDestinationSequence() {
        InAddr d1 = InAddr.parse("192.0.2.1");
        InAddr d2 = otherSlot(d1);
        int first1 = ip.newId(SRC, d1, UDP);
        int first2 = ip.newId(SRC, d2, UDP);
        for (int i = 1; i <= 1000; i++) {
            assertThat(ip.newId(SRC, d1, UDP)).isEqualTo((first1 + 2 * i - 1) & 0xffff);
            assertThat(ip.newId(SRC, d2, UDP)).isEqualTo((first2 + 2 * i - 1) & 0xffff);
            ip.newId(SRC, d1, UDP);
            ip.newId(SRC, d2, UDP);
        }
        // traffic to d2 moved d1's counter not at all: d1 advanced exactly by its own 2001 datagrams
        assertThat(ip.newId(SRC, d1, UDP)).isEqualTo((first1 + 2001) & 0xffff);
    }

    @Test
    @DisplayName("R-IP-1: a cached route's remembered flow hash gives the same per-destination sequence, also when its destination changes")
    void routeMemoKeepsTheSequence() {
        InAddr d1 = InAddr.parse("192.0.2.1");
        InAddr d2 = otherSlot(d1);
        IpIdents ids = ip.idents();
        IpRoute ro = new IpRoute();
        int first1 = ids.next(SRC, d1, UDP);
        int first2 = ids.next(SRC, d2, UDP);
        for (int i = 1; i <= 100; i++) {
            assertThat(ids.next(SRC, d1, UDP, ro)).isEqualTo((first1 + 2 * i - 1) & 0xffff);
            assertThat(ids.next(SRC, d1, UDP)).isEqualTo((first1 + 2 * i) & 0xffff);
            assertThat(ids.next(SRC, d2, UDP, ro)).isEqualTo((first2 + i) & 0xffff); // the memo now holds d2
        }
        assertThat(ids.next(InAddr.parse("10.9.9.9"), d1, UDP, ro)).isEqualTo(ids.next(InAddr.parse("10.9.9.9"), d1, UDP) - 1 & 0xffff);
    }

    @Test
    @DisplayName("R-IP-1: SipHash-2-4 matches the reference vector for the 12-byte message 00..0b and key 00..0f")
    void sipHashReferenceVector() {
        long k0 = 0x0706050403020100L;
        long k1 = 0x0f0e0d0c0b0a0908L;
        assertThat(IpIdents.sipHash24(k0, k1, 0x0706050403020100L, 0x0b0a0908)).isEqualTo(0x751e8fbc860ee5fbL);
    }

    @Test
    @DisplayName("R-IP-1: with net.inet.ip.random_id=1 the IDs toward one destination form no sequence")
    void randomIdIsNotSequential() {
        a.sysctl().set("net.inet.ip.random_id", "1");
        InAddr d = InAddr.parse("192.0.2.7");
        int n = 4096;
        int[] ids = new int[n];
        BitSet distinct = new BitSet(65536);
        int consecutive = 0;
        for (int i = 0; i < n; i++) {
            ids[i] = ip.newId(SRC, d, UDP);
            assertThat(ids[i]).isBetween(1, 0xffff);
            distinct.set(ids[i]);
            if (i > 0 && ids[i] == ((ids[i - 1] + 1) & 0xffff)) {
                consecutive++;
            }
        }
        // a counter gives n - 1 successors; uniform draws give about n / 65535 of them
        assertThat(consecutive).isLessThan(16);
        // birthday bound: 4096 draws from 65535 values repeat about 128 times, far fewer than a small range would
        assertThat(distinct.cardinality()).isGreaterThan(n - 400);
        a.sysctl().set("net.inet.ip.random_id", "0");
        int next = ip.newId(SRC, d, UDP);
        assertThat(ip.newId(SRC, d, UDP)).isEqualTo((next + 1) & 0xffff);
    }

    @Test
    @DisplayName("R-IP-1 stress: concurrent senders to one destination get unique IDs (no repeat within 65536)")
    void concurrentSendersUnique() throws Exception {
        InAddr d = InAddr.parse("192.0.2.9");
        int threads = 4;
        int perThread = 65536 / threads;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.getLong("smpnet.stress.millis", 1500));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int rounds = 0;
        do {
            int[][] got = new int[threads][perThread];
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int[] mine = got[t];
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < mine.length; i++) {
                            mine[i] = ip.newId(SRC, d, UDP);
                        }
                    } catch (Throwable x) {
                        failure.compareAndSet(null, x);
                    }
                }));
            }
            go.countDown();
            for (Thread t : ts) {
                t.join();
            }
            assertThat(failure.get()).isNull();
            // exactly one window of 65536 IDs was handed out: every value once
            BitSet seen = new BitSet(65536);
            for (int[] ids : got) {
                for (int id : ids) {
                    assertThat(seen.get(id)).as("ID %d handed out twice in round %d", id, rounds).isFalse();
                    seen.set(id);
                }
            }
            assertThat(seen.cardinality()).isEqualTo(65536);
            rounds++;
        } while (System.nanoTime() < deadline);
        assertThat(rounds).isPositive();
    }

    @Test
    @DisplayName("R-IP-1: datagrams on the wire toward one host carry consecutive IDs (BPF capture)")
    void onTheWire() throws Exception {
        BpfDescriptor d = new BpfDescriptor();
        try {
            d.setNonBlocking(true);
            d.attach(e.a(), 1, false);
            d.setDirection(BpfDescriptor.DirectionFilter.OUT);
            Socket rx = udp(b);
            Socket tx = udp(a);
            try {
                bind(rx, "0.0.0.0", 9000);
                sendto(tx, new byte[] {-1}, Sockaddr.In.of("10.0.0.2", 9000)); // resolves ARP first
                UdpTestSupport.recv(rx);
                for (int i = 0; i < 8; i++) {
                    sendto(tx, new byte[] {(byte) i}, Sockaddr.In.of("10.0.0.2", 9000));
                }
                List<Integer> ids = new ArrayList<>();
                byte[] buf = new byte[d.bufferSize()];
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (ids.size() < 9 && System.nanoTime() < deadline) {
                    int n = d.read(buf);
                    for (int off = 0; off < n; ) {
                        BpfHeader h = BpfHeader.read(buf, off, n);
                        int eth = off + h.hdrlen();
                        if ((buf[eth + 12] & 0xff) == 0x08 && buf[eth + 13] == 0 && buf[eth + 14 + 9] == UDP) {
                            ids.add(((buf[eth + 14 + 4] & 0xff) << 8) | (buf[eth + 14 + 5] & 0xff));
                        }
                        off += BpfHeader.recordSize(h.caplen());
                    }
                    Thread.sleep(n == 0 ? 1 : 0);
                }
                assertThat(ids).hasSize(9);
                for (int i = 1; i < ids.size(); i++) {
                    assertThat(ids.get(i)).isEqualTo((ids.get(i - 1) + 1) & 0xffff);
                }
            } finally {
                tx.soclose();
                rx.soclose();
            }
        } finally {
            d.close();
        }
    }
}
