package org.smpnet.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.smpnet.Vnet;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.IfFlags;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.InIfaddr;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Prefix;
import org.smpnet.net.RtAddrs;
import org.smpnet.net.RtMsg;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Rtm;
import org.smpnet.net.Sockaddr;
import org.smpnet.netinet.Ping;
import org.smpnet.netinet.UdpStats;

/**
 * {@code ping}, {@code route}, {@code netstat} and {@code ifconfig} run inside one {@link Vnet}: what a
 * {@link org.smpnet.VnetControl} endpoint runs for a {@code TOOL} request (see {@link #run}), and what the
 * demo and the tests call directly. Output goes line by line to a sink; failures are {@link ErrnoException}s.
 * Holds no lock of its own; a ping sleeps.
 */
final class NetTools {
    private NetTools() {}

    /** Runs {@code argv} (tool name first) in {@code v}; the exit status, or an errno failure. */
    static int run(Vnet v, List<String> argv, Consumer<String> out) throws ErrnoException {
        List<String> args = argv.subList(1, argv.size());
        try {
            return switch (argv.getFirst()) {
                case "ping" -> ping(v, args, out);
                case "route" -> route(v, args, out);
                case "netstat" -> netstat(v, args, out);
                case "ifconfig" -> ifconfig(v, args, out);
                default -> throw new ErrnoException(Errno.EOPNOTSUPP, "no tool " + argv.getFirst());
            };
        } catch (IllegalArgumentException | java.util.NoSuchElementException e) {
            throw new ErrnoException(Errno.EINVAL, argv.getFirst() + ": " + e.getMessage());
        }
    }

    // ---- ping ----

    /** {@code ping [-c count] [-i seconds] [-s size] host}: 0 if any reply came, 2 if none (as ping(8)). */
    static int ping(Vnet v, List<String> args, Consumer<String> out) throws ErrnoException {
        int count = 5;
        double interval = 1;
        int size = 56;
        String host = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "-c" -> count = intValue(a, "count of packets to transmit", value(args, ++i, a), 1, Integer.MAX_VALUE);
                case "-i" -> interval = secondsValue(a, value(args, ++i, a), 60);
                case "-s" -> size = intValue(a, "packet size", value(args, ++i, a), Ping.MIN_SIZE, Ping.MAX_SIZE);
                default -> {
                    if (a.startsWith("-") || host != null) {
                        throw new IllegalArgumentException("usage: ping [-c count] [-i interval] [-s size] host");
                    }
                    host = a;
                }
            }
        }
        if (host == null) {
            throw new IllegalArgumentException("usage: ping [-c count] [-i interval] [-s size] host");
        }
        InAddr dst = InAddr.parse(host);
        out.accept("PING " + dst + " (" + dst + "): " + size + " data bytes");
        Ping.Result r = new Ping(v.inet()).run(dst, count, size, Duration.ofNanos((long) (interval * 1e9)),
                Duration.ofSeconds(2), reply -> out.accept(reply.toString()));
        out.accept("");
        r.summary().lines().forEach(out);
        return r.received() > 0 ? 0 : 2;
    }

    /**
     * An integer option value in {@code [min, max]}, or a clear error naming the option, what it is and
     * its range (not the parser's own message).
     */
    static int intValue(String opt, String what, String text, int min, int max) {
        long n;
        try {
            n = Long.parseLong(text);
        } catch (NumberFormatException e) {
            n = Long.MIN_VALUE;
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(opt + ": invalid " + what + " '" + text + "' (" + min + " to " + max + ")");
        }
        return (int) n;
    }

    /** A time option in seconds, fractions allowed, in {@code [0, max]}. */
    private static double secondsValue(String opt, String text, double max) {
        double d;
        try {
            d = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            d = Double.NaN;
        }
        if (!(d >= 0 && d <= max)) {
            throw new IllegalArgumentException(opt + ": invalid interval '" + text + "' (0 to " + (long) max + " seconds)");
        }
        return d;
    }

    private static String value(List<String> args, int i, String opt) {
        if (i >= args.size()) {
            throw new IllegalArgumentException("option " + opt + " needs a value");
        }
        return args.get(i);
    }

    // ---- route ----

    private static final java.util.concurrent.atomic.AtomicInteger RTM_SEQ = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * {@code route add|change DST[/LEN] GATEWAY}, {@code route delete DST[/LEN] [GATEWAY]},
     * {@code route get DST[/LEN]}: as route(8), an {@code rt_msghdr} written to a {@code PF_ROUTE} socket of
     * the stack, whose reply is read back from it and printed. A DST without a length is a host (longest
     * match for get). {@code route monitor [-c N]}: see {@link RouteMonitor}.
     */
    static int route(Vnet v, List<String> args, Consumer<String> out) throws ErrnoException {
        if (!args.isEmpty() && args.getFirst().equals("monitor")) {
            return RouteMonitor.monitor(v, args.subList(1, args.size()), out);
        }
        List<String> a = new ArrayList<>(args);
        a.removeIf(s -> s.equals("-net") || s.equals("-host") || s.equals("-n"));
        if (a.size() < 2 || a.size() > 3) {
            throw new IllegalArgumentException("usage: route add|delete|get|change DST[/LEN] [GATEWAY]");
        }
        String cmd = a.get(0);
        String dstText = a.get(1);
        Prefix dst = Prefix.parse(dstText);
        if (dst.family() != Sockaddr.AF_INET) {
            throw new IllegalArgumentException("only IPv4 routes: " + dstText);
        }
        Sockaddr gw = a.size() == 3 ? new Sockaddr.In(InAddr.parse(a.get(2)), 0) : null;
        int type = switch (cmd) {
            case "add" -> Rtm.RTM_ADD;
            case "delete" -> Rtm.RTM_DELETE;
            case "change" -> Rtm.RTM_CHANGE;
            case "get" -> Rtm.RTM_GET;
            default -> throw new IllegalArgumentException("unknown route command " + cmd + " (add, delete, get, change)");
        };
        if ((type == Rtm.RTM_ADD || type == Rtm.RTM_CHANGE) && gw == null) {
            throw new IllegalArgumentException("route " + cmd + " needs a gateway");
        }
        if (type == Rtm.RTM_GET && gw != null) {
            throw new IllegalArgumentException("route get takes no gateway");
        }
        RtAddrs addrs = RtAddrs.NONE.with(Rtm.RTAX_DST, new Sockaddr.In(dst.inAddr(), 0));
        if (gw != null) {
            addrs = addrs.with(Rtm.RTAX_GATEWAY, gw);
        }
        boolean exact = type != Rtm.RTM_GET || dstText.contains("/") || dstText.equals("default");
        if (exact && !dst.isHost()) {
            addrs = addrs.with(Rtm.RTAX_NETMASK, new Sockaddr.In(dst.netmask(), 0));
        }
        if (type == Rtm.RTM_GET) {
            addrs = addrs.with(Rtm.RTAX_IFP, new Sockaddr.Dl(0, "", null)); // ask for the interface, as route(8) does
        }
        int flags = Rtentry.RTF_UP | Rtentry.RTF_STATIC | (gw != null ? Rtentry.RTF_GATEWAY : 0) | (dst.isHost() ? Rtentry.RTF_HOST : 0);
        int seq = RTM_SEQ.incrementAndGet();
        byte[] req = RtMsg.Route.request(type, seq, flags, addrs).emit();
        String what = cmd + (dst.isHost() ? " host " : " net ") + dstText + (gw != null ? ": gateway " + a.get(2) : "");
        RtMsg.Route r;
        try {
            r = RouteMonitor.request(v, req, seq);
        } catch (ErrnoException e) {
            throw new ErrnoException(e.errno(), what + ": " + (e.errno() == Errno.ESRCH ? "not in table"
                    : e.errno() == Errno.EEXIST ? "route already in table" : e.errno().text()));
        }
        if (type != Rtm.RTM_GET) {
            out.accept(what);
            return 0;
        }
        RtAddrs ra = r.addrs();
        out.accept("   route to: " + dst.inAddr());
        boolean dflt = ra.netmask() instanceof Sockaddr.In m && m.addr().bits() == 0;
        out.accept("destination: " + (dflt ? "default" : ((Sockaddr.In) ra.dst()).addr().toString()));
        InAddr mask = ra.netmask() instanceof Sockaddr.In m ? m.addr() : InAddr.BROADCAST;
        out.accept("       mask: " + mask);
        if (ra.gateway() instanceof Sockaddr.In g) {
            out.accept("    gateway: " + g.addr());
        }
        long mtu = r.rmx().mtu();
        if (ra.ifp() instanceof Sockaddr.Dl dl) {
            out.accept("  interface: " + dl.name());
            if (mtu == 0) {
                mtu = ifnet(v, dl.name()).mtu(); // 0: the interface's
            }
        }
        out.accept("      flags: <" + String.join(",", Rtentry.flagNames(r.flags())) + ">");
        out.accept("        mtu: " + mtu);
        return 0;
    }

    // ---- netstat ----

    /** {@code netstat -r} or {@code netstat -s [-z] [-p ip|icmp|udp|arp]}. */
    static int netstat(Vnet v, List<String> args, Consumer<String> out) {
        boolean r = false;
        boolean s = false;
        boolean zero = false;
        String proto = null;
        for (int i = 0; i < args.size(); i++) {
            switch (args.get(i)) {
                case "-r", "-rn" -> r = true;
                case "-s" -> s = true;
                case "-n" -> { }
                case "-z" -> zero = true;
                case "-p" -> proto = value(args, ++i, "-p");
                default -> throw new IllegalArgumentException("usage: netstat -r | netstat -s [-z] [-p ip|icmp|udp|arp]");
            }
        }
        if (r == s) {
            throw new IllegalArgumentException("usage: netstat -r | netstat -s [-z] [-p ip|icmp|udp|arp]");
        }
        if (r) {
            v.rtable().dump().lines().forEach(out);
            return 0;
        }
        String text = stats(v, proto, !zero);
        text.lines().forEach(out);
        return 0;
    }

    /** {@code netstat -s} text for one protocol, or ip, icmp, udp and arp when {@code proto} is null. */
    static String stats(Vnet v, String proto, boolean skipZero) {
        if (proto == null) {
            return stats(v, "ip", skipZero) + stats(v, "icmp", skipZero) + stats(v, "udp", skipZero) + stats(v, "arp", skipZero);
        }
        return switch (proto) {
            case "ip" -> v.inet().ip().stats().table().render(skipZero);
            case "icmp" -> v.inet().icmp().stats().render(skipZero);
            case "arp" -> v.inet().arp().stats().table().render(skipZero);
            case "udp" -> udp(v.ipSockets().udp().stats(), skipZero);
            default -> throw new IllegalArgumentException("unknown protocol " + proto + " (ip, icmp, udp, arp)");
        };
    }

    /** {@code netstat -s -p udp} lines, from the per-stack UDP counters. */
    private static String udp(UdpStats u, boolean skipZero) {
        StringBuilder b = new StringBuilder("udp:\n");
        line(b, skipZero, u.ipackets.get(), "datagrams received");
        line(b, skipZero, u.hdrops.get(), "with incomplete header");
        line(b, skipZero, u.badlen.get(), "with bad data length field");
        line(b, skipZero, u.badsum.get(), "with bad checksum");
        line(b, skipZero, u.nosum.get(), "with no checksum");
        line(b, skipZero, u.noport.get(), "dropped due to no socket");
        line(b, skipZero, u.noportbcast.get(), "broadcast/multicast datagrams undelivered");
        line(b, skipZero, u.fullsock.get(), "dropped due to full socket buffers");
        line(b, skipZero, u.delivered.get(), "delivered");
        line(b, skipZero, u.opackets.get(), "datagrams output");
        return b.toString();
    }

    private static void line(StringBuilder b, boolean skipZero, long n, String text) {
        if (n != 0 || !skipZero) {
            b.append('\t').append(n).append(' ').append(text).append('\n');
        }
    }

    // ---- ifconfig ----

    /** {@code ifconfig [IFACE [inet ADDR/LEN] [-alias ADDR] [up|down] [mtu N] [txcsum|-txcsum]]}. */
    static int ifconfig(Vnet v, List<String> args, Consumer<String> out) throws ErrnoException {
        if (args.isEmpty()) {
            for (Ifnet ifp : v.ifnets().snapshot()) {
                describe(v, ifp).forEach(out);
            }
            return 0;
        }
        Ifnet ifp = ifnet(v, args.getFirst());
        for (int i = 1; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "inet" -> {
                    String spec = value(args, ++i, a);
                    int slash = spec.indexOf('/');
                    int len = slash < 0 ? 24 : intValue(a, "prefix length", spec.substring(slash + 1), 1, 32);
                    v.addrs().add(ifp, InAddr.parse(slash < 0 ? spec : spec.substring(0, slash)), len);
                }
                case "-alias", "delete" -> v.addrs().delete(ifp, InAddr.parse(value(args, ++i, a)));
                case "up" -> ifp.setFlags(IfFlags.UP, 0);
                case "down" -> ifp.setFlags(0, IfFlags.UP);
                case "mtu" -> ifp.setMtu(intValue(a, "MTU", value(args, ++i, a), 0, Integer.MAX_VALUE)); // the interface checks its range
                case "txcsum" -> {
                    if (ifp.hwassistCapable() == 0) {
                        throw new ErrnoException(Errno.EINVAL, ifp.name() + " cannot offload checksums");
                    }
                    ifp.setHwassist(ifp.hwassistCapable());
                }
                case "-txcsum" -> ifp.setHwassist(0);
                default -> throw new IllegalArgumentException("unknown ifconfig parameter " + a
                        + " (inet ADDR/LEN, -alias ADDR, up, down, mtu N, txcsum, -txcsum)");
            }
        }
        if (args.size() == 1) {
            describe(v, ifp).forEach(out);
        }
        return 0;
    }

    private static Ifnet ifnet(Vnet v, String name) throws ErrnoException {
        for (Ifnet ifp : v.ifnets().snapshot()) {
            if (ifp.name().equals(name)) {
                return ifp;
            }
        }
        throw new ErrnoException(Errno.ENXIO, "interface " + name + " does not exist in vnet " + v.name());
    }

    /** ifconfig(8)'s lines for one interface. */
    static List<String> describe(Vnet v, Ifnet ifp) {
        List<String> l = new ArrayList<>();
        l.add(ifp.name() + ": " + IfFlags.describe(ifp.flags()) + " metric 0 mtu " + ifp.mtu());
        if (ifp.hwassistCapable() != 0) {
            l.add("\toptions=<" + (ifp.hwassist() != 0 ? "TXCSUM,RXCSUM" : "") + ">");
        }
        byte[] mac = ifp.lladdr();
        if (mac != null && mac.length == 6) {
            l.add("\tether " + MacAddr.of(mac));
        }
        for (InIfaddr ia : v.addrs().of(ifp)) {
            String line = String.format(Locale.ROOT, "\tinet %s netmask 0x%08x", ia.inAddr(), ia.mask().bits());
            if ((ifp.flags() & IfFlags.BROADCAST) != 0 && ia.broadcast() != null) {
                line += " broadcast " + ia.broadcast();
            }
            l.add(line);
        }
        return l;
    }
}
