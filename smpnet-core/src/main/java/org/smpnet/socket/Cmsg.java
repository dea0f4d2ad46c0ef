package org.smpnet.socket;

import java.util.List;
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
public sealed interface Cmsg permits Cmsg.Data, Cmsg.Creds {
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
}
