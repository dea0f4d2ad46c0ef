package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.PROTO_TEST;
import static org.smpnet.netinet.InetTestSupport.ip;
import static org.smpnet.netinet.InetTestSupport.mbuf;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Giant;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.Prefix;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Sockaddr;

class InetStressTest {
    private static final Set<Errno> EXPECTED = Set.of(Errno.ENETUNREACH, Errno.EHOSTUNREACH, Errno.EHOSTDOWN, Errno.ENOBUFS);

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IP-1: routes, addresses and ARP entries change during traffic and ICMP errors; no lock-order reversal, delivery never exceeds sends")
    void routingChangesDuringTraffic(boolean mpsafe) throws Exception {
        NetTestSupport.inGiantMode(mpsafe, () -> run(NetTestSupport.stressMillis(1500) / 2));
    }

    private void run(long millis) throws Exception {
        try (Vnet a = new Vnet("stressa", 2); Vnet b = new Vnet("stressb", 2)) {
            Epair e = a.epair(b);
            a.addrs().add(e.a(), ip("10.0.0.1"), 24);
            b.addrs().add(e.b(), ip("10.0.0.2"), 24);
            InetTestSupport.Sink sink = InetTestSupport.Sink.register(b, PROTO_TEST);
            InetTestSupport.Sink errs = InetTestSupport.Sink.register(a, 99);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong sentOk = new AtomicLong();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            String[] dsts = {"10.0.0.2", "10.0.5.7", "10.0.0.2", "10.0.0.1"};
            for (int t = 0; t < 2; t++) {
                int id = t;
                threads.add(Thread.ofPlatform().name("sender" + t).start(() -> {
                    for (int i = 0; !stop.get(); i++) {
                        String dst = dsts[(i + id) % dsts.length];
                        int proto = (i % 5 == 0) ? 99 : PROTO_TEST; // b has no 99: ICMP errors flow back
                        int size = (i % 7 == 0) ? 3000 : 64;
                        Giant.run(Ip.class, () -> {
                            try {
                                a.inet().ip().output(mbuf(new byte[size]), InAddr.ANY, ip(dst), proto, IpOutOpts.DEFAULT, null);
                                if (proto == PROTO_TEST && dst.equals("10.0.0.2")) {
                                    sentOk.incrementAndGet();
                                }
                            } catch (ErrnoException x) {
                                if (!EXPECTED.contains(x.errno())) {
                                    failures.add(x);
                                }
                            } catch (Throwable x) {
                                failures.add(x);
                            }
                        });
                        long got = sink.got.size();
                        if (got > sentOk.get() + 2) { // +2: a send may be in flight between its output and our count
                            failures.add(new AssertionError("delivered " + got + " > sent " + sentOk.get()));
                        }
                    }
                }));
            }
            threads.add(Thread.ofPlatform().name("changer").start(() -> {
                Prefix net5 = Prefix.parse("10.0.5.0/24");
                for (int i = 0; !stop.get(); i++) {
                    try {
                        a.rtable().add(net5, new Sockaddr.In(ip("10.0.0.2"), 0), Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC);
                        a.addrs().add(e.a(), ip("10.0.0.5"), 32);
                        if (i % 3 == 0) {
                            a.inet().arp().delete(e.a(), ip("10.0.0.2"));
                        }
                        a.rtable().delete(net5);
                        a.addrs().delete(e.a(), ip("10.0.0.5"));
                    } catch (Throwable x) {
                        failures.add(x);
                    }
                }
            }));
            Thread.sleep(millis);
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            e.quiesce();
            assertThat(failures).isEmpty();
            assertThat(sentOk.get()).isPositive();
            assertThat((long) sink.got.size()).isLessThanOrEqualTo(sentOk.get()).isPositive();
            assertThat(a.inet().icmp().stats().inhist(Icmp.UNREACH)).isPositive();
            assertThat(errs.errors).isNotEmpty();
            assertThat(b.inet().reass().fragsHeld() + b.inet().ip().stats().reassembled.get()).isPositive();
        }
    }
}
