package org.smpnet.netinet;

import org.smpnet.kern.Counter;

/** ARP statistics ({@code struct arpstat}), exported as {@code net.link.ether.arp.stats.*}. Per-CPU counters. */
public final class ArpStats {
    final StatTable table = new StatTable("arp");
    public final Counter txrequests = table.add("txrequests", "%d ARP requests sent");
    public final Counter txreplies = table.add("txreplies", "%d ARP replies sent");
    public final Counter rxrequests = table.add("rxrequests", "%d ARP requests received");
    public final Counter rxreplies = table.add("rxreplies", "%d ARP replies received");
    public final Counter received = table.add("received", "%d ARP packets received");
    public final Counter txgratuitous = table.add("txgratuitous", "%d gratuitous ARPs sent");
    public final Counter dupips = table.add("dupips", "%d conflicts: another host claims one of our addresses");
    public final Counter dropped = table.add("dropped", "%d total packets dropped due to no ARP entry");
    public final Counter timeouts = table.add("timeouts", "%d ARP entries timed out");
    public final Counter holdoverflow = table.add("holdoverflow", "%d packets dropped: hold queue full while resolving");
    public final Counter toosmall = table.add("toosmall", "%d ARP packets shorter than a header");
    public final Counter badhrd = table.add("badhrd", "%d ARP packets with an unsupported hardware type");
    public final Counter badpro = table.add("badpro", "%d ARP packets with an unsupported protocol or lengths");
    public final Counter badop = table.add("badop", "%d ARP packets with an unknown opcode");
    public final Counter badaddr = table.add("badaddr", "%d ARP packets with a bogus source address");
    public final Counter notforus = table.add("notforus", "%d ARP requests not for our addresses");
    public final Counter unsolicited = table.add("unsolicited", "%d unsolicited replies ignored");
    public final Counter nomem = table.add("nomem", "%d ARP packets not sent for lack of mbufs");

    public StatTable table() {
        return table;
    }
}
