package org.smpnet.net;

/** Routing-message constants of FreeBSD's {@code net/route.h} and {@code net/if.h}, with their values. */
public final class Rtm {
    private Rtm() {}

    /** {@code RTM_VERSION}: the layout of {@link RtMsg}. */
    public static final int RTM_VERSION = 5;

    public static final int RTM_ADD = 0x1;
    public static final int RTM_DELETE = 0x2;
    public static final int RTM_CHANGE = 0x3;
    public static final int RTM_GET = 0x4;
    public static final int RTM_LOSING = 0x5;
    public static final int RTM_REDIRECT = 0x6;
    public static final int RTM_MISS = 0x7;
    public static final int RTM_LOCK = 0x8;
    public static final int RTM_RESOLVE = 0xb;
    public static final int RTM_NEWADDR = 0xc;
    public static final int RTM_DELADDR = 0xd;
    public static final int RTM_IFINFO = 0xe;
    public static final int RTM_NEWMADDR = 0xf;
    public static final int RTM_DELMADDR = 0x10;
    public static final int RTM_IFANNOUNCE = 0x11;

    /** Sockaddr slots ({@code RTAX_*}) and their bits in {@code rtm_addrs} ({@code RTA_*}). */
    public static final int RTAX_DST = 0;
    public static final int RTAX_GATEWAY = 1;
    public static final int RTAX_NETMASK = 2;
    public static final int RTAX_GENMASK = 3;
    public static final int RTAX_IFP = 4;
    public static final int RTAX_IFA = 5;
    public static final int RTAX_AUTHOR = 6;
    public static final int RTAX_BRD = 7;
    public static final int RTAX_MAX = 8;

    public static final int RTA_DST = 1 << RTAX_DST;
    public static final int RTA_GATEWAY = 1 << RTAX_GATEWAY;
    public static final int RTA_NETMASK = 1 << RTAX_NETMASK;
    public static final int RTA_GENMASK = 1 << RTAX_GENMASK;
    public static final int RTA_IFP = 1 << RTAX_IFP;
    public static final int RTA_IFA = 1 << RTAX_IFA;
    public static final int RTA_AUTHOR = 1 << RTAX_AUTHOR;
    public static final int RTA_BRD = 1 << RTAX_BRD;

    /** Metric bits of {@code rtm_inits} ({@code RTV_*}). */
    public static final int RTV_MTU = 0x1;
    public static final int RTV_HOPCOUNT = 0x2;
    public static final int RTV_EXPIRE = 0x4;
    public static final int RTV_WEIGHT = 0x100;

    /** {@code ifan_what}. */
    public static final int IFAN_ARRIVAL = 0;
    public static final int IFAN_DEPARTURE = 1;

    /** The name of a message type ({@code "RTM_ADD"}), or its number. */
    public static String typeName(int type) {
        return switch (type) {
            case RTM_ADD -> "RTM_ADD";
            case RTM_DELETE -> "RTM_DELETE";
            case RTM_CHANGE -> "RTM_CHANGE";
            case RTM_GET -> "RTM_GET";
            case RTM_LOSING -> "RTM_LOSING";
            case RTM_REDIRECT -> "RTM_REDIRECT";
            case RTM_MISS -> "RTM_MISS";
            case RTM_LOCK -> "RTM_LOCK";
            case RTM_RESOLVE -> "RTM_RESOLVE";
            case RTM_NEWADDR -> "RTM_NEWADDR";
            case RTM_DELADDR -> "RTM_DELADDR";
            case RTM_IFINFO -> "RTM_IFINFO";
            case RTM_NEWMADDR -> "RTM_NEWMADDR";
            case RTM_DELMADDR -> "RTM_DELMADDR";
            case RTM_IFANNOUNCE -> "RTM_IFANNOUNCE";
            default -> "RTM_" + type;
        };
    }
}
