package org.smpnet.net;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

/**
 * A routing-socket message ({@code PF_ROUTE}, {@code rtsock.c}) in FreeBSD's amd64 byte layout, version
 * {@link Rtm#RTM_VERSION 5}: a header ({@code rt_msghdr}, {@code ifa_msghdr}, {@code if_msghdr} or
 * {@code if_announcemsghdr}, host byte order = little-endian) followed by the socket addresses named in the
 * header's address bitmask, each padded to a multiple of 8 bytes ({@code SA_SIZE}).
 *
 * <p>{@link #parse} checks everything and reports bad input as an {@link ErrnoException} (EINVAL, or
 * EPROTONOSUPPORT for another version, as FreeBSD does), never another exception; {@link #emit} writes the
 * bytes. {@code parse(emit(m))} equals {@code m}.
 */
public sealed interface RtMsg permits RtMsg.Route, RtMsg.Ifa, RtMsg.If, RtMsg.Announce {
    /** {@code sizeof(struct rt_msghdr)} on amd64. */
    int RT_MSGHDR_LEN = 152;
    /** {@code sizeof(struct if_data)}. */
    int IF_DATA_LEN = 152;
    /** {@code sizeof(struct if_msghdr)}. */
    int IF_MSGHDR_LEN = 16 + IF_DATA_LEN;
    /** {@code sizeof(struct ifa_msghdr)}. */
    int IFA_MSGHDR_LEN = 20;
    /** {@code sizeof(struct if_announcemsghdr)}. */
    int IF_ANNOUNCEMSGHDR_LEN = 24;
    /** {@code IFNAMSIZ}. */
    int IFNAMSIZ = 16;

    /** The message type ({@link Rtm#RTM_ADD}...). */
    int type();

    /** The message's bytes, {@code rtm_msglen} long. */
    byte[] emit();

    /**
     * The address family the message is about ({@code AF_INET}, {@code AF_INET6}), or {@code AF_UNSPEC} for
     * interface messages: a routing socket opened for one family only gets that family's messages and these.
     */
    default int family() {
        return Sockaddr.AF_UNSPEC;
    }

    /** {@code struct rt_metrics}: fourteen {@code u_long}s, the last two spare. */
    record Metrics(long locks, long mtu, long hopcount, long expire, long recvpipe, long sendpipe, long ssthresh,
                   long rtt, long rttvar, long pksent, long weight, long nhidx) {
        public static final Metrics NONE = new Metrics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        static final int LEN = 14 * 8;

        /** Only the MTU and packets-sent fields set. */
        public static Metrics of(long mtu, long pksent) {
            return new Metrics(0, mtu, 0, 0, 0, 0, 0, 0, 0, pksent, 0, 0);
        }

        long[] toArray() {
            return new long[] {locks, mtu, hopcount, expire, recvpipe, sendpipe, ssthresh, rtt, rttvar, pksent, weight, nhidx};
        }

        static Metrics fromArray(long[] a) {
            return new Metrics(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
        }
    }

    /**
     * A route message ({@code struct rt_msghdr}): RTM_ADD, RTM_DELETE, RTM_CHANGE, RTM_GET, RTM_LOSING,
     * RTM_REDIRECT, RTM_MISS, RTM_LOCK, RTM_RESOLVE.
     */
    record Route(int type, int index, int flags, int pid, int seq, int errno, int fmask, long inits, Metrics rmx,
                 RtAddrs addrs) implements RtMsg {
        public Route {
            if (type < Rtm.RTM_ADD || type > Rtm.RTM_RESOLVE) {
                throw new IllegalArgumentException(Rtm.typeName(type) + " is not a route message type");
            }
            checkU16(index, "rtm_index");
            Objects.requireNonNull(rmx, "rmx");
            Objects.requireNonNull(addrs, "addrs");
        }

        @Override
        public int family() {
            return addrs.dst() != null ? addrs.dst().family() : Sockaddr.AF_UNSPEC;
        }

        /** A request as {@code route(8)} writes it: type, sequence number, flags and addresses. */
        public static Route request(int type, int seq, int flags, RtAddrs addrs) {
            return new Route(type, 0, flags, 0, seq, 0, 0, 0, Metrics.NONE, addrs);
        }

        /** This message as a reply: {@code RTF_DONE} on success, else {@code rtm_errno} set. */
        public Route reply(int newErrno, int newFlags, int newIndex, long newInits, Metrics newRmx, RtAddrs newAddrs) {
            return new Route(type, newIndex, newFlags | (newErrno == 0 ? Rtentry.RTF_DONE : 0), pid, seq, newErrno,
                    fmask, newInits, newRmx, newAddrs);
        }

        @Override
        public byte[] emit() {
            byte[] b = new byte[RT_MSGHDR_LEN + RtWire.addrsLen(addrs)];
            RtWire.header(b, type);
            RtWire.u16(b, 4, index);
            RtWire.i32(b, 8, flags);
            RtWire.i32(b, 12, addrs.mask());
            RtWire.i32(b, 16, pid);
            RtWire.i32(b, 20, seq);
            RtWire.i32(b, 24, errno);
            RtWire.i32(b, 28, fmask);
            RtWire.i64(b, 32, inits);
            long[] m = rmx.toArray();
            for (int i = 0; i < m.length; i++) {
                RtWire.i64(b, 40 + 8 * i, m[i]);
            }
            RtWire.putAddrs(b, RT_MSGHDR_LEN, addrs);
            return b;
        }
    }

    /** An address message ({@code struct ifa_msghdr}): RTM_NEWADDR, RTM_DELADDR. */
    record Ifa(int type, int index, int flags, int metric, RtAddrs addrs) implements RtMsg {
        public Ifa {
            if (type != Rtm.RTM_NEWADDR && type != Rtm.RTM_DELADDR) {
                throw new IllegalArgumentException(Rtm.typeName(type) + " is not an address message type");
            }
            checkU16(index, "ifam_index");
            Objects.requireNonNull(addrs, "addrs");
        }

        @Override
        public int family() {
            return addrs.ifa() != null ? addrs.ifa().family() : Sockaddr.AF_UNSPEC;
        }

        @Override
        public byte[] emit() {
            byte[] b = new byte[IFA_MSGHDR_LEN + RtWire.addrsLen(addrs)];
            RtWire.header(b, type);
            RtWire.i32(b, 4, addrs.mask());
            RtWire.i32(b, 8, flags);
            RtWire.u16(b, 12, index);
            RtWire.i32(b, 16, metric);
            RtWire.putAddrs(b, IFA_MSGHDR_LEN, addrs);
            return b;
        }
    }

    /**
     * {@code struct if_data} as an {@code RTM_IFINFO} carries it: type, lengths, link state
     * ({@code LINK_STATE_*}: 0 unknown, 1 down, 2 up), MTU, metric, baud rate and the twelve counters in
     * {@link IfCounter} order. Fields smpnet has no value for are written as zero.
     */
    record IfData(int ifType, int addrlen, int hdrlen, int linkState, int mtu, int metric, long baudrate,
                  long[] counters) {
        public IfData {
            counters = counters.clone();
            if (counters.length != IfCounter.values().length) {
                throw new IllegalArgumentException("if_data needs " + IfCounter.values().length + " counters");
            }
        }

        @Override
        public long[] counters() {
            return counters.clone();
        }

        /** The data of an interface now. */
        public static IfData of(Ifnet ifp) {
            long[] c = new long[IfCounter.values().length];
            for (IfCounter k : IfCounter.values()) {
                c[k.ordinal()] = ifp.get(k);
            }
            int ll = ifp.type() == IfType.ETHER || ifp.type() == IfType.L2VLAN ? 6 : 0;
            return new IfData(ifp.type().value(), ll, ll == 6 ? 14 : 0, ifp.linkState().ordinal(), ifp.mtu(), 0, 0, c);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof IfData d && d.ifType == ifType && d.addrlen == addrlen && d.hdrlen == hdrlen
                    && d.linkState == linkState && d.mtu == mtu && d.metric == metric && d.baudrate == baudrate
                    && Arrays.equals(d.counters, counters);
        }

        @Override
        public int hashCode() {
            return Objects.hash(ifType, linkState, mtu, baudrate) * 31 + Arrays.hashCode(counters);
        }

        @Override
        public String toString() {
            return "IfData[type " + ifType + " link " + linkState + " mtu " + mtu + " counters " + Arrays.toString(counters) + "]";
        }
    }

    /** An interface message ({@code struct if_msghdr}): RTM_IFINFO. */
    record If(int index, int flags, IfData data, RtAddrs addrs) implements RtMsg {
        public If {
            checkU16(index, "ifm_index");
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(addrs, "addrs");
        }

        @Override
        public int type() {
            return Rtm.RTM_IFINFO;
        }

        @Override
        public byte[] emit() {
            byte[] b = new byte[IF_MSGHDR_LEN + RtWire.addrsLen(addrs)];
            RtWire.header(b, Rtm.RTM_IFINFO);
            RtWire.i32(b, 4, addrs.mask());
            RtWire.i32(b, 8, flags);
            RtWire.u16(b, 12, index);
            int d = 16;
            b[d] = (byte) data.ifType();
            b[d + 2] = (byte) data.addrlen();
            b[d + 3] = (byte) data.hdrlen();
            b[d + 4] = (byte) data.linkState();
            RtWire.u16(b, d + 6, IF_DATA_LEN);
            RtWire.i32(b, d + 8, data.mtu());
            RtWire.i32(b, d + 12, data.metric());
            RtWire.i64(b, d + 16, data.baudrate());
            long[] c = data.counters;
            for (int i = 0; i < c.length; i++) {
                RtWire.i64(b, d + 24 + 8 * i, c[i]);
            }
            RtWire.putAddrs(b, IF_MSGHDR_LEN, addrs);
            return b;
        }
    }

    /** An interface arrival or departure ({@code struct if_announcemsghdr}): RTM_IFANNOUNCE. */
    record Announce(int index, String name, int what) implements RtMsg {
        public Announce {
            checkU16(index, "ifan_index");
            Objects.requireNonNull(name, "name");
            if (name.getBytes(StandardCharsets.US_ASCII).length >= IFNAMSIZ) {
                throw new IllegalArgumentException("interface name '" + name + "' longer than " + (IFNAMSIZ - 1));
            }
            checkU16(what, "ifan_what");
        }

        @Override
        public int type() {
            return Rtm.RTM_IFANNOUNCE;
        }

        @Override
        public byte[] emit() {
            byte[] b = new byte[IF_ANNOUNCEMSGHDR_LEN];
            RtWire.header(b, Rtm.RTM_IFANNOUNCE);
            RtWire.u16(b, 4, index);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(n, 0, b, 6, n.length);
            RtWire.u16(b, 22, what);
            return b;
        }
    }

    private static void checkU16(int v, String what) {
        if (v < 0 || v > 0xffff) {
            throw new IllegalArgumentException(what + " " + v + " not in 0..65535");
        }
    }

    /** Parses one whole message: {@code rtm_msglen} must equal {@code b.length}. */
    public static RtMsg parse(byte[] b) throws ErrnoException {
        return parse(b, 0, b.length);
    }

    /**
     * Parses the message in {@code b[off, off+len)}; its {@code rtm_msglen} must be {@code len}, as a
     * routing-socket write requires.
     *
     * @throws ErrnoException EINVAL for a short, inconsistent or unsupported message, EPROTONOSUPPORT for a
     *     version other than 5
     */
    public static RtMsg parse(byte[] b, int off, int len) throws ErrnoException {
        Objects.checkFromIndexSize(off, len, b.length);
        try {
            return RtWire.parse(b, off, len);
        } catch (RuntimeException e) { // a bug in a check must still not escape to a socket writer
            throw new ErrnoException(Errno.EINVAL, "malformed routing message: " + e, e);
        }
    }
}
