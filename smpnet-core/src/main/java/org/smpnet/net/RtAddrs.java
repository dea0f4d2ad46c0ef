package org.smpnet.net;

import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

/**
 * The socket addresses a routing message carries, one per {@code RTAX_*} slot (null where absent); the bits
 * of {@link #mask()} are the message's {@code rtm_addrs}. Netmasks are held as addresses of the
 * destination's family ({@code 255.255.255.0}). Immutable.
 */
public record RtAddrs(Sockaddr dst, Sockaddr gateway, Sockaddr netmask, Sockaddr genmask, Sockaddr ifp,
                      Sockaddr ifa, Sockaddr author, Sockaddr brd) {
    public static final RtAddrs NONE = new RtAddrs(null, null, null, null, null, null, null, null);

    /** The address in slot {@code rtax} ({@link Rtm#RTAX_DST}...), or null. */
    public Sockaddr get(int rtax) {
        return switch (rtax) {
            case Rtm.RTAX_DST -> dst;
            case Rtm.RTAX_GATEWAY -> gateway;
            case Rtm.RTAX_NETMASK -> netmask;
            case Rtm.RTAX_GENMASK -> genmask;
            case Rtm.RTAX_IFP -> ifp;
            case Rtm.RTAX_IFA -> ifa;
            case Rtm.RTAX_AUTHOR -> author;
            case Rtm.RTAX_BRD -> brd;
            default -> throw new IllegalArgumentException("RTAX index " + rtax + " not in 0.." + (Rtm.RTAX_MAX - 1));
        };
    }

    /** A copy with slot {@code rtax} set to {@code sa} (null clears it). */
    public RtAddrs with(int rtax, Sockaddr sa) {
        Sockaddr[] a = toArray();
        a[rtax] = sa;
        return of(a);
    }

    /** The {@code RTA_*} bits of the slots present. */
    public int mask() {
        int m = 0;
        for (int i = 0; i < Rtm.RTAX_MAX; i++) {
            if (get(i) != null) {
                m |= 1 << i;
            }
        }
        return m;
    }

    Sockaddr[] toArray() {
        Sockaddr[] a = new Sockaddr[Rtm.RTAX_MAX];
        for (int i = 0; i < a.length; i++) {
            a[i] = get(i);
        }
        return a;
    }

    static RtAddrs of(Sockaddr[] a) {
        return new RtAddrs(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    }

    /** The destination prefix these addresses name: {@code dst} with {@code netmask}, or a host prefix. */
    public Prefix prefix() throws ErrnoException {
        int len;
        if (dst instanceof Sockaddr.In in) {
            len = netmask == null ? 32 : netmask instanceof Sockaddr.In m ? m.addr().prefixLength() : -1;
            if (len < 0) {
                throw new ErrnoException(Errno.EINVAL, "netmask " + netmask + " is not contiguous");
            }
            return Prefix.in(in.addr(), len);
        }
        if (dst instanceof Sockaddr.In6 in6) {
            len = netmask == null ? 128 : netmask instanceof Sockaddr.In6 m ? prefixLength(m.addr()) : -1;
            if (len < 0) {
                throw new ErrnoException(Errno.EINVAL, "netmask " + netmask + " is not contiguous");
            }
            return Prefix.in6(in6.addr(), len);
        }
        throw new ErrnoException(Errno.EINVAL,
                dst == null ? "no destination (RTA_DST)" : "destination " + dst + " is not IPv4 or IPv6");
    }

    private static int prefixLength(In6Addr m) {
        int n = m.hi() == -1L ? 64 + Long.numberOfLeadingZeros(~m.lo()) : Long.numberOfLeadingZeros(~m.hi());
        return m.hi() == Prefix.maskHi(n) && m.lo() == Prefix.maskLo(n) ? n : -1;
    }
}
