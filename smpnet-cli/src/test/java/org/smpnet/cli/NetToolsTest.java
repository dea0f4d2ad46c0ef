package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.Vnet;
import org.smpnet.VnetControl;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;

/** {@code smpnet ping/route/netstat/ifconfig} against Vnets exported in this JVM, through picocli. */
class NetToolsTest {
    @TempDir
    Path dir;

    private Vnet alpha;
    private Vnet beta;
    private Epair epair;
    private VnetControl ctl;

    @BeforeEach
    void up() throws Exception {
        alpha = new Vnet("alpha", 1);
        beta = new Vnet("beta", 1);
        epair = alpha.epair(beta);
        alpha.addrs().add(epair.a(), InAddr.parse("10.0.0.1"), 24);
        beta.addrs().add(epair.b(), InAddr.parse("10.0.0.2"), 24);
        epair.quiesce();
        ctl = VnetControl.export(dir, "lab", List.of(alpha, beta), NetTools::run);
    }

    @AfterEach
    void down() {
        alpha.close();
        beta.close();
        ctl.close();
    }

    private CliTest.Result run(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = args[0];
        all[1] = "--ctl-dir=" + dir;
        System.arraycopy(args, 1, all, 2, args.length - 1);
        return CliTest.run(all);
    }

    @Test
    @DisplayName("R-RT-1: smpnet route add/get/change/delete print exactly what was done; errors name the errno, status 1")
    void route() {
        CliTest.Result add = run("route", "--vnet", "alpha", "add", "10.9.0.0/16", "10.0.0.2");
        assertThat(add.status()).as(add.err()).isZero();
        assertThat(add.out()).isEqualTo("add net 10.9.0.0/16: gateway 10.0.0.2\n");

        CliTest.Result get = run("route", "--vnet", "alpha", "get", "10.9.1.2");
        assertThat(get.status()).as(get.err()).isZero();
        assertThat(get.out()).isEqualTo("""
                   route to: 10.9.1.2
                destination: 10.9.0.0
                       mask: 255.255.0.0
                    gateway: 10.0.0.2
                  interface: %s
                      flags: <UP,GATEWAY,DONE,STATIC>
                        mtu: 1500
                """.formatted(epair.a().name()));

        CliTest.Result dup = run("route", "--vnet", "alpha", "add", "10.9.0.0/16", "10.0.0.2");
        assertThat(dup.status()).isEqualTo(1);
        assertThat(dup.err()).contains("EEXIST");

        assertThat(run("route", "--vnet", "alpha", "change", "10.9.0.0/16", "10.0.0.3").out())
                .isEqualTo("change net 10.9.0.0/16: gateway 10.0.0.3\n");
        CliTest.Result rn = run("netstat", "--vnet", "alpha", "-r");
        assertThat(rn.out()).contains("Routing tables").containsPattern("10\\.9\\.0\\.0/16\\s+10\\.0\\.0\\.3\\s+UGS");

        CliTest.Result del = run("route", "--vnet", "alpha", "delete", "10.9.0.0/16");
        assertThat(del.out()).isEqualTo("delete net 10.9.0.0/16\n");
        CliTest.Result again = run("route", "--vnet", "alpha", "delete", "10.9.0.0/16");
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).contains("ESRCH");
        CliTest.Result miss = run("route", "--vnet", "alpha", "get", "10.9.0.0/16");
        assertThat(miss.status()).isEqualTo(1);
        assertThat(miss.err()).contains("ESRCH");

        CliTest.Result bad = run("route", "--vnet", "alpha", "add", "10.9.0.0/99", "10.0.0.2");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("EINVAL");
        CliTest.Result noGw = run("route", "--vnet", "alpha", "add", "10.8.0.0/16");
        assertThat(noGw.err()).contains("EINVAL").contains("needs a gateway");
        CliTest.Result noVnet = run("route", "get", "10.0.0.2");
        assertThat(noVnet.status()).isEqualTo(1);
        assertThat(noVnet.err()).contains("EINVAL").contains("--vnet");
    }

    @Test
    @DisplayName("R-IP-1: smpnet ping runs inside the exported vnet and prints ping(8) lines and statistics")
    void ping() {
        CliTest.Result r = run("ping", "--vnet", "alpha", "-c", "3", "-i", "0.01", "10.0.0.2");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("PING 10.0.0.2 (10.0.0.2): 56 data bytes\n")
                .contains("64 bytes from 10.0.0.2: icmp_seq=0 ttl=64 time=")
                .contains("--- 10.0.0.2 ping statistics ---\n3 packets transmitted, 3 packets received, 0.0% packet loss\n")
                .contains("round-trip min/avg/max/stddev = ");
        // Values out of range are refused before anything is sent or printed (the client's option parser
        // already refuses what is not a number).
        String[][] bad = {{"-c", "0", "-c: invalid count of packets to transmit '0' (1 to 2147483647)"},
                {"-s", "70000", "-s: invalid packet size '70000' (8 to 65507)"},
                {"-s", "-5", "-s: invalid packet size '-5'"},
                {"-i", "61", "-i: invalid interval '61.0' (0 to 60 seconds)"}};
        for (String[] b : bad) {
            CliTest.Result r2 = run("ping", "--vnet", "alpha", b[0], b[1], "10.0.0.2");
            assertThat(r2.status()).as(b[0] + " " + b[1]).isEqualTo(1);
            assertThat(r2.out()).as(b[0] + " " + b[1]).isEmpty();
            assertThat(r2.err()).contains("EINVAL").contains(b[2]).doesNotContain("input string");
        }
        CliTest.Result unreach = run("ping", "--vnet", "alpha", "-c", "1", "192.0.2.1");
        assertThat(unreach.status()).isEqualTo(1);
        assertThat(unreach.err()).containsAnyOf("ENETUNREACH", "EHOSTUNREACH");
    }

    @Test
    @DisplayName("R-IP-1: smpnet netstat -s prints the stats renderers; ifconfig shows and configures interfaces")
    void netstatAndIfconfig() {
        run("ping", "--vnet", "alpha", "-c", "2", "-i", "0", "10.0.0.2");
        CliTest.Result icmp = run("netstat", "--vnet", "beta", "-s", "-p", "icmp");
        assertThat(icmp.status()).as(icmp.err()).isZero();
        assertThat(icmp.out()).startsWith("icmp:\n").contains("echo reply: 2");
        CliTest.Result all = run("netstat", "--vnet", "beta", "-s");
        assertThat(all.out()).contains("ip:\n").contains("icmp:\n").contains("udp:\n").contains("arp:\n");
        assertThat(run("netstat", "--vnet", "beta", "-s", "-p", "tcp").err()).contains("EINVAL");

        String a = epair.a().name();
        CliTest.Result show = run("ifconfig", "--vnet", "alpha", a);
        assertThat(show.out()).startsWith(a + ": flags=").contains("\tinet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255\n");
        assertThat(run("ifconfig", "--vnet", "alpha", a, "inet", "10.1.0.1/16", "mtu", "1400").status()).isZero();
        assertThat(run("ifconfig", "--vnet", "alpha", a).out()).contains(" mtu 1400\n").contains("\tinet 10.1.0.1 netmask 0xffff0000");
        assertThat(show.out()).contains("\toptions=<TXCSUM,RXCSUM>\n");
        assertThat(run("ifconfig", "--vnet", "alpha", a, "-txcsum").status()).isZero();
        assertThat(epair.a().hwassist()).isZero();
        assertThat(run("ifconfig", "--vnet", "alpha", a).out()).contains("\toptions=<>\n");
        assertThat(run("ifconfig", "--vnet", "alpha", a, "txcsum").status()).isZero();
        assertThat(epair.a().hwassist()).isEqualTo(epair.a().hwassistCapable()).isNotZero();
        assertThat(run("ifconfig", "--vnet", "alpha", "lo0", "txcsum").err()).contains("EINVAL");
        CliTest.Result badMtu = run("ifconfig", "--vnet", "alpha", a, "mtu", "abc");
        assertThat(badMtu.status()).isEqualTo(1);
        assertThat(badMtu.err()).contains("EINVAL").contains("mtu: invalid MTU 'abc'").doesNotContain("input string");
        assertThat(run("ifconfig", "--vnet", "alpha", a, "mtu", "10").err()).contains("EINVAL").contains("out of range");
        assertThat(run("ifconfig", "--vnet", "alpha", a, "inet", "10.2.0.1/x").err())
                .contains("EINVAL").contains("inet: invalid prefix length 'x' (1 to 32)");
        CliTest.Result none = run("ifconfig", "--vnet", "alpha", "nosuch0");
        assertThat(none.status()).isEqualTo(1);
        assertThat(none.err()).contains("ENXIO");
    }

    @Test
    @DisplayName("a TOOL request to an endpoint without tools is EOPNOTSUPP; an unknown tool too; the session goes on")
    void noTools() throws Exception {
        try (VnetControl bare = VnetControl.export(dir, "bare", List.of(alpha));
                ControlClient c = ControlClient.connect(bare.path())) {
            org.smpnet.kern.ErrnoException e = org.junit.jupiter.api.Assertions.assertThrows(org.smpnet.kern.ErrnoException.class,
                    () -> c.tool(new org.smpnet.ControlProtocol.ToolRequest("", List.of("netstat", "-r")), l -> { }));
            assertThat(e.errno()).isEqualTo(org.smpnet.kern.Errno.EOPNOTSUPP);
            bare.setTools(NetTools::run);
            e = org.junit.jupiter.api.Assertions.assertThrows(org.smpnet.kern.ErrnoException.class,
                    () -> c.tool(new org.smpnet.ControlProtocol.ToolRequest("", List.of("traceroute", "10.0.0.2")), l -> { }));
            assertThat(e.errno()).isEqualTo(org.smpnet.kern.Errno.EOPNOTSUPP);
            List<String> lines = new java.util.ArrayList<>();
            assertThat(c.tool(new org.smpnet.ControlProtocol.ToolRequest("", List.of("netstat", "-r")), lines::add)).isZero();
            assertThat(lines).contains("Routing tables").anyMatch(l -> l.startsWith("10.0.0.0/24"));
        }
    }

    private static void await(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    @DisplayName("R-RT-1: smpnet route monitor -c N prints N routing messages as route -n monitor does, then ends and closes its socket")
    void routeMonitor() throws Exception {
        org.smpnet.net.RtSock rs = alpha.rtable().rtsock();
        int before = rs.listenerCount();
        java.util.concurrent.atomic.AtomicReference<CliTest.Result> result = new java.util.concurrent.atomic.AtomicReference<>();
        Thread mon = Thread.ofPlatform().name("route-monitor").start(
                () -> result.set(run("route", "--vnet", "alpha", "monitor", "-c", "2")));
        await(() -> rs.listenerCount() == before + 1, "the monitor's routing socket");
        org.smpnet.net.Prefix p = org.smpnet.net.Prefix.parse("10.9.0.0/16");
        alpha.rtable().add(p, new org.smpnet.net.Sockaddr.In(InAddr.parse("10.0.0.2"), 0), org.smpnet.net.Rtentry.RTF_GATEWAY);
        alpha.rtable().delete(p);
        mon.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(30));
        assertThat(mon.isAlive()).isFalse();
        CliTest.Result r = result.get();
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().split("got message of size 200 on ", -1)).hasSize(3);
        assertThat(r.out()).contains("RTM_ADD: Add Route: len 200, pid: 0, seq 0, errno 0, flags:<UP,GATEWAY,DONE>\n"
                        + "locks:  inits: \nsockaddrs: <DST,GATEWAY,NETMASK>\n 10.9.0.0 10.0.0.2 255.255.0.0\n")
                .contains("RTM_DELETE: Delete Route: len 200, pid: 0, seq 0, errno 0, flags:<UP,GATEWAY,DONE>\n");
        assertThat(rs.listenerCount()).isEqualTo(before);
        CliTest.Result bad = run("route", "--vnet", "alpha", "monitor", "-c", "-1");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("EINVAL").contains("-c: invalid count of messages '-1' (0 to 2147483647)");
        assertThat(run("route", "--vnet", "alpha", "monitor", "-c", "many").err()).contains("'many' is not a long");
    }

    @Test
    @DisplayName("R-RT-1: a route monitor without -c ends when its client leaves, closing its routing socket")
    void routeMonitorClientLeaves() throws Exception {
        org.smpnet.net.RtSock rs = alpha.rtable().rtsock();
        int before = rs.listenerCount();
        ControlClient c = ControlClient.connect(ctl.path());
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread mon = Thread.ofPlatform().name("route-monitor-client").start(() -> {
            try {
                c.tool(new org.smpnet.ControlProtocol.ToolRequest("alpha", List.of("route", "monitor")), lines::add);
            } catch (java.io.IOException expected) {
                // the client closed its own connection
            }
        });
        await(() -> rs.listenerCount() == before + 1, "the monitor's routing socket");
        alpha.rtable().add(org.smpnet.net.Prefix.parse("10.9.0.0/16"), new org.smpnet.net.Sockaddr.In(InAddr.parse("10.0.0.2"), 0),
                org.smpnet.net.Rtentry.RTF_GATEWAY);
        await(() -> lines.stream().anyMatch(l -> l.startsWith("RTM_ADD: Add Route")), "the RTM_ADD line");
        c.close();
        mon.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(30));
        assertThat(mon.isAlive()).isFalse();
        await(() -> rs.listenerCount() == before, "the monitor to notice and close its socket");
    }
}
