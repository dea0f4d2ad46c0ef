package org.smpnet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.kern.Witness;
import org.smpnet.net.Epair;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.LinkPipe;
import org.smpnet.net.PipeConfig;
import org.smpnet.net.Sockaddr;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfHeader;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.FilterCompiler;
import org.smpnet.net.bpf.FilterProgram;
import org.smpnet.net.bpf.PcapClassicWriter;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapRecord;
import org.smpnet.netinet.Icmp;
import org.smpnet.netinet.Llentry;
import org.smpnet.netinet.Ping;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Ucred;

/**
 * The issue-4 {@code smpnet demo}: hosts alpha (10.0.0.1) and beta (10.0.0.2), two {@link Vnet}s in this
 * process, over an epair whose pipes delay, jitter, lose and reorder frames. Shows ARP resolving, a ping
 * with ping(8) statistics, a UDP exchange through {@link SocketApi} with fragmented datagrams and exact
 * delivery accounting against the pipe's counters, a BPF capture on alpha's interface written to a pcap
 * file, and {@code netstat -s} highlights. Needs no privileges; runs in a few seconds.
 */
final class DemoRun {
    static final String FILTER = "udp or icmp or arp";
    static final int UDP_PORT = 7777;
    static final int BIG = 4000;

    private final PrintStream out;
    private final double lossPercent;
    private final double delayMillis;
    private final int count;
    private final Path pcap;
    private final boolean quiet;
    private final long seed;

    DemoRun(PrintStream out, double lossPercent, double delayMillis, int count, Path pcap, boolean quiet, long seed) {
        if (!(lossPercent >= 0 && lossPercent <= 50) || !(delayMillis >= 0 && delayMillis <= 1000) || count < 1 || count > 10_000) {
            throw new IllegalArgumentException("--loss must be 0..50 (%), --delay 0..1000 (ms), --count 1..10000");
        }
        this.out = out;
        this.lossPercent = lossPercent;
        this.delayMillis = delayMillis;
        this.count = count;
        this.pcap = pcap;
        this.quiet = quiet;
        this.seed = seed;
    }

    int call() throws Exception {
        PipeConfig cfg = PipeConfig.NONE
                .withDelay(Duration.ofNanos((long) (delayMillis * 1e6)))
                .withJitter(Duration.ofNanos((long) (delayMillis * 0.25e6)))
                .withLoss(lossPercent / 100)
                .withReorder(0.02, Duration.ofNanos((long) (delayMillis * 0.5e6) + 200_000))
                .withSeed(seed);
        Vnet alpha = new Vnet("alpha", 2);
        Vnet beta = new Vnet("beta", 2);
        try {
            Epair e = alpha.epair(beta, cfg, cfg);
            Ifnet a = e.a();
            Ifnet b = e.b();
            out.println("smpnet demo: hosts alpha and beta (two Vnets in this process, no privileges)");
            out.printf("  alpha %s 10.0.0.1/24  <->  beta %s 10.0.0.2/24%n", a.name(), b.name());
            out.println("  impairment, each direction: " + describe(cfg));
            alpha.addrs().add(a, InAddr.parse("10.0.0.1"), 24);
            beta.addrs().add(b, InAddr.parse("10.0.0.2"), 24);
            e.quiesce();
            Capture cap = new Capture(a, pcap);
            try {
                out.println("  capture: BPF on alpha " + a.name() + ", filter '" + FILTER + "' -> " + pcap);
                out.println();
                arpAndPing(alpha, a);
                out.println();
                udp(alpha, beta, e);
            } finally {
                cap.close();
            }
            out.println();
            cap.report();
            out.println();
            highlights(alpha, beta);
            out.println();
            int rev = Witness.reversals().size();
            out.println("WITNESS: " + rev + " lock-order reversals, " + Witness.violations().size() + " violations");
            return rev == 0 && Witness.violations().isEmpty() ? 0 : 1;
        } finally {
            alpha.close();
            beta.close();
        }
    }

    static String describe(PipeConfig c) {
        return String.format(Locale.ROOT, "delay %.1f ms, jitter %.2f ms, loss %.1f%%, reorder %.0f%% (gap %.2f ms), seed %d",
                c.delay().toNanos() / 1e6, c.jitter().toNanos() / 1e6, c.loss() * 100, c.reorder() * 100,
                c.reorderGap().toNanos() / 1e6, c.seed());
    }

    // ---- ARP and ping ----

    private void arpAndPing(Vnet alpha, Ifnet a) throws ErrnoException {
        out.println("== ARP on alpha " + a.name());
        printArp(alpha, a, "before");
        var st = alpha.inet().arp().stats().table();
        long req0 = st.get("txrequests");
        long rep0 = st.get("rxreplies");
        InAddr dst = InAddr.parse("10.0.0.2");
        out.println();
        out.println("== ping -c " + count + " 10.0.0.2 (from alpha)");
        out.println("PING 10.0.0.2 (10.0.0.2): 56 data bytes");
        Ping.Result r = new Ping(alpha.inet()).run(dst, count, 56, Duration.ofMillis(20), Duration.ofSeconds(1), reply -> {
            if (!quiet) {
                out.println(reply);
            }
        });
        out.println();
        out.print(r.summary());
        out.println();
        printArp(alpha, a, "after");
        out.printf("  arp: %d requests sent, %d replies received (lost requests are retried)%n",
                st.get("txrequests") - req0, st.get("rxreplies") - rep0);
    }

    private void printArp(Vnet v, Ifnet ifp, String when) {
        List<Llentry.Snapshot> es = v.inet().arp().entries(ifp);
        out.println("  arp -an " + when + ": " + (es.isEmpty() ? "(no entries)" : ""));
        es.forEach(s -> out.println("    " + s));
    }

    // ---- UDP ----

    /** Size of datagram {@code i}: every fifth is {@link #BIG} bytes (three fragments at MTU 1500). */
    static int size(int i) {
        return i % 5 == 4 ? BIG : 64 + (i * 97) % 1200;
    }

    private void udp(Vnet alpha, Vnet beta, Epair e) throws Exception {
        int n = Math.max(20, count * 2);
        out.println("== UDP: alpha sendto 10.0.0.2:" + UDP_PORT + ", " + n + " datagrams (every 5th " + BIG
                + " bytes, fragmented to MTU " + e.a().mtu() + "); beta recvfrom");
        SocketApi as = new SocketApi(alpha.domains(), new Filedesc(), Ucred.of(100, 1000, 1000));
        SocketApi bs = new SocketApi(beta.domains(), new Filedesc(), Ucred.of(200, 1000, 1000));
        int sa = as.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
        int sb = bs.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
        bs.setsockopt(sb, SocketConst.SOL_SOCKET, SocketConst.SO_RCVBUF, 1 << 20);
        bs.bind(sb, Sockaddr.In.of("10.0.0.2", UDP_PORT));
        LinkPipe pipe = e.pipeAtoB();
        long entered0 = pipe.entered.get();
        long lost0 = pipe.lost.get();
        long qdrop0 = pipe.queueDrops.get();
        long reass0 = beta.inet().ip().stats().reassembled.get();
        long ipTotal0 = beta.inet().ip().stats().total.get();
        long delivered0 = pipe.delivered.get();
        long udpDelivered0 = beta.ipSockets().udp().stats().delivered.get();
        Set<Integer> got = ConcurrentHashMap.newKeySet();
        AtomicLong bytes = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread rx = Thread.ofPlatform().name("demo-udp-rx").start(() -> receive(bs, sb, got, bytes, stop, n));
        boolean tty = System.console() != null && out == System.out;
        int frames = 0;
        int bigs = 0;
        for (int i = 0; i < n; i++) {
            byte[] d = new byte[size(i)];
            d[0] = (byte) (i >>> 8);
            d[1] = (byte) i;
            for (int j = 2; j < d.length; j++) {
                d[j] = (byte) (i + j);
            }
            as.sendto(sa, d, 0, d.length, 0, Sockaddr.In.of("10.0.0.2", UDP_PORT));
            frames += d.length + 8 + 20 > 1500 ? (d.length + 8 + 1479) / 1480 : 1;
            bigs += d.length == BIG ? 1 : 0;
            progress(tty, i + 1, n, got, false);
            sleepMillis(5);
        }
        // wait for the pipe to empty and beta to take in every frame it delivered
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (pipe.entered.get() != pipe.delivered.get() + pipe.lost.get() + pipe.queueDrops.get()
                && System.nanoTime() < deadline) {
            sleepMillis(2);
        }
        // then until beta's IP input took every frame the pipe delivered and the socket handed out what UDP queued
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < settle && cardinality(got) < n
                && (beta.inet().ip().stats().total.get() - ipTotal0 < pipe.delivered.get() - delivered0
                        || beta.ipSockets().udp().stats().delivered.get() - udpDelivered0 != cardinality(got))) {
            sleepMillis(2);
        }
        stop.set(true);
        rx.join();
        progress(tty, n, n, got, true);
        int received = cardinality(got);
        int lostSmall = 0;
        int lostBig = 0;
        for (int i = 0; i < n; i++) {
            if (!got.contains(i)) {
                if (size(i) == BIG) {
                    lostBig++;
                } else {
                    lostSmall++;
                }
            }
        }
        long entered = pipe.entered.get() - entered0;
        long lostFrames = pipe.lost.get() - lost0 + pipe.queueDrops.get() - qdrop0;
        long reassembled = beta.inet().ip().stats().reassembled.get() - reass0;
        out.printf("udp: %d datagrams sent (%,d bytes in %d frames, %d fragmented), %d received, %d lost%n", n, sentBytes(n),
                frames, bigs, received, n - received);
        out.printf("udp: pipe alpha->beta during the exchange: %d frames entered, %d dropped by the impairment;"
                + " beta reassembled %d of %d fragmented datagrams%n", entered, lostFrames, reassembled, bigs);
        boolean exact = lostSmall <= lostFrames && (lostFrames - lostSmall) >= lostBig
                && (lostFrames - lostSmall) <= 3L * lostBig && reassembled == bigs - lostBig;
        out.printf("udp: accounting %s: %d lost = %s whose one frame the pipe dropped + %s missing %s"
                + " (the rest time out in reassembly)%n", exact ? "exact" : "NOT exact", n - received,
                plural(lostSmall, "unfragmented datagram"), plural(lostBig, "fragmented datagram"),
                plural(lostFrames - lostSmall, "fragment"));
        reply(as, sa, bs, sb, received, n);
        as.close(sa);
        bs.close(sb);
    }

    private static String plural(long n, String what) {
        return n + " " + what + (n == 1 ? "" : "s");
    }

    private static long sentBytes(int n) {
        long s = 0;
        for (int i = 0; i < n; i++) {
            s += size(i);
        }
        return s;
    }

    private static int cardinality(Set<Integer> b) {
        return b.size();
    }

    /** beta tells alpha what it got, retried until alpha hears it (the pipe loses frames both ways). */
    private void reply(SocketApi as, int sa, SocketApi bs, int sb, int received, int n) throws ErrnoException {
        byte[] msg = ("beta got " + received + " of " + n).getBytes(StandardCharsets.UTF_8);
        Sockaddr alphaAddr = as.getsockname(sa);
        Sockaddr to = new Sockaddr.In(InAddr.parse("10.0.0.1"), ((Sockaddr.In) alphaAddr).port());
        byte[] buf = new byte[256];
        Sockaddr[] from = new Sockaddr[1];
        for (int attempt = 1; attempt <= 10; attempt++) {
            bs.sendto(sb, msg, 0, msg.length, 0, to);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            while (System.nanoTime() < deadline) {
                try {
                    int k = as.recvfrom(sa, buf, 0, buf.length, SocketConst.MSG_DONTWAIT, from);
                    out.printf("udp: alpha recvfrom %s: \"%s\" (attempt %d)%n", from[0], new String(buf, 0, k, StandardCharsets.UTF_8),
                            attempt);
                    return;
                } catch (ErrnoException ex) {
                    if (ex.errno() != Errno.EAGAIN) {
                        throw ex;
                    }
                    sleepMillis(2);
                }
            }
        }
        out.println("udp: beta's reply was lost 10 times");
    }

    private static void receive(SocketApi bs, int sb, Set<Integer> got, AtomicLong bytes, AtomicBoolean stop, int n) {
        byte[] buf = new byte[65536];
        Sockaddr[] from = new Sockaddr[1];
        while (!stop.get()) {
            try {
                int k = bs.recvfrom(sb, buf, 0, buf.length, SocketConst.MSG_DONTWAIT, from);
                int seq = (buf[0] & 0xff) << 8 | (buf[1] & 0xff);
                if (k == size(seq) && seq < n) {
                    got.add(seq);
                    bytes.addAndGet(k);
                }
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EAGAIN) {
                    return;
                }
                sleepMillis(1);
            }
        }
    }

    private void progress(boolean tty, int sent, int n, Set<Integer> got, boolean last) {
        if (quiet) {
            return;
        }
        String line = String.format(Locale.ROOT, "udp: sent %d/%d, received %d", sent, n, cardinality(got));
        if (tty) {
            out.print("\r" + line + (last ? "\n" : ""));
            out.flush();
        } else if (last || sent % 10 == 0) {
            out.println(line);
        }
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- netstat -s ----

    private void highlights(Vnet alpha, Vnet beta) {
        out.println("== netstat -s highlights          alpha      beta");
        var ai = alpha.inet();
        var bi = beta.inet();
        row("ip: total packets received", ai.ip().stats().total.get(), bi.ip().stats().total.get());
        row("ip: packets sent from this host", ai.ip().stats().localout.get(), bi.ip().stats().localout.get());
        row("ip: output datagrams fragmented", ai.ip().stats().fragmented.get(), bi.ip().stats().fragmented.get());
        row("ip: fragments created", ai.ip().stats().ofragments.get(), bi.ip().stats().ofragments.get());
        row("ip: fragments received", ai.ip().stats().fragments.get(), bi.ip().stats().fragments.get());
        row("ip: packets reassembled ok", ai.ip().stats().reassembled.get(), bi.ip().stats().reassembled.get());
        row("icmp: echo sent", ai.icmp().stats().outhist(Icmp.ECHO), bi.icmp().stats().outhist(Icmp.ECHO));
        row("icmp: echo reply sent", ai.icmp().stats().outhist(Icmp.ECHOREPLY), bi.icmp().stats().outhist(Icmp.ECHOREPLY));
        row("udp: datagrams output", alpha.ipSockets().udp().stats().opackets.get(), beta.ipSockets().udp().stats().opackets.get());
        row("udp: datagrams received", alpha.ipSockets().udp().stats().ipackets.get(), beta.ipSockets().udp().stats().ipackets.get());
        row("arp: requests sent", ai.arp().stats().txrequests.get(), bi.arp().stats().txrequests.get());
        row("arp: replies received", ai.arp().stats().rxreplies.get(), bi.arp().stats().rxreplies.get());
        out.println("(all counters: smpnet netstat -s against smpnet demo --serve)");
    }

    private void row(String what, long a, long b) {
        out.printf(Locale.ROOT, "  %-32s %8d  %8d%n", what, a, b);
    }

    // ---- capture ----

    /** A BPF descriptor on an interface, pumped by a thread into a pcap file. */
    private final class Capture {
        private final BpfDescriptor d = new BpfDescriptor();
        private final FilterProgram prog = FilterCompiler.compile(FILTER, FilterCompiler.DLT_EN10MB);
        private final PcapClassicWriter w;
        private final Path file;
        private final Thread pump;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private long written;
        private IOException failure;

        Capture(Ifnet ifp, Path file) throws IOException {
            this.file = file;
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            this.w = PcapFiles.newPcapWriter(file, FilterCompiler.DLT_EN10MB, 65535, false);
            d.setBufferSize(BpfDescriptor.MAX_BUFSIZE);
            d.setFilter(new BpfInterpreter(prog.program()));
            d.setReadTimeout(20, TimeUnit.MILLISECONDS);
            d.attach(ifp, FilterCompiler.DLT_EN10MB, false);
            pump = Thread.ofPlatform().name("demo-bpf").start(this::run);
        }

        private void run() {
            byte[] buf = new byte[d.bufferSize()];
            try {
                while (true) {
                    boolean last = stopping.get();
                    if (last) {
                        d.setNonBlocking(true);
                    }
                    int n = d.read(buf);
                    if (n < 0 || (last && n == 0)) {
                        return;
                    }
                    for (int off = 0; off < n; ) {
                        BpfHeader h = BpfHeader.read(buf, off, n);
                        byte[] data = java.util.Arrays.copyOfRange(buf, off + h.hdrlen(), off + h.hdrlen() + h.caplen());
                        w.write(new PcapRecord(h.seconds() * 1_000_000_000L + h.micros() * 1000L, FilterCompiler.DLT_EN10MB,
                                h.caplen(), h.datalen(), data, 0, OptionalInt.empty(), List.of()));
                        written++;
                        off += BpfHeader.recordSize(h.caplen());
                    }
                }
            } catch (IOException e) {
                failure = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void close() throws IOException, InterruptedException {
            stopping.set(true);
            pump.join();
            d.close();
            w.close();
            if (failure != null) {
                throw failure;
            }
        }

        void report() throws IOException, InterruptedException {
            out.printf("== capture: %d packets written to %s (bpf: %d seen, %d matched '%s', %d dropped)%n", written, file,
                    d.received.get(), d.captured.get(), FILTER, d.dropped.get());
            out.println("read it with:  tcpdump -r " + file + " -n");
            List<String> lines = tcpdump(file);
            if (lines != null) {
                lines.stream().limit(8).forEach(l -> out.println("  " + l));
                out.println("  ... (tcpdump read " + lines.size() + " packets)");
            }
        }
    }

    /** {@code tcpdump -r file -n}'s lines if tcpdump is on the PATH, else null. */
    static List<String> tcpdump(Path file) throws IOException, InterruptedException {
        Path exe = null;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "tcpdump");
            if (Files.isExecutable(p)) {
                exe = p;
                break;
            }
        }
        if (exe == null) {
            return null;
        }
        Process p = new ProcessBuilder(exe.toString(), "-r", file.toString(), "-n").redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        List<String> lines = new ArrayList<>(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList());
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroy();
        }
        return lines;
    }
}
