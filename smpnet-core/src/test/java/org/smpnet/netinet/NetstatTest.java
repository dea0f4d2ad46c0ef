package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.netinet.InetTestSupport.ip;

import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.net.Epair;

class NetstatTest {
    @Test
    @DisplayName("R-IP-1: ip, icmp and arp statistics are sysctl nodes and render as netstat -s")
    void countersInSysctlAndNetstat() throws Exception {
        try (Vnet a = new Vnet("nsa", 1); Vnet b = new Vnet("nsb", 1)) {
            Epair e = a.epair(b);
            a.addrs().add(e.a(), ip("10.0.0.1"), 24);
            b.addrs().add(e.b(), ip("10.0.0.2"), 24);
            assertThat(new Ping(a.inet()).run(ip("10.0.0.2"), 2, 56, Duration.ZERO, Duration.ofSeconds(20), null).received())
                    .isEqualTo(2);
            assertThat(b.sysctl().get("net.inet.ip.stats.delivered")).isEqualTo("2");
            assertThat(b.sysctl().get("net.inet.icmp.stats.outhist.0")).isEqualTo("2");
            assertThat(b.sysctl().get("net.link.ether.arp.stats.txreplies")).isEqualTo("1");
            for (String n : new String[] {"badsum", "tooshort", "toosmall", "badhlen", "badlen", "badvers", "cantforward",
                    "noproto", "fragdropped", "fragtimeout", "reassembled", "fragmented", "ofragments", "cantfrag", "noroute"}) {
                assertThat(b.sysctl().oid("net.inet.ip.stats." + n)).as(n).isNotNull();
            }
            assertThat(b.sysctl().get("net.inet.ip.forwarding")).isIn("0", "false");
            assertThat(b.sysctl().get("net.inet.ip.maxfragpackets")).isEqualTo("1024");
            String text = b.inet().netstat(true);
            assertThat(text).contains("ip:\n\t2 total packets received\n").contains("\t2 packets for this host\n")
                    .contains("icmp:\n").contains("\tOutput histogram:\n\t\techo reply: 2\n")
                    .contains("arp:\n").contains("\t1 ARP replies sent\n")
                    .doesNotContain("bad header checksums");
            assertThat(b.inet().netstat(false)).contains("\t0 bad header checksums\n");
        }
    }
}
