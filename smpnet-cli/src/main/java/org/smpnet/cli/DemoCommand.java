package org.smpnet.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.smpnet.kern.Callout;
import org.smpnet.kern.CalloutWheels;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Task;
import org.smpnet.kern.Taskqueue;
import org.smpnet.net.Mbuf;
import org.smpnet.net.MbufZones;
import org.smpnet.kern.Giant;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sx;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.Witness;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code smpnet demo}: two hosts over an impaired epair with ARP, ping, UDP with fragments, a BPF capture
 * to a pcap file and netstat highlights ({@link DemoRun}); {@code --serve} exports two running Vnets for the
 * other commands; {@code --kernel} exercises the kernel services from several threads with WITNESS on and
 * prints the sysctl tree and WITNESS state.
 */
@Command(name = "demo", description = "Two hosts in one process over an impaired epair: ARP, ping, UDP with fragments,"
        + " a BPF capture to a pcap file, netstat -s highlights.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--loss", paramLabel = "PERCENT", defaultValue = "2", description = "Frames lost per direction (%%, default ${DEFAULT-VALUE}).")
    double loss;

    @Option(names = "--delay", paramLabel = "MILLIS", defaultValue = "2", description = "One-way delay (ms, default ${DEFAULT-VALUE}; jitter is a quarter of it).")
    double delay;

    @Option(names = "--count", paramLabel = "N", defaultValue = "10", description = "Echo requests (default ${DEFAULT-VALUE}); twice as many UDP datagrams, at least 20.")
    int count;

    @Option(names = "--pcap", paramLabel = "FILE", description = "Capture file (default: smpnet-demo.pcap in the temporary directory).")
    java.nio.file.Path pcap;

    @Option(names = "--quiet", description = "Leave out the per-reply and progress lines.")
    boolean quiet;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "5", description = "Seed of the impairment's random choices (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--kernel", description = "Instead: exercise the kernel services (locks, epoch, callouts, taskqueue, mbufs)"
            + " and print sysctl and WITNESS state.")
    boolean kernel;

    @Option(names = "--millis", defaultValue = "800", description = "With --kernel: how long each exercise runs (ms, default ${DEFAULT-VALUE}).")
    long millis;

    @Option(names = "--threads", defaultValue = "4", description = "With --kernel: threads per exercise (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--serve", description = "Instead: run two Vnets joined by an epair with traffic on it and export"
            + " their control endpoint, for smpnet tcpdump -i from another shell.")
    boolean serve;

    @Option(names = "--linger", paramLabel = "SECONDS", defaultValue = "0",
            description = "With --serve: stop after SECONDS (default: run until interrupted).")
    long lingerSeconds;

    @Option(names = "--name", paramLabel = "NAME", defaultValue = "demo", description = "With --serve: endpoint name (default ${DEFAULT-VALUE}).")
    String endpointName;

    @Option(names = "--period", paramLabel = "MILLIS", defaultValue = "10",
            description = "With --serve: milliseconds between traffic rounds (default ${DEFAULT-VALUE}).")
    long periodMillis;

    @Option(names = "--ctl-dir", paramLabel = "DIR", hidden = true, description = "Directory for the control socket.")
    java.nio.file.Path ctlDir;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        if (millis < 1 || threads < 1) {
            throw new IllegalArgumentException("--millis and --threads must be positive");
        }
        if (serve) {
            return new DemoServer(out, ctlDir, endpointName, periodMillis, lingerSeconds).call();
        }
        if (!kernel) {
            java.nio.file.Path file = pcap != null ? pcap
                    : java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "smpnet-demo.pcap");
            return new DemoRun(out, loss, delay, count, file, quiet, seed).call();
        }
        Sysctl k = Sysctl.kernel();
        k.set("debug.witness.enable", "1");
        out.println("smpnet " + k.get("kern.osrelease") + " on " + k.get("hw.ncpu") + " CPUs; WITNESS on");
        out.println();
        for (String mode : List.of("1", "0")) {
            k.set("net.mpsafenet", mode);
            locks(mode);
        }
        k.set("net.mpsafenet", "1");
        epoch();
        callouts();
        taskqueue();
        mbufs();
        out.println();
        out.println("== sysctl -a");
        for (Sysctl.Oid oid : k.list("")) {
            String v = oid.valueString();
            if (v.contains("\n")) {
                v = v.lines().count() + " lines (smpnet sysctl " + oid.name() + ")";
            }
            out.println(oid.name() + ": " + v);
        }
        out.println();
        out.println("== witness");
        out.println("lock order learned (" + Witness.order().size() + " edges):");
        Witness.order().forEach(e -> out.println("  " + e));
        out.println("reversals: " + Witness.reversals().size() + ", violations: " + Witness.violations().size());
        Witness.reversals().forEach(r -> out.println(r.report()));
        return Witness.reversals().isEmpty() && Witness.violations().isEmpty() ? 0 : 1;
    }

    /** Readers in the net epoch while a writer replaces and frees what they read. */
    private void epoch() throws InterruptedException {
        final class Obj {
            volatile boolean freed;
        }
        AtomicReference<Obj> shared = new AtomicReference<>(new Obj());
        AtomicLong reads = new AtomicLong();
        AtomicLong violations = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            readers.add(Thread.ofPlatform().name("demo-epoch-reader-" + t).start(() -> {
                while (!stop.get()) {
                    int et = Epoch.NET.enter();
                    try {
                        Obj o = shared.get();
                        Thread.onSpinWait();
                        if (o.freed) {
                            violations.incrementAndGet();
                        }
                        reads.incrementAndGet();
                    } finally {
                        Epoch.NET.exit(et);
                    }
                }
            }));
        }
        long grace = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            Obj old = shared.getAndSet(new Obj());
            Epoch.NET.synchronize();
            old.freed = true;
            grace++;
            java.util.concurrent.locks.LockSupport.parkNanos(50_000); // a writer replaces now and then, not in a loop
        }
        stop.set(true);
        for (Thread r : readers) {
            r.join();
        }
        out.printf("epoch: %d readers made %,d reads while the writer freed %,d objects after grace periods;"
                + " reads of freed objects: %d%n", threads, reads.get(), grace, violations.get());
    }

    /** Callouts on the system wheels: some fire, some are stopped before they do. */
    private void callouts() throws InterruptedException {
        CalloutWheels wheels = CalloutWheels.system();
        int n = 200;
        AtomicLong fired = new AtomicLong();
        CountDownLatch done = new CountDownLatch(n / 2);
        List<Callout> cs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Callout c = new Callout(wheels);
            boolean keep = i % 2 == 0;
            c.reset(Duration.ofMillis(5 + ThreadLocalRandom.current().nextInt(50)), () -> {
                fired.incrementAndGet();
                done.countDown();
            });
            if (!keep) {
                c.stop();
            }
            cs.add(c);
        }
        boolean all = done.await(10, TimeUnit.SECONDS);
        cs.forEach(Callout::drain);
        out.printf("callouts: %d scheduled on %d wheels at %d Hz, %d stopped, %d fired%s%n", n, wheels.wheels(),
                wheels.hz(), n / 2, fired.get(), all ? "" : " (timed out waiting)");
    }

    /** A task enqueued many times coalesces into few runs. */
    private void taskqueue() throws InterruptedException {
        Taskqueue tq = new Taskqueue("demo_tq", 2);
        AtomicLong runs = new AtomicLong();
        AtomicLong pendingSum = new AtomicLong();
        Task task = new Task("demo_task", pending -> {
            runs.incrementAndGet();
            pendingSum.addAndGet(pending);
        });
        int n = 10_000;
        for (int i = 0; i < n; i++) {
            tq.enqueue(task);
        }
        tq.drain(task);
        tq.shutdown();
        out.printf("taskqueue: %,d enqueues ran the task %,d times; pending counts add up to %,d%n", n, runs.get(),
                pendingSum.get());
    }

    /** Mbufs with clusters from two threads, then the zones' exact statistics. */
    private void mbufs() throws InterruptedException {
        MbufZones zones = MbufZones.system();
        AtomicLong pairs = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            ts.add(Thread.ofPlatform().name("demo-mbuf-" + t).start(() -> {
                Mbuf[] held = new Mbuf[64];
                while (System.nanoTime() < deadline) {
                    for (int i = 0; i < held.length; i++) {
                        held[i] = zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
                    }
                    for (Mbuf m : held) {
                        if (m != null) {
                            m.freem();
                            pairs.incrementAndGet();
                        }
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        out.printf("mbufs: 2 threads allocated and freed %,d mbuf+2K cluster pairs; packet zone allocs %,d frees %,d in use %d%n",
                pairs.get(), zones.packetZone().allocs(), zones.packetZone().frees(), zones.packetZone().inUse());
    }

    /**
     * The declared order as a socket send would take it: socket I/O sx, PCB info, PCB,
     * socket buffer, routing entry; entry points pick up Giant as net.mpsafenet says.
     */
    private void locks(String mode) throws InterruptedException {
        Sx sbsx = new Sx("so_snd_sx", LockClass.of("sbsx", LockKind.SX, false));
        Mtx pcbinfo = new Mtx("udbinfo", LockClass.of("pcbinfo", LockKind.MUTEX, false)); // as InPcbInfo has it
        Mtx inp = new Mtx("inp", LockClass.of("inp", LockKind.MUTEX, false));
        Mtx sockbuf = new Mtx("so_snd", LockClass.of("sockbuf", LockKind.MUTEX, false));
        Mtx rtentry = new Mtx("rt_lock", LockClass.of("rtentry", LockKind.MUTEX, false));
        Counter ops = new Counter();
        Counter underGiant = new Counter();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().name("demo-send-" + t).start(() -> {
                while (System.nanoTime() < deadline) {
                    boolean giant = Giant.pickup(DemoCommand.class);
                    try {
                        sbsx.writeLock().lock();
                        pcbinfo.lock();
                        inp.lock();
                        pcbinfo.unlock();
                        sockbuf.lock();
                        rtentry.lock();
                        ops.inc();
                        if (Giant.GIANT.isHeldByCurrentThread()) {
                            underGiant.inc();
                        }
                        rtentry.unlock();
                        sockbuf.unlock();
                        inp.unlock();
                        sbsx.writeLock().unlock();
                    } finally {
                        Giant.drop(giant);
                    }
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        out.printf("locks, net.mpsafenet=%s: %d threads took sbsx -> pcbinfo -> inp -> sockbuf -> rtentry %,d times"
                + " (%,d under Giant)%n", mode, threads, ops.get(), underGiant.get());
    }
}
