package org.smpnet.kern;

import java.time.Duration;
import java.util.BitSet;

/**
 * poll(2) and select(2) over the files of a {@link Filedesc} (FreeBSD {@code sys_generic.c}), and
 * the poll event bits ({@code sys/poll.h}, FreeBSD values).
 */
public final class Poll {
    private Poll() {}

    /** Data other than high-priority data may be read. */
    public static final int POLLIN = 0x0001;
    /** High-priority data may be read. */
    public static final int POLLPRI = 0x0002;
    /** Data may be written (normal data). */
    public static final int POLLOUT = 0x0004;
    /** Normal data may be read. */
    public static final int POLLRDNORM = 0x0040;
    /** Normal data may be written (same as POLLOUT). */
    public static final int POLLWRNORM = POLLOUT;
    /** Priority data may be read. */
    public static final int POLLRDBAND = 0x0080;
    /** Priority data may be written. */
    public static final int POLLWRBAND = 0x0100;
    /** An error (always reported). */
    public static final int POLLERR = 0x0008;
    /** Hung up: the peer closed (always reported). */
    public static final int POLLHUP = 0x0010;
    /** Not an open descriptor (always reported). */
    public static final int POLLNVAL = 0x0020;

    /** The bits that put a descriptor in select's read set. */
    static final int SELECT_READ = POLLRDNORM | POLLHUP | POLLERR;
    /** The bits that put a descriptor in select's write set. */
    static final int SELECT_WRITE = POLLWRNORM | POLLHUP | POLLERR;
    /** The bits that put a descriptor in select's exception set. */
    static final int SELECT_EXCEPT = POLLRDBAND | POLLERR;

    /** One entry of a poll set ({@code struct pollfd}): the descriptor, what to wait for, and what happened. */
    public static final class PollFd {
        private final int fd;
        private final int events;
        private int revents;

        /** Waits for {@code events} on {@code fd}; a negative {@code fd} is skipped (revents 0). */
        public PollFd(int fd, int events) {
            this.fd = fd;
            this.events = events;
        }

        public int fd() {
            return fd;
        }

        public int events() {
            return events;
        }

        /** What {@link Poll#poll} found; valid after it returns, in the calling thread. */
        public int revents() {
            return revents;
        }

        @Override
        public String toString() {
            return "PollFd[fd=" + fd + ", events=0x" + Integer.toHexString(events) + ", revents=0x" + Integer.toHexString(revents) + "]";
        }
    }

    /**
     * {@code poll(2)}: waits until one of {@code fds} has one of its events (or POLLHUP, POLLERR,
     * POLLNVAL, always reported), or the timeout passes. A descriptor that is not open (also one
     * closed during the wait) reports POLLNVAL. Call with no lock held; may sleep.
     *
     * <p>No wake-up is lost: every file records this thread's {@link PollWaiter} in the same critical
     * section as its readiness check, and a re-scan follows every wake-up.
     *
     * @param timeout null: no limit; zero: do not wait
     * @return the number of entries with non-zero {@code revents}
     * @throws ErrnoException EINTR if interrupted, EINVAL for a negative timeout
     */
    public static int poll(Filedesc fdp, PollFd[] fds, Duration timeout) throws ErrnoException {
        return waitLoop(timeout, w -> pollScan(fdp, fds, w));
    }

    /**
     * {@code select(2)} over descriptors below {@code nfds}: on return each non-null set holds the
     * descriptors ready for reading, writing, or with an exceptional condition (out-of-band data).
     * Call with no lock held; may sleep.
     *
     * @param timeout null: no limit; zero: do not wait
     * @return the number of bits set in the three sets
     * @throws ErrnoException EBADF if a descriptor in a set is not open (also when closed during the
     *     wait), EINTR if interrupted, EINVAL for a bad {@code nfds} or timeout
     */
    public static int select(Filedesc fdp, int nfds, BitSet readfds, BitSet writefds, BitSet exceptfds, Duration timeout)
            throws ErrnoException {
        if (nfds < 0 || nfds > fdp.maxFiles()) {
            throw new ErrnoException(Errno.EINVAL, "nfds " + nfds);
        }
        BitSet[] in = {copy(readfds, nfds), copy(writefds, nfds), copy(exceptfds, nfds)};
        BitSet[] out = {new BitSet(), new BitSet(), new BitSet()};
        int n = waitLoop(timeout, w -> selectScan(fdp, in, out, w));
        BitSet[] user = {readfds, writefds, exceptfds};
        for (int i = 0; i < 3; i++) {
            if (user[i] != null) {
                user[i].clear();
                user[i].or(out[i]);
            }
        }
        return n;
    }

    private static BitSet copy(BitSet s, int nfds) {
        return s == null ? new BitSet() : s.get(0, nfds);
    }

    /** One pass over the files: how many are ready; records {@code w} on those that are not. */
    private interface Scan {
        int run(PollWaiter w) throws ErrnoException;
    }

    /**
     * The sleep/re-scan loop shared by poll and select ({@code kern_poll}/{@code kern_select}): clear
     * the waiter, scan (recording it), sleep only if nothing was ready and no wake-up came.
     */
    private static int waitLoop(Duration timeout, Scan scan) throws ErrnoException {
        if (timeout != null && timeout.isNegative()) {
            throw new ErrnoException(Errno.EINVAL, "negative timeout " + timeout);
        }
        if (timeout != null && timeout.isZero()) {
            return scan.run(null);
        }
        Witness.checkSleep("poll/select", null);
        long deadline = timeout == null ? 0 : System.nanoTime() + Math.min(timeout.toNanos(), Long.MAX_VALUE / 4);
        PollWaiter w = new PollWaiter();
        try {
            while (true) {
                int n = scan.run(w);
                if (n > 0) {
                    return n;
                }
                long left = timeout == null ? -1 : deadline - System.nanoTime();
                if (timeout != null && left <= 0) {
                    return 0;
                }
                if (!w.await(left)) {
                    w.clear();
                    return scan.run(null);
                }
                w.clear();
            }
        } finally {
            w.clear();
        }
    }

    private static int pollScan(Filedesc fdp, PollFd[] fds, PollWaiter w) {
        int n = 0;
        for (PollFd pfd : fds) {
            int rev = 0;
            if (pfd.fd >= 0) {
                File fp = null;
                try {
                    fp = fdp.get(pfd.fd);
                } catch (ErrnoException e) {
                    rev = POLLNVAL;
                }
                if (fp != null) {
                    try {
                        rev = fp.poll(pfd.events, w) & (pfd.events | POLLERR | POLLHUP | POLLNVAL);
                    } finally {
                        fp.drop();
                    }
                }
            }
            pfd.revents = rev;
            if (rev != 0) {
                n++;
            }
        }
        return n;
    }

    private static final int[] SELECT_ASK = {POLLRDNORM, POLLWRNORM, POLLRDBAND};
    private static final int[] SELECT_BITS = {SELECT_READ, SELECT_WRITE, SELECT_EXCEPT};

    private static int selectScan(Filedesc fdp, BitSet[] in, BitSet[] out, PollWaiter w) throws ErrnoException {
        int n = 0;
        for (BitSet o : out) {
            o.clear();
        }
        BitSet all = (BitSet) in[0].clone();
        all.or(in[1]);
        all.or(in[2]);
        for (int fd = all.nextSetBit(0); fd >= 0; fd = all.nextSetBit(fd + 1)) {
            int ask = 0;
            for (int i = 0; i < 3; i++) {
                if (in[i].get(fd)) {
                    ask |= SELECT_ASK[i];
                }
            }
            File fp = fdp.get(fd);
            int rev;
            try {
                rev = fp.poll(ask, w);
            } finally {
                fp.drop();
            }
            if ((rev & POLLNVAL) != 0) {
                throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " closed");
            }
            for (int i = 0; i < 3; i++) {
                if (in[i].get(fd) && (rev & SELECT_BITS[i]) != 0) {
                    out[i].set(fd);
                    n++;
                }
            }
        }
        return n;
    }
}
