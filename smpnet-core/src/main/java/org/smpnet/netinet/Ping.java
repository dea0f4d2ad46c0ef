package org.smpnet.netinet;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.InAddr;

/**
 * {@code ping(8)} over a stack's ICMP: sends echo requests with one identifier and increasing
 * sequence numbers, matches replies, and reports loss and round-trip statistics (min/avg/max/stddev).
 * Round trips are measured on the JVM's monotonic clock.
 *
 * <p>Threads: one {@link #run} at a time per instance; replies arrive on the stack's input threads and
 * are published through a concurrent map.
 */
public final class Ping {
    /** One reply (or ICMP error) line. */
    public record Reply(int seq, InAddr from, int bytes, int ttl, double rttMillis, String error) {
        @Override
        public String toString() {
            if (error != null) {
                return "From " + from + " icmp_seq=" + seq + " " + error;
            }
            return String.format(Locale.ROOT, "%d bytes from %s: icmp_seq=%d ttl=%d time=%.3f ms", bytes, from, seq, ttl, rttMillis);
        }
    }

    /** The outcome of a run. */
    public record Result(InAddr dst, int transmitted, int received, int errors, List<Reply> replies,
            double min, double avg, double max, double stddev) {
        public double lossPercent() {
            return transmitted == 0 ? 0 : 100.0 * (transmitted - received) / transmitted;
        }

        /** FreeBSD's closing lines. */
        public String summary() {
            StringBuilder b = new StringBuilder();
            b.append("--- ").append(dst).append(" ping statistics ---\n");
            b.append(String.format(Locale.ROOT, "%d packets transmitted, %d packets received, %.1f%% packet loss",
                    transmitted, received, lossPercent()));
            if (errors > 0) {
                b.append(", ").append(errors).append(" errors");
            }
            b.append('\n');
            if (received > 0) {
                b.append(String.format(Locale.ROOT, "round-trip min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms%n", min, avg, max, stddev));
            }
            return b.toString();
        }
    }

    /** The smallest data size: room for the send time, which the reply's RTT is taken from. */
    public static final int MIN_SIZE = 8;
    /** The largest data size: an IPv4 datagram of 65535 bytes less the IP and ICMP headers. */
    public static final int MAX_SIZE = 65507;

    private final Inet inet;

    public Ping(Inet inet) {
        this.inet = inet;
    }

    /**
     * Pings {@code dst} {@code count} times, one request every {@code interval}, {@code size} data bytes
     * each, then waits up to {@code wait} for the last replies. Lines go to {@code out} as they come (may be
     * null). Sleeps; hold no lock.
     *
     * @throws ErrnoException if the first request cannot be sent (no route...); later send errors count as errors
     */
    public Result run(InAddr dst, int count, int size, Duration interval, Duration wait, Consumer<Reply> out)
            throws ErrnoException {
        if (count < 1 || size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("ping needs count >= 1 and " + MIN_SIZE + " <= size <= " + MAX_SIZE
                    + ", not " + count + "/" + size);
        }
        org.smpnet.kern.Witness.checkSleep("ping", null);
        ConcurrentHashMap<Integer, Long> sentAt = new ConcurrentHashMap<>();
        List<Reply> replies = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger errs = new java.util.concurrent.atomic.AtomicInteger();
        // Replies and errors fully recorded (counted, listed, printed); the wait ends on this, not on sentAt
        // emptying, which happens before the reply is counted.
        java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
        Thread waiter = Thread.currentThread();
        Icmp.EchoListener l = new Icmp.EchoListener() {
            @Override
            public void echoReply(InAddr from, int seq, byte[] data, int ttl) {
                Long t0 = sentAt.remove(seq);
                if (t0 == null) {
                    return; // a duplicate or a reply to an earlier run
                }
                Reply r = new Reply(seq, from, data.length + IcmpView.HEADER_LEN, ttl, (System.nanoTime() - t0) / 1e6, null);
                replies.add(r);
                got.incrementAndGet();
                if (out != null) {
                    out.accept(r);
                }
                answered.incrementAndGet();
                LockSupport.unpark(waiter);
            }

            @Override
            public void echoError(InAddr from, IcmpCtl ctl, int seq) {
                if (sentAt.remove(seq) == null) {
                    return;
                }
                Reply r = new Reply(seq, from, 0, 0, 0, describe(ctl));
                errs.incrementAndGet();
                if (out != null) {
                    out.accept(r);
                }
                answered.incrementAndGet();
                LockSupport.unpark(waiter);
            }
        };
        int id = inet.icmp().bindEcho(l);
        int sent = 0;
        try {
            for (int seq = 0; seq < count; seq++) {
                byte[] data = new byte[size];
                for (int i = 0; i < size; i++) {
                    data[i] = (byte) (seq + i);
                }
                sentAt.put(seq, System.nanoTime());
                try {
                    inet.icmp().sendEcho(InAddr.ANY, dst, id, seq, data, IpOutOpts.DEFAULT);
                    sent++;
                } catch (ErrnoException e) {
                    sentAt.remove(seq);
                    if (seq == 0) {
                        throw e;
                    }
                    errs.incrementAndGet();
                }
                if (seq + 1 < count) {
                    sleep(interval);
                }
            }
            long deadline = System.nanoTime() + wait.toNanos();
            while (answered.get() < sent && System.nanoTime() < deadline) {
                LockSupport.parkNanos(Math.min(TimeUnit.MILLISECONDS.toNanos(10), deadline - System.nanoTime()));
            }
        } finally {
            inet.icmp().unbindEcho(id);
        }
        List<Reply> ok;
        synchronized (replies) {
            ok = replies.stream().filter(r -> r.error() == null).toList();
        }
        double min = ok.stream().mapToDouble(Reply::rttMillis).min().orElse(0);
        double max = ok.stream().mapToDouble(Reply::rttMillis).max().orElse(0);
        double avg = ok.stream().mapToDouble(Reply::rttMillis).average().orElse(0);
        double var = ok.stream().mapToDouble(r -> (r.rttMillis() - avg) * (r.rttMillis() - avg)).average().orElse(0);
        return new Result(dst, sent, got.get(), errs.get(), List.copyOf(replies), min, avg, max, Math.sqrt(var));
    }

    private static void sleep(Duration d) {
        long end = System.nanoTime() + d.toNanos();
        for (long left; (left = end - System.nanoTime()) > 0; ) {
            LockSupport.parkNanos(left);
        }
    }

    static String describe(IcmpCtl ctl) {
        return switch (ctl.type()) {
            case Icmp.TIMXCEED -> "Time to live exceeded";
            case Icmp.UNREACH -> switch (ctl.code()) {
                case Icmp.UNREACH_NET -> "Destination Net Unreachable";
                case Icmp.UNREACH_HOST -> "Destination Host Unreachable";
                case Icmp.UNREACH_PROTOCOL -> "Destination Protocol Unreachable";
                case Icmp.UNREACH_PORT -> "Destination Port Unreachable";
                case Icmp.UNREACH_NEEDFRAG -> "Frag needed and DF set (MTU " + ctl.mtu() + ")";
                default -> "Destination Unreachable, code " + ctl.code();
            };
            case Icmp.PARAMPROB -> "Parameter problem: pointer = " + ctl.pointer();
            default -> "ICMP type " + ctl.type() + " code " + ctl.code();
        };
    }
}
