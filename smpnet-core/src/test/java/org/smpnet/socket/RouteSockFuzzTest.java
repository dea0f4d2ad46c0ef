package org.smpnet.socket;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.InAddr;
import org.smpnet.net.Ifnet;
import org.smpnet.net.RtMsg;
import org.smpnet.net.RtSock;
import org.smpnet.net.Sockaddr;

/**
 * Jazzer target for routing-socket writes (R-RT-1): whatever is written, {@code send} succeeds or fails with
 * an errno, a message that does not parse fails with EINVAL/EPROTONOSUPPORT and lands in
 * {@code net.route.rtsock.bad_requests}, and every reply the writer reads back parses. Input: up to 16
 * messages, each a 2-byte big-endian length and its bytes. One fresh stack per input (10.0.0.1/24 on an
 * epair, so gateways in 10.0.0.0/24 resolve). {@code scripts/fuzz rtsock 5m} fuzzes it for real.
 */
class RouteSockFuzzTest {
    @DisplayName("R-RT-1: fuzzed routing-socket writes succeed or fail with an errno; malformed ones are counted, never thrown")
    @FuzzTest(maxDuration = "30s")
    void routeWrites(byte[] input) throws ErrnoException {
        try (Vnet v = new Vnet("rtfuzz", 1)) {
            String name = v.ifCreate("epair").getFirst();
            int et = Epoch.NET.enter();
            Ifnet ifp;
            try {
                ifp = v.ifnets().byName(name);
            } finally {
                Epoch.NET.exit(et);
            }
            v.addrs().add(ifp, InAddr.parse("10.0.0.1"), 24);
            SocketApi api = new SocketApi(v.domains(), new Filedesc(), Ucred.of(1, 0, 0));
            int s = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, 0);
            RtSock rs = v.rtable().rtsock();
            int at = 0;
            for (int n = 0; n < 16 && at + 2 <= input.length; n++) {
                int len = Math.min(((input[at] & 0xff) << 8) | (input[at + 1] & 0xff), input.length - at - 2);
                byte[] msg = Arrays.copyOfRange(input, at + 2, at + 2 + len);
                at += 2 + len;
                write(api, s, rs, msg);
            }
            drain(api, s);
            api.close(s);
        }
    }

    private static void write(SocketApi api, int s, RtSock rs, byte[] msg) throws ErrnoException {
        boolean parses;
        try {
            RtMsg.parse(msg);
            parses = true;
        } catch (ErrnoException e) {
            parses = false;
        }
        long bad0 = rs.badRequests.get();
        Errno err = null;
        try {
            api.send(s, msg, 0, msg.length, SocketConst.MSG_DONTWAIT);
        } catch (ErrnoException e) {
            err = e.errno();
        }
        if (!parses && msg.length <= RouteSock.SENDSPACE) {
            if (err != Errno.EINVAL && err != Errno.EPROTONOSUPPORT) {
                throw new AssertionError("malformed message " + Arrays.toString(msg) + " gave " + err);
            }
            if (rs.badRequests.get() != bad0 + 1) {
                throw new AssertionError("malformed message not counted: " + Arrays.toString(msg));
            }
        }
    }

    /** Reads back whatever arrived without waiting: each must come from AF_ROUTE and parse. */
    private static void drain(SocketApi api, int s) throws ErrnoException {
        byte[] buf = new byte[8192];
        Sockaddr[] from = new Sockaddr[1];
        while (true) {
            int n;
            try {
                n = api.recvfrom(s, buf, 0, buf.length, SocketConst.MSG_DONTWAIT, from);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EAGAIN) {
                    return;
                }
                throw e;
            }
            if (!Sockaddr.Route.SRC.equals(from[0])) {
                throw new AssertionError("message from " + from[0]);
            }
            RtMsg.parse(buf, 0, n);
        }
    }
}
