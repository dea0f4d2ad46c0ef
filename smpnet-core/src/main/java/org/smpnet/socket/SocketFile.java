package org.smpnet.socket;

import java.nio.ByteBuffer;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.File;
import org.smpnet.kern.FilterOps;
import org.smpnet.kern.KEvent;
import org.smpnet.kern.Knote;
import org.smpnet.kern.Poll;
import org.smpnet.kern.PollWaiter;

/**
 * A socket as an open file ({@code socketops}): read/write through soreceive/sosend, poll and
 * kqueue filters EVFILT_READ/EVFILT_WRITE over the socket buffers.
 *
 * <p>Locking: knotes and selectors of each direction hang off that buffer's mutex; the filters run
 * with it held (from {@link Socket#sorwakeupLocked}/{@link Socket#sowwakeupLocked} or the kqueue).
 * The last open reference closes the socket ({@link Socket#soclose}), which wakes every blocked thread
 * with EBADF.
 */
public final class SocketFile extends File {
    private final Socket so;

    /** A file over {@code so}, owning it: the file's close closes the socket. */
    public SocketFile(Socket so) {
        super(DTYPE_SOCKET, FREAD | FWRITE);
        this.so = so;
    }

    public Socket socket() {
        return so;
    }

    private int dontwait(int ioflags) {
        return nonblocking(ioflags) ? SocketConst.MSG_DONTWAIT : 0;
    }

    @Override
    public int read(ByteBuffer dst, int ioflags) throws ErrnoException {
        checkOpen();
        byte[] b = new byte[dst.remaining()];
        Msghdr msg = new Msghdr(b);
        int n = SocketIo.soreceive(so, msg, dontwait(ioflags));
        dst.put(b, 0, n);
        return n;
    }

    @Override
    public int write(ByteBuffer src, int ioflags) throws ErrnoException {
        checkOpen();
        byte[] b = new byte[src.remaining()];
        src.duplicate().get(b);
        int n = SocketIo.sosend(so, new Msghdr(b), dontwait(ioflags));
        src.position(src.position() + n);
        return n;
    }

    @Override
    @SuppressWarnings("GuardedBy") // each part holds the buffer mutex it reads (asserted by the accessors)
    public int poll(int events, PollWaiter waiter) {
        if (isClosing()) {
            return Poll.POLLNVAL;
        }
        int revents = 0;
        so.rcv.mtx.lock();
        try {
            if (readable(so)) {
                revents |= events & (Poll.POLLIN | Poll.POLLRDNORM);
            }
            if ((so.rcv.state() & Sockbuf.SBS_CANTRCVMORE) != 0 && so.type() != SocketConst.SOCK_DGRAM) {
                revents |= Poll.POLLHUP;
            }
            if (so.errorLocked() != null) {
                revents |= Poll.POLLERR;
            }
            if (waiter != null && revents == 0 && (events & (Poll.POLLIN | Poll.POLLRDNORM)) != 0) {
                so.rcv.sel.record(waiter);
            }
        } finally {
            so.rcv.mtx.unlock();
        }
        so.snd.mtx.lock();
        try {
            if (writable(so)) {
                revents |= events & (Poll.POLLOUT | Poll.POLLWRNORM);
            }
            if (waiter != null && revents == 0 && (events & (Poll.POLLOUT | Poll.POLLWRNORM)) != 0) {
                so.snd.sel.record(waiter);
            }
        } finally {
            so.snd.mtx.unlock();
        }
        return revents;
    }

    /** Read readiness ({@code soreadable}). Caller holds the receive mutex. */
    @SuppressWarnings("GuardedBy")
    static boolean readable(Socket so) {
        Sockbuf sb = so.rcv;
        return (so.type() == SocketConst.SOCK_STREAM ? sb.cc() >= sb.lowat() && sb.cc() > 0 : sb.records() > 0)
                || (sb.state() & Sockbuf.SBS_CANTRCVMORE) != 0 || so.errorLocked() != null
                || so.isListeningLocked() && so.qlenLocked() > 0;
    }

    /** Write readiness ({@code sowriteable}). Caller holds the send mutex (takes the socket lock inside). */
    @SuppressWarnings("GuardedBy")
    static boolean writable(Socket so) {
        Sockbuf sb = so.snd;
        if ((sb.state() & Sockbuf.SBS_CANTSENDMORE) != 0) {
            return true;
        }
        int state = so.state();
        boolean connOk = (state & Socket.SS_ISCONNECTED) != 0 || (so.proto.flags() & SocketConst.PR_CONNREQUIRED) == 0;
        return sb.sbspace() >= sb.lowat() && connOk;
    }

    private static final FilterOps READ_OPS = new FilterOps() {
        @Override
        @SuppressWarnings("GuardedBy") // called with the receive mutex held (asserted by the accessors)
        public boolean event(Knote kn, long hint) {
            Socket so = ((SocketFile) kn.file()).so;
            Sockbuf sb = so.rcv;
            boolean listening = so.isListeningLocked();
            long data = listening ? so.qlenLocked() : sb.cc();
            kn.setData(data);
            boolean eof = (sb.state() & Sockbuf.SBS_CANTRCVMORE) != 0;
            kn.setEof(eof);
            if (eof || so.errorLocked() != null) {
                return true;
            }
            if (listening) {
                return data > 0;
            }
            if (so.type() != SocketConst.SOCK_STREAM) {
                return sb.records() > 0;
            }
            return data >= Math.max(1, kn.lowat(sb.lowat()));
        }
    };

    private static final FilterOps WRITE_OPS = new FilterOps() {
        @Override
        @SuppressWarnings("GuardedBy") // called with the send mutex held (asserted by the accessors)
        public boolean event(Knote kn, long hint) {
            Socket so = ((SocketFile) kn.file()).so;
            Sockbuf sb = so.snd;
            long space = Math.max(0, sb.sbspace());
            kn.setData(space);
            boolean eof = (sb.state() & Sockbuf.SBS_CANTSENDMORE) != 0;
            kn.setEof(eof);
            if (eof) {
                return true;
            }
            int state = so.state();
            if ((state & Socket.SS_ISCONNECTED) == 0 && (so.proto.flags() & SocketConst.PR_CONNREQUIRED) != 0) {
                return false;
            }
            return space >= kn.lowat(sb.lowat());
        }
    };

    @Override
    public void kqfilter(Knote kn) throws ErrnoException {
        checkOpen();
        Sockbuf sb = switch (kn.filter()) {
            case KEvent.EVFILT_READ -> so.rcv;
            case KEvent.EVFILT_WRITE -> so.snd;
            default -> throw new ErrnoException(Errno.EINVAL, "filter " + kn.filter() + " on a socket");
        };
        sb.mtx.lock();
        try {
            kn.setFop(sb == so.rcv ? READ_OPS : WRITE_OPS);
            sb.knlist.add(kn);
        } finally {
            sb.mtx.unlock();
        }
    }

    @Override
    @SuppressWarnings("GuardedBy")
    public FileStat stat() throws ErrnoException {
        checkOpen();
        so.rcv.mtx.lock();
        try {
            return new FileStat(DTYPE_SOCKET, so.rcv.cc(), so.rcv.hiwat());
        } finally {
            so.rcv.mtx.unlock();
        }
    }

    @Override
    protected void closing() {
        so.soclose((fflag() & O_NONBLOCK) != 0);
        so.rcv.mtx.lock();
        try {
            so.rcv.knlist.clear();
            so.rcv.sel.wakeup();
        } finally {
            so.rcv.mtx.unlock();
        }
        so.snd.mtx.lock();
        try {
            so.snd.knlist.clear();
            so.snd.sel.wakeup();
        } finally {
            so.snd.mtx.unlock();
        }
    }

    /** A descriptor went: if only messages in flight still hold this UNIX socket, it may be garbage. */
    @Override
    protected void openDropped(int opensLeft) {
        if (so.pcb() instanceof Unp.UnpCb u) {
            u.unp.gcIfOnlyInFlight(u, opensLeft);
        }
    }

    @Override
    protected void close() {
        // soclose ran in closing(): the socket is already freed
    }

    @Override
    public String toString() {
        return "SocketFile[" + so + "]";
    }
}
