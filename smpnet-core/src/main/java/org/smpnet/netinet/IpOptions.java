package org.smpnet.netinet;

import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.Mbuf;

/**
 * IPv4 header options ({@code ip_options.c}). Input checks every option's framing; malformed ones
 * get an ICMP parameter problem pointing at the bad byte and count as {@code ips_badoptions}.
 * Record route (RFC 791) is honoured when forwarding: the outgoing interface's address is written
 * into the next free slot. Timestamps are checked and passed on unchanged (allowed by RFC 791 when a
 * router cannot add a stamp, it bumps the overflow count: we do that). Source routes are refused
 * ({@code net.inet.ip.sourceroute=0} in FreeBSD): a source-routed datagram not at the end of its route
 * is dropped (and answered with source-route-failed when forwarding is on). Router Alert (RFC 2113)
 * is emitted on IGMP output ({@link #routerAlert}) and recognised on input ({@link #hasRouterAlert}).
 *
 * <p>Locking: stateless.
 */
final class IpOptions {
    static final int IPOPT_EOL = 0;
    static final int IPOPT_NOP = 1;
    static final int IPOPT_RR = 7;
    static final int IPOPT_TS = 68;
    static final int IPOPT_LSRR = 131;
    static final int IPOPT_SSRR = 137;
    /** Router Alert (RFC 2113): copied into fragments, class 0, number 20. */
    static final int IPOPT_RA = 148;
    /** Length of the Router Alert option: type, length and a 16-bit value. */
    static final int IPOPT_RA_LEN = 4;
    /** Option types with this bit are copied into every fragment. */
    static final int IPOPT_COPIED = 0x80;

    private final Inet inet;

    IpOptions(Inet inet) {
        this.inet = inet;
    }

    /**
     * {@code ip_dooptions} for a datagram at input: true to go on with it; false when it was
     * consumed (answered with an error and/or dropped, counted). The header is contiguous.
     */
    boolean process(Mbuf m, Ifnet ifp) {
        Ipv4View v = new Ipv4View(m.data(), m.dataOff());
        byte[] b = m.data();
        int base = m.dataOff();
        int hlen = v.hlen();
        int bad = -1;
        boolean srcRoute = false;
        for (int at = Ipv4View.MIN_HEADER_LEN; at < hlen; ) {
            int opt = b[base + at] & 0xff;
            if (opt == IPOPT_EOL) {
                break;
            }
            if (opt == IPOPT_NOP) {
                at++;
                continue;
            }
            if (at + 1 >= hlen) {
                bad = at;
                break;
            }
            int optlen = b[base + at + 1] & 0xff;
            if (optlen < 2 || at + optlen > hlen) {
                bad = at + 1;
                break;
            }
            switch (opt) {
                case IPOPT_RR -> {
                    if (optlen < 3 || (b[base + at + 2] & 0xff) < 4) {
                        bad = at + 2;
                    }
                }
                case IPOPT_TS -> bad = checkTimestamp(b, base + at, optlen, at);
                case IPOPT_LSRR, IPOPT_SSRR -> {
                    if (optlen < 3 || (b[base + at + 2] & 0xff) < 4) {
                        bad = at + 2;
                    } else if ((b[base + at + 2] & 0xff) <= optlen) {
                        srcRoute = true; // route not exhausted: we would have to forward along it
                    }
                }
                default -> { } // unknown options are passed on
            }
            if (bad >= 0) {
                break;
            }
            at += optlen;
        }
        if (bad >= 0) {
            inet.ip().stats.badoptions.inc();
            inet.icmp().error(m, Icmp.PARAMPROB, Icmp.PARAMPROB_ERRATPTR, bad);
            return false;
        }
        if (srcRoute) {
            inet.ip().stats.cantforward.inc();
            if (inet.ip().forwarding.get()) {
                inet.icmp().error(m, Icmp.UNREACH, Icmp.UNREACH_SRCFAIL, 0);
            } else {
                m.freem();
            }
            return false;
        }
        return true;
    }

    /** Framing check of a timestamp option at {@code b[o]}; returns the bad byte's header offset or -1. */
    private static int checkTimestamp(byte[] b, int o, int optlen, int at) {
        if (optlen < 4) {
            return at + 1;
        }
        int ptr = b[o + 2] & 0xff;
        int flag = b[o + 3] & 0x0f;
        if (ptr < 5) {
            return at + 2;
        }
        if (flag != 0 && flag != 1 && flag != 3) {
            return at + 3;
        }
        return -1;
    }

    /**
     * When forwarding: records {@code addr} in a record-route option with room left, and bumps the
     * overflow count of a timestamp option (we add no stamps). The header must be writable; the
     * caller recomputes the checksum.
     */
    static void forwarding(Mbuf m, InAddr addr) {
        byte[] b = m.writableData();
        int base = m.dataOff();
        int hlen = new Ipv4View(b, base).hlen();
        for (int at = Ipv4View.MIN_HEADER_LEN; at < hlen; ) {
            int opt = b[base + at] & 0xff;
            if (opt == IPOPT_EOL) {
                return;
            }
            if (opt == IPOPT_NOP) {
                at++;
                continue;
            }
            int optlen = b[base + at + 1] & 0xff;
            int ptr = b[base + at + 2] & 0xff;
            if (opt == IPOPT_RR && addr != null && ptr + 3 <= optlen) {
                addr.toBytes(b, base + at + ptr - 1);
                b[base + at + 2] = (byte) (ptr + 4);
            } else if (opt == IPOPT_TS) {
                int oflw = (b[base + at + 3] & 0xff) >>> 4;
                if (oflw < 15) {
                    b[base + at + 3] = (byte) (((oflw + 1) << 4) | (b[base + at + 3] & 0x0f));
                }
            }
            at += optlen;
        }
    }

    /**
     * The Router Alert option, value 0 ("routers shall examine packet"), as the 4 option bytes of an
     * IPv4 header ({@code igmp_ra} in FreeBSD's {@code igmp.c}): 0x94 0x04 0x00 0x00. A fresh array.
     */
    static byte[] routerAlert() {
        return new byte[] {(byte) IPOPT_RA, IPOPT_RA_LEN, 0, 0};
    }

    /**
     * Whether the header at {@code b[base]} of {@code hlen} bytes carries a well-formed Router Alert
     * option ({@code ip_checkrouteralert}). Malformed framing ends the scan (input already checked it).
     */
    static boolean hasRouterAlert(byte[] b, int base, int hlen) {
        for (int at = Ipv4View.MIN_HEADER_LEN; at < hlen; ) {
            int opt = b[base + at] & 0xff;
            if (opt == IPOPT_EOL) {
                return false;
            }
            if (opt == IPOPT_NOP) {
                at++;
                continue;
            }
            if (at + 1 >= hlen) {
                return false;
            }
            int optlen = b[base + at + 1] & 0xff;
            if (optlen < 2 || at + optlen > hlen) {
                return false;
            }
            if (opt == IPOPT_RA && optlen == IPOPT_RA_LEN) {
                return true;
            }
            at += optlen;
        }
        return false;
    }

    /** {@code ip_optcopy}: the options of header {@code h} that every fragment carries, padded to 4 bytes. */
    static byte[] copiedOptions(byte[] h, int off, int hlen) {
        byte[] out = new byte[hlen - Ipv4View.MIN_HEADER_LEN];
        int n = 0;
        for (int at = Ipv4View.MIN_HEADER_LEN; at < hlen; ) {
            int opt = h[off + at] & 0xff;
            if (opt == IPOPT_EOL) {
                break;
            }
            if (opt == IPOPT_NOP) {
                at++;
                continue;
            }
            int optlen = h[off + at + 1] & 0xff;
            if (optlen < 2 || at + optlen > hlen) {
                break;
            }
            if ((opt & IPOPT_COPIED) != 0) {
                System.arraycopy(h, off + at, out, n, optlen);
                n += optlen;
            }
            at += optlen;
        }
        int padded = (n + 3) & ~3;
        return java.util.Arrays.copyOf(out, padded); // zero padding is EOL
    }
}
