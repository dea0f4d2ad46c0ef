package org.smpnet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.smpnet.ControlProtocol;
import org.smpnet.ControlProtocol.Frame;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.IfFlags;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfHeader;
import org.smpnet.net.bpf.BpfInsn;
import org.smpnet.net.bpf.FilterCompiler;
import org.smpnet.net.bpf.FilterSyntaxException;
import org.smpnet.net.bpf.PcapClassicWriter;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapRecord;

/**
 * {@code smpnet tcpdump -i IFACE} and {@code -D}: finds the interface among the running Vnets' control
 * endpoints, compiles the filter for the link type the endpoint reports, captures through a BPF
 * descriptor in that Vnet, and prints or writes what arrives, ending with tcpdump's three-line summary.
 */
final class LiveCapture {
    /** What the tcpdump options ask for. */
    record Request(Path dir, String ifname, String vnet, String expression, int snaplen, BpfDescriptor.DirectionFilter direction,
                   boolean promisc, long count, boolean immediate, int bufsize, Path writeFile, boolean absoluteSeq) {}

    private LiveCapture() {}

    /** {@code tcpdump -D}: one line per interface of every running Vnet. */
    static void listInterfaces(Path dir, PrintStream out) throws TcpdumpCommand.Failure {
        List<ControlClient.Located> all = locateAll(dir);
        if (all.isEmpty()) {
            throw new TcpdumpCommand.Failure("no running vnets export a control endpoint in " + dir
                    + " (start one with: smpnet demo --serve)");
        }
        int n = 1;
        for (ControlClient.Located l : all) {
            out.println(n++ + "." + l.ifinfo().name() + " [" + flagWords(l.ifinfo().flags()) + "] (vnet " + l.vnet()
                    + ", endpoint " + l.endpointName() + ", " + TcpdumpCommand.LinkTypes.describe(l.ifinfo().dlt()) + ")");
        }
    }

    private static String flagWords(int flags) {
        List<String> w = new ArrayList<>();
        if ((flags & IfFlags.UP) != 0) {
            w.add("Up");
        }
        if ((flags & IfFlags.RUNNING) != 0) {
            w.add("Running");
        }
        if ((flags & IfFlags.LOOPBACK) != 0) {
            w.add("Loopback");
        }
        if ((flags & IfFlags.PROMISC) != 0) {
            w.add("Promiscuous");
        }
        return String.join(", ", w);
    }

    private static List<ControlClient.Located> locateAll(Path dir) throws TcpdumpCommand.Failure {
        try {
            return ControlClient.interfaces(dir);
        } catch (IOException e) {
            throw new TcpdumpCommand.Failure(dir + ": " + TcpdumpCommand.reason(e));
        }
    }

    private static ControlClient.Located locate(Request r) throws TcpdumpCommand.Failure {
        List<ControlClient.Located> hits = new ArrayList<>();
        for (ControlClient.Located l : locateAll(r.dir())) {
            if (l.ifinfo().name().equals(r.ifname()) && (r.vnet() == null || r.vnet().equals(l.vnet()))) {
                hits.add(l);
            }
        }
        if (hits.isEmpty()) {
            throw new TcpdumpCommand.Failure(r.ifname() + ": No such device exists (no running vnet"
                    + (r.vnet() != null ? " named " + r.vnet() : "") + " has it; see smpnet tcpdump -D) (ENXIO)");
        }
        if (hits.size() > 1) {
            throw new TcpdumpCommand.Failure(r.ifname() + " exists in several vnets ("
                    + String.join(", ", hits.stream().map(h -> h.vnet() + " at " + h.endpointName()).toList())
                    + "): choose one with --vnet");
        }
        return hits.getFirst();
    }

    /** Runs the capture to its end; returns the exit status (0 after the summary). */
    static int run(Request r, PrintStream out) throws TcpdumpCommand.Failure {
        ControlClient.Located where = locate(r);
        int dlt = where.ifinfo().dlt();
        List<BpfInsn> program = compile(r, dlt);
        ControlProtocol.CaptureRequest req = new ControlProtocol.CaptureRequest(where.vnet(), r.ifname(), r.snaplen(),
                r.direction(), r.promisc(), Math.max(0, r.count()), r.immediate(), r.bufsize(), program);
        try (ControlClient c = ControlClient.connect(where.endpoint())) {
            ControlProtocol.CaptureStarted started = c.capture(req);
            System.err.println("listening on " + r.ifname() + " (vnet " + started.vnet() + "), link-type "
                    + TcpdumpCommand.LinkTypes.describe(started.dlt()) + ", snapshot length " + r.snaplen() + " bytes");
            return pump(c, r, started.dlt(), out);
        } catch (ErrnoException e) {
            throw new TcpdumpCommand.Failure(r.ifname() + ": " + e.getMessage());
        } catch (IOException e) {
            throw new TcpdumpCommand.Failure(where.endpoint() + ": " + TcpdumpCommand.reason(e));
        }
    }

    private static List<BpfInsn> compile(Request r, int dlt) throws TcpdumpCommand.Failure {
        if (r.expression().isBlank()) {
            return List.of();
        }
        try {
            return FilterCompiler.compile(r.expression(), new FilterCompiler.Options(dlt, r.snaplen(), true, 0, false)).insns();
        } catch (FilterSyntaxException e) {
            throw new TcpdumpCommand.Failure("can't compile \"" + r.expression() + "\": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new TcpdumpCommand.Failure(r.ifname() + ": " + e.getMessage());
        }
    }

    /** Reads capture frames until CAPTURE_END; a Ctrl-C asks the server to stop, and the summary still prints. */
    private static int pump(ControlClient c, Request r, int dlt, PrintStream out) throws IOException, TcpdumpCommand.Failure {
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            try {
                c.stop();
                done.await(3, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException gone) {
                // the capture is ending anyway
            }
        }, "smpnet tcpdump stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return drain(c, r, dlt, out);
        } finally {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running and now returns
            }
        }
    }

    private static int drain(ControlClient c, Request r, int dlt, PrintStream out) throws IOException, TcpdumpCommand.Failure {
        PacketPrinter printer = new PacketPrinter(ZoneId.systemDefault(), r.absoluteSeq());
        PcapClassicWriter writer = r.writeFile() == null ? null : openWriter(r, dlt);
        long captured = 0;
        ControlProtocol.CaptureEnd end;
        try {
            while (true) {
                Frame f = c.next();
                if (f.type() == ControlProtocol.CAPTURE_END) {
                    end = ControlProtocol.CaptureEnd.decode(f.body());
                    break;
                }
                if (f.type() != ControlProtocol.CAPTURE_DATA) {
                    throw new TcpdumpCommand.Failure("unexpected reply type " + f.type() + " during a capture");
                }
                for (PcapRecord rec : records(f.body(), dlt)) {
                    if (r.count() > 0 && captured >= r.count()) {
                        break;
                    }
                    captured++;
                    if (writer != null) {
                        writer.write(rec);
                    } else {
                        out.println(printer.summary(rec));
                    }
                }
            }
        } finally {
            out.flush();
            if (writer != null) {
                writer.close();
            }
        }
        System.err.println();
        System.err.println(captured + " packet" + plural(captured) + " captured");
        System.err.println(end.received() + " packet" + plural(end.received()) + " received by filter");
        System.err.println(end.dropped() + " packet" + plural(end.dropped()) + " dropped by kernel");
        if (end.reason().contains("detached")) {
            System.err.println("smpnet tcpdump: " + end.reason());
        }
        return 0;
    }

    private static PcapClassicWriter openWriter(Request r, int dlt) throws TcpdumpCommand.Failure {
        try {
            return PcapFiles.newPcapWriter(r.writeFile(), dlt, r.snaplen(), false);
        } catch (IOException e) {
            throw new TcpdumpCommand.Failure(r.writeFile() + ": " + TcpdumpCommand.reason(e));
        }
    }

    /** The records of one BPF read buffer. */
    static List<PcapRecord> records(byte[] buf, int dlt) throws TcpdumpCommand.Failure {
        List<PcapRecord> out = new ArrayList<>();
        try {
            for (int off = 0; off < buf.length; ) {
                BpfHeader h = BpfHeader.read(buf, off, buf.length);
                byte[] data = new byte[h.caplen()];
                System.arraycopy(buf, off + h.hdrlen(), data, 0, data.length);
                long nanos = h.seconds() * 1_000_000_000L + h.micros() * 1000L;
                out.add(new PcapRecord(nanos, dlt, data.length, Integer.toUnsignedLong(h.datalen()), data, 0,
                        OptionalInt.empty(), List.of()));
                off += BpfHeader.wordAlign(h.hdrlen() + h.caplen());
            }
        } catch (IllegalArgumentException e) {
            throw new TcpdumpCommand.Failure("malformed capture data from the vnet: " + e.getMessage());
        }
        return out;
    }

    private static String plural(long n) {
        return n == 1 ? "" : "s";
    }
}
