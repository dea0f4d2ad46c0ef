package org.smpnet.socket;

/**
 * Constants of {@code sys/socket.h} and {@code sys/protosw.h} with FreeBSD's values: socket types,
 * protocol flags, {@code SOL_SOCKET} option names, {@code MSG_*} flags, shutdown directions and
 * control-message types.
 */
public final class SocketConst {
    private SocketConst() {}

    // ---- socket types ----
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_SEQPACKET = 5;

    // ---- protocol families (same numbers as the address families) ----
    public static final int PF_UNSPEC = 0;
    public static final int PF_UNIX = 1;
    public static final int PF_LOCAL = PF_UNIX;
    public static final int PF_INET = 2;
    public static final int PF_ROUTE = 17;
    public static final int PF_INET6 = 28;

    // ---- protosw pr_flags ----
    /** Exchanges atomic messages only (a send is one record or fails). */
    public static final int PR_ATOMIC = 0x01;
    /** Each received record carries the sender's address. */
    public static final int PR_ADDR = 0x02;
    /** Sending and receiving need a connection. */
    public static final int PR_CONNREQUIRED = 0x04;
    /** The protocol wants {@link Protosw#pru_rcvd} after data is taken from the receive buffer. */
    public static final int PR_WANTRCVD = 0x08;
    /** The protocol passes access rights (SCM_RIGHTS). */
    public static final int PR_RIGHTS = 0x10;
    /** Implicit open/close on send (UDP's sendto on a connected-less socket). */
    public static final int PR_IMPLOPCL = 0x20;

    // ---- levels and SOL_SOCKET options ----
    public static final int SOL_SOCKET = 0xffff;
    public static final int SO_DEBUG = 0x0001;
    public static final int SO_ACCEPTCONN = 0x0002;
    public static final int SO_REUSEADDR = 0x0004;
    public static final int SO_KEEPALIVE = 0x0008;
    public static final int SO_DONTROUTE = 0x0010;
    public static final int SO_BROADCAST = 0x0020;
    /** Routing sockets: the writer receives its own messages too (on by default there). */
    public static final int SO_USELOOPBACK = 0x0040;
    public static final int SO_LINGER = 0x0080;
    public static final int SO_OOBINLINE = 0x0100;
    public static final int SO_REUSEPORT = 0x0200;
    public static final int SO_TIMESTAMP = 0x0400;
    public static final int SO_SNDBUF = 0x1001;
    public static final int SO_RCVBUF = 0x1002;
    public static final int SO_SNDLOWAT = 0x1003;
    public static final int SO_RCVLOWAT = 0x1004;
    public static final int SO_SNDTIMEO = 0x1005;
    public static final int SO_RCVTIMEO = 0x1006;
    public static final int SO_ERROR = 0x1007;
    public static final int SO_TYPE = 0x1008;
    /** Options that are plain bits of {@code so_options}. */
    public static final int SO_BOOLEAN_MASK = SO_DEBUG | SO_REUSEADDR | SO_KEEPALIVE | SO_DONTROUTE
            | SO_BROADCAST | SO_USELOOPBACK | SO_OOBINLINE | SO_REUSEPORT | SO_TIMESTAMP;

    // ---- MSG flags ----
    public static final int MSG_OOB = 0x00001;
    public static final int MSG_PEEK = 0x00002;
    public static final int MSG_DONTROUTE = 0x00004;
    public static final int MSG_EOR = 0x00008;
    public static final int MSG_TRUNC = 0x00010;
    public static final int MSG_CTRUNC = 0x00020;
    public static final int MSG_WAITALL = 0x00040;
    public static final int MSG_DONTWAIT = 0x00080;
    public static final int MSG_EOF = 0x00100;
    public static final int MSG_NOSIGNAL = 0x20000;
    /** {@code recvmmsg}: block for the first message only, then take what is already queued. */
    public static final int MSG_WAITFORONE = 0x80000;

    // ---- shutdown(2) ----
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    // ---- control messages (level SOL_SOCKET) ----
    public static final int SCM_RIGHTS = 0x01;
    public static final int SCM_TIMESTAMP = 0x02;
    public static final int SCM_CREDS = 0x03;

    // ---- pru_send flags ----
    /** The data is out-of-band (MSG_OOB). */
    public static final int PRUS_OOB = 0x1;
    /** Send and then shut the sending side (MSG_EOF / sendto-and-close). */
    public static final int PRUS_EOF = 0x2;
    /** More data follows in this send call (stream protocols may wait to coalesce). */
    public static final int PRUS_MORETOCOME = 0x4;

    /** The system-wide ceiling of a socket buffer ({@code kern.ipc.maxsockbuf}), bytes. */
    public static final int SB_MAX = 2 * 1024 * 1024;
    /** Default listen backlog ceiling ({@code kern.ipc.somaxconn}). */
    public static final int SOMAXCONN = 128;

    /** The name of socket type {@code type} ("SOCK_STREAM"...), for messages. */
    public static String typeName(int type) {
        return switch (type) {
            case SOCK_STREAM -> "SOCK_STREAM";
            case SOCK_DGRAM -> "SOCK_DGRAM";
            case SOCK_RAW -> "SOCK_RAW";
            case SOCK_SEQPACKET -> "SOCK_SEQPACKET";
            default -> "type " + type;
        };
    }
}
