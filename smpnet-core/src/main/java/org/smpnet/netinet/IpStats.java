package org.smpnet.netinet;

import org.smpnet.kern.Counter;

/** IP statistics ({@code struct ipstat}), exported as {@code net.inet.ip.stats.*}. Per-CPU counters. */
public final class IpStats {
    final StatTable table = new StatTable("ip");
    public final Counter total = table.add("total", "%d total packets received");
    public final Counter badsum = table.add("badsum", "%d bad header checksums");
    public final Counter toosmall = table.add("toosmall", "%d with size smaller than minimum");
    public final Counter tooshort = table.add("tooshort", "%d with data size < data length");
    public final Counter toolong = table.add("toolong", "%d with ip length > max ip packet size");
    public final Counter badhlen = table.add("badhlen", "%d with header length < data size");
    public final Counter badlen = table.add("badlen", "%d with data length < header length");
    public final Counter badoptions = table.add("badoptions", "%d with bad options");
    public final Counter badvers = table.add("badvers", "%d with incorrect version number");
    public final Counter fragments = table.add("fragments", "%d fragments received");
    public final Counter fragdropped = table.add("fragdropped", "%d fragments dropped (dup or out of space)");
    public final Counter fragtimeout = table.add("fragtimeout", "%d fragments dropped after timeout");
    public final Counter reassembled = table.add("reassembled", "%d packets reassembled ok");
    public final Counter delivered = table.add("delivered", "%d packets for this host");
    public final Counter noproto = table.add("noproto", "%d packets for unknown/unsupported protocol");
    public final Counter forward = table.add("forward", "%d packets forwarded");
    public final Counter cantforward = table.add("cantforward", "%d packets not forwardable");
    public final Counter notmember = table.add("notmember", "%d packets received for unknown multicast group");
    public final Counter redirectsent = table.add("redirectsent", "%d redirects sent");
    public final Counter localout = table.add("localout", "%d packets sent from this host");
    public final Counter rawout = table.add("rawout", "%d packets sent with fabricated ip header");
    public final Counter odropped = table.add("odropped", "%d output packets dropped due to no bufs, etc.");
    public final Counter noroute = table.add("noroute", "%d output packets discarded due to no route");
    public final Counter fragmented = table.add("fragmented", "%d output datagrams fragmented");
    public final Counter ofragments = table.add("ofragments", "%d fragments created");
    public final Counter cantfrag = table.add("cantfrag", "%d datagrams that can't be fragmented");
    public final Counter badaddr = table.add("badaddr", "%d datagrams with bad address in header");
    public final Counter notforus = table.add("notforus", "%d packets not for this host dropped (forwarding off)");
    public final Counter rawfull = table.add("rawfull", "%d copies for raw sockets dropped (buffer full or no mbufs)");

    public StatTable table() {
        return table;
    }
}
