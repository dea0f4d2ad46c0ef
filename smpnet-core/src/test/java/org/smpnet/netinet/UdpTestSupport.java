package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.fail;

import java.util.Arrays;
import java.util.List;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Cmsg;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.SocketIo;
import org.smpnet.socket.Sockopt;

/** Socket helpers for the UDP and raw IP tests (the BSD-style API comes later from the socket branch). */
final class UdpTestSupport {
    private UdpTestSupport() {}

    /** A datagram as recvmsg returns it. */
    record Got(Sockaddr.In from, byte[] data, List<Cmsg> control) {}

    static Socket udp(Vnet v) throws ErrnoException {
        return v.domains().socreate(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0, null);
    }

    static Socket raw(Vnet v, int proto) throws ErrnoException {
        return v.domains().socreate(Sockaddr.AF_INET, SocketConst.SOCK_RAW, proto, null);
    }

    static void bind(Socket so, String addr, int port) throws ErrnoException {
        so.proto().pru_bind(so, Sockaddr.In.of(addr, port));
    }

    static void connect(Socket so, String addr, int port) throws ErrnoException {
        so.proto().pru_connect(so, Sockaddr.In.of(addr, port));
        so.soisconnected();
    }

    static void setInt(Socket so, int level, int name, int v) throws ErrnoException {
        so.proto().pru_ctloutput(so, Sockopt.setInt(level, name, v));
    }

    static void set(Socket so, int level, int name, byte[] v) throws ErrnoException {
        so.proto().pru_ctloutput(so, Sockopt.set(level, name, v));
    }

    static int getInt(Socket so, int level, int name) throws ErrnoException {
        Sockopt s = Sockopt.get(level, name);
        so.proto().pru_ctloutput(so, s);
        return s.intValue();
    }

    static byte[] get(Socket so, int level, int name) throws ErrnoException {
        Sockopt s = Sockopt.get(level, name);
        so.proto().pru_ctloutput(so, s);
        return s.value();
    }

    static int sendto(Socket so, byte[] b, Sockaddr to) throws ErrnoException {
        return SocketIo.sosend(so, Msghdr.send(b, 0, b.length, to, null), 0);
    }

    /** One datagram if one is queued, else null (non-blocking recvmsg). */
    static Got poll(Socket so) throws ErrnoException {
        byte[] buf = new byte[65536];
        Msghdr m = Msghdr.recv(buf, 0, buf.length, 512);
        int n;
        try {
            n = SocketIo.soreceive(so, m, SocketConst.MSG_DONTWAIT);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return null;
            }
            throw e;
        }
        return new Got((Sockaddr.In) m.name, Arrays.copyOf(buf, n), m.control);
    }

    /** Waits (at most 20 s) for one datagram. */
    static Got recv(Socket so) throws ErrnoException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            Got g = poll(so);
            if (g != null) {
                return g;
            }
            if (System.nanoTime() > deadline) {
                fail("no datagram on " + so);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    static byte[] mreq(String group, String iface) {
        byte[] b = new byte[8];
        InetTestSupport.ip(group).toBytes(b, 0);
        InetTestSupport.ip(iface).toBytes(b, 4);
        return b;
    }
}
