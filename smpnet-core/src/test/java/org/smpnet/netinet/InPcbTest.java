package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.netinet.InPcb.SO_REUSEADDR;
import static org.smpnet.netinet.InPcb.SO_REUSEPORT;
import static org.smpnet.netinet.InPcbTestSupport.A1;
import static org.smpnet.netinet.InPcbTestSupport.A2;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;

class InPcbTest {
    private static Sockaddr.In sa(String a, int port) {
        return Sockaddr.In.of(a, port);
    }

    private static InPcb bound(InPcbInfo info, int opts, String addr, int port) throws ErrnoException {
        InPcb p = info.alloc("so", 17);
        p.setSoOptions(opts);
        info.bind(p, sa(addr, port));
        return p;
    }

    /**
     * The bind matrix of FreeBSD's in_pcbbind_setup: first socket (options, address), second socket
     * (options, address), same port; expected result of the second bind.
     */
    @ParameterizedTest(name = "{0}@{1} then {2}@{3}: {4}")
    @CsvSource({
            "0,            0.0.0.0,   0,            0.0.0.0,   EADDRINUSE",
            "0,            10.0.0.1,  0,            10.0.0.1,  EADDRINUSE",
            "0,            0.0.0.0,   0,            10.0.0.1,  EADDRINUSE",
            "0,            10.0.0.1,  0,            0.0.0.0,   EADDRINUSE",
            "0,            10.0.0.1,  0,            10.0.0.2,  OK",
            "0,            0.0.0.0,   REUSEADDR,    10.0.0.1,  OK",
            "REUSEADDR,    0.0.0.0,   REUSEADDR,    0.0.0.0,   EADDRINUSE",
            "REUSEADDR,    10.0.0.1,  REUSEADDR,    0.0.0.0,   OK",
            "REUSEPORT,    0.0.0.0,   REUSEPORT,    0.0.0.0,   OK",
            "REUSEPORT,    10.0.0.1,  REUSEPORT,    10.0.0.1,  OK",
            "0,            0.0.0.0,   REUSEPORT,    0.0.0.0,   EADDRINUSE",
            "REUSEPORT,    0.0.0.0,   0,            0.0.0.0,   EADDRINUSE",
            "REUSEADDR,    224.1.2.3, REUSEADDR,    224.1.2.3, OK",
            "0,            224.1.2.3, REUSEADDR,    224.1.2.3, EADDRINUSE",
            "REUSEADDR,    224.1.2.3, 0,            224.1.2.3, EADDRINUSE",
            "0,            0.0.0.0,   0,            192.168.9.9, EADDRNOTAVAIL",
    })
    @DisplayName("R-UDP-1: bind conflict matrix (SO_REUSEADDR/SO_REUSEPORT as FreeBSD)")
    void bindMatrix(String o1, String a1, String o2, String a2, String expect) throws Exception {
        InPcbInfo info = InPcbTestSupport.info("udbinfo", 16);
        bound(info, opts(o1), a1, 5000);
        InPcb p = info.alloc("so", 17);
        p.setSoOptions(opts(o2));
        if (expect.equals("OK")) {
            info.bind(p, sa(a2, 5000));
            assertThat(p.sockaddr()).isEqualTo(sa(a2, 5000));
        } else {
            assertThatThrownBy(() -> info.bind(p, sa(a2, 5000)))
                    .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.valueOf(expect)));
            assertThat(p.sockaddr()).isEqualTo(sa("0.0.0.0", 0));
        }
    }

    private static int opts(String s) {
        return switch (s.trim()) {
            case "0" -> 0;
            case "REUSEADDR" -> SO_REUSEADDR;
            case "REUSEPORT" -> SO_REUSEPORT;
            default -> throw new IllegalArgumentException(s);
        };
    }

    @Test
    @DisplayName("R-UDP-1: double bind is EINVAL; ephemeral ports stay in net.inet.ip.portrange and run out with EADDRNOTAVAIL")
    void ephemeralPorts() throws Exception {
        Sysctl tree = new Sysctl();
        InPcbPortRange range = new InPcbPortRange(tree);
        InPcbInfo info = new InPcbInfo("udbinfo", 8, new InPcbTestSupport.FixedAddrs(), range, 64);
        tree.set("net.inet.ip.portrange.first", "40000");
        tree.set("net.inet.ip.portrange.last", "40049");
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            InPcb p = info.alloc("so", 17);
            info.bind(p, null);
            int port = p.sockaddr().port();
            assertThat(port).isBetween(40000, 40049);
            assertThat(seen.add(port)).as("port %d handed out twice", port).isTrue();
        }
        InPcb last = info.alloc("so", 17);
        assertThatThrownBy(() -> info.bind(last, null)).hasMessageContaining("EADDRNOTAVAIL");
        InPcb p = bound(info, 0, "10.0.0.1", 7);
        assertThatThrownBy(() -> info.bind(p, sa("10.0.0.1", 8))).hasMessageContaining("EINVAL");
    }

    @Test
    @DisplayName("R-UDP-1: connect binds implicitly with a routed source; exact beats wildcard; disconnect and free unhash")
    void connectAndLookup() throws Exception {
        InPcbInfo info = InPcbTestSupport.info("udbinfo", 16);
        InPcb wildAny = bound(info, SO_REUSEADDR, "0.0.0.0", 53);
        InPcb wildA2 = bound(info, SO_REUSEADDR, "10.0.0.2", 53);
        InPcb c = info.alloc("so", 17);
        info.connect(c, sa("10.0.0.9", 9999));
        Sockaddr.In local = c.sockaddr();
        assertThat(local.addr()).isEqualTo(A1);
        assertThat(local.port()).isBetween(10000, 65535);
        assertThat(c.peeraddr()).isEqualTo(sa("10.0.0.9", 9999));

        InAddr f = InAddr.parse("10.0.0.9");
        assertThat(info.lookup(f, 9999, A1, local.port(), false)).isSameAs(c);
        assertThat(info.lookup(f, 9998, A1, local.port(), false)).isNull();
        assertThat(info.lookup(f, 1, A2, 53, true)).isSameAs(wildA2);
        assertThat(info.lookup(f, 1, A1, 53, true)).isSameAs(wildAny);
        assertThat(info.lookup(f, 1, A1, 53, false)).isNull();

        InPcb locked = InPcbTestSupport.lookupLocked(info, f, 9999, A1, local.port(), false);
        assertThat(locked).isSameAs(c);
        assertThat(locked.lock.isHeldByCurrentThread()).isTrue();
        locked.lock.unlock();

        info.disconnect(c, true);
        assertThatThrownBy(c::peeraddr).hasMessageContaining("ENOTCONN");
        assertThat(info.lookup(f, 9999, A1, local.port(), false)).isNull();
        assertThat(info.lookup(f, 9999, A1, local.port(), true)).isSameAs(c);

        assertThatThrownBy(() -> info.connect(c, sa("192.168.1.1", 1))).hasMessageContaining("ENETUNREACH");
        assertThatThrownBy(() -> info.connect(c, sa("10.0.0.9", 0))).hasMessageContaining("EADDRNOTAVAIL");
        info.free(wildA2);
        assertThat(info.lookup(f, 1, A2, 53, true)).isSameAs(wildAny);
        assertThatThrownBy(wildA2::sockaddr).hasMessageContaining("EINVAL");
        assertThat(info.count()).isEqualTo(2);
        info.free(wildA2); // idempotent
        assertThat(info.count()).isEqualTo(2);
    }

    @Test
    @DisplayName("R-UDP-1: a PCB of one table is refused by another")
    void foreignPcb() {
        InPcbInfo a = InPcbTestSupport.info("udbinfo", 4);
        InPcbInfo b = InPcbTestSupport.info("ripcbinfo", 4);
        InPcb p = a.alloc("so", 17);
        assertThatThrownBy(() -> b.bind(p, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("udbinfo");
    }
}
