package org.smpnet.netinet;

import org.smpnet.net.Ifnet;

/**
 * Per-datagram options of {@link Ip#output} (the socket's {@code IP_TTL}, {@code IP_TOS}, DF,
 * {@code IP_MULTICAST_IF/TTL/LOOP}, {@code SO_DONTROUTE}, {@code SO_BROADCAST}). Immutable.
 *
 * @param ttl unicast TTL 0..255, or -1 for {@code net.inet.ip.ttl}
 * @param tos type of service 0..255
 * @param df set Don't Fragment: a datagram larger than the path MTU fails with EMSGSIZE
 * @param multicastIfp interface for multicast output, or null to follow the route
 * @param multicastTtl TTL of multicast datagrams (default 1)
 * @param multicastLoop deliver a copy of multicast output to this host's members (default true)
 * @param dontRoute {@code SO_DONTROUTE}/{@code IP_ROUTETOIF}: send only to directly attached destinations
 * @param allowBroadcast {@code SO_BROADCAST}: without it a broadcast destination is EACCES
 */
public record IpOutOpts(int ttl, int tos, boolean df, Ifnet multicastIfp, int multicastTtl, boolean multicastLoop,
        boolean dontRoute, boolean allowBroadcast) {
    public static final IpOutOpts DEFAULT = new IpOutOpts(-1, 0, false, null, 1, true, false, false);

    public IpOutOpts {
        if (ttl < -1 || ttl > 255 || tos < 0 || tos > 255 || multicastTtl < 0 || multicastTtl > 255) {
            throw new IllegalArgumentException("IP output option out of range: ttl " + ttl + " tos " + tos
                    + " multicast ttl " + multicastTtl);
        }
    }

    public IpOutOpts withTtl(int v) {
        return new IpOutOpts(v, tos, df, multicastIfp, multicastTtl, multicastLoop, dontRoute, allowBroadcast);
    }

    public IpOutOpts withTos(int v) {
        return new IpOutOpts(ttl, v, df, multicastIfp, multicastTtl, multicastLoop, dontRoute, allowBroadcast);
    }

    public IpOutOpts withDf(boolean v) {
        return new IpOutOpts(ttl, tos, v, multicastIfp, multicastTtl, multicastLoop, dontRoute, allowBroadcast);
    }

    public IpOutOpts withMulticastIf(Ifnet v) {
        return new IpOutOpts(ttl, tos, df, v, multicastTtl, multicastLoop, dontRoute, allowBroadcast);
    }

    public IpOutOpts withMulticastTtl(int v) {
        return new IpOutOpts(ttl, tos, df, multicastIfp, v, multicastLoop, dontRoute, allowBroadcast);
    }

    public IpOutOpts withMulticastLoop(boolean v) {
        return new IpOutOpts(ttl, tos, df, multicastIfp, multicastTtl, v, dontRoute, allowBroadcast);
    }

    public IpOutOpts withDontRoute(boolean v) {
        return new IpOutOpts(ttl, tos, df, multicastIfp, multicastTtl, multicastLoop, v, allowBroadcast);
    }

    public IpOutOpts withAllowBroadcast(boolean v) {
        return new IpOutOpts(ttl, tos, df, multicastIfp, multicastTtl, multicastLoop, dontRoute, v);
    }
}
