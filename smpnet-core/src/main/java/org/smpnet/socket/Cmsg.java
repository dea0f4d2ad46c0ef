package org.smpnet.socket;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.smpnet.kern.Counter;
import org.smpnet.kern.File;
import java.util.Objects;

/**
 * One control message ({@code struct cmsghdr} and its data) as it travels with a record in a socket
 * buffer: {@link Data} for protocol information (IP_RECVDSTADDR, SCM_TIMESTAMP...), {@link Creds} for
 * {@code SCM_CREDS}, {@link Rights} for {@code SCM_RIGHTS} file references in flight.
 *
 * <p>Ownership: a control list handed to {@link Protosw#pru_send} or to a {@code sbappend*} call is
 * consumed. Messages that hold references ({@link Rights}) must be {@link #dispose()}d when discarded
 * instead of delivered (FreeBSD {@code dom_dispose}/{@code unp_dispose}).
 */
public sealed interface Cmsg permits Cmsg.Data, Cmsg.Creds, Cmsg.Rights {
    /** {@code cmsg_level}. */
    int level();

    /** {@code cmsg_type}. */
    int type();

    /** Bytes of data ({@code cmsg_len} minus the header). */
    int dataLength();

    /** Bytes this message is charged in a socket buffer ({@code CMSG_SPACE}: 16-byte header, 8-aligned data). */
    default int space() {
        return 16 + ((dataLength() + 7) & ~7);
    }

    /** Releases what the message holds; a no-op for messages without references. Idempotent. */
    default void dispose() {}

    /** Releases every message of {@code control} (null allowed). */
    static void disposeAll(List<Cmsg> control) {
        if (control != null) {
            for (Cmsg c : control) {
                c.dispose();
            }
        }
    }

    /** Total {@link #space()} of a control list (null: 0). */
    static int spaceOf(List<Cmsg> control) {
        int n = 0;
        if (control != null) {
            for (Cmsg c : control) {
                n += c.space();
            }
        }
        return n;
    }

    /** A control message with opaque bytes (copied). */
    record Data(int level, int type, byte[] data) implements Cmsg {
        public Data {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        @Override
        public int dataLength() {
            return data.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && d.level == level && d.type == type && java.util.Arrays.equals(d.data, data);
        }

        @Override
        public int hashCode() {
            return Objects.hash(level, type, java.util.Arrays.hashCode(data));
        }
    }

    /** {@code SCM_CREDS}: the sender's credentials, filled in by the kernel (never trusted from the sender). */
    record Creds(Ucred cred) implements Cmsg {
        public Creds {
            Objects.requireNonNull(cred, "cred");
        }

        @Override
        public int level() {
            return SocketConst.SOL_SOCKET;
        }

        @Override
        public int type() {
            return SocketConst.SCM_CREDS;
        }

        /** {@code sizeof(struct cmsgcred)}: pid, uid, euid, gid, ngroups, 16 groups. */
        @Override
        public int dataLength() {
            return 84;
        }
    }

    /**
     * {@code SCM_RIGHTS} in flight: files with one open reference each ({@link File#holdOpen}), taken
     * when the sender's descriptors were internalized. Delivery hands the references to the receiver
     * ({@link #take}); discarding the message ({@link #dispose}) drops them, closing files nobody else
     * has open. Exactly one of the two happens, once.
     *
     * <p>In-flight accounting for the UNIX-domain garbage collector: while the message exists, each
     * file that is a UNIX socket counts it in its control block's message count ({@code f_msgcount},
     * changed under that socket's {@code unp_link} lock, see {@code Unp.msgref}), and the sending
     * Vnet's {@code net.local.inflight} counts its files.
     */
    final class Rights implements Cmsg {
        private final List<File> files;
        private final AtomicBoolean done = new AtomicBoolean();
        private final Counter inflight;

        /** Takes ownership of one open reference on each file. */
        public Rights(List<File> files) {
            this(files, null);
        }

        /** Takes ownership of one open reference on each file; counts them in {@code inflight} (null: not counted). */
        public Rights(List<File> files, Counter inflight) {
            this.files = List.copyOf(files);
            this.inflight = inflight;
            Unp.msgref(this.files, 1);
            if (inflight != null) {
                inflight.add(this.files.size());
            }
        }

        /** The files, for the garbage collector's scan; the message keeps owning them. */
        List<File> files() {
            return files;
        }

        private void leaveFlight() {
            Unp.msgref(files, -1);
            if (inflight != null) {
                inflight.add(-files.size());
            }
        }

        @Override
        public int level() {
            return SocketConst.SOL_SOCKET;
        }

        @Override
        public int type() {
            return SocketConst.SCM_RIGHTS;
        }

        /** One {@code int} descriptor per file, as the receiver sees it. */
        @Override
        public int dataLength() {
            return 4 * files.size();
        }

        public int count() {
            return files.size();
        }

        /**
         * Hands the files and their open references to the caller (the receiver installs them).
         *
         * @throws IllegalStateException if already taken or disposed
         */
        public List<File> take() {
            if (!done.compareAndSet(false, true)) {
                throw new IllegalStateException("SCM_RIGHTS message already delivered or disposed");
            }
            leaveFlight();
            return files;
        }

        @Override
        public void dispose() {
            if (done.compareAndSet(false, true)) {
                leaveFlight();
                for (File f : files) {
                    f.dropOpen();
                }
            }
        }

        @Override
        public String toString() {
            return "Rights" + files;
        }
    }

    /** A user-level SCM_RIGHTS message naming descriptors, for sendmsg (level SOL_SOCKET). */
    static Data rightsOf(int... fds) {
        byte[] b = new byte[4 * fds.length];
        for (int i = 0; i < fds.length; i++) {
            System.arraycopy(Sockopt.intBytes(fds[i]), 0, b, 4 * i, 4);
        }
        return new Data(SocketConst.SOL_SOCKET, SocketConst.SCM_RIGHTS, b);
    }

    /** The descriptors of a user-level SCM_RIGHTS {@link Data} message. */
    static int[] fdsOf(Data d) {
        byte[] b = d.data();
        int[] fds = new int[b.length / 4];
        for (int i = 0; i < fds.length; i++) {
            fds[i] = (b[4 * i] & 0xff) | (b[4 * i + 1] & 0xff) << 8 | (b[4 * i + 2] & 0xff) << 16 | (b[4 * i + 3] & 0xff) << 24;
        }
        return fds;
    }

    /** A user-level SCM_RIGHTS message for {@code fds} (what {@code CMSG_DATA} would hold). */
    static Cmsg rights(int... fds) {
        return rightsOf(fds);
    }
}
