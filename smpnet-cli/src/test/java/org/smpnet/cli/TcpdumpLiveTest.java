package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TimeZone;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.Vnet;
import org.smpnet.VnetControl;
import org.smpnet.net.Epair;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.FilterCompiler;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapReader;
import org.smpnet.net.bpf.PcapRecord;

/** {@code smpnet tcpdump -i} and {@code -D} against Vnets exported in this JVM, run through picocli. */
class TcpdumpLiveTest {
    @TempDir
    Path dir;

    private Vnet alpha;
    private Vnet beta;
    private Epair epair;
    private VnetControl ctl;
    private DemoTraffic traffic;
    private TimeZone savedZone;

    @BeforeEach
    void up() throws Exception {
        savedZone = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        alpha = new Vnet("alpha", 1);
        beta = new Vnet("beta", 1);
        epair = alpha.epair(beta);
        ctl = VnetControl.export(dir, "lab", List.of(alpha, beta));
        traffic = new DemoTraffic(epair.a(), epair.b(), 1);
    }

    @AfterEach
    void down() {
        traffic.close();
        alpha.close();
        beta.close();
        ctl.close();
        TimeZone.setDefault(savedZone);
    }

    private CliTest.Result tcpdump(String... args) {
        List<String> a = new ArrayList<>(List.of("tcpdump", "--ctl-dir", dir.toString()));
        a.addAll(List.of(args));
        return CliTest.run(a.toArray(String[]::new));
    }

    private static final Pattern ECHO = Pattern.compile("IP 10\\.0\\.0\\.1 > 10\\.0\\.0\\.2: ICMP echo request, id 24301, seq (\\d+), length 64");

    @Test
    @DisplayName("R-BPF-3: tcpdump -i -c N with a filter prints exactly N packets, all selected, in order, then the summary")
    void printsFilteredCount() {
        CliTest.Result r = tcpdump("-i", epair.a().name(), "-c", "5", "-n", "icmp[icmptype] == icmp-echo");
        assertThat(r.status()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(5);
        List<Integer> seqs = new ArrayList<>();
        for (String l : lines) {
            Matcher m = ECHO.matcher(l);
            assertThat(m.find()).as(l).isTrue();
            seqs.add(Integer.parseInt(m.group(1)));
        }
        for (int i = 1; i < seqs.size(); i++) {
            assertThat(seqs.get(i)).as("one echo request per round, none lost or reordered").isEqualTo(seqs.get(i - 1) + 1);
        }
        assertThat(r.err()).contains("listening on " + epair.a().name() + " (vnet alpha), link-type EN10MB (Ethernet)")
                .contains("\n5 packets captured\n").containsPattern("\\d+ packets received by filter\n")
                .contains("0 packets dropped by kernel");
    }

    @Test
    @DisplayName("R-BPF-4: tcpdump -i -w writes exactly the N filtered packets as pcap; the readers read them back")
    void writesFilteredPcap() throws Exception {
        Path out = dir.resolve("live.pcap");
        CliTest.Result r = tcpdump("-i", epair.b().name(), "-Q", "in", "-c", "12", "-w", out.toString(), "tcp port 80");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        BpfInterpreter filter = new BpfInterpreter(FilterCompiler.compile("tcp port 80").program());
        BpfInterpreter syn = new BpfInterpreter(FilterCompiler.compile("tcp[tcpflags] == tcp-syn").program());
        List<PcapRecord> recs = new ArrayList<>();
        try (PcapReader reader = PcapFiles.open(out)) {
            for (PcapRecord rec; (rec = reader.next()) != null; ) {
                recs.add(rec);
            }
        }
        assertThat(recs).hasSize(12);
        for (PcapRecord rec : recs) {
            assertThat(rec.linkType()).isEqualTo(FilterCompiler.DLT_EN10MB);
            assertThat(filter.filter(rec.data(), rec.data().length, rec.data().length)).isNotZero();
            // -Q in on beta's side: only what alpha sent, the SYNs, never beta's own SYN-ACKs
            assertThat(syn.filter(rec.data(), rec.data().length, rec.data().length)).isNotZero();
        }
        assertThat(r.err()).contains("12 packets captured");
    }

    @Test
    @DisplayName("R-BPF-2: the interface detaching mid-capture ends tcpdump -i cleanly with the summary and status 0")
    void detachEndsCapture() throws Exception {
        CompletableFuture<CliTest.Result> run = CompletableFuture.supplyAsync(() -> tcpdump("-i", epair.a().name(), "udp"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ctl.sessions() == 0 || epair.a().tap() == null) {
            assertThat(System.nanoTime()).as("capture never started").isLessThan(deadline);
            Thread.sleep(2);
        }
        Thread.sleep(50); // some rounds of traffic
        traffic.close();
        epair.destroy();
        CliTest.Result r = run.get(20, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().lines()).allMatch(l -> l.contains(": UDP, length "));
        assertThat(r.err()).containsPattern("\n\\d+ packets? captured\n").contains("received by filter")
                .contains("dropped by kernel").contains("interface " + epair.a().name() + " detached");
    }

    @Test
    @DisplayName("R-BPF-3: -D lists every running Vnet's interfaces and skips a stale socket; unknown and ambiguous names are clear errors")
    void listAndErrors() throws Exception {
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(dir.resolve("dead.ctl")));
        }
        CliTest.Result d = tcpdump("-D");
        assertThat(d.status()).as(d.err()).isZero();
        assertThat(d.out()).contains("1.lo0 [Up, Running, Loopback] (vnet alpha, endpoint lab, NULL (BSD loopback))")
                .contains("." + epair.a().name() + " [Up, Running] (vnet alpha, endpoint lab, EN10MB (Ethernet))")
                .contains("." + epair.b().name() + " [Up, Running] (vnet beta, endpoint lab");

        CliTest.Result none = tcpdump("-i", "nope0");
        assertThat(none.status()).isEqualTo(1);
        assertThat(none.err()).contains("nope0: No such device exists").contains("ENXIO");

        CliTest.Result ambiguous = tcpdump("-i", "lo0");
        assertThat(ambiguous.err()).contains("lo0 exists in several vnets (alpha at lab, beta at lab): choose one with --vnet");

        CliTest.Result badExpr = tcpdump("-i", epair.a().name(), "tcp port");
        assertThat(badExpr.status()).isEqualTo(1);
        assertThat(badExpr.err()).contains("can't compile \"tcp port\"");

        CliTest.Result lo = tcpdump("-i", "lo0", "--vnet", "beta", "-Q", "sideways");
        assertThat(lo.err()).contains("-Q: direction must be in, out or inout");

        CliTest.Result empty = CliTest.run("tcpdump", "--ctl-dir", dir.resolve("nothing").toString(), "-D");
        assertThat(empty.status()).isEqualTo(1);
        assertThat(empty.err()).contains("no running vnets").contains("smpnet demo --serve");
    }

    @Test
    @DisplayName("smpnet sysctl --vnet reads and writes a running Vnet's sysctls through its endpoint; errors keep their errno")
    void sysctlRemote() {
        String d = dir.toString();
        CliTest.Result get = CliTest.run("sysctl", "--ctl-dir", d, "--vnet", "beta", "net.isr.dispatch");
        assertThat(get.status()).as(get.err()).isZero();
        assertThat(get.out()).isEqualTo("net.isr.dispatch: default\n");
        CliTest.Result set = CliTest.run("sysctl", "--ctl-dir", d, "--vnet", "beta", "net.isr.dispatch=hybrid");
        assertThat(set.out()).isEqualTo("net.isr.dispatch: default -> hybrid\n");
        assertThat(beta.sysctl().get("net.isr.dispatch")).isEqualTo("hybrid");
        assertThat(alpha.sysctl().get("net.isr.dispatch")).isEqualTo("default");
        CliTest.Result bad = CliTest.run("sysctl", "--ctl-dir", d, "--vnet", "beta", "net.isr.dispatch=fastest");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("EINVAL").contains("one of default, direct, deferred, hybrid");
        CliTest.Result none = CliTest.run("sysctl", "--ctl-dir", d, "--vnet", "gamma", "kern.ostype");
        assertThat(none.err()).contains("no running vnet named gamma");
        CliTest.Result subtree = CliTest.run("sysctl", "--ctl-dir", d, "--vnet", "alpha", "-n", "net.isr.numthreads");
        assertThat(subtree.out()).isEqualTo("1\n");
    }

    @Test
    @DisplayName("smpnet demo --serve exports two Vnets with traffic, prints the tcpdump command, removes its socket when done")
    void demoServe() throws Exception {
        Path d2 = dir.resolve("demo");
        CompletableFuture<CliTest.Result> demo = CompletableFuture.supplyAsync(() -> CliTest.run("demo", "--serve",
                "--linger", "2", "--name", "show", "--ctl-dir", d2.toString()));
        Path sock = d2.resolve("show.ctl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(sock)) {
            assertThat(System.nanoTime()).as("demo never exported").isLessThan(deadline);
            Thread.sleep(5);
        }
        List<String> names = new ArrayList<>();
        for (ControlClient.Located l : ControlClient.interfaces(d2)) {
            names.add(l.vnet() + ":" + l.ifinfo().name());
        }
        assertThat(names).contains("alpha:lo0", "beta:lo0").anyMatch(n -> n.startsWith("alpha:epair"));
        CliTest.Result r = demo.get(30, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("control endpoint " + sock).contains("smpnet tcpdump --ctl-dir " + d2 + " -i epair")
                .contains("linger time over after");
        assertThat(Files.exists(sock)).isFalse();
    }
}
