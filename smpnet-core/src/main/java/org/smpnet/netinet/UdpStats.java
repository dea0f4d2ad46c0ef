package org.smpnet.netinet;

import org.smpnet.kern.Counter;
import org.smpnet.kern.Sysctl;

/**
 * UDP statistics of one stack ({@code struct udpstat}), every counter {@code netstat -s -p udp} prints,
 * under {@code net.inet.udp.stats.<name>}. Per-CPU counters: no lock, summed on read.
 */
public final class UdpStats {
    /** Datagrams received (every one handed to UDP input). */
    public final Counter ipackets = new Counter();
    /** With an incomplete header. */
    public final Counter hdrops = new Counter();
    /** With a bad data length field. */
    public final Counter badlen = new Counter();
    /** With a bad checksum. */
    public final Counter badsum = new Counter();
    /** With no checksum. */
    public final Counter nosum = new Counter();
    /** Dropped: no socket for a unicast datagram. */
    public final Counter noport = new Counter();
    /** Broadcast datagrams no socket wanted. */
    public final Counter noportbcast = new Counter();
    /** Multicast datagrams no socket wanted. */
    public final Counter noportmcast = new Counter();
    /** Dropped: the socket buffer was full. */
    public final Counter fullsock = new Counter();
    /** Multicast datagrams dropped because the socket has not joined the group on that interface. */
    public final Counter filtermcast = new Counter();
    /** Datagrams sent. */
    public final Counter opackets = new Counter();
    /** Deliveries to sockets (one datagram delivered to three sockets counts three). */
    public final Counter delivered = new Counter();

    /** Registers every counter under {@code net.inet.udp.stats.} of {@code tree}. */
    public UdpStats(Sysctl tree) {
        String p = "net.inet.udp.stats.";
        tree.addCounter(p + "ipackets", "datagrams received", ipackets);
        tree.addCounter(p + "hdrops", "with incomplete header", hdrops);
        tree.addCounter(p + "badlen", "with bad data length field", badlen);
        tree.addCounter(p + "badsum", "with bad checksum", badsum);
        tree.addCounter(p + "nosum", "with no checksum", nosum);
        tree.addCounter(p + "noport", "dropped due to no socket", noport);
        tree.addCounter(p + "noportbcast", "broadcast datagrams undelivered", noportbcast);
        tree.addCounter(p + "noportmcast", "multicast datagrams undelivered", noportmcast);
        tree.addCounter(p + "fullsock", "dropped due to full socket buffers", fullsock);
        tree.addCounter(p + "filtermcast", "multicast datagrams dropped by membership filter", filtermcast);
        tree.addCounter(p + "opackets", "datagrams output", opackets);
        tree.addCounter(p + "delivered", "deliveries to sockets", delivered);
    }
}
