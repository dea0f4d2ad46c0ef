package org.smpnet.netinet;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.DeferredInput;
import org.smpnet.net.InAddr;
import org.smpnet.net.IfnetList;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Cmsg;
import org.smpnet.socket.Protosw;
import org.smpnet.socket.Socket;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Sockopt;

/**
 * Raw IP sockets ({@code raw_ip.c}): {@code SOCK_RAW} of {@code AF_INET} for any protocol number. Input
 * receives a copy of every datagram of the socket's protocol (0: all) that IP hands to raw IP (protocols
 * without a handler, ICMP, IGMP), IP header included; output builds the IP header unless
 * {@code IP_HDRINCL} is set ({@code IPPROTO_RAW} sockets always have it).
 *
 * <p>Locking: PCBs live in {@link #info} ("ripcbinfo", class "pcbinfo"); input walks the lock-free PCB
 * snapshot in the net epoch and locks each PCB (then its receive buffer) to match and deliver.
 */
public final class RawIp implements Protosw {
    public static final int SENDSPACE = 9216;
    public static final int RECVSPACE = 9216;

    private final Inet inet;
    private final InPcbInfo info;
    private final IpCtlOutput ctl;
    private final IfnetList ifnets;

    /** Raw IP for a stack; installs itself as the raw input of {@code inet}'s protocol switch. */
    public RawIp(Inet inet, InPcbInfo info, IpCtlOutput ctl, IfnetList ifnets) {
        this.inet = Objects.requireNonNull(inet, "inet");
        this.info = Objects.requireNonNull(info, "info");
        this.ctl = Objects.requireNonNull(ctl, "ctl");
        this.ifnets = ifnets;
        inet.protocols().setRawInput(this::input);
    }

    public InPcbInfo info() {
        return info;
    }

    @Override
    public int type() {
        return SocketConst.SOCK_RAW;
    }

    /** 0: the wildcard raw protocol, so {@code socket(AF_INET, SOCK_RAW, p)} finds this for any p. */
    @Override
    public int protocol() {
        return 0;
    }

    @Override
    public int flags() {
        return SocketConst.PR_ATOMIC | SocketConst.PR_ADDR;
    }

    @Override
    public String name() {
        return "raw ip";
    }

    @Override
    public void pru_attach(Socket so, int proto) throws ErrnoException {
        if (proto < 0 || proto > IpProtocols.IPPROTO_RAW) {
            throw new ErrnoException(Errno.EPROTONOSUPPORT, "IP protocol " + proto);
        }
        if (so.pcb() != null) {
            throw new ErrnoException(Errno.EISCONN, "socket already has a PCB");
        }
        so.soreserve(SENDSPACE, RECVSPACE);
        InPcb inp = info.alloc(so, proto);
        if (proto == IpProtocols.IPPROTO_RAW) {
            inp.lock.lock();
            try {
                inp.setFlag(InPcb.INP_HDRINCL, true);
            } finally {
                inp.lock.unlock();
            }
        }
        so.setPcb(inp);
    }

    @Override
    public void pru_detach(Socket so) {
        if (so.pcb() instanceof InPcb inp) {
            info.free(inp);
            ctl.purge(inp);
        }
    }

    @Override
    public void pru_bind(Socket so, Sockaddr nam) throws ErrnoException {
        info.setRawAddrs(pcb(so), Udp.inet4(nam).addr(), null);
    }

    @Override
    public void pru_connect(Socket so, Sockaddr nam) throws ErrnoException {
        InAddr f = Udp.inet4(nam).addr();
        if (f.isAny()) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, "connect to INADDR_ANY");
        }
        info.setRawAddrs(pcb(so), null, f);
        so.soisconnected();
    }

    @Override
    public void pru_disconnect(Socket so) throws ErrnoException {
        InPcb inp = pcb(so);
        inp.lock.lock();
        try {
            if (!inp.isConnected()) {
                throw new ErrnoException(Errno.ENOTCONN, "not connected");
            }
        } finally {
            inp.lock.unlock();
        }
        info.setRawAddrs(inp, null, InAddr.ANY);
    }

    @Override
    public Sockaddr pru_sockaddr(Socket so) throws ErrnoException {
        return pcb(so).sockaddr();
    }

    @Override
    public Sockaddr pru_peeraddr(Socket so) throws ErrnoException {
        return pcb(so).peeraddr();
    }

    @Override
    public void pru_ctloutput(Socket so, Sockopt sopt) throws ErrnoException {
        InPcb inp = pcb(so);
        if (sopt.level() == SocketConst.SOL_SOCKET) {
            Udp.mirrorSoOption(inp, sopt);
            return;
        }
        if (sopt.level() != IpCtlOutput.IPPROTO_IP) {
            throw new ErrnoException(Errno.ENOPROTOOPT, "raw ip has no level " + sopt.level());
        }
        ctl.ctloutput(inp, sopt, true);
    }

    /** {@code rip_output}. Consumes {@code m} and {@code control}. */
    @Override
    public void pru_send(Socket so, int flags, Mbuf m, Sockaddr addr, List<Cmsg> control) throws ErrnoException {
        try {
            if (control != null && !control.isEmpty()) {
                throw new ErrnoException(Errno.EINVAL, "raw ip takes no control messages on send");
            }
            InPcb inp = pcb(so);
            InAddr dst;
            InAddr src;
            IpOutOpts opts;
            boolean hdrincl;
            int proto;
            inp.lock.lock();
            try {
                if (inp.isFreed()) {
                    throw new ErrnoException(Errno.EINVAL, "socket is closing");
                }
                if (addr != null && inp.isConnected()) {
                    throw new ErrnoException(Errno.EISCONN, "sendto on a connected raw socket");
                }
                if (addr == null && !inp.isConnected()) {
                    throw new ErrnoException(Errno.ENOTCONN, "send without address on an unconnected raw socket");
                }
                dst = addr == null ? inp.faddr() : Udp.inet4(addr).addr();
                src = inp.laddr();
                opts = inp.outOpts();
                hdrincl = inp.flag(InPcb.INP_HDRINCL);
                proto = inp.protocol();
            } finally {
                inp.lock.unlock();
            }
            Mbuf out = m;
            m = null; // IP consumes it, also when it fails
            if (hdrincl) {
                inet.ip().outputHdrincl(out, opts, null);
            } else {
                inet.ip().output(out, src, dst, proto, opts, null);
            }
        } finally {
            Cmsg.disposeAll(control);
            if (m != null) {
                m.freem();
            }
        }
    }

    private static InPcb pcb(Socket so) throws ErrnoException {
        if (!(so.pcb() instanceof InPcb inp)) {
            throw new ErrnoException(Errno.EINVAL, "socket has no inet PCB");
        }
        return inp;
    }

    /**
     * {@code rip_input}: {@link IpProtocols.RawInput}. Borrows {@code m}; each matching socket gets a
     * copy of the whole datagram with its source address. Hold no lock.
     *
     * @return whether any socket matched (a full one drops its copy, counted in {@code rawfull})
     */
    boolean input(Mbuf m, int hlen) {
        byte[] b = m.data();
        int o = m.dataOff();
        int proto = b[o + 9] & 0xff;
        InAddr src = InAddr.fromBytes(b, o + 12);
        InAddr dst = InAddr.fromBytes(b, o + 16);
        boolean any = false;
        for (InPcb inp : info.pcbs()) {
            if (inp.protocol() != 0 && inp.protocol() != proto) {
                continue;
            }
            inp.lock.lock();
            try {
                if (inp.isFreed() || (!inp.laddr().isAny() && !inp.laddr().equals(dst))
                        || (!inp.faddr().isAny() && !inp.faddr().equals(src))) {
                    continue;
                }
                deliver(inp, m, src, dst);
                any = true;
            } finally {
                inp.lock.unlock();
            }
        }
        return any;
    }

    /** Appends a copy of {@code m} to {@code inp}'s socket, or counts its drop. */
    @SuppressWarnings("GuardedBy") // caller holds inp.lock; the buffer's mtx is taken here
    private void deliver(InPcb inp, Mbuf m, InAddr src, InAddr dst) {
        Mbuf c = m.copym(0, Mbuf.M_COPYALL, Mbuf.M_NOWAIT);
        if (c == null) {
            inet.ip().stats().rawfull.inc();
            return;
        }
        List<Cmsg> control = null;
        if (inp.flag(InPcb.INP_RECVDSTADDR) || inp.flag(InPcb.INP_RECVIF)) {
            control = new ArrayList<>(2);
            if (inp.flag(InPcb.INP_RECVDSTADDR)) {
                byte[] a = new byte[4];
                dst.toBytes(a, 0);
                control.add(new Cmsg.Data(IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_RECVDSTADDR, a));
            }
            if (inp.flag(InPcb.INP_RECVIF)) {
                control.add(new Cmsg.Data(IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_RECVIF,
                        IpCtlOutput.sockaddrDl(ifnets, m.rcvifIndex())));
            }
        }
        Socket so = (Socket) inp.owner();
        var sb = so.rcv();
        sb.mtx().lock();
        try {
            if (sb.sbappendaddr(new Sockaddr.In(src, 0), c, control)) {
                so.sorwakeupLocked();
                return;
            }
        } finally {
            sb.mtx().unlock();
        }
        inet.ip().stats().rawfull.inc();
        DeferredInput.receiverFull(); // a sender running this input outran the reader: it backs off
        c.freem();
    }
}
