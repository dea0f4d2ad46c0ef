package org.smpnet.net;

/**
 * A route destination: an address prefix of one family ({@code AF_INET} or {@code AF_INET6}) and a prefix length,
 * held as a left-aligned 128-bit key ({@code hi} holds the first eight bytes, IPv4 uses the top 32 bits of
 * {@code hi}). Bits past the prefix length are always zero. Immutable; compares by value.
 */
public record Prefix(int family, long hi, long lo, int len) implements Comparable<Prefix> {
    public Prefix {
        if (family != Sockaddr.AF_INET && family != Sockaddr.AF_INET6) {
            throw new IllegalArgumentException("address family " + family + " has no prefixes (AF_INET or AF_INET6 only)");
        }
        int max = maxLen(family);
        if (len < 0 || len > max) {
            throw new IllegalArgumentException("prefix length " + len + " not in 0.." + max);
        }
        hi &= maskHi(len);
        lo &= maskLo(len);
        if (family == Sockaddr.AF_INET && lo != 0) {
            throw new IllegalArgumentException("IPv4 prefix with bits past 32");
        }
    }

    /** The IPv4 prefix {@code addr/len}; host bits of {@code addr} are cleared. */
    public static Prefix in(InAddr addr, int len) {
        return new Prefix(Sockaddr.AF_INET, (addr.bits() & 0xffffffffL) << 32, 0, len);
    }

    /** The IPv4 host prefix {@code addr/32}. */
    public static Prefix host(InAddr addr) {
        return in(addr, 32);
    }

    /** The IPv6 prefix {@code addr/len}; host bits of {@code addr} are cleared. */
    public static Prefix in6(In6Addr addr, int len) {
        return new Prefix(Sockaddr.AF_INET6, addr.hi(), addr.lo(), len);
    }

    /** The IPv6 host prefix {@code addr/128}. */
    public static Prefix host(In6Addr addr) {
        return in6(addr, 128);
    }

    /** The default route of a family ({@code 0.0.0.0/0} or {@code ::/0}). */
    public static Prefix defaultRoute(int family) {
        return new Prefix(family, 0, 0, 0);
    }

    /**
     * Parses {@code "10.0.0.0/8"}, {@code "10.0.0.1"} (a host), {@code "default"} (IPv4), {@code "fe80::/10"}
     * or {@code "::1"}.
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Prefix parse(String s) {
        if (s.equals("default")) {
            return defaultRoute(Sockaddr.AF_INET);
        }
        int slash = s.indexOf('/');
        String a = slash < 0 ? s : s.substring(0, slash);
        boolean v6 = a.indexOf(':') >= 0;
        int len;
        if (slash < 0) {
            len = v6 ? 128 : 32;
        } else {
            String l = s.substring(slash + 1);
            if (l.isEmpty() || l.length() > 3 || !l.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("bad prefix length in '" + s + "'");
            }
            len = Integer.parseInt(l);
        }
        return v6 ? in6(In6Addr.parse(a), len) : in(InAddr.parse(a), len);
    }

    /** 32 for IPv4, 128 for IPv6. */
    public static int maxLen(int family) {
        return family == Sockaddr.AF_INET6 ? 128 : 32;
    }

    /** The mask of the first {@code len} bits (0..128) within the high word. */
    static long maskHi(int len) {
        return len <= 0 ? 0 : len >= 64 ? -1L : -1L << (64 - len);
    }

    /** The mask of the first {@code len} bits (0..128) within the low word. */
    static long maskLo(int len) {
        return len <= 64 ? 0 : len >= 128 ? -1L : -1L << (128 - len);
    }

    /** Whether this is a host prefix (/32 or /128). */
    public boolean isHost() {
        return len == maxLen(family);
    }

    /** The network address as an IPv4 address. @throws IllegalStateException for IPv6 */
    public InAddr inAddr() {
        if (family != Sockaddr.AF_INET) {
            throw new IllegalStateException("not an IPv4 prefix: " + this);
        }
        return new InAddr((int) (hi >>> 32));
    }

    /** The network address as an IPv6 address. @throws IllegalStateException for IPv4 */
    public In6Addr in6Addr() {
        if (family != Sockaddr.AF_INET6) {
            throw new IllegalStateException("not an IPv6 prefix: " + this);
        }
        return new In6Addr(hi, lo);
    }

    /** The netmask as an IPv4 address ({@code /24} is 255.255.255.0). */
    public InAddr netmask() {
        return InAddr.netmask(Math.min(len, 32));
    }

    /** The network address as a socket address (port 0). */
    public Sockaddr sockaddr() {
        return family == Sockaddr.AF_INET ? new Sockaddr.In(inAddr(), 0) : new Sockaddr.In6(in6Addr(), 0, 0, 0);
    }

    /** The netmask as a socket address of the same family. */
    public Sockaddr netmaskSockaddr() {
        return family == Sockaddr.AF_INET ? new Sockaddr.In(netmask(), 0)
                : new Sockaddr.In6(new In6Addr(maskHi(len), maskLo(len)), 0, 0, 0);
    }

    /** Whether {@code addr} lies inside this prefix. */
    public boolean contains(InAddr addr) {
        return family == Sockaddr.AF_INET && ((((addr.bits() & 0xffffffffL) << 32) ^ hi) & maskHi(len)) == 0;
    }

    /** Whether {@code addr} lies inside this prefix. */
    public boolean contains(In6Addr addr) {
        return family == Sockaddr.AF_INET6 && ((addr.hi() ^ hi) & maskHi(len)) == 0 && ((addr.lo() ^ lo) & maskLo(len)) == 0;
    }

    @Override
    public int compareTo(Prefix o) {
        int c = Integer.compare(family, o.family);
        if (c == 0) {
            c = Long.compareUnsigned(hi, o.hi);
        }
        if (c == 0) {
            c = Long.compareUnsigned(lo, o.lo);
        }
        return c != 0 ? c : Integer.compare(len, o.len);
    }

    /** {@code 10.0.0.0/8}, {@code 10.0.0.1} for a host, {@code default} for /0, IPv6 likewise. */
    @Override
    public String toString() {
        if (len == 0) {
            return "default";
        }
        String a = family == Sockaddr.AF_INET ? inAddr().toString() : in6Addr().toString();
        return isHost() ? a : a + "/" + len;
    }
}
