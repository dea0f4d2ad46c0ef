package org.smpnet.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Giant;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.RwLock;
import org.smpnet.kern.Sx;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.Witness;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code smpnet demo}: starts the kernel services, exercises them from several threads with WITNESS
 * on, and prints the sysctl tree and WITNESS state. Later issues grow it into two hosts and a transfer.
 */
@Command(name = "demo", description = "Start smpnet's kernel services, exercise them, print sysctl and WITNESS state.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--millis", defaultValue = "800", description = "How long each exercise runs (ms, default ${DEFAULT-VALUE}).")
    long millis;

    @Option(names = "--threads", defaultValue = "4", description = "Threads per exercise (default ${DEFAULT-VALUE}).")
    int threads;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        if (millis < 1 || threads < 1) {
            throw new IllegalArgumentException("--millis and --threads must be positive");
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

    /**
     * The declared order as a socket send would take it: socket I/O sx, PCB info (shared), PCB,
     * socket buffer, routing entry; entry points pick up Giant as net.mpsafenet says.
     */
    private void locks(String mode) throws InterruptedException {
        Sx sbsx = new Sx("so_snd_sx", LockClass.of("sbsx", LockKind.SX, false));
        RwLock pcbinfo = new RwLock("udbinfo", LockClass.of("pcbinfo", LockKind.RW, false));
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
                        pcbinfo.readLock().lock();
                        inp.lock();
                        pcbinfo.readLock().unlock();
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
