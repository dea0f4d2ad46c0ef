package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

class AddrTest {
    @Test
    void inAddrParsesFormatsAndMasks() {
        InAddr a = InAddr.parse("10.1.2.3");
        assertThat(a.bits()).isEqualTo(0x0a010203);
        assertThat(a).hasToString("10.1.2.3");
        assertThat(InAddr.parse("255.255.255.255")).isEqualTo(InAddr.BROADCAST);
        assertThat(InAddr.netmask(24)).hasToString("255.255.255.0");
        assertThat(InAddr.netmask(24).prefixLength()).isEqualTo(24);
        assertThat(InAddr.netmask(0).prefixLength()).isZero();
        assertThat(InAddr.netmask(32).prefixLength()).isEqualTo(32);
        assertThat(InAddr.parse("255.0.255.0").prefixLength()).isEqualTo(-1);
        assertThat(a.and(InAddr.netmask(16))).hasToString("10.1.0.0");
        assertThat(InAddr.parse("224.0.0.1").isMulticast()).isTrue();
        byte[] b = new byte[6];
        a.toBytes(b, 1);
        assertThat(InAddr.fromBytes(b, 1)).isEqualTo(a);
        assertThatThrownBy(() -> InAddr.parse("1.2.3")).hasMessageContaining("not an IPv4 address");
        assertThatThrownBy(() -> InAddr.parse("1.2.3.256")).hasMessageContaining("out of range");
        assertThatThrownBy(() -> InAddr.parse("1.2.+3.4")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void decodedAddressesAreReusedButAlwaysRight() throws Exception {
        InAddr first = InAddr.of(0x0a000002);
        assertThat(InAddr.of(0x0a000002)).isSameAs(first).isEqualTo(InAddr.parse("10.0.0.2"));
        // many threads decoding colliding addresses at once: each always gets its own bits
        java.util.concurrent.atomic.AtomicLong wrong = new java.util.concurrent.atomic.AtomicLong();
        java.util.List<Thread> ts = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            ts.add(Thread.ofPlatform().start(() -> {
                java.util.Random r = new java.util.Random(seed);
                for (int i = 0; i < 200_000; i++) {
                    int bits = r.nextInt(4096) * 0x01010101;
                    byte[] b = {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits};
                    if (InAddr.fromBytes(b, 0).bits() != bits || InAddr.of(bits).bits() != bits) {
                        wrong.incrementAndGet();
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(wrong.get()).isZero();
    }

    @Test
    void in6AddrRoundTripsAndPrintsRfc5952() {
        assertThat(In6Addr.parse("fe80::1")).hasToString("fe80::1");
        assertThat(In6Addr.parse("fe80::1").isLinkLocal()).isTrue();
        assertThat(In6Addr.parse("2001:db8:0:0:1:0:0:1")).hasToString("2001:db8::1:0:0:1");
        assertThat(In6Addr.parse("::")).hasToString("::");
        assertThat(In6Addr.parse("::1")).isEqualTo(In6Addr.LOOPBACK);
        assertThat(In6Addr.parse("ff02::1").isMulticast()).isTrue();
        byte[] b = new byte[16];
        In6Addr x = In6Addr.parse("2001:db8::42");
        x.toBytes(b, 0);
        assertThat(In6Addr.fromBytes(b, 0)).isEqualTo(x);
        assertThatThrownBy(() -> In6Addr.parse("fe80::g")).hasMessageContaining("not an IPv6 address");
    }

    @Test
    void sockaddrsValidate() {
        assertThat(Sockaddr.In.of("10.0.0.1", 53)).hasToString("10.0.0.1:53");
        assertThatThrownBy(() -> Sockaddr.In.of("10.0.0.1", 65536)).hasMessageContaining("port");
        assertThatThrownBy(() -> new Sockaddr.Un("x".repeat(104))).hasMessageContaining("103");
        assertThat(new Sockaddr.Dl(3, "em0", new byte[] {1, 2})).isEqualTo(new Sockaddr.Dl(3, "em0", new byte[] {1, 2}));
    }

    @Test
    void errnoCarriesBsdNumbersAndNames() {
        assertThat(Errno.EAGAIN.number()).isEqualTo(35);
        assertThat(Errno.of(61)).isEqualTo(Errno.ECONNREFUSED);
        ErrnoException e = new ErrnoException(Errno.EADDRINUSE, "10.0.0.1:53");
        assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE);
        assertThat(e).hasMessage("EADDRINUSE: Address already in use (10.0.0.1:53)");
        assertThatThrownBy(() -> Errno.of(1000)).hasMessageContaining("unknown errno");
    }
}
