package org.smpnet.net;

import java.util.ArrayList;
import java.util.List;
import org.smpnet.kern.Counter;

/**
 * A route ({@code struct rtentry}): destination prefix, gateway, outgoing interface, source address, flags and
 * MTU, with its precomputed {@link Nexthop}.
 *
 * <p>Immutable once published, so a reader in the net epoch never sees a half-built entry: a change
 * ({@link Rtable#change}) publishes a new entry in the old one's place, sharing the use counter. After an
 * entry is unlinked or replaced, {@link #freed()} turns true only once the net epoch has drained, so a reader
 * that found it in an epoch section never sees it freed. The use counter is a per-CPU {@link Counter}.
 */
public final class Rtentry {
    /** Route flags ({@code RTF_*}), FreeBSD's values. */
    public static final int RTF_UP = 0x1;
    public static final int RTF_GATEWAY = 0x2;
    public static final int RTF_HOST = 0x4;
    public static final int RTF_REJECT = 0x8;
    public static final int RTF_DYNAMIC = 0x10;
    public static final int RTF_MODIFIED = 0x20;
    public static final int RTF_DONE = 0x40;
    public static final int RTF_LLINFO = 0x400;
    public static final int RTF_STATIC = 0x800;
    public static final int RTF_BLACKHOLE = 0x1000;
    public static final int RTF_PROTO2 = 0x4000;
    public static final int RTF_PROTO1 = 0x8000;
    public static final int RTF_PINNED = 0x100000;
    public static final int RTF_LOCAL = 0x200000;
    public static final int RTF_BROADCAST = 0x400000;
    public static final int RTF_MULTICAST = 0x800000;

    /** Flags a caller may set on a route; the rest are the kernel's. */
    static final int RTF_USER = RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_REJECT | RTF_DYNAMIC | RTF_MODIFIED | RTF_LLINFO
            | RTF_STATIC | RTF_BLACKHOLE | RTF_PROTO1 | RTF_PROTO2 | RTF_PINNED | RTF_LOCAL | RTF_BROADCAST;

    private final Prefix dst;
    private final Sockaddr gateway;
    private final Ifnet ifp;
    private final Ifaddr ifa;
    private final int flags;
    private final int mtu;
    private final long expire;
    private final Counter use;
    private final Nexthop nh;
    private volatile boolean freed;

    Rtentry(Prefix dst, Sockaddr gateway, Ifnet ifp, Ifaddr ifa, int flags, int mtu, long expire, Counter use) {
        this.dst = dst;
        this.gateway = gateway;
        this.ifp = ifp;
        this.ifa = ifa;
        this.flags = flags | RTF_UP | (dst.isHost() ? RTF_HOST : 0);
        this.mtu = mtu;
        this.expire = expire;
        this.use = use != null ? use : new Counter();
        this.nh = new Nexthop(this);
    }

    /** The destination ({@code rt_key}/{@code rt_mask}). */
    public Prefix dst() {
        return dst;
    }

    /**
     * The gateway: an IPv4/IPv6 socket address for {@link #RTF_GATEWAY} routes, else the link-layer address
     * ({@code link#N}) of the interface the destination is directly on.
     */
    public Sockaddr gateway() {
        return gateway;
    }

    /** The outgoing interface ({@code rt_ifp}; {@code lo0} for local addresses and reject/blackhole routes). */
    public Ifnet ifp() {
        return ifp;
    }

    /** The interface address used as source ({@code rt_ifa}); may be null for reject/blackhole routes. */
    public Ifaddr ifa() {
        return ifa;
    }

    public int flags() {
        return flags;
    }

    /** The route MTU ({@code rmx_mtu}), 0 when the interface's MTU applies. */
    public int mtu() {
        return mtu;
    }

    /** Expiry time in seconds of the stack clock, 0 for never ({@code rmx_expire}). */
    public long expire() {
        return expire;
    }

    /** Packets sent with this route ({@code rmx_pksent}). */
    public long use() {
        return use.get();
    }

    Counter useCounter() {
        return use;
    }

    /** The lookup result for this route. */
    public Nexthop nexthop() {
        return nh;
    }

    /** True once unlinked and past a net-epoch grace period; see the class comment. */
    public boolean freed() {
        return freed;
    }

    void markFreed() {
        freed = true;
    }

    /** {@code UGHS...} as {@code netstat -r} prints the flags. */
    public static String flagString(int flags) {
        StringBuilder sb = new StringBuilder();
        int[] bits = {RTF_UP, RTF_GATEWAY, RTF_HOST, RTF_REJECT, RTF_DYNAMIC, RTF_MODIFIED, RTF_STATIC,
                RTF_BLACKHOLE, RTF_PROTO1, RTF_PROTO2, RTF_LLINFO, RTF_BROADCAST};
        char[] letters = {'U', 'G', 'H', 'R', 'D', 'M', 'S', 'B', '1', '2', 'L', 'b'};
        for (int i = 0; i < bits.length; i++) {
            if ((flags & bits[i]) != 0) {
                sb.append(letters[i]);
            }
        }
        return sb.toString();
    }

    /** The flag names, for messages. */
    public static List<String> flagNames(int flags) {
        List<String> out = new ArrayList<>();
        String[] names = {"UP", "GATEWAY", "HOST", "REJECT", "DYNAMIC", "MODIFIED", "DONE", "LLINFO", "STATIC",
                "BLACKHOLE", "PROTO2", "PROTO1", "PINNED", "LOCAL", "BROADCAST"};
        int[] bits = {RTF_UP, RTF_GATEWAY, RTF_HOST, RTF_REJECT, RTF_DYNAMIC, RTF_MODIFIED, RTF_DONE, RTF_LLINFO,
                RTF_STATIC, RTF_BLACKHOLE, RTF_PROTO2, RTF_PROTO1, RTF_PINNED, RTF_LOCAL, RTF_BROADCAST};
        for (int i = 0; i < bits.length; i++) {
            if ((flags & bits[i]) != 0) {
                out.add(names[i]);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return dst + " " + gateway + " " + flagString(flags) + " " + ifp.name() + (mtu != 0 ? " mtu " + mtu : "");
    }
}
