package org.smpnet.net.bpf;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.concurrent.TimeUnit;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Cv;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Witness;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetGoneException;
import org.smpnet.net.PacketTap;

/**
 * A BPF descriptor ({@code struct bpf_d}, what opening {@code /dev/bpf} gives): attached to one
 * interface, it keeps the frames its filter accepts in a store buffer; when that fills (or at once in
 * immediate mode, or when a read times out) the store buffer becomes the hold buffer, which a read
 * returns whole. A full store buffer with the hold buffer still unread drops the packet and counts it.
 *
 * <p>Locking key: buffers, lengths, state and the reader condition are guarded by {@link #lock}
 * ("bpfd"); configuration fields read on the packet path are volatile; counters are per-CPU.
 *
 * <p>R-BPF-2: when the interface detaches, the descriptor becomes {@link State#IF_GONE}: packets still
 * in flight are dropped under the lock, readers get what was captured and then end-of-file (-1).
 */
public final class BpfDescriptor implements AutoCloseable {
    /** Descriptor states. */
    public enum State { OPEN, ATTACHED, IF_GONE, CLOSED }

    /** Which frames to see ({@code BIOCSDIRECTION}). */
    public enum DirectionFilter { IN, OUT, INOUT }

    public static final int DEFAULT_BUFSIZE = 4096;
    public static final int MIN_BUFSIZE = 32;
    public static final int MAX_BUFSIZE = 512 * 1024;
    private static final LockClass BPFD = LockClass.of("bpfd", LockKind.MUTEX, false);

    private final Mtx lock = new Mtx("bpfd", BPFD);
    private final Cv readable = lock.newCondition();
    @GuardedBy("lock") private State state = State.OPEN;
    @GuardedBy("lock") private int bufsize = DEFAULT_BUFSIZE;
    @GuardedBy("lock") private byte[] sbuf;
    @GuardedBy("lock") private byte[] hbuf;
    @GuardedBy("lock") private int slen;
    @GuardedBy("lock") private int hlen;
    @GuardedBy("lock") private BpfAttachment attachment;
    @GuardedBy("lock") private boolean promisc;
    private volatile BpfFilter filter = (pkt, wirelen, buflen) -> -1; // accept all, whole packet
    private volatile DirectionFilter direction = DirectionFilter.INOUT;
    private volatile boolean immediate;
    private volatile boolean nonBlocking;
    private volatile long readTimeoutNanos;

    /** Packets offered to the filter ({@code bd_rcount}). */
    public final Counter received = new Counter();
    /** Packets the filter accepted ({@code bd_fcount}). */
    public final Counter captured = new Counter();
    /** Accepted packets dropped for lack of buffer space or because the descriptor was leaving ({@code bd_dcount}). */
    public final Counter dropped = new Counter();

    public State state() {
        lock.lock();
        try {
            return state;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sets the buffer size ({@code BIOCSBLEN}); only before attach. Clamped to [32, 512 KiB] as BSD does;
     * returns the size in effect.
     */
    public int setBufferSize(int size) {
        lock.lock();
        try {
            if (state != State.OPEN) {
                throw new IllegalStateException("BIOCSBLEN after attach (EINVAL)");
            }
            bufsize = Math.max(MIN_BUFSIZE, Math.min(MAX_BUFSIZE, size));
            return bufsize;
        } finally {
            lock.unlock();
        }
    }

    public int bufferSize() {
        lock.lock();
        try {
            return bufsize;
        } finally {
            lock.unlock();
        }
    }

    /** Installs a filter ({@code BIOCSETF}); a program is validated and run by the JIT or the interpreter. */
    public void setFilter(BpfProgram program, boolean jit) {
        setFilter(jit ? BpfJit.compile(program) : new BpfInterpreter(program));
    }

    public void setFilter(BpfFilter f) {
        if (f == null) {
            throw new IllegalArgumentException("filter must not be null");
        }
        filter = f;
        lock.lock();
        try { // BSD resets the buffers so old captures do not mix with the new filter
            slen = 0;
            hlen = 0;
        } finally {
            lock.unlock();
        }
    }

    public void setDirection(DirectionFilter d) {
        direction = d;
    }

    /** Immediate mode ({@code BIOCIMMEDIATE}): a read returns as soon as one packet is stored. */
    public void setImmediate(boolean on) {
        immediate = on;
    }

    public void setNonBlocking(boolean on) {
        nonBlocking = on;
    }

    /** Read timeout ({@code BIOCSRTIMEOUT}); 0 waits forever. */
    public void setReadTimeout(long time, TimeUnit unit) {
        if (time < 0) {
            throw new IllegalArgumentException("negative read timeout");
        }
        readTimeoutNanos = unit.toNanos(time);
    }

    /**
     * Attaches to {@code ifp} ({@code BIOCSETIF}) with link type {@code dlt}, optionally putting the
     * interface in promiscuous mode.
     *
     * @throws IfnetGoneException if the interface is detaching or gone
     * @throws IllegalStateException if already attached or closed
     */
    public void attach(Ifnet ifp, int dlt, boolean promiscuous) {
        BpfAttachment.BPF_LOCK.lock();
        try {
            lock.lock();
            try {
                if (state != State.OPEN) {
                    throw new IllegalStateException("descriptor is " + state + ", cannot attach");
                }
                sbuf = new byte[bufsize];
                hbuf = new byte[bufsize];
            } finally {
                lock.unlock();
            }
            BpfAttachment a = BpfAttachment.attach(ifp, dlt, this);
            if (promiscuous) {
                ifp.setPromisc(true);
            }
            lock.lock();
            try {
                attachment = a;
                promisc = promiscuous;
                state = State.ATTACHED;
            } finally {
                lock.unlock();
            }
        } finally {
            BpfAttachment.BPF_LOCK.unlock();
        }
    }

    /** The data link type given at attach. */
    public int dlt() {
        lock.lock();
        try {
            if (attachment == null) {
                throw new IllegalStateException("descriptor not attached (EINVAL)");
            }
            return attachment.dlt();
        } finally {
            lock.unlock();
        }
    }

    boolean wants(PacketTap.Direction dir) {
        DirectionFilter d = direction;
        return d == DirectionFilter.INOUT || (d == DirectionFilter.IN) == (dir == PacketTap.Direction.IN);
    }

    /** Runs the filter and stores the packet if accepted. Called by the tap in the net epoch. */
    void offer(byte[] pkt, int wirelen, int buflen, long nanos) {
        received.inc();
        int snap = filter.filter(pkt, wirelen, buflen);
        if (snap == 0) {
            return;
        }
        captured.inc();
        int caplen = (int) Math.min(Integer.toUnsignedLong(snap), buflen);
        catchpacket(pkt, caplen, wirelen, nanos);
    }

    /** {@code catchpacket}: stores one record, rotating buffers as needed. */
    private void catchpacket(byte[] pkt, int caplen, int wirelen, long nanos) {
        lock.lock();
        try {
            if (state != State.ATTACHED) { // leaving or gone: never touch the buffers
                dropped.inc();
                return;
            }
            caplen = Math.min(caplen, bufsize - BpfHeader.HDRLEN);
            int need = BpfHeader.recordSize(caplen);
            if (slen + need > bufsize) {
                if (hlen != 0) { // reader has not taken the hold buffer yet
                    dropped.inc();
                    return;
                }
                rotate();
            }
            BpfHeader.write(sbuf, slen, nanos, caplen, wirelen);
            System.arraycopy(pkt, 0, sbuf, slen + BpfHeader.HDRLEN, caplen);
            slen += need;
            if (immediate && hlen == 0) {
                rotate();
            }
            if (hlen != 0) {
                readable.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private void rotate() {
        byte[] t = hbuf;
        hbuf = sbuf;
        hlen = slen;
        sbuf = t;
        slen = 0;
    }

    /**
     * Reads the hold buffer into {@code dst} ({@code bpfread}): whole records, see {@link BpfHeader}.
     * Blocks until there is data, the read timeout passes (then returns what the store buffer has, maybe
     * 0 bytes) or the interface goes away. May sleep; hold no lock.
     *
     * @return bytes read; 0 if nothing arrived (timeout or non-blocking); -1 at end-of-file (the interface
     *     detached and everything captured has been read)
     * @throws IllegalArgumentException if {@code dst} is smaller than the buffer size (EINVAL, as BSD)
     * @throws IllegalStateException if the descriptor is closed or was never attached
     */
    public int read(byte[] dst) throws InterruptedException {
        Witness.checkSleep("bpfread", null);
        lock.lock();
        try {
            if (dst.length < bufsize) {
                throw new IllegalArgumentException("read buffer of " + dst.length + " bytes is smaller than the BPF buffer ("
                        + bufsize + ") (EINVAL)");
            }
            if (state == State.CLOSED || state == State.OPEN) {
                throw new IllegalStateException("descriptor is " + state.name().toLowerCase(java.util.Locale.ROOT) + " (ENXIO)");
            }
            long timeout = readTimeoutNanos;
            long deadline = System.nanoTime() + timeout;
            while (hlen == 0) {
                if (state != State.ATTACHED || nonBlocking || immediate && slen != 0) {
                    if (slen != 0) {
                        rotate();
                        break;
                    }
                    if (state == State.CLOSED) {
                        throw new IllegalStateException("descriptor closed while reading (EBADF)");
                    }
                    return state == State.IF_GONE ? -1 : 0;
                }
                if (timeout == 0) {
                    readable.await();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        if (slen != 0) {
                            rotate();
                            break;
                        }
                        return 0;
                    }
                    readable.awaitNanos(left);
                }
            }
            int n = hlen;
            System.arraycopy(hbuf, 0, dst, 0, n);
            hlen = 0;
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes a read would return now without waiting (store plus hold), as FIONREAD. */
    public int available() {
        lock.lock();
        try {
            return slen + hlen;
        } finally {
            lock.unlock();
        }
    }

    /** Called once the interface detached and the epoch drained. */
    void interfaceGone() {
        lock.lock();
        try {
            if (state == State.ATTACHED) {
                state = State.IF_GONE;
                attachment = null;
                promisc = false; // the interface is gone: nothing to undo
            }
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Detaches from the interface and frees the buffers; readers blocked in {@link #read} fail. Idempotent. */
    @Override
    public void close() {
        BpfAttachment a;
        boolean undoPromisc;
        BpfAttachment.BPF_LOCK.lock();
        try {
            lock.lock();
            try {
                if (state == State.CLOSED) {
                    return;
                }
                a = attachment;
                undoPromisc = promisc;
                attachment = null;
                promisc = false;
                state = State.CLOSED;
                sbuf = null;
                hbuf = null;
                slen = 0;
                hlen = 0;
                readable.signalAll();
            } finally {
                lock.unlock();
            }
            if (a != null) {
                a.remove(this);
                if (undoPromisc) {
                    a.ifnet().setPromisc(false);
                }
            }
        } finally {
            BpfAttachment.BPF_LOCK.unlock();
        }
    }
}
