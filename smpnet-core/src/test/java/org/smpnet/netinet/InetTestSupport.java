package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.fail;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.net.InAddr;
import org.smpnet.net.Mbuf;

/** Helpers for the IPv4 tests: waiting for asynchronous delivery and a test protocol. */
final class InetTestSupport {
    /** An experimental protocol number (RFC 3692) the tests register. */
    static final int PROTO_TEST = 253;

    private InetTestSupport() {}

    /** Waits (at most 20 s) until {@code cond} holds; fails naming {@code what} otherwise. */
    static void await(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }

    /**
     * Two stacks joined by an epair, {@code a} at 10.0.0.1/24 and {@code b} at 10.0.0.2/24, gratuitous ARPs
     * delivered. Closing closes both.
     */
    record TwoHosts(Vnet a, Vnet b, org.smpnet.net.Epair e) implements AutoCloseable {
        static TwoHosts create(String prefix) throws Exception {
            Vnet a = new Vnet(prefix + "a", 2);
            Vnet b = new Vnet(prefix + "b", 2);
            org.smpnet.net.Epair e = a.epair(b);
            a.addrs().add(e.a(), ip("10.0.0.1"), 24);
            b.addrs().add(e.b(), ip("10.0.0.2"), 24);
            e.quiesce();
            return new TwoHosts(a, b, e);
        }

        @Override
        public void close() {
            a.close();
            b.close();
        }
    }

    static InAddr ip(String s) {
        return InAddr.parse(s);
    }

    /** A received datagram: source, destination, TTL and payload. */
    record Dgram(InAddr src, InAddr dst, int ttl, byte[] payload) {}

    /** A protocol handler that keeps what it receives and the ICMP errors it is told about. */
    static final class Sink implements IpProtocols.Input, IpProtocols.CtlInput {
        final List<Dgram> got = new CopyOnWriteArrayList<>();
        final List<IcmpCtl> errors = new CopyOnWriteArrayList<>();

        @Override
        public void input(Mbuf m, int hlen) {
            Ipv4View v = new Ipv4View(m.data(), m.dataOff());
            byte[] p = new byte[m.pktLen() - hlen];
            m.copydata(hlen, p.length, p, 0);
            got.add(new Dgram(v.src(), v.dst(), v.ttl(), p));
            m.freem();
        }

        @Override
        public void ctlinput(IcmpCtl ctl) {
            errors.add(ctl);
        }

        static Sink register(Vnet v, int proto) {
            Sink s = new Sink();
            v.inet().protocols().register(proto, s, s);
            return s;
        }
    }

    static Mbuf mbuf(byte[] b) {
        Mbuf m = Mbuf.devget(b, 0, b.length, Mbuf.M_WAITOK);
        if (m == null) {
            fail("no mbuf");
        }
        return m;
    }

    static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (seed * 31 + i * 7);
        }
        return b;
    }

    /** A whole IPv4 datagram: header from {@code r} (checksum filled), then {@code payload}. */
    static byte[] datagram(Ipv4Repr r, byte[] payload) {
        byte[] b = new byte[r.hlen() + payload.length];
        r.emit(new Ipv4View(b, 0));
        System.arraycopy(payload, 0, b, r.hlen(), payload.length);
        return b;
    }

    static <T> T inEpoch(java.util.function.Supplier<T> s) {
        int et = Epoch.NET.enter();
        try {
            return s.get();
        } finally {
            Epoch.NET.exit(et);
        }
    }
}
