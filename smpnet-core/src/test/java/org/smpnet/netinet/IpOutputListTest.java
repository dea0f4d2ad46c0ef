package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.socket.SocketConst.MSG_DONTWAIT;
import static org.smpnet.socket.SocketConst.SOCK_DGRAM;
import static org.smpnet.socket.SocketConst.SOL_SOCKET;
import static org.smpnet.socket.SocketConst.SO_BROADCAST;
import static org.smpnet.socket.SocketConst.SO_RCVBUF;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.IfCounter;
import org.smpnet.net.IfFlags;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InCksum;
import org.smpnet.net.Mbuf;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.PacketTap;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.Ucred;

/**
 * A {@code sendmmsg}'s run of datagrams to one address goes to IP as one list ({@link Ip#outputListInEpoch}):
 * it must put on the wire what the same datagrams sent one by one do, count the same, and leave anything
 * unusual (ARP to ask, fragments, broadcast, no route, a down interface) to the per-datagram path.
 */
class IpOutputListTest {
    private static final Sockaddr FROM = Sockaddr.In.of("10.0.0.1", 7500);
    private static final Sockaddr TO = Sockaddr.In.of("10.0.0.2", 7400);

    private InetTestSupport.TwoHosts hosts;
    private SocketApi apiA;
    private SocketApi apiB;
    private int tx;
    private int rx;

    /** Two hosts with a sender on a bound to {@link #FROM} and a receiver on b bound to {@link #TO}; ARP not yet asked. */
    private void hosts(String name) throws Exception {
        hosts = InetTestSupport.TwoHosts.create(name);
        apiA = new SocketApi(hosts.a().domains(), new Filedesc(), Ucred.of(1, 0, 0));
        apiB = new SocketApi(hosts.b().domains(), new Filedesc(), Ucred.of(2, 0, 0));
        rx = apiB.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        apiB.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, 1 << 20);
        apiB.bind(rx, TO);
        tx = apiA.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        apiA.bind(tx, FROM);
    }

    private void resolveArp() throws ErrnoException {
        apiA.sendto(tx, seq(-1, 4), 0, 4, 0, TO);
        assertThat(apiB.recv(rx, new byte[8], 0, 8, 0)).isEqualTo(4);
    }

    @AfterEach
    void tearDown() {
        if (hosts != null) {
            hosts.close();
        }
    }

    private static byte[] seq(int i, int len) {
        return ByteBuffer.allocate(len).putInt(i).array();
    }

    private static Msghdr[] vector(Sockaddr to, int... lens) {
        Msghdr[] v = new Msghdr[lens.length];
        for (int i = 0; i < lens.length; i++) {
            v[i] = Msghdr.send(seq(i, lens[i]), 0, lens[i], to, null);
        }
        return v;
    }

    /** What is queued on {@code s} now, as (sequence number, length) pairs. */
    private static List<List<Integer>> drain(SocketApi api, int s) throws ErrnoException {
        List<List<Integer>> got = new ArrayList<>();
        byte[] b = new byte[4096];
        while (true) {
            int n;
            try {
                n = api.recv(s, b, 0, b.length, MSG_DONTWAIT);
            } catch (ErrnoException e) {
                assertThat(e.errno()).isEqualTo(Errno.EAGAIN);
                return got;
            }
            got.add(List.of(ByteBuffer.wrap(b).getInt(), n));
        }
    }

    private static List<List<Integer>> expected(int... lens) {
        List<List<Integer>> l = new ArrayList<>();
        for (int i = 0; i < lens.length; i++) {
            l.add(List.of(i, lens[i]));
        }
        return l;
    }

    /** Host a's output counters: UDP, IP, the route to b, and its epair interface. */
    private long[] outCounters() {
        IpStats ip = hosts.a().inet().ip().stats();
        Ifnet ifp = hosts.e().a();
        long use;
        int et = Epoch.NET.enter();
        try {
            use = hosts.a().rtable().match(ip("10.0.0.2")).use();
        } finally {
            Epoch.NET.exit(et);
        }
        return new long[] {hosts.a().ipSockets().udp().stats().opackets.get(), ip.localout.get(), ip.odropped.get(),
            ip.noroute.get(), ip.fragmented.get(), use, ifp.get(IfCounter.OPACKETS), ifp.get(IfCounter.OBYTES),
            ifp.get(IfCounter.OERRORS)};
    }

    private static long[] minus(long[] a, long[] b) {
        long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    /** Records the frames host a's interface sends. */
    private List<byte[]> tapOutput() {
        List<byte[]> frames = new CopyOnWriteArrayList<>();
        hosts.e().a().installTap(new PacketTap() {
            @Override
            public void tap(Ifnet ifp, Mbuf m, Direction dir) {
                if (dir == Direction.OUT) {
                    frames.add(NetTestSupport.bytes(m));
                }
            }

            @Override
            public void detached(Ifnet ifp) {}
        });
        return frames;
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IP-1: a sendmmsg run sent as one list puts the frames single sends put on the wire, in order, and counts the same")
    void listOutputAsSingleDatagrams(boolean mpsafenet) throws Exception {
        hosts("olist");
        resolveArp();
        NetTestSupport.inGiantMode(mpsafenet, () -> {
            List<byte[]> frames = tapOutput();
            int[] lens = new int[24];
            for (int i = 0; i < lens.length; i++) {
                lens[i] = 4 + 13 * i;
            }
            long[] c0 = outCounters();
            for (Msghdr m : vector(TO, lens)) {
                assertThat(apiA.sendmsg(tx, m, 0)).isEqualTo(m.len);
            }
            hosts.e().quiesce();
            long[] c1 = outCounters();
            assertThat(apiA.sendmmsg(tx, vector(TO, lens), 0, lens.length, 0)).isEqualTo(lens.length);
            hosts.e().quiesce();
            long[] c2 = outCounters();
            assertThat(minus(c2, c1)).as("udp out, localout, odropped, noroute, fragmented, route use, ifnet out, bytes, errors")
                    .containsExactly(minus(c1, c0));
            assertThat(minus(c2, c1)[0]).isEqualTo(lens.length);
            List<List<Integer>> twice = new ArrayList<>(expected(lens));
            twice.addAll(expected(lens));
            assertThat(drain(apiB, rx)).isEqualTo(twice);
            assertThat(frames).hasSize(2 * lens.length);
            int ip = 14;
            HashSet<Integer> ids = new HashSet<>();
            for (int i = 0; i < lens.length; i++) {
                byte[] single = frames.get(i);
                byte[] listed = frames.get(lens.length + i);
                assertThat(InCksum.cksum(single, ip, 20)).as("header checksum of single %d", i).isZero();
                assertThat(InCksum.cksum(listed, ip, 20)).as("header checksum of listed %d", i).isZero();
                ids.add(ByteBuffer.wrap(single).getShort(ip + 4) & 0xffff);
                ids.add(ByteBuffer.wrap(listed).getShort(ip + 4) & 0xffff);
                // Equal but for the IP ID and the header checksum that covers it.
                for (int at : new int[] {ip + 4, ip + 5, ip + 10, ip + 11}) {
                    single[at] = 0;
                    listed[at] = 0;
                }
                assertThat(listed).as("frame %d", i).isEqualTo(single);
            }
            assertThat(ids).as("every datagram has its own IP ID").hasSize(2 * lens.length);
        });
    }

    @Test
    @DisplayName("R-ARP-1: a sendmmsg run to an address ARP has not resolved waits in the hold queue datagram by datagram and all arrive in order")
    void unresolvedRunIsHeld() throws Exception {
        hosts("ohold");
        int[] lens = {8, 9, 10, 11, 12, 13};
        assertThat(apiA.sendmmsg(tx, vector(TO, lens), 0, lens.length, 0)).isEqualTo(lens.length);
        InetTestSupport.await("the held datagrams", () -> hosts.b().ipSockets().udp().stats().ipackets.get() == lens.length);
        assertThat(drain(apiB, rx)).isEqualTo(expected(lens));
    }

    @Test
    @DisplayName("R-IP-1: a run with a datagram over the MTU, a broadcast run and a run on a down interface take the per-datagram path and count as single sends do")
    void unusualRunsTakeThePerDatagramPath() throws Exception {
        hosts("oslow");
        resolveArp();
        int[] lens = {8, 8, 3000, 8, 8};
        long[] c0 = outCounters();
        assertThat(apiA.sendmmsg(tx, vector(TO, lens), 0, lens.length, 0)).isEqualTo(lens.length);
        hosts.e().quiesce();
        long[] d = minus(outCounters(), c0);
        assertThat(d[4]).as("fragmented").isEqualTo(1);
        assertThat(d[6]).as("frames: four datagrams and three fragments").isEqualTo(7);
        InetTestSupport.await("the reassembled datagram", () -> hosts.b().ipSockets().udp().stats().ipackets.get() == 1 + lens.length);
        assertThat(drain(apiB, rx)).isEqualTo(expected(lens));

        int any = apiB.socket(Sockaddr.AF_INET, SOCK_DGRAM, 0);
        apiB.bind(any, Sockaddr.In.of("0.0.0.0", 7401));
        apiA.setsockopt(tx, SOL_SOCKET, SO_BROADCAST, 1);
        int[] small = {4, 5, 6};
        assertThat(apiA.sendmmsg(tx, vector(Sockaddr.In.of("10.0.0.255", 7401), small), 0, small.length, 0)).isEqualTo(3);
        hosts.e().quiesce();
        InetTestSupport.await("the broadcasts", () -> drainInto(any, 3));
        assertThat(got).isEqualTo(expected(small));

        hosts.e().a().setFlags(0, IfFlags.UP);
        long[] c1 = outCounters();
        for (Msghdr m : vector(TO, small)) {
            apiA.sendmsg(tx, m, 0);
        }
        long[] c2 = outCounters();
        apiA.sendmmsg(tx, vector(TO, small), 0, small.length, 0);
        long[] c3 = outCounters();
        assertThat(minus(c3, c2)).as("a down interface: the same as single sends").containsExactly(minus(c2, c1));
        assertThat(minus(c3, c2)[8] + minus(c3, c2)[2] + minus(c3, c2)[3]).as("each datagram counted as not sent").isEqualTo(3);
    }

    private final List<List<Integer>> got = new ArrayList<>();

    private boolean drainInto(int s, int want) {
        try {
            got.addAll(drain(apiB, s));
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
        return got.size() >= want;
    }

    @Test
    @DisplayName("R-IP-1: a sendmmsg with no route throws ENETUNREACH for its first datagram and counts it once")
    void noRoute() throws Exception {
        hosts("onoroute");
        long[] c0 = outCounters();
        Msghdr[] v = vector(Sockaddr.In.of("192.0.2.1", 9), 8, 8, 8);
        assertThatThrownBy(() -> apiA.sendmmsg(tx, v, 0, v.length, 0))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENETUNREACH));
        long[] d = minus(outCounters(), c0);
        assertThat(Arrays.copyOf(d, 4)).as("udp out, localout, odropped, noroute").containsExactly(1, 1, 0, 1);
        assertThat(d[6]).isZero();
    }
}
