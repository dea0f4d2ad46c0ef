package org.smpnet.netinet;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.IfFlags;
import org.smpnet.net.InAddr;
import org.smpnet.net.InIfaddr;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetList;
import org.smpnet.net.NetAddrs;
import org.smpnet.net.Nexthop;
import org.smpnet.net.Rtable;
import org.smpnet.socket.Sockopt;

/**
 * IP-level socket options ({@code ip_ctloutput}, {@code ip_setmoptions}/{@code inp_join_group} of
 * {@code in_mcast.c}) on the PCB of a UDP or raw socket. Every option is read and written under the
 * PCB lock; joins and leaves take the membership lock ("in_multi") first, then the PCB lock, and
 * send IGMP after dropping both.
 *
 * <p>Values as a BSD program passes them: ints 4 bytes little-endian; addresses ({@code struct in_addr},
 * {@code struct ip_mreq}) in network order. {@code IP_MULTICAST_TTL/LOOP} accept one byte or an int
 * and are returned as an int.
 */
public final class IpCtlOutput {
    public static final int IPPROTO_IP = 0;
    public static final int IP_HDRINCL = 2;
    public static final int IP_TOS = 3;
    public static final int IP_TTL = 4;
    public static final int IP_RECVDSTADDR = 7;
    public static final int IP_MULTICAST_IF = 9;
    public static final int IP_MULTICAST_TTL = 10;
    public static final int IP_MULTICAST_LOOP = 11;
    public static final int IP_ADD_MEMBERSHIP = 12;
    public static final int IP_DROP_MEMBERSHIP = 13;
    public static final int IP_RECVIF = 20;
    public static final int IP_RECVTTL = 65;

    private final NetAddrs addrs;
    private final Rtable rtable;
    private final IfnetList ifnets;
    private final Igmp igmp;

    public IpCtlOutput(Rtable rtable, IfnetList ifnets, Igmp igmp) {
        this.rtable = Objects.requireNonNull(rtable, "rtable");
        this.addrs = rtable.addrs();
        this.ifnets = Objects.requireNonNull(ifnets, "ifnets");
        this.igmp = Objects.requireNonNull(igmp, "igmp");
    }

    public Igmp igmp() {
        return igmp;
    }

    /**
     * Handles one IPPROTO_IP option on {@code inp}. {@code raw} allows IP_HDRINCL. Hold no PCB or
     * socket-buffer lock. Never sleeps.
     *
     * @throws ErrnoException ENOPROTOOPT for an unknown option, EINVAL for a bad value, EADDRNOTAVAIL
     *     for an unknown interface or a group not joined, EADDRINUSE for a group joined twice
     */
    public void ctloutput(InPcb inp, Sockopt sopt, boolean raw) throws ErrnoException {
        int name = sopt.name();
        switch (name) {
            case IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP -> {
                if (!sopt.isSet()) {
                    throw new ErrnoException(Errno.ENOPROTOOPT, "membership options are set-only");
                }
                membership(inp, sopt.value(), name == IP_ADD_MEMBERSHIP);
            }
            case IP_MULTICAST_IF -> {
                if (sopt.isSet()) {
                    setMulticastIf(inp, sopt.value());
                } else {
                    byte[] b = new byte[4];
                    inp.lock.lock();
                    try {
                        checkLive(inp);
                        IpMoptions mo = inp.moptions();
                        (mo == null ? InAddr.ANY : mo.multicastAddr()).toBytes(b, 0);
                    } finally {
                        inp.lock.unlock();
                    }
                    sopt.setValue(b);
                }
            }
            case IP_HDRINCL -> {
                if (!raw) {
                    throw new ErrnoException(Errno.ENOPROTOOPT, "IP_HDRINCL is for raw sockets");
                }
                flagOption(inp, sopt, InPcb.INP_HDRINCL);
            }
            case IP_RECVDSTADDR -> flagOption(inp, sopt, InPcb.INP_RECVDSTADDR);
            case IP_RECVIF -> flagOption(inp, sopt, InPcb.INP_RECVIF);
            case IP_RECVTTL -> flagOption(inp, sopt, InPcb.INP_RECVTTL);
            case IP_TTL, IP_TOS, IP_MULTICAST_TTL, IP_MULTICAST_LOOP -> intOption(inp, sopt);
            default -> throw new ErrnoException(Errno.ENOPROTOOPT, "IP option " + name);
        }
    }

    private void intOption(InPcb inp, Sockopt sopt) throws ErrnoException {
        int name = sopt.name();
        if (!sopt.isSet()) {
            int v;
            inp.lock.lock();
            try {
                checkLive(inp);
                IpMoptions mo = inp.moptions();
                v = switch (name) {
                    case IP_TTL -> inp.ttl();
                    case IP_TOS -> inp.tos();
                    case IP_MULTICAST_TTL -> mo == null ? InPcb.DEFAULT_MULTICAST_TTL : mo.ttl();
                    default -> mo == null || mo.loop() ? 1 : 0;
                };
            } finally {
                inp.lock.unlock();
            }
            sopt.setIntValue(v);
            return;
        }
        int v = name == IP_MULTICAST_TTL || name == IP_MULTICAST_LOOP ? byteOrInt(sopt) : sopt.intValue();
        if (v < 0 || v > 255) {
            throw new ErrnoException(Errno.EINVAL, "IP option " + name + " value " + v + " not in 0..255");
        }
        inp.lock.lock();
        try {
            checkLive(inp);
            switch (name) {
                case IP_TTL -> inp.setTtl(v);
                case IP_TOS -> inp.setTos(v);
                case IP_MULTICAST_TTL -> inp.moptionsForUpdate().setTtl(v);
                default -> inp.moptionsForUpdate().setLoop(v != 0);
            }
        } finally {
            inp.lock.unlock();
        }
    }

    private static int byteOrInt(Sockopt sopt) throws ErrnoException {
        byte[] b = sopt.value();
        return b.length == 1 ? b[0] & 0xff : sopt.intValue();
    }

    private static void flagOption(InPcb inp, Sockopt sopt, int flag) throws ErrnoException {
        boolean set = sopt.isSet();
        boolean on = set && sopt.intValue() != 0;
        inp.lock.lock();
        try {
            checkLive(inp);
            if (set) {
                inp.setFlag(flag, on);
            } else {
                on = inp.flag(flag);
            }
        } finally {
            inp.lock.unlock();
        }
        if (!set) {
            sopt.setIntValue(on ? 1 : 0);
        }
    }

    private void setMulticastIf(InPcb inp, byte[] v) throws ErrnoException {
        if (v.length != 4 && v.length != 12) {
            throw new ErrnoException(Errno.EINVAL, "IP_MULTICAST_IF takes an in_addr or ip_mreqn, got " + v.length + " bytes");
        }
        InAddr a = InAddr.fromBytes(v, v.length == 12 ? 4 : 0);
        int index = v.length == 12 ? leInt(v, 8) : 0;
        Ifnet ifp;
        if (index != 0) {
            ifp = ifnets.byIndex(index);
            if (ifp == null) {
                throw new ErrnoException(Errno.EADDRNOTAVAIL, "no interface with index " + index);
            }
        } else if (a.isAny()) {
            ifp = null;
        } else {
            ifp = ifpOfAddr(a);
        }
        inp.lock.lock();
        try {
            checkLive(inp);
            inp.moptionsForUpdate().setMulticastIf(ifp, ifp == null ? InAddr.ANY : a);
        } finally {
            inp.lock.unlock();
        }
    }

    /** IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP with a {@code struct ip_mreq} or {@code ip_mreqn}. */
    private void membership(InPcb inp, byte[] v, boolean add) throws ErrnoException {
        if (v.length != 8 && v.length != 12) {
            throw new ErrnoException(Errno.EINVAL, "ip_mreq is 8 bytes (ip_mreqn 12), got " + v.length);
        }
        InAddr group = InAddr.fromBytes(v, 0);
        if (!group.isMulticast()) {
            throw new ErrnoException(Errno.EINVAL, group + " is not a multicast group");
        }
        Ifnet ifp = v.length == 12 && leInt(v, 8) != 0 ? ifnets.byIndex(leInt(v, 8)) : groupIfp(group, InAddr.fromBytes(v, 4));
        if (ifp == null || (ifp.flags() & IfFlags.MULTICAST) == 0) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, "no multicast interface for " + group);
        }
        IpMoptions.Membership m = new IpMoptions.Membership(group, ifp);
        boolean changed;
        igmp.lock.lock();
        try {
            inp.lock.lock();
            try {
                checkLive(inp);
                IpMoptions mo = inp.moptionsForUpdate();
                if (add && mo.size() >= IpMoptions.MAX_MEMBERSHIPS) {
                    throw new ErrnoException(Errno.ETOOMANYREFS, "too many memberships");
                }
                if (add ? !mo.add(m) : !mo.remove(m)) {
                    throw new ErrnoException(add ? Errno.EADDRINUSE : Errno.EADDRNOTAVAIL,
                            group + (add ? " already joined on " : " not joined on ") + ifp.name());
                }
            } finally {
                inp.lock.unlock();
            }
            changed = add ? igmp.joinLocked(ifp, group) : igmp.leaveLocked(ifp, group);
        } finally {
            igmp.lock.unlock();
        }
        if (changed) {
            if (add) {
                igmp.sendReport(ifp, group);
            } else {
                igmp.sendLeave(ifp, group);
            }
        }
    }

    /**
     * Drops every membership of a PCB that is being freed ({@code inp_freemoptions}). Call after
     * {@link InPcbInfo#free}; hold no lock.
     */
    public void purge(InPcb inp) {
        List<IpMoptions.Membership> left = new ArrayList<>();
        igmp.lock.lock();
        try {
            IpMoptions mo;
            inp.lock.lock();
            try {
                mo = inp.takeMoptions();
            } finally {
                inp.lock.unlock();
            }
            if (mo != null) {
                for (IpMoptions.Membership m : mo.memberships()) {
                    if (igmp.leaveLocked(m.ifp(), m.group())) {
                        left.add(m);
                    }
                }
            }
        } finally {
            igmp.lock.unlock();
        }
        for (IpMoptions.Membership m : left) {
            igmp.sendLeave(m.ifp(), m.group());
        }
    }

    /** The interface of a join: the one with address {@code ifaddr}, else the group's route, else the first multicast one. */
    private Ifnet groupIfp(InAddr group, InAddr ifaddr) throws ErrnoException {
        if (!ifaddr.isAny()) {
            return ifpOfAddr(ifaddr);
        }
        int et = Epoch.NET.enter();
        try {
            Nexthop nh = rtable.lookup(group);
            if (nh != null && (nh.ifp().flags() & IfFlags.MULTICAST) != 0) {
                return nh.ifp();
            }
            for (InIfaddr ia : addrs.all()) {
                int f = ia.ifp().flags();
                if ((f & IfFlags.MULTICAST) != 0 && (f & IfFlags.LOOPBACK) == 0) {
                    return ia.ifp();
                }
            }
            return null;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private Ifnet ifpOfAddr(InAddr a) throws ErrnoException {
        int et = Epoch.NET.enter();
        try {
            InIfaddr ia = addrs.local(a);
            if (ia == null) {
                throw new ErrnoException(Errno.EADDRNOTAVAIL, a + " is not an interface address");
            }
            return ia.ifp();
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private static int leInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    /**
     * The {@code IP_RECVIF} control data: a {@code struct sockaddr_dl} naming the interface (length,
     * AF_LINK, index little-endian, type, name length, no link address, the name).
     */
    public static byte[] sockaddrDl(IfnetList ifnets, int index) {
        Ifnet ifp = ifnets.byIndex(index);
        byte[] name = ifp == null ? new byte[0] : ifp.name().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] b = new byte[8 + name.length];
        b[0] = (byte) b.length;
        b[1] = (byte) org.smpnet.net.Sockaddr.AF_LINK;
        b[2] = (byte) index;
        b[3] = (byte) (index >>> 8);
        b[4] = (byte) (ifp == null ? 0 : ifp.type().value());
        b[5] = (byte) name.length;
        System.arraycopy(name, 0, b, 8, name.length);
        return b;
    }

    @com.google.errorprone.annotations.concurrent.GuardedBy("inp.lock")
    private static void checkLive(InPcb inp) throws ErrnoException {
        if (inp.isFreed()) {
            throw new ErrnoException(Errno.EINVAL, "socket is closing");
        }
    }
}
