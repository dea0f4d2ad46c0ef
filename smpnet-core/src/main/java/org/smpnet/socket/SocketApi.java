package org.smpnet.socket;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.File;
import org.smpnet.kern.Filedesc;
import org.smpnet.kern.KEvent;
import org.smpnet.kern.Kqueue;
import org.smpnet.kern.PollWaiter;
import org.smpnet.net.Sockaddr;

import static org.smpnet.socket.SocketConst.*;

/**
 * The BSD socket system calls ({@code uipc_syscalls.c}) for one simulated process: a Vnet's
 * protocol families ({@link Domains}), a descriptor table ({@link Filedesc}) and credentials.
 * Every call fails with an {@link ErrnoException} carrying the errno a BSD kernel would return.
 *
 * <p>Threads: any number of threads may call into one instance; each call takes a reference on its
 * file for its duration and no lock from the caller. Calls that wait (accept, connect, send, recv,
 * poll, select, kevent) may sleep; closing the descriptor from another thread wakes them with EBADF.
 */
public final class SocketApi {
    private final Domains domains;
    private final Filedesc fdp;
    private final Ucred cred;

    public SocketApi(Domains domains, Filedesc fdp, Ucred cred) {
        this.domains = Objects.requireNonNull(domains, "domains");
        this.fdp = Objects.requireNonNull(fdp, "fdp");
        this.cred = Objects.requireNonNull(cred, "cred");
    }

    public Filedesc filedesc() {
        return fdp;
    }

    public Ucred cred() {
        return cred;
    }

    // ---- descriptors ------------------------------------------------------------------------------

    private SocketFile getsock(int s) throws ErrnoException {
        File fp = fdp.get(s);
        if (fp instanceof SocketFile sf) {
            return sf;
        }
        fp.drop();
        throw new ErrnoException(Errno.ENOTSOCK, "descriptor " + s);
    }

    private int install(Socket so) throws ErrnoException {
        return fdp.install(new SocketFile(so));
    }

    /** {@code socket(2)}. */
    public int socket(int domain, int type, int protocol) throws ErrnoException {
        return install(domains.socreate(domain, type, protocol, cred));
    }

    /** {@code socketpair(2)}: two connected descriptors. */
    public int[] socketpair(int domain, int type, int protocol) throws ErrnoException {
        Socket so1 = domains.socreate(domain, type, protocol, cred);
        Socket so2;
        try {
            so2 = domains.socreate(domain, type, protocol, cred);
        } catch (ErrnoException e) {
            so1.soclose();
            throw e;
        }
        try {
            SocketOps.soconnect2(so1, so2);
        } catch (ErrnoException e) {
            so1.soclose();
            so2.soclose();
            throw e;
        }
        int fd1 = install(so1);
        int fd2;
        try {
            fd2 = install(so2);
        } catch (ErrnoException e) {
            fdp.close(fd1);
            throw e;
        }
        return new int[] {fd1, fd2};
    }

    public void bind(int s, Sockaddr nam) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            SocketOps.sobind(f.socket(), nam);
        } finally {
            f.drop();
        }
    }

    public void listen(int s, int backlog) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            SocketOps.solisten(f.socket(), backlog);
        } finally {
            f.drop();
        }
    }

    /** {@code accept(2)} without the address. */
    public int accept(int s) throws ErrnoException {
        return accept(s, null);
    }

    /** {@code accept(2)}; the peer's address goes to {@code from[0]} when {@code from} is not null. */
    public int accept(int s, Sockaddr[] from) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Socket so = f.socket().soaccept((f.fflag() & File.O_NONBLOCK) != 0);
            Sockaddr peer = null;
            try {
                boolean giant = SoGiant.pickup();
                try {
                    peer = so.proto.pru_accept(so);
                } finally {
                    SoGiant.drop(giant);
                }
            } catch (ErrnoException peerGone) {
                peer = null; // the peer already went: accept still returns the socket, which reads EOF
            }
            int fd = install(so);
            if (from != null && from.length > 0) {
                from[0] = peer;
            }
            return fd;
        } finally {
            f.drop();
        }
    }

    /**
     * {@code connect(2)}: waits for a connection in progress unless non-blocking (EINPROGRESS). On a
     * datagram socket {@code nam} null (AF_UNSPEC) dissolves the association instead.
     */
    public void connect(int s, Sockaddr nam) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Socket so = f.socket();
            SocketOps.soconnect(so, nam);
            so.waitConnected((f.fflag() & File.O_NONBLOCK) != 0);
        } finally {
            f.drop();
        }
    }

    /**
     * Dissolves the association of a connected datagram socket, as {@code connect(s, AF_UNSPEC)}
     * ({@link #connect} with a null address does the same).
     *
     * @throws ErrnoException ENOTCONN if not connected, ENOTSOCK, EBADF
     */
    public void disconnect(int s) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            SocketOps.sodisconnect(f.socket());
        } finally {
            f.drop();
        }
    }

    public void shutdown(int s, int how) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            SocketOps.soshutdown(f.socket(), how);
        } finally {
            f.drop();
        }
    }

    /** {@code close(2)}. */
    public void close(int s) throws ErrnoException {
        fdp.close(s);
    }

    /** {@code fcntl(F_SETFL, O_NONBLOCK)}. */
    public void setNonblock(int s, boolean on) throws ErrnoException {
        File fp = fdp.get(s);
        try {
            fp.setNonblock(on);
        } finally {
            fp.drop();
        }
    }

    // ---- data -----------------------------------------------------------------------------------

    public int send(int s, byte[] b, int off, int len, int flags) throws ErrnoException {
        return sendmsg(s, Msghdr.send(b, off, len, null, null), flags);
    }

    public int sendto(int s, byte[] b, int off, int len, int flags, Sockaddr to) throws ErrnoException {
        return sendmsg(s, Msghdr.send(b, off, len, to, null), flags);
    }

    public int recv(int s, byte[] b, int off, int len, int flags) throws ErrnoException {
        return recvmsg(s, Msghdr.recv(b, off, len, 0), flags);
    }

    /** {@code recvfrom(2)}; the source address goes to {@code from[0]} when {@code from} is not null. */
    public int recvfrom(int s, byte[] b, int off, int len, int flags, Sockaddr[] from) throws ErrnoException {
        Msghdr m = Msghdr.recv(b, off, len, 0);
        int n = recvmsg(s, m, flags);
        if (from != null && from.length > 0) {
            from[0] = m.name;
        }
        return n;
    }

    /**
     * {@code sendmsg(2)}. Control messages: {@link Cmsg#rights} descriptors (SCM_RIGHTS; the files are
     * held open while in flight), an SCM_CREDS message (its content is replaced by this process's
     * credentials), or protocol messages passed as they are.
     */
    public int sendmsg(int s, Msghdr msg, int flags) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Socket so = f.socket();
            msg.control = internalize(so, msg.control);
            return SocketIo.sosend(so, msg, flags | nbflags(f));
        } finally {
            f.drop();
        }
    }

    /**
     * {@code recvmsg(2)}. Received SCM_RIGHTS become new descriptors in this table, delivered as
     * {@link Cmsg.Data} of level SOL_SOCKET type SCM_RIGHTS ({@link Cmsg#fdsOf} reads them); control
     * beyond {@code msg.controlSpace} is discarded (files closed) with MSG_CTRUNC.
     */
    public int recvmsg(int s, Msghdr msg, int flags) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            int n = SocketIo.soreceive(f.socket(), msg, flags | nbflags(f));
            msg.control = externalize(msg);
            return n;
        } finally {
            f.drop();
        }
    }

    /**
     * {@code sendmmsg(2)}: sends {@code msgs[off .. off+vlen)} as {@link #sendmsg} each, in one call (the
     * receive work they cause runs once, after the last: {@link SocketIo#sosendBatch}); each message's bytes
     * sent go to its {@link Msghdr#msgLen}. Returns the messages sent; an error after the first message
     * ends the call early with the count so far and is not reported.
     */
    public int sendmmsg(int s, Msghdr[] msgs, int off, int vlen, int flags) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Socket so = f.socket();
            return SocketIo.sosendBatch(so, msgs, off, vlen, flags | nbflags(f),
                    msg -> msg.control = internalize(so, msg.control));
        } finally {
            f.drop();
        }
    }

    /**
     * {@code recvmmsg(2)}: receives into {@code msgs[off .. off+vlen)}, each as {@link #recvmsg} would; each
     * message's bytes go to its {@link Msghdr#msgLen}. Blocks until all are filled, or with
     * {@link SocketConst#MSG_WAITFORONE} until the first is; SO_RCVTIMEO bounds the whole call
     * (see {@link SocketIo#soreceiveBatch}). Returns the messages received.
     */
    public int recvmmsg(int s, Msghdr[] msgs, int off, int vlen, int flags) throws ErrnoException {
        return recvmmsg(s, msgs, off, vlen, flags, null);
    }

    /**
     * {@link #recvmmsg(int, Msghdr[], int, int, int)} that returns once {@code timeout} (null: none) has
     * passed with the messages received by then, or fails with EAGAIN if there were none; zero does not
     * wait at all. EINVAL for a negative timeout.
     */
    public int recvmmsg(int s, Msghdr[] msgs, int off, int vlen, int flags, java.time.Duration timeout)
            throws ErrnoException {
        if (timeout != null && timeout.isNegative()) {
            throw new ErrnoException(Errno.EINVAL, "negative recvmmsg timeout " + timeout);
        }
        long nanos = timeout == null ? -1 : saturatedNanos(timeout);
        SocketFile f = getsock(s);
        try {
            int n = SocketIo.soreceiveBatch(f.socket(), msgs, off, vlen, flags | nbflags(f), nanos);
            for (int i = 0; i < n; i++) {
                Msghdr msg = msgs[off + i];
                msg.control = externalize(msg);
            }
            return n;
        } finally {
            f.drop();
        }
    }

    private static long saturatedNanos(java.time.Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4; // centuries: no limit in practice, and no overflow when added to nanoTime
        }
    }

    private static int nbflags(File f) {
        return (f.fflag() & File.O_NONBLOCK) != 0 ? MSG_DONTWAIT : 0;
    }

    /** Turns descriptor lists into in-flight file references ({@code unp_internalize}). */
    private List<Cmsg> internalize(Socket so, List<Cmsg> control) throws ErrnoException {
        if (control == null || control.isEmpty()) {
            return null;
        }
        List<Cmsg> out = new ArrayList<>();
        try {
            for (Cmsg c : control) {
                if (c instanceof Cmsg.Data d && d.level() == SOL_SOCKET && d.type() == SCM_RIGHTS) {
                    if ((so.proto.flags() & PR_RIGHTS) == 0) {
                        throw new ErrnoException(Errno.EOPNOTSUPP, "SCM_RIGHTS on " + so.proto.name());
                    }
                    out.add(new Cmsg.Rights(holdAll(Cmsg.fdsOf(d)), so.domains().unp().inflight));
                } else if (c instanceof Cmsg.Rights) {
                    throw new ErrnoException(Errno.EINVAL, "pass descriptors with Cmsg.rights(fds)");
                } else {
                    out.add(c);
                }
            }
        } catch (ErrnoException | RuntimeException e) {
            Cmsg.disposeAll(out);
            throw e;
        }
        return out;
    }

    private List<File> holdAll(int[] fds) throws ErrnoException {
        List<File> files = new ArrayList<>();
        try {
            for (int fd : fds) {
                File fp = fdp.get(fd);
                try {
                    files.add(fp.holdOpen());
                } finally {
                    fp.drop();
                }
            }
        } catch (ErrnoException e) {
            files.forEach(File::dropOpen);
            throw e;
        }
        return files;
    }

    /** Installs received files as descriptors ({@code unp_externalize}); on a full table drops the rest. */
    private List<Cmsg> externalize(Msghdr msg) {
        if (msg.control == null) {
            return null;
        }
        List<Cmsg> out = new ArrayList<>();
        for (Cmsg c : msg.control) {
            if (c instanceof Cmsg.Rights r) {
                List<File> files = r.take();
                List<Integer> fds = new ArrayList<>();
                for (File fp : files) {
                    try {
                        fds.add(fdp.install(fp));
                    } catch (ErrnoException full) {
                        msg.flags |= MSG_CTRUNC; // install released the reference
                    }
                }
                out.add(Cmsg.rightsOf(fds.stream().mapToInt(Integer::intValue).toArray()));
            } else {
                out.add(c);
            }
        }
        return out;
    }

    // ---- options and names ------------------------------------------------------------------------

    public void setsockopt(int s, int level, int name, byte[] val) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            SocketOps.sosetopt(f.socket(), Sockopt.set(level, name, val));
        } finally {
            f.drop();
        }
    }

    public void setsockopt(int s, int level, int name, int val) throws ErrnoException {
        setsockopt(s, level, name, Sockopt.intBytes(val));
    }

    public byte[] getsockopt(int s, int level, int name) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Sockopt sopt = Sockopt.get(level, name);
            SocketOps.sogetopt(f.socket(), sopt);
            return sopt.value();
        } finally {
            f.drop();
        }
    }

    public int getsockoptInt(int s, int level, int name) throws ErrnoException {
        byte[] v = getsockopt(s, level, name);
        return Sockopt.set(level, name, v).intValue();
    }

    /** {@code getsockname(2)}. */
    public Sockaddr getsockname(int s) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Socket so = f.socket();
            boolean giant = SoGiant.pickup();
            try {
                return so.proto.pru_sockaddr(so);
            } finally {
                SoGiant.drop(giant);
            }
        } finally {
            f.drop();
        }
    }

    /** {@code getpeername(2)}: ENOTCONN unless connected. */
    public Sockaddr getpeername(int s) throws ErrnoException {
        SocketFile f = getsock(s);
        try {
            Socket so = f.socket();
            if ((so.state() & (Socket.SS_ISCONNECTED | Socket.SS_ISCONFIRMING)) == 0) {
                throw new ErrnoException(Errno.ENOTCONN, "getpeername");
            }
            boolean giant = SoGiant.pickup();
            try {
                return so.proto.pru_peeraddr(so);
            } finally {
                SoGiant.drop(giant);
            }
        } finally {
            f.drop();
        }
    }

    // ---- multiplexing ---------------------------------------------------------------------------

    /** {@code kqueue(2)}. */
    public int kqueue() throws ErrnoException {
        return Kqueue.kqueue(fdp);
    }

    /** {@code kevent(2)} on kqueue descriptor {@code kq}; see {@link Kqueue#kevent}. */
    public int kevent(int kq, List<KEvent> changes, KEvent[] events, Duration timeout) throws ErrnoException {
        File fp = fdp.get(kq);
        try {
            if (!(fp instanceof Kqueue k)) {
                throw new ErrnoException(Errno.EBADF, "descriptor " + kq + " is not a kqueue");
            }
            return k.kevent(changes, events, timeout);
        } finally {
            fp.drop();
        }
    }

    /**
     * {@code poll(2)}: fills {@code revents[i]} for {@code fds[i]}/{@code events[i]}; returns how many
     * are non-zero. {@code timeoutMillis < 0} waits as long as it takes. A descriptor that is not
     * open answers POLLNVAL.
     */
    public int poll(int[] fds, int[] events, int[] revents, long timeoutMillis) throws ErrnoException {
        if (fds.length != events.length || fds.length != revents.length) {
            throw new IllegalArgumentException("poll: fds, events and revents differ in length");
        }
        long deadline = timeoutMillis < 0 ? 0 : System.nanoTime() + timeoutMillis * 1_000_000L;
        PollWaiter w = new PollWaiter();
        try {
            while (true) {
                int n = scan(fds, events, revents, timeoutMillis == 0 ? null : w);
                if (n > 0 || timeoutMillis == 0) {
                    return n;
                }
                long left = timeoutMillis < 0 ? -1 : deadline - System.nanoTime();
                if (timeoutMillis >= 0 && left <= 0) {
                    return 0;
                }
                w.await(left);
                w.clear();
            }
        } finally {
            w.clear();
        }
    }

    private int scan(int[] fds, int[] events, int[] revents, PollWaiter w) {
        int n = 0;
        for (int i = 0; i < fds.length; i++) {
            int r;
            try {
                File fp = fdp.get(fds[i]);
                try {
                    r = fp.poll(events[i], w);
                } finally {
                    fp.drop();
                }
            } catch (ErrnoException notOpen) {
                r = org.smpnet.kern.Poll.POLLNVAL;
            }
            revents[i] = r;
            if (r != 0) {
                n++;
            }
        }
        return n;
    }

    /**
     * {@code select(2)} over descriptor sets: on return each set holds the ready descriptors; returns
     * their total. EBADF if a set names a descriptor that is not open.
     */
    public int select(BitSet rd, BitSet wr, BitSet ex, long timeoutMillis) throws ErrnoException {
        BitSet all = new BitSet();
        for (BitSet b : new BitSet[] {rd, wr, ex}) {
            if (b != null) {
                all.or(b);
            }
        }
        int[] fds = all.stream().toArray();
        int[] ev = new int[fds.length];
        for (int i = 0; i < fds.length; i++) {
            int fd = fds[i];
            fdp.get(fd).drop(); // EBADF for a descriptor that is not open
            ev[i] = (rd != null && rd.get(fd) ? org.smpnet.kern.Poll.POLLIN | org.smpnet.kern.Poll.POLLRDNORM : 0)
                    | (wr != null && wr.get(fd) ? org.smpnet.kern.Poll.POLLOUT : 0)
                    | (ex != null && ex.get(fd) ? org.smpnet.kern.Poll.POLLPRI : 0);
        }
        int[] rev = new int[fds.length];
        poll(fds, ev, rev, timeoutMillis);
        int total = 0;
        for (BitSet b : new BitSet[] {rd, wr, ex}) {
            if (b != null) {
                b.clear();
            }
        }
        for (int i = 0; i < fds.length; i++) {
            int fd = fds[i];
            int r = rev[i];
            boolean any = (r & (org.smpnet.kern.Poll.POLLHUP | org.smpnet.kern.Poll.POLLERR)) != 0;
            if (rd != null && (ev[i] & org.smpnet.kern.Poll.POLLIN) != 0 && ((r & org.smpnet.kern.Poll.POLLIN) != 0 || any)) {
                rd.set(fd);
                total++;
            }
            if (wr != null && (ev[i] & org.smpnet.kern.Poll.POLLOUT) != 0
                    && ((r & org.smpnet.kern.Poll.POLLOUT) != 0 || (r & org.smpnet.kern.Poll.POLLERR) != 0)) {
                wr.set(fd);
                total++;
            }
            if (ex != null && (r & org.smpnet.kern.Poll.POLLPRI) != 0) {
                ex.set(fd);
                total++;
            }
        }
        return total;
    }

    // ---- streams ----------------------------------------------------------------------------------

    /**
     * An {@link InputStream} over stream socket {@code s}: reads block as {@code recv}; -1 at end of
     * stream; {@code close()} shuts the receiving side (the descriptor stays for {@link #close(int)}).
     */
    public InputStream inputStream(int s) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] b = new byte[1];
                int n = read(b, 0, 1);
                return n < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                int n = recv(s, b, off, len, 0);
                return n == 0 ? -1 : n;
            }

            @Override
            public void close() throws IOException {
                shutdownQuietly(s, SHUT_RD);
            }
        };
    }

    /** An {@link OutputStream} over stream socket {@code s}: writes send everything; {@code close()} shuts the sending side. */
    public OutputStream outputStream(int s) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                int done = 0;
                while (done < len) {
                    done += send(s, b, off + done, len - done, 0);
                }
            }

            @Override
            public void close() throws IOException {
                shutdownQuietly(s, SHUT_WR);
            }
        };
    }

    private void shutdownQuietly(int s, int how) throws ErrnoException {
        try {
            shutdown(s, how);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ENOTCONN) {
                throw e;
            }
        }
    }
}
