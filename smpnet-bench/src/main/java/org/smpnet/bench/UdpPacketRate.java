package org.smpnet.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Sockopt;
import org.smpnet.socket.Ucred;

/**
 * Issue 4's end-to-end packet-rate benchmark: 64-byte UDP datagrams from host A (10.0.0.1) to host B
 * (10.0.0.2), two {@link Vnet}s joined by an epair, through the BSD-style {@link SocketApi}: per flow one
 * sender thread calling {@code sendto} and one receiver thread calling {@code recv}, as an ordinary program
 * does. The Linux kernel's loopback UDP is measured by the C harness {@code udp_loopback_bench} with the same
 * shape (one sender and one receiver thread per flow, one system call per datagram) before and after, in the
 * same run. The figure is datagrams received per second, all flows together; the ratio uses the better of
 * the two Linux runs.
 *
 * <p>Usage (through {@code scripts/bench-udp}): {@code UdpPacketRate [SECONDS] [WARMUP] [FLOWS,...]} (flows
 * default 1,2); {@code -Dsmpnet.udpbench.batch=N} sends and receives up to N datagrams per call
 * ({@code sendmmsg}/{@code recvmmsg} with {@code MSG_WAITFORONE}) on both sides, the C harness too
 * (default 1: {@code sendto}/{@code recv}); {@code -Dsmpnet.udpbench.reps=N} repeats the whole Linux-smpnet-Linux sequence N times
 * and adds the median ratio (this machine's run-to-run noise is large); the system property
 * {@code smpnet.udpbench.harness} names the C harness (without it only smpnet is measured);
 * {@code -Dsmpnet.udpbench.trace=true} also prints each smpnet run's rate in every half second of it. Beside each smpnet
 * run the table gives the machine's {@linkplain CpuRoundTrip CPU-to-CPU round trip} just before and after it:
 * the stack's sender and reader threads talk across CPUs, so a run on a VM whose host placed its two CPUs far
 * apart (a round trip of some 400 ns instead of under 100) is slower for that reason alone.
 */
public final class UdpPacketRate {
    private static final int PAYLOAD = 64;
    private static final int BASE_PORT = 9000;
    private static final double GOAL = 10.0;
    /** Round trips per {@link CpuRoundTrip} sample: some 10-40 ms each. */
    private static final int ROUND_TRIPS = 100_000;

    private UdpPacketRate() {}

    /** One measurement: datagrams received and sent during the window, and its length. */
    record Result(long received, long sent, double seconds, long cpuNanos) {
        Result(long received, long sent, double seconds) {
            this(received, sent, seconds, -1);
        }

        /** Process CPU time per datagram received during the window (all threads), or NaN if not measured. */
        double cpuNanosPerDatagram() {
            return cpuNanos < 0 || received == 0 ? Double.NaN : (double) cpuNanos / received;
        }

        double pps() {
            return received / seconds;
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        double warmup = args.length > 1 ? Double.parseDouble(args[1]) : 2;
        String harness = System.getProperty("smpnet.udpbench.harness");
        int[] flows = args.length > 2 ? java.util.Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 2};
        int reps = Integer.getInteger("smpnet.udpbench.reps", 1);
        int batch = Integer.getInteger("smpnet.udpbench.batch", 1);
        if (batch < 1 || batch > 1024) {
            throw new IllegalArgumentException("smpnet.udpbench.batch must be 1 to 1024, not " + batch);
        }
        if (reps < 1) {
            throw new IllegalArgumentException("smpnet.udpbench.reps must be at least 1, not " + reps);
        }
        // Per flow count, per repetition: Linux before, smpnet, Linux after (all in this one run).
        double[][][] linux = new double[flows.length][reps][2];
        double[][][] linuxCpu = new double[flows.length][reps][2];
        double[][] smp = new double[flows.length][reps];
        double[][] smpCpu = new double[flows.length][reps];
        double[][][] roundTrip = new double[flows.length][reps][2];
        for (int rep = 0; rep < reps; rep++) {
            for (int i = 0; i < flows.length; i++) {
                Result l = harness == null ? null : linux(harness, flows[i], seconds, warmup, batch);
                linux[i][rep][0] = l == null ? Double.NaN : l.pps();
                linuxCpu[i][rep][0] = l == null ? Double.NaN : l.cpuNanosPerDatagram();
            }
            for (int i = 0; i < flows.length; i++) {
                roundTrip[i][rep][0] = CpuRoundTrip.medianNanos(3, ROUND_TRIPS);
                Result r = smpnet(flows[i], seconds, warmup, batch);
                roundTrip[i][rep][1] = CpuRoundTrip.medianNanos(3, ROUND_TRIPS);
                smp[i][rep] = r.pps();
                smpCpu[i][rep] = r.cpuNanosPerDatagram();
                System.out.printf(Locale.ROOT, "smpnet flows=%d received=%d sent=%d seconds=%.3f pps=%.0f cpu=%.0fns/datagram "
                        + "roundtrip=%.0f/%.0fns%n", flows[i], r.received(), r.sent(), r.seconds(), r.pps(),
                        r.cpuNanosPerDatagram(), roundTrip[i][rep][0], roundTrip[i][rep][1]);
            }
            for (int i = 0; i < flows.length; i++) {
                Result l = harness == null ? null : linux(harness, flows[i], seconds, warmup, batch);
                linux[i][rep][1] = l == null ? Double.NaN : l.pps();
                linuxCpu[i][rep][1] = l == null ? Double.NaN : l.cpuNanosPerDatagram();
            }
        }
        System.out.println();
        System.out.println(batch == 1 ? "One datagram per call (sendto/recv) on both sides:"
                : "Up to " + batch + " datagrams per call (sendmmsg/recvmmsg with MSG_WAITFORONE) on both sides:");
        System.out.println("| flows | rep | Linux loopback pps (before / after) | smpnet epair pps | smpnet/Linux | goal >= 10x "
                + "| CPU ns/datagram Linux (before / after) | CPU ns/datagram smpnet | CPU-to-CPU round trip ns (before / after smpnet) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        double[][] ratios = new double[flows.length][reps];
        for (int i = 0; i < flows.length; i++) {
            for (int rep = 0; rep < reps; rep++) {
                double ratio = smp[i][rep] / Math.max(linux[i][rep][0], linux[i][rep][1]);
                ratios[i][rep] = ratio;
                System.out.printf(Locale.ROOT, "| %d | %d | %,.0f / %,.0f | %,.0f | %.2fx | %s | %,.0f / %,.0f | %,.0f | %.0f / %.0f |%n",
                        flows[i], rep + 1, linux[i][rep][0], linux[i][rep][1], smp[i][rep], ratio, verdict(ratio),
                        linuxCpu[i][rep][0], linuxCpu[i][rep][1], smpCpu[i][rep], roundTrip[i][rep][0], roundTrip[i][rep][1]);
            }
        }
        if (reps > 1) {
            System.out.println();
            System.out.println("| flows | median smpnet/Linux (of " + reps + " reps; min - max) | goal >= 10x |");
            System.out.println("|---|---|---|");
            for (int i = 0; i < flows.length; i++) {
                double[] r = ratios[i].clone();
                java.util.Arrays.sort(r);
                double median = reps % 2 == 1 ? r[reps / 2] : (r[reps / 2 - 1] + r[reps / 2]) / 2;
                System.out.printf(Locale.ROOT, "| %d | %.2fx (%.2fx - %.2fx) | %s |%n", flows[i], median, r[0], r[reps - 1],
                        verdict(median));
            }
        }
    }

    private static String verdict(double ratio) {
        return Double.isNaN(ratio) ? "n/a" : ratio >= GOAL ? "PASS" : "MISS";
    }

    /** Runs the C harness once and parses its one-line result. */
    static Result linux(String harness, int flows, double seconds, double warmup, int batch)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(harness, Integer.toString(flows), Double.toString(seconds),
                Integer.toString(PAYLOAD), Double.toString(warmup), Integer.toString(batch)).redirectErrorStream(true).start();
        String line;
        StringBuilder all = new StringBuilder();
        Result r = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            Pattern pat = Pattern.compile("seconds=([0-9.]+) received=(\\d+) sent=(\\d+) pps=\\S+ cpu=(\\d+)ns");
            while ((line = in.readLine()) != null) {
                all.append(line).append('\n');
                Matcher m = pat.matcher(line);
                if (m.find()) {
                    r = new Result(Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                            Double.parseDouble(m.group(1)), Long.parseLong(m.group(4)) * Long.parseLong(m.group(2)));
                }
            }
        }
        if (p.waitFor() != 0 || r == null) {
            throw new IOException("linux harness failed: " + all);
        }
        System.out.print("linux  " + all);
        return r;
    }

    /**
     * Sleeps through the measurement window; with {@code -Dsmpnet.udpbench.trace=true} reads host B's UDP
     * input count every half second and prints the rates after the window, to show whether a run's rate held
     * or changed within it.
     */
    private static void awaitWindow(double seconds, Vnet b) throws InterruptedException {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        if (!Boolean.getBoolean("smpnet.udpbench.trace")) {
            Thread.sleep((long) (seconds * 1000));
            return;
        }
        StringBuilder rates = new StringBuilder("smpnet trace (UDP input, M datagrams/s per 0.5 s):");
        long t = System.nanoTime();
        long n = Long.parseLong(b.sysctl().get("net.inet.udp.stats.ipackets"));
        while (end - t > 0) {
            Thread.sleep(Math.max(1, Math.min(500, (end - t) / 1_000_000)));
            long t2 = System.nanoTime();
            long n2 = Long.parseLong(b.sysctl().get("net.inet.udp.stats.ipackets"));
            rates.append(String.format(Locale.ROOT, " %.2f", (n2 - n) * 1e3 / (t2 - t)));
            t = t2;
            n = n2;
        }
        System.out.println(rates);
    }

    /** Two Vnets over an epair; {@code flows} sender/receiver thread pairs; counts during the window. */
    static Result smpnet(int flows, double seconds, double warmup, int batch) throws Exception {
        try (Vnet a = new Vnet("udpbench-a"); Vnet b = new Vnet("udpbench-b")) {
            Epair e = a.epair(b);
            a.addrs().add(e.a(), InAddr.parse("10.0.0.1"), 24);
            b.addrs().add(e.b(), InAddr.parse("10.0.0.2"), 24);
            SocketApi apiA = new SocketApi(a.domains(), new Filedesc(), Ucred.of(1, 0, 0));
            SocketApi apiB = new SocketApi(b.domains(), new Filedesc(), Ucred.of(2, 0, 0));
            AtomicInteger phase = new AtomicInteger();
            long[] received = new long[flows];
            long[] sent = new long[flows];
            long[] rxCalls = new long[flows];
            List<Thread> threads = new ArrayList<>();
            for (int f = 0; f < flows; f++) {
                int rx = apiB.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
                apiB.setsockopt(rx, SocketConst.SOL_SOCKET, SocketConst.SO_RCVBUF, 1 << 20);
                apiB.setsockopt(rx, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(100_000));
                apiB.bind(rx, Sockaddr.In.of("10.0.0.2", BASE_PORT + f));
                int tx = apiA.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
                Sockaddr to = Sockaddr.In.of("10.0.0.2", BASE_PORT + f);
                // Resolve ARP before the clock starts: the first datagram waits in the hold queue.
                apiA.sendto(tx, new byte[PAYLOAD], 0, PAYLOAD, 0, to);
                int flow = f;
                threads.add(Thread.ofPlatform().name("udpbench-rx" + f).unstarted(() -> {
                    Msghdr[] msgs = new Msghdr[batch];
                    for (int i = 0; i < batch; i++) {
                        msgs[i] = new Msghdr(new byte[2048]);
                    }
                    long n = 0;
                    long calls = 0;
                    while (phase.get() != 2) {
                        int got;
                        try {
                            got = batch == 1 ? (apiB.recvmsg(rx, msgs[0], 0) >= 0 ? 1 : 0)
                                    : apiB.recvmmsg(rx, msgs, 0, batch, SocketConst.MSG_WAITFORONE);
                        } catch (ErrnoException ex) {
                            if (ex.errno() == Errno.EAGAIN || ex.errno() == Errno.EINTR) {
                                continue;
                            }
                            throw new IllegalStateException(ex);
                        }
                        if (phase.get() == 1) {
                            n += got;
                            calls++;
                        }
                    }
                    received[flow] = n;
                    rxCalls[flow] = calls;
                }));
                threads.add(Thread.ofPlatform().name("udpbench-tx" + f).unstarted(() -> {
                    byte[] buf = new byte[PAYLOAD];
                    Msghdr[] msgs = new Msghdr[batch];
                    for (int i = 0; i < batch; i++) {
                        msgs[i] = Msghdr.send(buf, 0, PAYLOAD, to, null);
                    }
                    long n = 0;
                    int p;
                    while ((p = phase.get()) != 2) {
                        int done;
                        try {
                            done = batch == 1 ? (apiA.sendmsg(tx, msgs[0], 0) >= 0 ? 1 : 0)
                                    : apiA.sendmmsg(tx, msgs, 0, batch, 0);
                        } catch (ErrnoException ex) {
                            if (ex.errno() == Errno.ENOBUFS || ex.errno() == Errno.EAGAIN) {
                                continue;
                            }
                            throw new IllegalStateException(ex);
                        }
                        if (p == 1) {
                            n += done;
                        }
                    }
                    sent[flow] = n;
                }));
            }
            threads.forEach(Thread::start);
            Thread.sleep((long) (warmup * 1000));
            com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long c0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            phase.set(1);
            awaitWindow(seconds, b);
            phase.set(2);
            long t1 = System.nanoTime();
            long c1 = os.getProcessCpuTime();
            for (Thread t : threads) {
                t.join();
            }
            long calls = java.util.Arrays.stream(rxCalls).sum();
            System.out.printf(Locale.ROOT, "smpnet flows=%d drops: socket buffer full %s, epair queues %d; "
                    + "datagrams per receive call %.1f; busy polls %s, poller lingers %d, sender waits %d%n", flows,
                    b.sysctl().get("net.inet.udp.stats.fullsock"), e.rxQueueDrops(),
                    calls == 0 ? 0.0 : (double) java.util.Arrays.stream(received).sum() / calls,
                    b.sysctl().get("kern.ipc.busy_polls"),
                    e.rxQueues().stream().mapToLong(q -> q.lingerStarts.get()).sum(),
                    e.rxQueues().stream().mapToLong(q -> q.senderWaits.get()).sum());
            long rxTotal = 0;
            long txTotal = 0;
            for (int f = 0; f < flows; f++) {
                rxTotal += received[f];
                txTotal += sent[f];
            }
            return new Result(rxTotal, txTotal, (t1 - t0) / 1e9, c1 - c0);
        }
    }
}
