package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InetTestSupport.PROTO_TEST;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.mbuf;
import static org.smpnet.netinet.InetTestSupport.pattern;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.ManualClock;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.PipeConfig;

class FragTest {
    private final ManualClock clock = new ManualClock();
    private Vnet a;
    private Vnet b;
    private Epair e;

    private void setUp(PipeConfig ab, PipeConfig ba) throws Exception {
        a = new Vnet("fraga", 1, clock);
        b = new Vnet("fragb", 1, clock);
        e = a.epair(b, ab, ba);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
    }

    @AfterEach
    void tearDown() {
        if (a != null) {
            a.close();
            b.close();
        }
    }

    private void send(byte[] payload, IpOutOpts opts) throws ErrnoException {
        a.inet().ip().output(mbuf(payload), InAddr.ANY, ip("10.0.0.2"), PROTO_TEST, opts, null);
    }

    @Test
    @DisplayName("R-IP-1: a datagram larger than the MTU is fragmented and reassembled byte for byte")
    void fragmentAndReassemble() throws Exception {
        setUp(PipeConfig.NONE, PipeConfig.NONE);
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        byte[] big = pattern(5000, 3);
        send(big, IpOutOpts.DEFAULT);
        await("reassembled", () -> sink.got.size() == 1);
        assertThat(sink.got.get(0).payload()).isEqualTo(big);
        IpStats as = a.inet().ip().stats();
        IpStats bs = b.inet().ip().stats();
        assertThat(as.fragmented.get()).isEqualTo(1);
        assertThat(as.ofragments.get()).isEqualTo(4); // 1480 * 3 + 560
        assertThat(bs.fragments.get()).isEqualTo(4);
        assertThat(bs.reassembled.get()).isEqualTo(1);
        assertThat(b.inet().reass().queues()).isZero();
        byte[] max = pattern(65535 - 20, 4);
        send(max, IpOutOpts.DEFAULT); // 45 fragments: more than maxfragsperpacket (16, as FreeBSD)
        await("over-fragmented datagram dropped", () -> bs.fragdropped.get() >= 17);
        await("all 45 fragments in", () -> bs.fragments.get() >= 4 + 45); // later ones start a new queue
        clock.advance(Duration.ofSeconds(b.inet().reass().fragttl.get()));
        assertThat(b.inet().reass().queues()).isZero();
        assertThat(sink.got).hasSize(1);
        b.sysctl().set("net.inet.ip.maxfragsperpacket", "64");
        send(max, IpOutOpts.DEFAULT);
        await("largest datagram", () -> sink.got.size() == 2);
        assertThat(sink.got.get(1).payload()).isEqualTo(max);
    }

    @Test
    @DisplayName("R-IP-1: DF over the MTU fails with EMSGSIZE; over 65535 bytes too")
    void dontFragment() throws Exception {
        setUp(PipeConfig.NONE, PipeConfig.NONE);
        assertThatThrownBy(() -> send(new byte[1481], IpOutOpts.DEFAULT.withDf(true)))
                .isInstanceOf(ErrnoException.class).satisfies(x -> assertThat(((ErrnoException) x).errno()).isEqualTo(Errno.EMSGSIZE));
        assertThat(a.inet().ip().stats().cantfrag.get()).isEqualTo(1);
        assertThatThrownBy(() -> send(new byte[65516], IpOutOpts.DEFAULT))
                .isInstanceOf(ErrnoException.class).satisfies(x -> assertThat(((ErrnoException) x).errno()).isEqualTo(Errno.EMSGSIZE));
        send(new byte[1480], IpOutOpts.DEFAULT.withDf(true)); // exactly the MTU goes
    }

    @Test
    @DisplayName("R-IP-1: fragmented datagrams through a lossy, reordering, duplicating pipe arrive exact or not at all; leftovers time out")
    void lossyReorderingPipe() throws Exception {
        PipeConfig bad = new PipeConfig(Duration.ZERO, Duration.ZERO, 0.05, 0.05, 0.3, Duration.ofMillis(2), 0, 4096, 42);
        setUp(bad, PipeConfig.NONE);
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
        // resolve ARP over the perfect reverse path first: b asks, a answers through the lossy pipe... retry until learned
        Ping.Result warm = new Ping(a.inet()).run(ip("10.0.0.2"), 5, 8, Duration.ZERO, Duration.ofSeconds(20), null);
        assertThat(warm.received()).isPositive();
        int n = 60;
        for (int i = 0; i < n; i++) {
            byte[] p = pattern(3000 + i, i);
            p[0] = (byte) i;
            send(p, IpOutOpts.DEFAULT);
        }
        e.quiesce();
        Thread.sleep(50); // reordered packets are held 2 ms by the pipe
        e.quiesce();
        clock.advance(Duration.ofSeconds(b.inet().reass().fragttl.get()));
        IpStats bs = b.inet().ip().stats();
        assertThat(b.inet().reass().queues()).isZero();
        assertThat(b.inet().reass().fragsHeld()).isZero();
        Set<Integer> seen = new HashSet<>();
        for (InetTestSupport.Dgram d : sink.got) {
            int i = d.payload()[0] & 0xff;
            byte[] want = pattern(3000 + i, i);
            want[0] = (byte) i;
            assertThat(d.payload()).as("datagram %d", i).isEqualTo(want);
            assertThat(seen.add(i)).as("datagram %d delivered once", i).isTrue();
        }
        assertThat(sink.got.size()).isLessThanOrEqualTo(n).isEqualTo((int) bs.reassembled.get());
        assertThat(sink.got.size()).isGreaterThan(n / 2);
        assertThat(bs.fragments.get()).isGreaterThanOrEqualTo(3L * sink.got.size());
        if (sink.got.size() < n) {
            assertThat(bs.fragtimeout.get() + bs.fragdropped.get()).isPositive();
        }
        assertThat(Arrays.asList(bs.badsum.get(), bs.badlen.get(), bs.tooshort.get())).containsOnly(0L);
    }
}
