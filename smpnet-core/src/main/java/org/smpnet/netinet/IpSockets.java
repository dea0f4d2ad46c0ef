package org.smpnet.netinet;

import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.InAddr;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetList;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Rtable;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.Domains;

/**
 * The socket-facing half of a stack's IPv4 ({@code vnet.ipSockets()}): the PCB tables, UDP, raw IP,
 * IP socket options and IGMP membership, wired to the stack's {@link Inet} and registered in its
 * {@link Domains} so {@code socket(AF_INET, SOCK_DGRAM, 0)} and {@code SOCK_RAW} find them.
 *
 * <p>Locking: none of its own; see the parts. Built once per stack, before any socket exists.
 */
public final class IpSockets {
    private final InPcbPortRange ports;
    private final Igmp igmp;
    private final IpCtlOutput ctl;
    private final Udp udp;
    private final RawIp rawIp;

    public IpSockets(Inet inet, Rtable rtable, IfnetList ifnets, Domains domains, Sysctl tree) {
        this.ports = new InPcbPortRange(tree);
        InPcbAddrs addrs = new InPcbVnetAddrs(rtable);
        int ttl = Integer.parseInt(tree.get("net.inet.ip.ttl"));
        this.igmp = new Igmp(tree);
        this.ctl = new IpCtlOutput(rtable, ifnets, igmp);
        this.udp = new Udp(inet, new InPcbInfo("udbinfo", 512, addrs, ports, ttl), ctl, rtable.addrs(), ifnets, tree);
        this.rawIp = new RawIp(inet, new InPcbInfo("ripcbinfo", 16, addrs, ports, ttl), ctl, ifnets);
        igmp.setOutput((ifp, dst, m, ipopts) -> igmpOutput(inet, ifp, dst, m, ipopts));
        inet.protocols().register(Igmp.IPPROTO_IGMP, (m, hlen) -> igmpInput(m, hlen, ifnets), null);
        domains.register(Sockaddr.AF_INET, "internet", udp);
        domains.register(Sockaddr.AF_INET, "internet", rawIp);
    }

    /** IGMP messages leave on the group's interface with TTL 1 and are not looped back (RFC 2236). */
    private static void igmpOutput(Inet inet, Ifnet ifp, InAddr dst, Mbuf m, byte[] ipopts) {
        IpOutOpts o = IpOutOpts.DEFAULT.withMulticastIf(ifp).withMulticastTtl(1).withMulticastLoop(false);
        try {
            InAddr src = inet.ip().selectSource(dst, o, null);
            inet.ip().output(m, src, dst, Igmp.IPPROTO_IGMP, o, null, ipopts);
        } catch (ErrnoException e) {
            // an interface without an address or a full queue loses the report; the next query repeats it
        }
    }

    /** {@code igmp_input} then {@code rip_input}: raw sockets see IGMP too. */
    private void igmpInput(Mbuf m, int hlen, IfnetList ifnets) {
        rawIp.input(m, hlen);
        Ifnet ifp = ifnets.byIndex(m.rcvifIndex());
        if (ifp == null) {
            m.freem();
            return;
        }
        InAddr dst = InAddr.fromBytes(m.data(), m.dataOff() + 16);
        igmp.input(m, hlen, ifp, dst);
    }

    public InPcbPortRange ports() {
        return ports;
    }

    public Udp udp() {
        return udp;
    }

    public RawIp rawIp() {
        return rawIp;
    }

    public Igmp igmp() {
        return igmp;
    }

    public IpCtlOutput ctl() {
        return ctl;
    }
}
