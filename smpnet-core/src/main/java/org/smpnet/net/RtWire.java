package org.smpnet.net;

import java.nio.charset.StandardCharsets;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

/**
 * Byte-level reading and writing of {@link RtMsg}s: header fields in host order (little-endian, as on amd64),
 * socket addresses in their own layouts ({@code sockaddr_in}, {@code sockaddr_in6}, {@code sockaddr_dl}), each
 * taking {@code SA_SIZE} bytes: its length rounded up to 8, or 8 for a zero length.
 */
final class RtWire {
    private RtWire() {}

    static final int SOCKADDR_IN_LEN = 16;
    static final int SOCKADDR_IN6_LEN = 28;
    /** {@code sizeof(struct sockaddr_dl)}: 8 header bytes and 46 of data. */
    static final int SOCKADDR_DL_LEN = 54;

    // ---- host-order fields ----

    static void u16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    static void i32(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    static void i64(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
    }

    static int i32(byte[] b, int off) {
        int v = 0;
        for (int i = 3; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return v;
    }

    static long i64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return v;
    }

    /** {@code msglen}, {@code version}, {@code type}: the first four bytes of every message. */
    static void header(byte[] b, int type) {
        u16(b, 0, b.length);
        b[2] = (byte) Rtm.RTM_VERSION;
        b[3] = (byte) type;
    }

    // ---- socket addresses ----

    /** {@code SA_SIZE}: the space a sockaddr of length {@code saLen} takes in a message. */
    static int saSize(int saLen) {
        return saLen == 0 ? 8 : 1 + ((saLen - 1) | 7);
    }

    static int saLen(Sockaddr sa) {
        return switch (sa) {
            case Sockaddr.In in -> SOCKADDR_IN_LEN;
            case Sockaddr.In6 in6 -> SOCKADDR_IN6_LEN;
            case Sockaddr.Dl dl -> Math.max(SOCKADDR_DL_LEN, 8 + dl.name().length() + dl.lladdr().length);
            case Sockaddr.Un un -> throw new IllegalArgumentException("a UNIX-domain address has no place in a routing message");
            case Sockaddr.Route rt -> throw new IllegalArgumentException("an AF_ROUTE address has no place in a routing message");
        };
    }

    static int addrsLen(RtAddrs a) {
        int n = 0;
        for (int i = 0; i < Rtm.RTAX_MAX; i++) {
            Sockaddr sa = a.get(i);
            if (sa != null) {
                n += saSize(saLen(sa));
            }
        }
        return n;
    }

    static void putAddrs(byte[] b, int off, RtAddrs a) {
        for (int i = 0; i < Rtm.RTAX_MAX; i++) {
            Sockaddr sa = a.get(i);
            if (sa != null) {
                putSockaddr(b, off, sa);
                off += saSize(saLen(sa));
            }
        }
    }

    private static void putSockaddr(byte[] b, int off, Sockaddr sa) {
        b[off] = (byte) saLen(sa);
        b[off + 1] = (byte) sa.family();
        switch (sa) {
            case Sockaddr.In in -> {
                b[off + 2] = (byte) (in.port() >>> 8);
                b[off + 3] = (byte) in.port();
                in.addr().toBytes(b, off + 4);
            }
            case Sockaddr.In6 in6 -> {
                b[off + 2] = (byte) (in6.port() >>> 8);
                b[off + 3] = (byte) in6.port();
                for (int i = 0; i < 4; i++) {
                    b[off + 4 + i] = (byte) (in6.flowinfo() >>> (24 - 8 * i));
                }
                in6.addr().toBytes(b, off + 8);
                i32(b, off + 24, in6.scopeId());
            }
            case Sockaddr.Dl dl -> {
                u16(b, off + 2, dl.index());
                byte[] name = dl.name().getBytes(StandardCharsets.US_ASCII);
                byte[] ll = dl.lladdr();
                b[off + 5] = (byte) name.length;
                b[off + 6] = (byte) ll.length;
                System.arraycopy(name, 0, b, off + 8, name.length);
                System.arraycopy(ll, 0, b, off + 8 + name.length, ll.length);
            }
            case Sockaddr.Un un -> throw new IllegalArgumentException("a UNIX-domain address has no place in a routing message");
            case Sockaddr.Route rt -> throw new IllegalArgumentException("an AF_ROUTE address has no place in a routing message");
        }
    }

    // ---- parsing ----

    static RtMsg parse(byte[] b, int off, int len) throws ErrnoException {
        if (len < 4) {
            throw einval("message of " + len + " bytes is shorter than a header");
        }
        int msglen = u16(b, off);
        if (msglen != len) {
            throw einval("rtm_msglen " + msglen + " but " + len + " bytes given");
        }
        int version = b[off + 2] & 0xff;
        if (version != Rtm.RTM_VERSION) {
            throw new ErrnoException(Errno.EPROTONOSUPPORT, "routing message version " + version + ", not " + Rtm.RTM_VERSION);
        }
        int type = b[off + 3] & 0xff;
        int end = off + len;
        return switch (type) {
            case Rtm.RTM_ADD, Rtm.RTM_DELETE, Rtm.RTM_CHANGE, Rtm.RTM_GET, Rtm.RTM_LOSING, Rtm.RTM_REDIRECT,
                    Rtm.RTM_MISS, Rtm.RTM_LOCK, Rtm.RTM_RESOLVE -> parseRoute(b, off, end, type);
            case Rtm.RTM_NEWADDR, Rtm.RTM_DELADDR -> parseIfa(b, off, end, type);
            case Rtm.RTM_IFINFO -> parseIf(b, off, end);
            case Rtm.RTM_IFANNOUNCE -> parseAnnounce(b, off, end);
            default -> throw einval("unsupported routing message type " + type);
        };
    }

    private static void need(int off, int end, int hdr, int type) throws ErrnoException {
        if (end - off < hdr) {
            throw einval(Rtm.typeName(type) + " of " + (end - off) + " bytes is shorter than its " + hdr + "-byte header");
        }
    }

    private static RtMsg.Route parseRoute(byte[] b, int off, int end, int type) throws ErrnoException {
        need(off, end, RtMsg.RT_MSGHDR_LEN, type);
        long[] m = new long[12];
        for (int i = 0; i < m.length; i++) {
            m[i] = i64(b, off + 40 + 8 * i);
        }
        RtAddrs addrs = parseAddrs(b, off + RtMsg.RT_MSGHDR_LEN, end, i32(b, off + 12));
        return new RtMsg.Route(type, u16(b, off + 4), i32(b, off + 8), i32(b, off + 16), i32(b, off + 20),
                i32(b, off + 24), i32(b, off + 28), i64(b, off + 32), RtMsg.Metrics.fromArray(m), addrs);
    }

    private static RtMsg.Ifa parseIfa(byte[] b, int off, int end, int type) throws ErrnoException {
        need(off, end, RtMsg.IFA_MSGHDR_LEN, type);
        RtAddrs addrs = parseAddrs(b, off + RtMsg.IFA_MSGHDR_LEN, end, i32(b, off + 4));
        return new RtMsg.Ifa(type, u16(b, off + 12), i32(b, off + 8), i32(b, off + 16), addrs);
    }

    private static RtMsg.If parseIf(byte[] b, int off, int end) throws ErrnoException {
        need(off, end, RtMsg.IF_MSGHDR_LEN, Rtm.RTM_IFINFO);
        int d = off + 16;
        int datalen = u16(b, d + 6);
        if (datalen != RtMsg.IF_DATA_LEN) {
            throw einval("ifi_datalen " + datalen + ", not " + RtMsg.IF_DATA_LEN);
        }
        long[] c = new long[IfCounter.values().length];
        for (int i = 0; i < c.length; i++) {
            c[i] = i64(b, d + 24 + 8 * i);
        }
        RtMsg.IfData data = new RtMsg.IfData(b[d] & 0xff, b[d + 2] & 0xff, b[d + 3] & 0xff, b[d + 4] & 0xff,
                i32(b, d + 8), i32(b, d + 12), i64(b, d + 16), c);
        RtAddrs addrs = parseAddrs(b, off + RtMsg.IF_MSGHDR_LEN, end, i32(b, off + 4));
        return new RtMsg.If(u16(b, off + 12), i32(b, off + 8), data, addrs);
    }

    private static RtMsg.Announce parseAnnounce(byte[] b, int off, int end) throws ErrnoException {
        if (end - off != RtMsg.IF_ANNOUNCEMSGHDR_LEN) {
            throw einval("RTM_IFANNOUNCE of " + (end - off) + " bytes, not " + RtMsg.IF_ANNOUNCEMSGHDR_LEN);
        }
        int n = 0;
        while (n < RtMsg.IFNAMSIZ && b[off + 6 + n] != 0) {
            int c = b[off + 6 + n] & 0xff;
            if (c <= 32 || c >= 127) {
                throw einval("interface name with byte 0x" + Integer.toHexString(c));
            }
            n++;
        }
        if (n == RtMsg.IFNAMSIZ) {
            throw einval("interface name not NUL-terminated within IFNAMSIZ");
        }
        return new RtMsg.Announce(u16(b, off + 4), new String(b, off + 6, n, StandardCharsets.US_ASCII), u16(b, off + 22));
    }

    private static RtAddrs parseAddrs(byte[] b, int p, int end, int mask) throws ErrnoException {
        if ((mask & ~((1 << Rtm.RTAX_MAX) - 1)) != 0) {
            throw einval("unknown bits 0x" + Integer.toHexString(mask) + " in the address mask");
        }
        Sockaddr[] a = new Sockaddr[Rtm.RTAX_MAX];
        for (int i = 0; i < Rtm.RTAX_MAX; i++) {
            if ((mask & (1 << i)) == 0) {
                continue;
            }
            if (p >= end) {
                throw einval("address " + i + " missing: message ends");
            }
            int saLen = b[p] & 0xff;
            if (saLen == 0) { // FreeBSD: an empty sockaddr stands for 0.0.0.0
                a[i] = i == Rtm.RTAX_NETMASK && a[Rtm.RTAX_DST] instanceof Sockaddr.In6
                        ? new Sockaddr.In6(In6Addr.ANY, 0, 0, 0) : new Sockaddr.In(InAddr.ANY, 0);
                p += 8;
                continue;
            }
            if (saLen < 2 || p + saLen > end) {
                throw einval("address " + i + " of length " + saLen + " does not fit the message");
            }
            a[i] = i == Rtm.RTAX_NETMASK ? netmask(b, p, saLen, a[Rtm.RTAX_DST]) : sockaddr(b, p, saLen, i);
            p += saSize(saLen);
        }
        return RtAddrs.of(a);
    }

    /** A netmask: short forms allowed (missing bytes are zero), family 0 or the destination's. */
    private static Sockaddr netmask(byte[] b, int p, int saLen, Sockaddr dst) throws ErrnoException {
        int fam = b[p + 1] & 0xff;
        boolean v6 = dst instanceof Sockaddr.In6 || (dst == null && fam == Sockaddr.AF_INET6);
        int want = v6 ? Sockaddr.AF_INET6 : Sockaddr.AF_INET;
        if (fam != 0 && fam != want) {
            throw einval("netmask of family " + fam + " for a destination of family " + want);
        }
        int at = v6 ? 8 : 4;
        byte[] m = new byte[v6 ? 16 : 4];
        for (int i = 0; i < m.length && at + i < saLen; i++) {
            m[i] = b[p + at + i];
        }
        return v6 ? new Sockaddr.In6(In6Addr.fromBytes(m, 0), 0, 0, 0) : new Sockaddr.In(InAddr.fromBytes(m, 0), 0);
    }

    private static Sockaddr sockaddr(byte[] b, int p, int saLen, int rtax) throws ErrnoException {
        int fam = b[p + 1] & 0xff;
        switch (fam) {
            case Sockaddr.AF_INET -> {
                if (saLen != SOCKADDR_IN_LEN) {
                    throw einval("sockaddr_in of length " + saLen + " in address " + rtax);
                }
                return new Sockaddr.In(InAddr.fromBytes(b, p + 4), (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff));
            }
            case Sockaddr.AF_INET6 -> {
                if (saLen != SOCKADDR_IN6_LEN) {
                    throw einval("sockaddr_in6 of length " + saLen + " in address " + rtax);
                }
                int flow = 0;
                for (int i = 0; i < 4; i++) {
                    flow = (flow << 8) | (b[p + 4 + i] & 0xff);
                }
                return new Sockaddr.In6(In6Addr.fromBytes(b, p + 8), (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff), flow,
                        i32(b, p + 24));
            }
            case Sockaddr.AF_LINK -> {
                return linkSockaddr(b, p, saLen, rtax);
            }
            default -> throw einval("address family " + fam + " in address " + rtax);
        }
    }

    private static Sockaddr.Dl linkSockaddr(byte[] b, int p, int saLen, int rtax) throws ErrnoException {
        if (saLen < 8) {
            throw einval("sockaddr_dl of length " + saLen + " in address " + rtax);
        }
        int nlen = b[p + 5] & 0xff;
        int alen = b[p + 6] & 0xff;
        int slen = b[p + 7] & 0xff;
        if (8 + nlen + alen + slen > saLen || nlen >= RtMsg.IFNAMSIZ) {
            throw einval("sockaddr_dl lengths name " + nlen + " address " + alen + " selector " + slen
                    + " exceed its length " + saLen);
        }
        for (int i = 0; i < nlen; i++) {
            int c = b[p + 8 + i] & 0xff;
            if (c <= 32 || c >= 127) {
                throw einval("interface name with byte 0x" + Integer.toHexString(c) + " in address " + rtax);
            }
        }
        String name = new String(b, p + 8, nlen, StandardCharsets.US_ASCII);
        byte[] ll = new byte[alen];
        System.arraycopy(b, p + 8 + nlen, ll, 0, alen);
        return new Sockaddr.Dl(u16(b, p + 2), name, ll);
    }

    private static ErrnoException einval(String why) {
        return new ErrnoException(Errno.EINVAL, why);
    }
}
