package org.smpnet.socket;

import java.util.List;
import java.util.Objects;
import org.smpnet.net.Sockaddr;

/**
 * One {@code sendmsg}/{@code recvmsg} message ({@code struct msghdr}): address, one data buffer,
 * control messages and flags. For a send the caller fills {@link #name} (destination or null),
 * the buffer and {@link #control}; for a receive the call fills {@link #name} (source),
 * {@link #control} (at most {@link #controlSpace} bytes of it) and {@link #flags}
 * ({@code MSG_TRUNC}, {@code MSG_CTRUNC}, {@code MSG_EOR}). An array of them is a {@code sendmmsg}/{@code recvmmsg}
 * vector ({@code struct mmsghdr}), each reporting its length in {@link #msgLen}. Owned by the one calling thread.
 */
public final class Msghdr {
    /** Destination (send) or source (receive) address; null when none. */
    public Sockaddr name;
    public final byte[] buf;
    public final int off;
    public final int len;
    /** Control messages to send, or those received (the receiver owns them: rights hold files). */
    public List<Cmsg> control;
    /** Receive: bytes of control the caller accepts ({@code msg_controllen}); more is discarded with MSG_CTRUNC. */
    public int controlSpace;
    /** Receive: flags out. */
    public int flags;
    /**
     * {@code sendmmsg}/{@code recvmmsg}: the bytes this message sent or received ({@code struct mmsghdr}'s
     * {@code msg_len}); set for the messages the call reports as done, untouched for the others.
     */
    public int msgLen;

    public Msghdr(byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, Objects.requireNonNull(buf, "buf").length);
        this.buf = buf;
        this.off = off;
        this.len = len;
    }

    public Msghdr(byte[] buf) {
        this(buf, 0, buf.length);
    }

    /** A send message: data, destination (null if connected) and control (null if none). */
    public static Msghdr send(byte[] buf, int off, int len, Sockaddr to, List<Cmsg> control) {
        Msghdr m = new Msghdr(buf, off, len);
        m.name = to;
        m.control = control;
        return m;
    }

    /** A receive message accepting up to {@code controlSpace} bytes of control. */
    public static Msghdr recv(byte[] buf, int off, int len, int controlSpace) {
        Msghdr m = new Msghdr(buf, off, len);
        m.controlSpace = controlSpace;
        return m;
    }
}
