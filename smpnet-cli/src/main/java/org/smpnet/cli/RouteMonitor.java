package org.smpnet.cli;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.smpnet.Vnet;
import org.smpnet.VnetControl;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;
import org.smpnet.net.IfFlags;
import org.smpnet.net.RtAddrs;
import org.smpnet.net.RtMsg;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Rtm;
import org.smpnet.net.Sockaddr;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Sockopt;
import org.smpnet.socket.Ucred;

/**
 * What route(8) does with a {@code PF_ROUTE} socket: {@link #request} writes one message and reads its reply;
 * {@link #monitor} prints every message as {@code route -n monitor} does. Each call opens its own socket in
 * its own descriptor table and closes it before returning. Holds no lock; blocks reading the socket.
 */
final class RouteMonitor {
    private RouteMonitor() {}

    /** How long a request waits for its reply, and how often a quiet monitor checks its client. */
    private static final long REPLY_MICROS = 5_000_000;
    private static final long POLL_MICROS = 1_000_000;
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss yyyy", Locale.ROOT);

    private static SocketApi api(Vnet v) {
        return new SocketApi(v.domains(), new Filedesc(), Ucred.of((int) ProcessHandle.current().pid(), 0, 0));
    }

    /**
     * Writes {@code req} (sequence number {@code seq}) to a new routing socket and returns the reply the
     * socket reads back: the one with this pid and sequence number.
     *
     * @throws ErrnoException the request's error (EEXIST, ESRCH...), EINVAL for a malformed request, EAGAIN
     *     if no reply came within 5 s (a routing-message queue overflowed)
     */
    static RtMsg.Route request(Vnet v, byte[] req, int seq) throws ErrnoException {
        SocketApi api = api(v);
        int s = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, 0);
        try {
            api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(REPLY_MICROS));
            api.send(s, req, 0, req.length, 0);
            int pid = api.cred().pid();
            byte[] buf = new byte[2048];
            while (true) {
                int n = api.recv(s, buf, 0, buf.length, 0);
                if (RtMsg.parse(buf, 0, n) instanceof RtMsg.Route r && r.pid() == pid && r.seq() == seq) {
                    return r;
                }
            }
        } finally {
            api.close(s);
        }
    }

    /**
     * {@code route monitor [-c N]}: prints each routing message of the stack until {@code N} were printed
     * (0: no end) or, through a control endpoint, until the client leaves (checked every second when quiet).
     */
    static int monitor(Vnet v, List<String> args, Consumer<String> out) throws ErrnoException {
        long count = 0;
        for (int i = 0; i < args.size(); i++) {
            switch (args.get(i)) {
                case "-c" -> {
                    if (i + 1 >= args.size()) {
                        throw new IllegalArgumentException("option -c needs a value");
                    }
                    count = NetTools.intValue("-c", "count of messages", args.get(++i), 0, Integer.MAX_VALUE);
                }
                case "-n" -> { }
                default -> throw new IllegalArgumentException("usage: route monitor [-n] [-c count]");
            }
        }
        SocketApi api = api(v);
        int s = api.socket(SocketConst.PF_ROUTE, SocketConst.SOCK_RAW, 0);
        try {
            api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_RCVTIMEO, Sockopt.timeval(POLL_MICROS));
            byte[] buf = new byte[4096];
            for (long seen = 0; count == 0 || seen < count; ) {
                int n;
                try {
                    n = api.recv(s, buf, 0, buf.length, 0);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN) {
                        throw e;
                    }
                    if (out instanceof VnetControl.ToolOutput t) {
                        t.keepalive(); // throws once the client is gone
                    }
                    continue;
                }
                out.accept("");
                out.accept("got message of size " + n + " on " + WHEN.format(ZonedDateTime.now()));
                print(RtMsg.parse(buf, 0, n), n).forEach(out);
                seen++;
            }
            return 0;
        } finally {
            api.close(s);
        }
    }

    /** The lines route(8)'s {@code print_rtmsg} prints for {@code m} of {@code len} bytes. */
    static List<String> print(RtMsg m, int len) {
        List<String> l = new ArrayList<>();
        String head = Rtm.typeName(m.type()) + ": " + describe(m.type()) + ": len " + len + ", ";
        switch (m) {
            case RtMsg.Route r -> {
                l.add(head + "pid: " + r.pid() + ", seq " + r.seq() + ", errno " + r.errno() + ", flags:<"
                        + String.join(",", Rtentry.flagNames(r.flags())) + ">");
                l.add("locks:  inits: " + (r.inits() != 0 ? "<mtu>" : ""));
                addrs(l, r.addrs());
            }
            case RtMsg.Ifa a -> {
                l.add(head + "metric " + a.metric() + ", flags:<" + flagList(a.flags()) + ">");
                addrs(l, a.addrs());
            }
            case RtMsg.If i -> {
                String link = switch (i.data().linkState()) {
                    case 1 -> "down";
                    case 2 -> "up";
                    default -> "unknown";
                };
                l.add(head + "if# " + i.index() + ", link: " + link + ", flags:<" + flagList(i.flags()) + ">");
            }
            case RtMsg.Announce an -> l.add(head + "if# " + an.index() + ", what: "
                    + (an.what() == Rtm.IFAN_ARRIVAL ? "arrival" : an.what() == Rtm.IFAN_DEPARTURE ? "departure" : "#" + an.what())
                    + " " + an.name());
        }
        return l;
    }

    private static String flagList(int ifFlags) {
        String d = IfFlags.describe(ifFlags);
        return d.substring(d.indexOf('<') + 1, d.length() - 1);
    }

    private static final String[] RTA_NAMES = {"DST", "GATEWAY", "NETMASK", "GENMASK", "IFP", "IFA", "AUTHOR", "BRD"};

    private static void addrs(List<String> l, RtAddrs a) {
        List<String> names = new ArrayList<>();
        StringBuilder vals = new StringBuilder();
        for (int i = 0; i < Rtm.RTAX_MAX; i++) {
            Sockaddr sa = a.get(i);
            if (sa != null) {
                names.add(RTA_NAMES[i]);
                vals.append(' ').append(text(sa));
            }
        }
        l.add("sockaddrs: <" + String.join(",", names) + ">");
        if (!names.isEmpty()) {
            l.add(vals.toString());
        }
    }

    private static String text(Sockaddr sa) {
        return switch (sa) {
            case Sockaddr.In in -> in.addr().toString();
            case Sockaddr.In6 in6 -> in6.addr().toString();
            case Sockaddr.Dl dl -> dl.name().isEmpty() ? "link#" + dl.index() : dl.name();
            case Sockaddr.Un un -> un.path();
            case Sockaddr.Route rt -> "route";
        };
    }

    /** route(8)'s {@code msgtypes} descriptions. */
    private static String describe(int type) {
        return switch (type) {
            case Rtm.RTM_ADD -> "Add Route";
            case Rtm.RTM_DELETE -> "Delete Route";
            case Rtm.RTM_CHANGE -> "Change Metrics or flags";
            case Rtm.RTM_GET -> "Report Metrics";
            case Rtm.RTM_LOSING -> "Kernel Suspects Partitioning";
            case Rtm.RTM_REDIRECT -> "Told to use different route";
            case Rtm.RTM_MISS -> "Lookup failed on this address";
            case Rtm.RTM_LOCK -> "fix specified metrics";
            case Rtm.RTM_RESOLVE -> "Route created by cloning";
            case Rtm.RTM_NEWADDR -> "address being added to iface";
            case Rtm.RTM_DELADDR -> "address being removed from iface";
            case Rtm.RTM_IFINFO -> "iface status change";
            case Rtm.RTM_IFANNOUNCE -> "iface arrival/departure";
            default -> "message " + type;
        };
    }
}
