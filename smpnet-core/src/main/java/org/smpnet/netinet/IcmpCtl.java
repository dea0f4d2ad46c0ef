package org.smpnet.netinet;

import org.smpnet.kern.Errno;
import org.smpnet.net.InAddr;

/**
 * What {@code pr_ctlinput} receives for an ICMP error: its type and code, the next-hop MTU of a
 * needs-fragmentation message (0 otherwise), the parameter-problem pointer, and the quoted datagram:
 * its parsed IP header ({@code ip}: {@code src} is this host, {@code dst} the peer) and the quoted
 * bytes from the IP header on ({@code quote}, at least the header plus 8 bytes: enough for ports).
 * Immutable; {@code quote} is a private copy.
 */
public record IcmpCtl(int type, int code, int mtu, int pointer, Ipv4Repr ip, byte[] quote) {
    public IcmpCtl {
        quote = quote.clone();
        if (quote.length < ip.hlen() + 8) {
            throw new IllegalArgumentException("ICMP quote of " + quote.length + " bytes lacks header + 8");
        }
    }

    @Override
    public byte[] quote() {
        return quote.clone();
    }

    /** The 16-bit field at {@code off} bytes into the quoted transport header (0: source port, 2: destination port). */
    public int l4u16(int off) {
        int at = ip.hlen() + off;
        if (off < 0 || off + 2 > 8) {
            throw new IllegalArgumentException("only the first 8 transport bytes are quoted, not offset " + off);
        }
        return ((quote[at] & 0xff) << 8) | (quote[at + 1] & 0xff);
    }

    /** The peer the quoted datagram was sent to. */
    public InAddr peer() {
        return ip.dst();
    }

    /**
     * The error a socket should see ({@code inetctlerrmap}), or null when the message is advisory
     * (redirects, source quench): protocol/port unreachable → ECONNREFUSED, needs-frag → EMSGSIZE,
     * other unreachables → EHOSTUNREACH, time exceeded → EHOSTUNREACH, parameter problem → ENOPROTOOPT.
     */
    public Errno errno() {
        return switch (type) {
            case Icmp.UNREACH -> switch (code) {
                case Icmp.UNREACH_PROTOCOL, Icmp.UNREACH_PORT -> Errno.ECONNREFUSED;
                case Icmp.UNREACH_NEEDFRAG -> Errno.EMSGSIZE;
                case Icmp.UNREACH_SRCFAIL -> Errno.EHOSTUNREACH;
                default -> Errno.EHOSTUNREACH;
            };
            case Icmp.TIMXCEED -> Errno.EHOSTUNREACH;
            case Icmp.PARAMPROB -> Errno.ENOPROTOOPT;
            default -> null;
        };
    }
}
