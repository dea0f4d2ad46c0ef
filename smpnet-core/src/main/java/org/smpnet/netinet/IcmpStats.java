package org.smpnet.netinet;

import org.smpnet.kern.Counter;

/**
 * ICMP statistics ({@code struct icmpstat}), exported as {@code net.inet.icmp.stats.*}; per-type
 * histograms as {@code outhist.TYPE} and {@code inhist.TYPE}. Per-CPU counters.
 */
public final class IcmpStats {
    /** Type names for the histograms, as netstat prints them. */
    static final String[] TYPE_NAMES = new String[Icmp.MAXTYPE + 1];

    static {
        TYPE_NAMES[Icmp.ECHOREPLY] = "echo reply";
        TYPE_NAMES[Icmp.UNREACH] = "destination unreachable";
        TYPE_NAMES[Icmp.SOURCEQUENCH] = "source quench";
        TYPE_NAMES[Icmp.REDIRECT] = "routing redirect";
        TYPE_NAMES[Icmp.ECHO] = "echo";
        TYPE_NAMES[Icmp.ROUTERADVERT] = "router advertisement";
        TYPE_NAMES[Icmp.ROUTERSOLICIT] = "router solicitation";
        TYPE_NAMES[Icmp.TIMXCEED] = "time exceeded";
        TYPE_NAMES[Icmp.PARAMPROB] = "parameter problem";
        TYPE_NAMES[Icmp.TSTAMP] = "time stamp";
        TYPE_NAMES[Icmp.TSTAMPREPLY] = "time stamp reply";
        TYPE_NAMES[Icmp.IREQ] = "information request";
        TYPE_NAMES[Icmp.IREQREPLY] = "information request reply";
        TYPE_NAMES[Icmp.MASKREQ] = "address mask request";
        TYPE_NAMES[Icmp.MASKREPLY] = "address mask reply";
    }

    final StatTable table = new StatTable("icmp");
    public final Counter error = table.add("error", "%d calls to icmp_error");
    public final Counter oldicmp = table.add("oldicmp", "%d errors not generated in response to an icmp message");
    public final Counter oldshort = table.add("oldshort", "%d errors not generated because old message was too short");
    public final Counter badcode = table.add("badcode", "%d messages with bad code fields");
    public final Counter tooshort = table.add("tooshort", "%d messages less than the minimum length");
    public final Counter checksum = table.add("checksum", "%d bad checksums");
    public final Counter badlen = table.add("badlen", "%d messages with bad length");
    public final Counter reflect = table.add("reflect", "%d message responses generated");
    public final Counter bmcastecho = table.add("bmcastecho", "%d multicast echo requests ignored");
    public final Counter bmcasttstamp = table.add("bmcasttstamp", "%d multicast timestamp requests ignored");
    public final Counter noroute = table.add("noroute", "%d responses dropped for lack of a route back");
    public final Counter ratelimited = table.add("ratelimited", "%d responses suppressed by rate limit (icmplim)");
    public final Counter badaddr = table.add("badaddr", "%d messages with bad source address");
    public final Counter unknowntype = table.add("unknowntype", "%d messages of an unassigned type (raw sockets only)");
    public final Counter noctl = table.add("noctl", "%d errors for protocols without a control input");
    final Counter[] outhist = new Counter[Icmp.MAXTYPE + 1];
    final Counter[] inhist = new Counter[Icmp.MAXTYPE + 1];

    IcmpStats() {
        for (int t = 0; t <= Icmp.MAXTYPE; t++) {
            outhist[t] = new Counter();
            inhist[t] = new Counter();
        }
    }

    public StatTable table() {
        return table;
    }

    public long outhist(int type) {
        return outhist[type].get();
    }

    public long inhist(int type) {
        return inhist[type].get();
    }

    /** {@code netstat -s -p icmp}: the counters, then the output and input histograms. */
    public String render(boolean skipZero) {
        StringBuilder b = new StringBuilder(table.render(skipZero));
        hist(b, "\tOutput histogram:\n", outhist, skipZero);
        hist(b, "\tInput histogram:\n", inhist, skipZero);
        return b.toString();
    }

    private static void hist(StringBuilder b, String head, Counter[] h, boolean skipZero) {
        boolean first = true;
        for (int t = 0; t <= Icmp.MAXTYPE; t++) {
            long v = h[t].get();
            if (TYPE_NAMES[t] == null || (v == 0 && skipZero)) {
                continue;
            }
            if (first) {
                b.append(head);
                first = false;
            }
            b.append("\t\t").append(TYPE_NAMES[t]).append(": ").append(v).append('\n');
        }
    }

    void register(org.smpnet.kern.Sysctl tree, String prefix) {
        table.register(tree, prefix);
        for (int t = 0; t <= Icmp.MAXTYPE; t++) {
            if (TYPE_NAMES[t] != null) {
                tree.addCounter(prefix + ".outhist." + t, "Output " + TYPE_NAMES[t], outhist[t]);
                tree.addCounter(prefix + ".inhist." + t, "Input " + TYPE_NAMES[t], inhist[t]);
            }
        }
    }
}
