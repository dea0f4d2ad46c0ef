package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.nio.ByteBuffer;

/**
 * A pipe (FreeBSD {@code sys_pipe.c}): two {@link End}s, each with the buffer it reads from; what
 * one end writes lands in the other end's buffer, so the pipe carries data both ways.
 *
 * <p>Semantics, as BSD: a read blocks until data is there and returns what is there (0 at end of
 * file, once the peer is closed and the buffer empty); a write of at most {@link #PIPE_BUF} bytes is
 * atomic (all of it lands at once, never interleaved); a larger one may be split; writing to a pipe
 * whose peer is closed fails with EPIPE; non-blocking calls fail with EAGAIN instead of sleeping
 * (a large non-blocking write may be partial). Closing an end's last descriptor wakes its own
 * blocked readers and writers with EBADF, the peer's readers with end of file and its writers with
 * EPIPE, pollers with POLLHUP and knotes with EV_EOF. EVFILT_READ reports the bytes buffered,
 * EVFILT_WRITE the room left in the peer's buffer, with low-water marks 1 and {@link #PIPE_BUF}
 * (NOTE_LOWAT overrides).
 *
 * <p>Locking key: one mutex for the pair, {@link #lock} ("pipe" class, FreeBSD {@code pipe_mtxp}),
 * guards both ends' buffers and flags, their {@link SelInfo}s and {@link KnList}s. Lock order: the
 * pipe lock, then kqueue locks (activation) and "select" locks (wake-ups). Sleeps release it.
 *
 * <p>Memory effects: bytes written happen-before the read that returns them.
 */
public final class Pipe {
    /** Writes of at most this many bytes are atomic. */
    public static final int PIPE_BUF = 512;
    /** Default buffer size of each direction. */
    public static final int PIPE_SIZE = 16384;

    final Mtx lock = new Mtx("pipe", "pipe");
    private final End[] ends = new End[2];
    /** The buffer end {@code i} reads from (and its peer writes into). */
    @GuardedBy("lock")
    private final byte[][] buf = new byte[2][];
    /** Index of the first buffered byte of each buffer. */
    @GuardedBy("lock")
    private final int[] head = new int[2];
    /** Bytes buffered for each end ({@code pipe_buffer.cnt}). */
    @GuardedBy("lock")
    private final int[] cnt = new int[2];
    /** The last descriptor of the end is closed. */
    @GuardedBy("lock")
    private final boolean[] gone = new boolean[2];
    /** Readers of end {@code i} wait on {@code readable[i]} for data or the peer's close. */
    private final Cv[] readable = new Cv[2];
    /** Writers into buffer {@code i} (the peer's writers) wait on {@code writable[i]} for room. */
    private final Cv[] writable = new Cv[2];
    private final SelInfo[] sel = new SelInfo[2];
    private final KnList[] knlist = new KnList[2];

    private Pipe(int size) {
        if (size < PIPE_BUF) {
            throw new IllegalArgumentException("a pipe buffer must hold at least PIPE_BUF (" + PIPE_BUF + ") bytes, not " + size);
        }
        lock.lock();
        try {
            for (int i = 0; i < 2; i++) {
                buf[i] = new byte[size];
                readable[i] = lock.newCondition();
                writable[i] = lock.newCondition();
                sel[i] = new SelInfo(lock);
                knlist[i] = new KnList(lock);
                ends[i] = new End(this, i);
            }
        } finally {
            lock.unlock();
        }
    }

    /** A pipe with the default buffer size; each end holds one open reference for the caller. */
    public static Pipe create() {
        return new Pipe(PIPE_SIZE);
    }

    /** A pipe with {@code size}-byte buffers (at least {@link #PIPE_BUF}). */
    public static Pipe create(int size) {
        return new Pipe(size);
    }

    /**
     * {@code pipe(2)}: a new pipe with both ends installed in {@code fdp}.
     *
     * @return the two descriptors
     * @throws ErrnoException EMFILE if the table is full (nothing stays open then)
     */
    public static int[] pipe(Filedesc fdp) throws ErrnoException {
        Pipe p = create();
        int fd0;
        try {
            fd0 = fdp.install(p.ends[0]);
        } catch (ErrnoException e) {
            p.ends[1].dropOpen();
            throw e;
        }
        try {
            return new int[] {fd0, fdp.install(p.ends[1])};
        } catch (ErrnoException e) {
            fdp.close(fd0);
            throw e;
        }
    }

    /** End {@code i} (0 or 1). */
    public End end(int i) {
        return ends[i];
    }

    @GuardedBy("lock")
    private int space(int i) {
        return buf[i].length - cnt[i];
    }

    private int buffered(int i) {
        lock.lock();
        try {
            return cnt[i];
        } finally {
            lock.unlock();
        }
    }

    private int knoteCount(int i) {
        lock.lock();
        try {
            return knlist[i].size();
        } finally {
            lock.unlock();
        }
    }

    private boolean hasPollers(int i) {
        lock.lock();
        try {
            return sel[i].hasWaiters();
        } finally {
            lock.unlock();
        }
    }

    private int read(int i, ByteBuffer dst, boolean nb) throws ErrnoException {
        End e = ends[i];
        if (dst.remaining() == 0) {
            e.checkOpen();
            return 0;
        }
        Witness.checkSleep("pipe read", null);
        lock.lock();
        try {
            while (true) {
                e.checkOpen();
                if (cnt[i] > 0) {
                    return copyOut(i, dst);
                }
                if (gone[1 - i]) {
                    return 0;
                }
                if (nb) {
                    throw new ErrnoException(Errno.EAGAIN, "pipe empty");
                }
                await(readable[i], "pipe read");
            }
        } finally {
            lock.unlock();
        }
    }

    /** Moves bytes of buffer {@code i} to {@code dst} and wakes the writers into it. */
    @GuardedBy("lock")
    private int copyOut(int i, ByteBuffer dst) {
        byte[] b = buf[i];
        int n = Math.min(cnt[i], dst.remaining());
        int first = Math.min(n, b.length - head[i]);
        dst.put(b, head[i], first);
        dst.put(b, 0, n - first);
        head[i] = (head[i] + n) % b.length;
        cnt[i] -= n;
        if (cnt[i] == 0) {
            head[i] = 0;
        }
        checkInvariants(i);
        writable[i].signalAll();
        sel[1 - i].wakeup();
        knlist[1 - i].knote(0);
        return n;
    }

    private int write(int i, ByteBuffer src, boolean nb) throws ErrnoException {
        End e = ends[i];
        int p = 1 - i;
        int want = src.remaining();
        Witness.checkSleep("pipe write", null);
        lock.lock();
        try {
            int total = 0;
            while (src.hasRemaining()) {
                e.checkOpen();
                if (gone[p]) {
                    throw new ErrnoException(Errno.EPIPE, "pipe reader closed");
                }
                int need = total == 0 && want <= PIPE_BUF ? want : 1;
                if (space(p) >= need) {
                    total += copyIn(p, src);
                    continue;
                }
                if (nb) {
                    if (total > 0) {
                        return total;
                    }
                    throw new ErrnoException(Errno.EAGAIN, "pipe full");
                }
                try {
                    await(writable[p], "pipe write");
                } catch (ErrnoException ex) {
                    if (total > 0 && ex.errno() == Errno.EINTR) {
                        return total;
                    }
                    throw ex;
                }
            }
            return total;
        } finally {
            lock.unlock();
        }
    }

    /** Appends what fits of {@code src} to buffer {@code i} and wakes its readers. */
    @GuardedBy("lock")
    private int copyIn(int i, ByteBuffer src) {
        byte[] b = buf[i];
        int n = Math.min(space(i), src.remaining());
        int tail = (head[i] + cnt[i]) % b.length;
        int first = Math.min(n, b.length - tail);
        src.get(b, tail, first);
        src.get(b, 0, n - first);
        cnt[i] += n;
        checkInvariants(i);
        readable[i].signalAll();
        sel[i].wakeup();
        knlist[i].knote(0);
        return n;
    }

    @GuardedBy("lock")
    private void checkInvariants(int i) {
        if (cnt[i] < 0 || cnt[i] > buf[i].length || head[i] < 0 || head[i] >= buf[i].length) {
            throw new IllegalStateException("pipe buffer accounting broken: cnt=" + cnt[i] + " head=" + head[i] + " size=" + buf[i].length);
        }
    }

    /** Sleeps on {@code cv} (the pipe lock is released while asleep); EINTR if interrupted. */
    @GuardedBy("lock")
    private void await(Cv cv, String what) throws ErrnoException {
        try {
            cv.await();
        } catch (InterruptedException ex) {
            throw new ErrnoException(Errno.EINTR, what + " interrupted");
        }
    }

    private int poll(int i, int events, PollWaiter waiter) {
        lock.lock();
        try {
            if (ends[i].isClosing()) {
                return Poll.POLLNVAL;
            }
            int p = 1 - i;
            int revents = 0;
            if (cnt[i] > 0 || gone[p]) {
                revents |= events & (Poll.POLLIN | Poll.POLLRDNORM);
            }
            if (gone[p]) {
                revents |= Poll.POLLHUP;
            } else if (space(p) >= PIPE_BUF) {
                revents |= events & (Poll.POLLOUT | Poll.POLLWRNORM);
            }
            if (revents == 0) {
                sel[i].record(waiter);
            }
            return revents;
        } finally {
            lock.unlock();
        }
    }

    private void kqfilter(int i, Knote kn) throws ErrnoException {
        lock.lock();
        try {
            ends[i].checkOpen();
            switch (kn.filter()) {
                case KEvent.EVFILT_READ -> kn.setFop(READ_OPS);
                case KEvent.EVFILT_WRITE -> {
                    if (gone[1 - i]) {
                        throw new ErrnoException(Errno.EPIPE, "pipe reader closed");
                    }
                    kn.setFop(WRITE_OPS);
                }
                default -> throw new ErrnoException(Errno.EINVAL, "filter " + KEvent.filterName(kn.filter()) + " on a pipe");
            }
            kn.setHook(ends[i]);
            knlist[i].add(kn);
        } finally {
            lock.unlock();
        }
    }

    /** EVFILT_READ on end {@code i}: bytes buffered; EV_EOF once the peer is closed. Pipe lock held. */
    @SuppressWarnings("GuardedBy") // called by KnList/Kqueue with the pipe lock held (asserted)
    private boolean readEvent(int i, Knote kn) {
        lock.assertOwned();
        kn.setData(cnt[i]);
        if (gone[1 - i]) {
            kn.setEof(true);
            return true;
        }
        kn.setEof(false);
        return cnt[i] >= kn.lowat(1);
    }

    /** EVFILT_WRITE on end {@code i}: room in the peer's buffer; EV_EOF once the peer is closed. Pipe lock held. */
    @SuppressWarnings("GuardedBy") // called by KnList/Kqueue with the pipe lock held (asserted)
    private boolean writeEvent(int i, Knote kn) {
        lock.assertOwned();
        int p = 1 - i;
        if (gone[p]) {
            kn.setData(0);
            kn.setEof(true);
            return true;
        }
        kn.setEof(false);
        kn.setData(space(p));
        return space(p) >= kn.lowat(PIPE_BUF);
    }

    private File.FileStat stat(int i) {
        lock.lock();
        try {
            return new File.FileStat(File.DTYPE_PIPE, cnt[i], buf[i].length);
        } finally {
            lock.unlock();
        }
    }

    /** End {@code i} lost its last descriptor: wake everyone involved, EOF the peer, clear i's knotes. */
    private void closing(int i) {
        int p = 1 - i;
        lock.lock();
        try {
            gone[i] = true;
            readable[i].signalAll();
            writable[p].signalAll();
            readable[p].signalAll();
            writable[i].signalAll();
            sel[i].wakeup();
            knlist[i].clear();
            sel[p].wakeup();
            knlist[p].knote(0);
        } finally {
            lock.unlock();
        }
    }

    private void close(int i) {
        lock.lock();
        try {
            if (!knlist[i].isEmpty()) {
                throw new IllegalStateException("pipe end finally closed with knotes attached");
            }
        } finally {
            lock.unlock();
        }
    }

    private static final FilterOps READ_OPS = (kn, hint) -> {
        End e = (End) kn.hook();
        return e.pipe.readEvent(e.index, kn);
    };
    private static final FilterOps WRITE_OPS = (kn, hint) -> {
        End e = (End) kn.hook();
        return e.pipe.writeEvent(e.index, kn);
    };

    /**
     * One end of a pipe: a {@link File} reading from its own buffer and writing into its peer's.
     * Its state lives in the {@link Pipe}, guarded by the pipe's lock.
     */
    public static final class End extends File {
        private final Pipe pipe;
        private final int index;

        End(Pipe pipe, int index) {
            super(DTYPE_PIPE, FREAD | FWRITE);
            this.pipe = pipe;
            this.index = index;
        }

        /** The other end. */
        public End peer() {
            return pipe.ends[1 - index];
        }

        /** The pipe both ends belong to. */
        public Pipe pipe() {
            return pipe;
        }

        /** Bytes buffered for this end's readers now. */
        public int buffered() {
            return pipe.buffered(index);
        }

        /** Knotes attached to this end now (for leak checks). */
        public int knoteCount() {
            return pipe.knoteCount(index);
        }

        /** Whether pollers are recorded on this end (for tests of the select protocol). */
        boolean hasPollers() {
            return pipe.hasPollers(index);
        }

        /**
         * {@inheritDoc}
         *
         * <p>Takes the pipe lock; sleeps (releasing it) while the buffer is empty and the peer open.
         */
        @Override
        public int read(ByteBuffer dst, int ioflags) throws ErrnoException {
            return pipe.read(index, dst, nonblocking(ioflags));
        }

        /**
         * {@inheritDoc}
         *
         * <p>Takes the pipe lock; sleeps (releasing it) while the peer's buffer has no room. A write of
         * at most {@link #PIPE_BUF} bytes waits until it fits whole.
         */
        @Override
        public int write(ByteBuffer src, int ioflags) throws ErrnoException {
            return pipe.write(index, src, nonblocking(ioflags));
        }

        /**
         * {@inheritDoc}
         *
         * <p>POLLIN/POLLRDNORM with data or at end of file, POLLOUT/POLLWRNORM with room for
         * {@link #PIPE_BUF} bytes in the peer's buffer, POLLHUP once the peer is closed.
         */
        @Override
        public int poll(int events, PollWaiter waiter) {
            return pipe.poll(index, events, waiter);
        }

        @Override
        public void kqfilter(Knote kn) throws ErrnoException {
            pipe.kqfilter(index, kn);
        }

        @Override
        public FileStat stat() throws ErrnoException {
            checkOpen();
            return pipe.stat(index);
        }

        /** Wakes both ends' sleepers and pollers, reports EOF to the peer's knotes, clears this end's. */
        @Override
        protected void closing() {
            pipe.closing(index);
        }

        @Override
        protected void close() {
            pipe.close(index);
        }

        @Override
        public String toString() {
            return "Pipe.End[" + index + ", " + super.toString() + "]";
        }
    }
}
