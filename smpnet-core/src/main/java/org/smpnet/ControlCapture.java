package org.smpnet;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.IfnetGoneException;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfFilter;
import org.smpnet.net.bpf.BpfHeader;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.BpfJit;
import org.smpnet.net.bpf.BpfProgram;

/**
 * A capture for a control client: a {@link BpfDescriptor} on the interface, and a pump thread that reads
 * it and sends each read buffer as one {@link ControlProtocol#CAPTURE_DATA} frame, then one
 * {@link ControlProtocol#CAPTURE_END} with the descriptor's statistics when the count is reached, the
 * interface detaches (the descriptor reads end-of-file) or the client stops it.
 *
 * <p>Threads: {@link #start} runs on the session thread; afterwards only the pump writes to the
 * connection until {@link #join} returns. {@link #stop} and {@link #abort} may be called from any thread;
 * the pump notices a stop within {@link #READ_TIMEOUT_MILLIS}, an abort at once (it closes the
 * descriptor under the read). A client that stops reading blocks only the pump; the descriptor keeps
 * counting what it has to drop.
 */
final class ControlCapture {
    /** BPF buffer size when the client asks for none. */
    static final int DEFAULT_BUFSIZE = 256 * 1024;
    /** Longest a packet waits in a half-full buffer when not in immediate mode. */
    static final long READ_TIMEOUT_MILLIS = 200;

    private final BpfDescriptor d;
    private final OutputStream out;
    private final String ifname;
    private final long count;
    private final Thread pump;
    private volatile boolean stopping;

    private ControlCapture(BpfDescriptor d, OutputStream out, String ifname, long count) {
        this.d = d;
        this.out = out;
        this.ifname = ifname;
        this.count = count;
        this.pump = Thread.ofPlatform().daemon().name("vnetctl capture " + ifname).unstarted(this::run);
    }

    /**
     * Opens and attaches the descriptor, sends {@link ControlProtocol#CAPTURE_STARTED} and starts the pump.
     *
     * @throws ErrnoException ENOENT unknown vnet, ENXIO unknown or departing interface, EINVAL a program the
     *     validator refuses, EBUSY if the interface has a tap BPF cannot share
     */
    static ControlCapture start(ControlSession s, ControlProtocol.CaptureRequest r, OutputStream out) throws IOException {
        ControlSession.Found f = s.find(r.vnet(), r.ifname());
        BpfFilter filter = filter(r);
        BpfDescriptor d = new BpfDescriptor();
        d.setBufferSize(r.bufsize() == 0 ? DEFAULT_BUFSIZE : r.bufsize());
        d.setFilter(filter);
        d.setDirection(r.direction());
        d.setImmediate(r.immediate());
        d.setReadTimeout(READ_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        int dlt = VnetControl.dlt(f.ifp());
        try {
            d.attach(f.ifp(), dlt, r.promisc());
        } catch (IfnetGoneException e) {
            d.close();
            throw new ErrnoException(Errno.ENXIO, "interface " + r.ifname() + " is going away");
        } catch (IllegalStateException e) {
            d.close();
            throw new ErrnoException(Errno.EBUSY, e.getMessage());
        }
        ControlCapture c = new ControlCapture(d, out, r.ifname(), r.count());
        try {
            ControlProtocol.write(out, ControlProtocol.CAPTURE_STARTED,
                    new ControlProtocol.CaptureStarted(f.vnet().name(), r.ifname(), dlt, d.bufferSize()).encode());
        } catch (IOException e) {
            d.close();
            throw e;
        }
        c.pump.start();
        return c;
    }

    /** The request's program (validated; JIT-compiled) capped at its snap length; everything if empty. */
    private static BpfFilter filter(ControlProtocol.CaptureRequest r) throws ErrnoException {
        BpfFilter f;
        if (r.program().isEmpty()) {
            f = (pkt, wirelen, buflen) -> -1;
        } else {
            BpfProgram p;
            try {
                p = BpfProgram.of(r.program());
            } catch (IllegalArgumentException e) {
                throw new ErrnoException(Errno.EINVAL, "bad filter program: " + e.getMessage());
            }
            BpfFilter jit;
            try {
                jit = BpfJit.compile(p);
            } catch (RuntimeException | LinkageError jitFailed) {
                jit = new BpfInterpreter(p); // the interpreter accepts every validated program
            }
            f = jit;
        }
        int snap = r.snaplen();
        if (snap == 0) {
            return f;
        }
        BpfFilter inner = f;
        return (pkt, wirelen, buflen) -> {
            int ret = inner.filter(pkt, wirelen, buflen);
            return ret != 0 && Integer.compareUnsigned(ret, snap) > 0 ? snap : ret;
        };
    }

    /**
     * Ends the capture soon (within the read timeout): the pump sends what is buffered, then CAPTURE_END.
     * Any thread; idempotent.
     */
    void stop() {
        stopping = true;
    }

    /** Ends the capture at once, dropping what is buffered (the endpoint is closing). Any thread. */
    void abort() {
        stopping = true;
        d.close();
    }

    /** Waits for the pump to finish. May sleep; hold no lock. */
    void join() {
        try {
            pump.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        byte[] buf = new byte[d.bufferSize()];
        long sent = 0;
        int drainReads = 0;
        String reason = null;
        try {
            while (reason == null) {
                boolean last = stopping;
                if (last) {
                    d.setNonBlocking(true); // deliver what is buffered (hold, then store), then end
                    drainReads++;
                }
                int n;
                try {
                    n = d.read(buf);
                } catch (IllegalStateException | InterruptedException closed) {
                    n = -2; // the endpoint is shutting down and closed the descriptor under the read
                }
                if (n == -2) {
                    reason = "capture closed";
                } else if (n == -1) {
                    reason = "interface " + ifname + " detached";
                } else if (n > 0) {
                    long want = count > 0 ? count - sent : Long.MAX_VALUE;
                    int[] cut = cut(buf, n, want);
                    ControlProtocol.write(out, ControlProtocol.CAPTURE_DATA, buf, 0, cut[0]);
                    sent += cut[1];
                    if (count > 0 && sent >= count) {
                        reason = "count reached";
                    }
                }
                if (reason == null && last && (n == 0 || drainReads >= 2)) {
                    reason = "stopped by the client";
                }
            }
            // statistics first, then close (as tcpdump: pcap_stats before pcap_close): frames racing the
            // close meet a leaving descriptor and count as dropped, which says nothing about this capture
            ControlProtocol.CaptureEnd end = new ControlProtocol.CaptureEnd(reason, d.received.get(), d.captured.get(),
                    d.dropped.get(), sent);
            d.close();
            ControlProtocol.write(out, ControlProtocol.CAPTURE_END, end.encode());
        } catch (IOException clientGone) {
            // the session sees the same end-of-stream and finishes
        } finally {
            d.close();
        }
    }

    /** Bytes and records of the first {@code want} whole records of a read buffer. */
    private static int[] cut(byte[] buf, int n, long want) {
        int off = 0;
        int records = 0;
        while (off < n && records < want) {
            BpfHeader h = BpfHeader.read(buf, off, n);
            off = Math.min(n, off + BpfHeader.recordSize(h.caplen()));
            records++;
        }
        return new int[] {off, records};
    }
}
