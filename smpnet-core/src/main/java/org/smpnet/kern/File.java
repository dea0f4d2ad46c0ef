package org.smpnet.kern;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An open file (FreeBSD {@code struct file}): a pipe end, a socket, a kqueue. Subclasses provide
 * the file operations ({@code struct fileops}); this class keeps the reference counts and the
 * status flags.
 *
 * <p>References. {@link #hold()}/{@link #drop()} ({@code fhold}/{@code fdrop}) count every
 * reference: descriptors, messages in flight, and threads inside an operation. The last
 * {@code drop} runs {@link #close()} exactly once. Among them, <em>open references</em>
 * ({@link #holdOpen()}/{@link #dropOpen()}) are those that can start new operations: descriptor
 * table slots and files in flight in SCM_RIGHTS messages. A new file has one reference, which is
 * an open reference owned by its creator (who passes it to {@link Filedesc#install} or drops it).
 * When the last open reference goes, {@link #closing()} runs exactly once, before the last
 * {@code drop}: the object wakes every thread still blocked in it, which then fails with
 * {@link Errno#EBADF} (a peer sees end of file), so closing a descriptor never leaves a thread
 * sleeping in a file nobody can reach, and no operation touches a closed object.
 *
 * <p>Locking key: the counts are atomics; {@link #fflag} is volatile; {@link #closing} is
 * volatile and set before {@link #closing()} runs, so an operation that re-checks
 * {@link #isClosing()} under its object lock after waking, and a {@code closing()} that signals
 * under that lock, cannot miss each other. Subclasses guard their own state with their object's
 * {@link Mtx}.
 *
 * <p>Memory effects: everything done before the last {@code drop} happens-before {@code close()}.
 */
public abstract class File {
    /** Open for reading. */
    public static final int FREAD = 0x0001;
    /** Open for writing. */
    public static final int FWRITE = 0x0002;
    /** Non-blocking I/O ({@code O_NONBLOCK}, {@code FNONBLOCK}). */
    public static final int O_NONBLOCK = 0x0004;

    /** {@link #read}/{@link #write} flag: do not block for this call ({@code IO_NDELAY}). */
    public static final int IO_NDELAY = 0x0004;

    public static final int DTYPE_SOCKET = 2;
    public static final int DTYPE_PIPE = 3;
    public static final int DTYPE_KQUEUE = 5;

    /** Files not yet finally closed, in the whole JVM ({@code kern.openfiles}). */
    private static final AtomicInteger OPENFILES = new AtomicInteger();
    /** Limit {@link Filedesc#install} enforces on {@link #OPENFILES} ({@code kern.maxfiles}). */
    private static volatile int maxfiles = 1 << 20;

    private final int type;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicInteger opens = new AtomicInteger(1);
    private volatile int fflag;
    private volatile boolean closing;

    /**
     * A file of {@code type} ({@code DTYPE_*}) with status flags {@code fflag} ({@link #FREAD},
     * {@link #FWRITE}, {@link #O_NONBLOCK}), holding one open reference for the creator.
     */
    protected File(int type, int fflag) {
        this.type = type;
        this.fflag = fflag;
        OPENFILES.incrementAndGet();
    }

    /** The {@code DTYPE_*} of this file. */
    public final int type() {
        return type;
    }

    /** The status flags ({@code f_flag}). */
    public final int fflag() {
        return fflag;
    }

    /** Sets or clears {@link #O_NONBLOCK} ({@code fcntl(F_SETFL)}, {@code FIONBIO}). */
    public final void setNonblock(boolean on) {
        fflag = on ? fflag | O_NONBLOCK : fflag & ~O_NONBLOCK;
    }

    /** Whether an operation with {@code ioflags} must not block: the file is non-blocking or the call says {@link #IO_NDELAY}. */
    protected final boolean nonblocking(int ioflags) {
        return (fflag & O_NONBLOCK) != 0 || (ioflags & IO_NDELAY) != 0;
    }

    /**
     * Takes a reference ({@code fhold}). The caller must already own one (a descriptor lookup does
     * this under the table lock). Never sleeps.
     *
     * @return this file
     * @throws IllegalStateException if the file was already finally closed (a use-after-close bug)
     */
    /** {@link #hold()} unless the last reference is gone already: false then (for lock-free lookups). */
    public final boolean tryHold() {
        int n;
        do {
            n = refs.get();
            if (n <= 0) {
                return false;
            }
        } while (!refs.compareAndSet(n, n + 1));
        return true;
    }

    public final File hold() {
        int n;
        do {
            n = refs.get();
            if (n <= 0) {
                throw new IllegalStateException("hold of a closed file " + this);
            }
        } while (!refs.compareAndSet(n, n + 1));
        return this;
    }

    /**
     * Releases a reference ({@code fdrop}); the last one runs {@link #close()} in this thread. Call
     * with no lock held: {@code close()} may take the object's locks.
     *
     * @return whether this was the last reference
     * @throws IllegalStateException if there was no reference to release
     */
    public final boolean drop() {
        int n = refs.decrementAndGet();
        if (n > 0) {
            return false;
        }
        if (n < 0) {
            throw new IllegalStateException("drop of a file with no reference " + this);
        }
        OPENFILES.decrementAndGet();
        close();
        return true;
    }

    /**
     * Takes an open reference: one that can start operations, owned by a descriptor slot or a
     * message in flight. Never sleeps.
     *
     * @throws ErrnoException EBADF if the last open reference is already gone
     */
    public final File holdOpen() throws ErrnoException {
        hold();
        int n;
        do {
            n = opens.get();
            if (n <= 0) {
                drop();
                throw new ErrnoException(Errno.EBADF, "file is closing");
            }
        } while (!opens.compareAndSet(n, n + 1));
        return this;
    }

    /**
     * Releases an open reference and its reference; the last open reference runs {@link #closing()}
     * first. Call with no lock held. May take the object's locks; does not sleep unless the
     * subclass's {@code close()} does.
     *
     * @throws IllegalStateException if there was no open reference
     */
    public final void dropOpen() {
        int n = opens.decrementAndGet();
        if (n < 0) {
            throw new IllegalStateException("dropOpen of a file with no open reference " + this);
        }
        if (n == 0) {
            closing = true;
            closing();
        } else {
            openDropped(n);
        }
        drop();
    }

    /**
     * An open reference went and {@code opensLeft} remain (a descriptor closed while the file stays
     * open elsewhere). A hook for the UNIX-domain garbage collector: a socket whose remaining open
     * references are all in SCM_RIGHTS messages in flight may now be unreachable ({@code unp_gc}).
     * Runs with no lock held; must not sleep. Does nothing here.
     */
    protected void openDropped(int opensLeft) {}

    /** Whether the last open reference is gone: operations fail with EBADF. */
    public final boolean isClosing() {
        return closing;
    }

    /** Throws EBADF if the file is closing; for the top of operations and after every wake-up. */
    protected final void checkOpen() throws ErrnoException {
        if (closing) {
            throw new ErrnoException(Errno.EBADF, "file closed");
        }
    }

    /**
     * Open references now: descriptor slots plus files in flight in messages ({@code f_count} as
     * FreeBSD's {@code unp_gc} compares it with {@code f_msgcount}). A snapshot of an atomic.
     */
    public final int openCount() {
        return opens.get();
    }

    /** References now (for tests and diagnostics). */
    public final int refcount() {
        return refs.get();
    }

    /** Files created and not yet finally closed, in this JVM ({@code kern.openfiles}). */
    public static int openFiles() {
        return OPENFILES.get();
    }

    /** The system-wide limit of open files ({@code kern.maxfiles}); installing beyond it fails with ENFILE. */
    public static int maxFiles() {
        return maxfiles;
    }

    /** Sets {@code kern.maxfiles}; files already open stay open. */
    public static void setMaxFiles(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("kern.maxfiles must be positive, not " + n);
        }
        maxfiles = n;
    }

    /**
     * Reads into {@code dst} ({@code fo_read}): blocks until some data is there unless
     * non-blocking. Called holding a reference and no lock.
     *
     * @param ioflags {@link #IO_NDELAY} or 0
     * @return bytes read; 0 at end of file (or if {@code dst} has no room)
     * @throws ErrnoException EAGAIN (would block), EBADF (closed, also while blocked), EINTR
     *     (interrupted), or what the object reports
     */
    public abstract int read(ByteBuffer dst, int ioflags) throws ErrnoException;

    /**
     * Writes from {@code src} ({@code fo_write}). Called holding a reference and no lock.
     *
     * @return bytes written (a non-blocking write may be partial)
     * @throws ErrnoException EAGAIN, EPIPE, EBADF, EINTR or what the object reports
     */
    public abstract int write(ByteBuffer src, int ioflags) throws ErrnoException;

    /**
     * Returns the subset of {@code events} ({@code Poll.POLL*}) that hold now, plus POLLHUP/POLLERR
     * /POLLNVAL whatever was asked ({@code fo_poll}). If none holds and {@code waiter} is not null,
     * records it on the object's {@link SelInfo} in the same critical section as the check. Called
     * holding a reference and no lock. Never sleeps. A closing file answers {@link Poll#POLLNVAL}.
     */
    public abstract int poll(int events, PollWaiter waiter);

    /**
     * Attaches {@code kn} for its filter ({@code fo_kqfilter}): sets its {@link FilterOps} and adds it
     * to the object's {@link KnList} under the object's lock. Called holding a reference and no lock.
     *
     * @throws ErrnoException EINVAL if the filter does not apply to this file, EBADF if closing,
     *     EPIPE if the filter cannot apply any more (as a write filter on a widowed pipe)
     */
    public abstract void kqfilter(Knote kn) throws ErrnoException;

    /** Status ({@code fo_stat}). Called holding a reference and no lock. */
    public abstract FileStat stat() throws ErrnoException;

    /**
     * The last open reference went ({@link #isClosing()} is already true): wake every thread blocked
     * in this file so it fails with EBADF, report end of file to peers, wake pollers, clear the knote
     * list ({@link KnList#clear()}). Runs once, with no lock held, while other threads may still hold
     * plain references and be inside operations.
     */
    protected abstract void closing();

    /** The last reference went ({@code fo_close}): release what is left. Runs once, after {@link #closing()}, with no lock held. */
    protected abstract void close();

    /** What {@link #stat()} reports ({@code struct stat}, the fields that mean something here). */
    public record FileStat(int type, long size, int blksize) {}

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[refs=" + refs.get() + ", opens=" + opens.get() + (closing ? ", closing" : "") + "]";
    }
}
