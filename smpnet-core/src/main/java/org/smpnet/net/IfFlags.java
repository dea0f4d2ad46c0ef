package org.smpnet.net;

import java.util.ArrayList;
import java.util.List;

/** Interface flags ({@code IFF_*} of FreeBSD's {@code net/if.h}); values are smpnet's own. */
public final class IfFlags {
    private IfFlags() {}

    public static final int UP = 0x1;
    public static final int BROADCAST = 0x2;
    public static final int LOOPBACK = 0x8;
    public static final int POINTOPOINT = 0x10;
    /** Resources allocated: the driver is running. */
    public static final int RUNNING = 0x40;
    public static final int NOARP = 0x80;
    public static final int PROMISC = 0x100;
    public static final int ALLMULTI = 0x200;
    public static final int SIMPLEX = 0x800;
    public static final int MULTICAST = 0x8000;
    /** The driver is not MPSAFE: its entry points run under Giant (IFF_NEEDSGIANT). */
    public static final int NEEDSGIANT = 0x40000;

    private static final int[] BITS = {UP, BROADCAST, LOOPBACK, POINTOPOINT, RUNNING, NOARP, PROMISC, ALLMULTI,
            SIMPLEX, MULTICAST, NEEDSGIANT};
    private static final String[] NAMES = {"UP", "BROADCAST", "LOOPBACK", "POINTOPOINT", "RUNNING", "NOARP",
            "PROMISC", "ALLMULTI", "SIMPLEX", "MULTICAST", "NEEDSGIANT"};

    /** {@code flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>} as ifconfig prints it. */
    public static String describe(int flags) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < BITS.length; i++) {
            if ((flags & BITS[i]) != 0) {
                names.add(NAMES[i]);
            }
        }
        return "flags=" + Integer.toHexString(flags) + "<" + String.join(",", names) + ">";
    }
}
