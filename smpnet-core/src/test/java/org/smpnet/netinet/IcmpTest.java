package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.PROTO_TEST;
import static org.smpnet.netinet.InetTestSupport.await;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.mbuf;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ManualClock;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;

class IcmpTest {
    private final ManualClock clock = new ManualClock();
    private Vnet a;
    private Vnet b;
    private Epair e;

    @BeforeEach
    void setUp() throws Exception {
        a = new Vnet("icmpa", 1, clock);
        b = new Vnet("icmpb", 1, clock);
        e = a.epair(b);
        a.addrs().add(e.a(), ip("10.0.0.1"), 24);
        b.addrs().add(e.b(), ip("10.0.0.2"), 24);
        e.quiesce();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    @Test
    @DisplayName("R-IP-1: ping works both ways with exact replies and RTT statistics")
    void pingBothWays() throws Exception {
        List<Ping.Reply> lines = new CopyOnWriteArrayList<>();
        Ping.Result r = new Ping(a.inet()).run(ip("10.0.0.2"), 5, 56, Duration.ZERO, Duration.ofSeconds(20), lines::add);
        assertThat(r.transmitted()).isEqualTo(5);
        assertThat(r.received()).isEqualTo(5);
        assertThat(r.lossPercent()).isZero();
        assertThat(r.min()).isLessThanOrEqualTo(r.avg()).isPositive();
        assertThat(r.avg()).isLessThanOrEqualTo(r.max());
        assertThat(r.stddev()).isNotNegative();
        assertThat(lines).extracting(Ping.Reply::seq).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
        assertThat(lines).allSatisfy(l -> {
            assertThat(l.from()).isEqualTo(ip("10.0.0.2"));
            assertThat(l.bytes()).isEqualTo(64);
            assertThat(l.ttl()).isEqualTo(64);
        });
        assertThat(r.summary()).contains("5 packets transmitted, 5 packets received, 0.0% packet loss")
                .contains("round-trip min/avg/max/stddev");
        Ping.Result back = new Ping(b.inet()).run(ip("10.0.0.1"), 3, 1000, Duration.ZERO, Duration.ofSeconds(20), null);
        assertThat(back.received()).isEqualTo(3);
        assertThat(b.inet().icmp().stats().outhist(Icmp.ECHOREPLY)).isEqualTo(5);
        assertThat(b.inet().icmp().stats().inhist(Icmp.ECHO)).isEqualTo(5);
        assertThat(a.inet().icmp().stats().reflect.get()).isEqualTo(3);
    }

    @Test
    @DisplayName("R-IP-1: ping waits until its last reply is fully recorded, however long printing the reply takes (the wait once ended as the reply was taken, and lost it)")
    void pingWaitsForTheLastReplyToBeRecorded() throws Exception {
        List<Ping.Reply> lines = new CopyOnWriteArrayList<>();
        Ping.Result r = new Ping(a.inet()).run(ip("10.0.0.2"), 3, 56, Duration.ZERO, Duration.ofSeconds(20), reply -> {
            try {
                Thread.sleep(40); // a slow output: longer than the waiter's 10 ms parks
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            lines.add(reply);
        });
        assertThat(r.received()).isEqualTo(3);
        assertThat(r.replies()).hasSize(3);
        assertThat(lines).hasSize(3);
    }

    @Test
    @DisplayName("R-IP-1: ping to our own address and to 127.0.0.1 goes through lo0")
    void pingSelf() throws Exception {
        assertThat(new Ping(a.inet()).run(ip("10.0.0.1"), 2, 56, Duration.ZERO, Duration.ofSeconds(20), null).received()).isEqualTo(2);
        assertThat(new Ping(a.inet()).run(InAddr.LOOPBACK, 2, 56, Duration.ZERO, Duration.ofSeconds(20), null).received()).isEqualTo(2);
        assertThat(a.loopback().get(org.smpnet.net.IfCounter.IPACKETS)).isGreaterThanOrEqualTo(8);
    }

    @Test
    @DisplayName("R-IP-1: a datagram for an unknown protocol gets protocol-unreachable, delivered to the sender's ctlinput")
    void protocolUnreachableToCtlinput() throws Exception {
        InetTestSupport.Sink sink = InetTestSupport.Sink.register(a, PROTO_TEST);
        a.inet().ip().output(mbuf(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}), InAddr.ANY, ip("10.0.0.2"), PROTO_TEST,
                IpOutOpts.DEFAULT, null);
        await("ctlinput", () -> sink.errors.size() == 1);
        IcmpCtl c = sink.errors.get(0);
        assertThat(c.type()).isEqualTo(Icmp.UNREACH);
        assertThat(c.code()).isEqualTo(Icmp.UNREACH_PROTOCOL);
        assertThat(c.errno()).isEqualTo(Errno.ECONNREFUSED);
        assertThat(c.peer()).isEqualTo(ip("10.0.0.2"));
        assertThat(c.ip().src()).isEqualTo(ip("10.0.0.1"));
        assertThat(c.l4u16(0)).isEqualTo(0x0102);
        assertThat(b.inet().ip().stats().noproto.get()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IP-1: ICMP errors are rate limited to icmplim per second, the rest counted")
    void rateLimited() throws Exception {
        assertThat(new Ping(a.inet()).run(ip("10.0.0.2"), 1, 8, Duration.ZERO, Duration.ofSeconds(20), null).received())
                .isEqualTo(1);
        // The reply can arrive (through the epair's other receive queue) before ARP, flushing the held echo
        // request, marks the entry REACHABLE; sends until then are held, and 20 overflow the hold queue of 16.
        await("ARP resolved", () -> a.inet().arp().lookup(e.a(), ip("10.0.0.2")).state() == Llentry.State.REACHABLE);
        clock.advance(Duration.ofSeconds(1)); // a fresh rate-limit window
        b.sysctl().set("net.inet.icmp.icmplim", "5");
        for (int i = 0; i < 20; i++) {
            a.inet().ip().output(mbuf(new byte[16]), InAddr.ANY, ip("10.0.0.2"), PROTO_TEST, IpOutOpts.DEFAULT, null);
        }
        await("all refused", () -> b.inet().ip().stats().noproto.get() == 20);
        await("five answered, fifteen limited", () -> b.inet().icmp().stats().outhist(Icmp.UNREACH) == 5
                && b.inet().icmp().stats().ratelimited.get() == 15);
        clock.advance(Duration.ofSeconds(1));
        a.inet().ip().output(mbuf(new byte[16]), InAddr.ANY, ip("10.0.0.2"), PROTO_TEST, IpOutOpts.DEFAULT, null);
        await("next second", () -> b.inet().icmp().stats().outhist(Icmp.UNREACH) == 6);
        assertThat(b.inet().icmp().stats().ratelimited.get()).isEqualTo(15);
    }

    @Test
    @DisplayName("R-IP-1: broadcast echo requests are ignored unless bmcastecho, and counted")
    void broadcastEcho() throws Exception {
        a.inet().icmp().sendEcho(InAddr.ANY, ip("10.0.0.255"), 7, 1, new byte[8], IpOutOpts.DEFAULT.withAllowBroadcast(true));
        await("ignored", () -> b.inet().icmp().stats().bmcastecho.get() == 1);
        assertThat(b.inet().icmp().stats().outhist(Icmp.ECHOREPLY)).isZero();
    }
}
