package org.smpnet.netinet;

import org.smpnet.kern.Counter;
import org.smpnet.kern.Sysctl;

/**
 * IGMP statistics ({@code struct igmpstat}, {@code netstat -s -p igmp}) under
 * {@code net.inet.igmp.stats.<name>}. Per-CPU counters.
 */
public final class IgmpStats {
    public final Counter rcvTotal = new Counter();
    public final Counter rcvTooshort = new Counter();
    public final Counter rcvBadsum = new Counter();
    public final Counter rcvV1v2Queries = new Counter();
    public final Counter rcvBadqueries = new Counter();
    public final Counter rcvReports = new Counter();
    public final Counter rcvBadreports = new Counter();
    public final Counter rcvOurreports = new Counter();
    public final Counter rcvUnknown = new Counter();
    public final Counter rcvNora = new Counter();
    public final Counter sndReports = new Counter();
    public final Counter sndLeaves = new Counter();

    public IgmpStats(Sysctl tree) {
        String p = "net.inet.igmp.stats.";
        tree.addCounter(p + "rcv_total", "messages received", rcvTotal);
        tree.addCounter(p + "rcv_tooshort", "messages received with too few bytes", rcvTooshort);
        tree.addCounter(p + "rcv_badsum", "messages received with bad checksum", rcvBadsum);
        tree.addCounter(p + "rcv_v1v2_queries", "V1/V2 membership queries received", rcvV1v2Queries);
        tree.addCounter(p + "rcv_badqueries", "membership queries received with invalid field(s)", rcvBadqueries);
        tree.addCounter(p + "rcv_reports", "membership reports received", rcvReports);
        tree.addCounter(p + "rcv_badreports", "membership reports received with invalid field(s)", rcvBadreports);
        tree.addCounter(p + "rcv_ourreports", "membership reports received for groups to which we belong", rcvOurreports);
        tree.addCounter(p + "rcv_unknown", "messages of unknown type received", rcvUnknown);
        tree.addCounter(p + "rcv_nora", "messages received without Router Alert", rcvNora);
        tree.addCounter(p + "snd_reports", "membership reports sent", sndReports);
        tree.addCounter(p + "snd_leaves", "leave messages sent", sndLeaves);
    }
}
