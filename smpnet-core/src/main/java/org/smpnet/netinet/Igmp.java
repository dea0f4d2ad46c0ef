package org.smpnet.netinet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.InAddr;
import org.smpnet.net.InCksum;
import org.smpnet.net.Ifnet;
import org.smpnet.net.Mbuf;

/**
 * IPv4 multicast group membership of one stack ({@code in_mcast.c}'s {@code in_multi} list) and
 * IGMPv2 ({@code igmp.c}, RFC 2236): the first join of a group on an interface programs the
 * interface's multicast filter ({@link Ifnet#addMulti}) and sends a membership report, the last leave
 * removes it and sends a leave to 224.0.0.2; queries are answered with reports at once (no random
 * delay; querier state and IGMPv3 are not implemented). Reports and leaves carry the IP Router
 * Alert option (RFC 2113, as RFC 2236 section 2 asks and FreeBSD's {@code igmp_ra} does) unless
 * {@code net.inet.igmp.sendra} is 0; messages received without it are accepted and counted in
 * {@code rcv_nora}.
 *
 * <p>Locking key: {@link #lock} ("in_multi", class "in_multi") guards {@link #groups}; it is taken
 * before a PCB lock by {@link IpCtlOutput} and never held while sending (messages are built under it
 * and sent after it is dropped, so an epair delivering synchronously cannot recurse into it).
 */
public final class Igmp {
    public static final int IPPROTO_IGMP = 2;
    static final int MIN_LEN = 8;
    static final int MEMBERSHIP_QUERY = 0x11;
    static final int V1_MEMBERSHIP_REPORT = 0x12;
    static final int V2_MEMBERSHIP_REPORT = 0x16;
    static final int V2_LEAVE_GROUP = 0x17;
    static final InAddr ALL_HOSTS = InAddr.parse("224.0.0.1");
    static final InAddr ALL_ROUTERS = InAddr.parse("224.0.0.2");

    /** Sends one IGMP message out of {@code ifp} to {@code dst} with TTL 1 ({@code igmp_sendpkt}). */
    public interface Output {
        /**
         * @param ipOptions IP header options for the datagram (a multiple of 4 bytes), or null for none
         */
        void send(Ifnet ifp, InAddr dst, Mbuf igmp, byte[] ipOptions);
    }

    private record Key(int ifIndex, InAddr group) {}

    /** The membership lock; package-visible so {@link IpCtlOutput} makes a PCB change and the join one step. */
    final Mtx lock = new Mtx("in_multi", "in_multi");
    /** Join count per (interface, group): sockets that joined it there. */
    @GuardedBy("lock") private final Map<Key, Integer> groups = new HashMap<>();
    /** Join count per (interface, link-layer address): groups sharing a MAC (32 groups per MAC). */
    @GuardedBy("lock") private final Map<Key, Integer> macs = new HashMap<>();
    private final IgmpStats stats;
    private final Sysctl.BoolOid sendRa;
    private volatile Output output;

    public Igmp(Sysctl tree) {
        this.stats = new IgmpStats(tree);
        this.sendRa = tree.addBool("net.inet.igmp.sendra", "Send IP Router Alert option in IGMPv2 messages", true, true);
    }

    public IgmpStats stats() {
        return stats;
    }

    /** Connects the IP output path (set once by the stack's wiring, before any join). */
    public void setOutput(Output out) {
        this.output = Objects.requireNonNull(out, "out");
    }

    /** {@code in_addmulti}: one more joiner of {@code group} on {@code ifp}. Hold no PCB lock. */
    public void join(Ifnet ifp, InAddr group) {
        boolean first;
        lock.lock();
        try {
            first = joinLocked(ifp, group);
        } finally {
            lock.unlock();
        }
        if (first) {
            report(ifp, group, V2_MEMBERSHIP_REPORT);
        }
    }

    /** {@code in_delmulti}: one joiner fewer. Hold no PCB lock. */
    public void leave(Ifnet ifp, InAddr group) {
        boolean last;
        lock.lock();
        try {
            last = leaveLocked(ifp, group);
        } finally {
            lock.unlock();
        }
        if (last) {
            report(ifp, group, V2_LEAVE_GROUP);
        }
    }

    /** Returns true when this is the first join of the group on the interface. */
    @GuardedBy("lock")
    boolean joinLocked(Ifnet ifp, InAddr group) {
        lock.assertOwned();
        Key k = new Key(ifp.index(), group);
        int n = groups.merge(k, 1, Integer::sum);
        if (n == 1) {
            Key mk = new Key(ifp.index(), macKey(group));
            if (macs.merge(mk, 1, Integer::sum) == 1) {
                ifp.addMulti(mac(group));
            }
        }
        return n == 1;
    }

    /** Returns true when this was the last join of the group on the interface. */
    @GuardedBy("lock")
    boolean leaveLocked(Ifnet ifp, InAddr group) {
        lock.assertOwned();
        Key k = new Key(ifp.index(), group);
        Integer n = groups.get(k);
        if (n == null) {
            throw new IllegalStateException(group + " not joined on " + ifp.name());
        }
        if (n > 1) {
            groups.put(k, n - 1);
            return false;
        }
        groups.remove(k);
        Key mk = new Key(ifp.index(), macKey(group));
        int m = macs.merge(mk, -1, Integer::sum);
        if (m == 0) {
            macs.remove(mk);
            ifp.delMulti(mac(group));
        }
        return true;
    }

    /** Whether some socket of this stack joined {@code group} on the interface. Takes {@link #lock}. */
    public boolean isMember(int ifIndex, InAddr group) {
        lock.lock();
        try {
            return groups.containsKey(new Key(ifIndex, group));
        } finally {
            lock.unlock();
        }
    }

    /** The groups joined on an interface (a snapshot). */
    public List<InAddr> groups(int ifIndex) {
        lock.lock();
        try {
            List<InAddr> out = new ArrayList<>();
            for (Key k : groups.keySet()) {
                if (k.ifIndex() == ifIndex) {
                    out.add(k.group());
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * IGMP input ({@code igmp_input}): counts every message and answers queries for groups joined on
     * {@code ifp}. Consumes {@code m}, which starts with the IP header (contiguous) and whose IGMP
     * message starts at {@code off}. A message without Router Alert is accepted and counted in
     * {@code rcv_nora}. Hold no lock.
     */
    public void input(Mbuf m, int off, Ifnet ifp, InAddr dst) {
        try {
            stats.rcvTotal.inc();
            int len = m.pktLen() - off;
            if (len < MIN_LEN) {
                stats.rcvTooshort.inc();
                return;
            }
            if (InCksum.cksum(m, off, len) != 0) {
                stats.rcvBadsum.inc();
                return;
            }
            if (!IpOptions.hasRouterAlert(m.data(), m.dataOff(), off)) {
                stats.rcvNora.inc();
            }
            byte[] h = new byte[MIN_LEN];
            m.copydata(off, MIN_LEN, h, 0);
            InAddr group = InAddr.fromBytes(h, 4);
            switch (h[0] & 0xff) {
                case MEMBERSHIP_QUERY -> query(ifp, dst, group);
                case V1_MEMBERSHIP_REPORT, V2_MEMBERSHIP_REPORT -> {
                    stats.rcvReports.inc();
                    if (!group.isMulticast() || !group.equals(dst)) {
                        stats.rcvBadreports.inc();
                    } else if (isMember(ifp.index(), group)) {
                        stats.rcvOurreports.inc(); // another member answered; v2 hosts may then stay quiet
                    }
                }
                case V2_LEAVE_GROUP -> { } // for routers only
                default -> stats.rcvUnknown.inc();
            }
        } finally {
            m.freem();
        }
    }

    private void query(Ifnet ifp, InAddr dst, InAddr group) {
        stats.rcvV1v2Queries.inc();
        if (group.isAny()) {
            if (!dst.equals(ALL_HOSTS)) {
                stats.rcvBadqueries.inc(); // a general query goes to all-hosts
                return;
            }
            for (InAddr g : groups(ifp.index())) {
                report(ifp, g, V2_MEMBERSHIP_REPORT);
            }
        } else if (!group.isMulticast()) {
            stats.rcvBadqueries.inc();
        } else if (isMember(ifp.index(), group)) {
            report(ifp, group, V2_MEMBERSHIP_REPORT);
        }
    }

    /** Sends the report of a first join (after {@link #joinLocked} returned true, lock dropped). */
    void sendReport(Ifnet ifp, InAddr group) {
        report(ifp, group, V2_MEMBERSHIP_REPORT);
    }

    /** Sends the leave of a last leave (after {@link #leaveLocked} returned true, lock dropped). */
    void sendLeave(Ifnet ifp, InAddr group) {
        report(ifp, group, V2_LEAVE_GROUP);
    }

    /** Sends a report or a leave; all-hosts is never reported (RFC 2236 section 6). */
    private void report(Ifnet ifp, InAddr group, int type) {
        Output out = output;
        if (group.equals(ALL_HOSTS) || out == null) {
            return;
        }
        byte[] b = new byte[MIN_LEN];
        b[0] = (byte) type;
        group.toBytes(b, 4);
        int sum = InCksum.cksum(b, 0, MIN_LEN);
        b[2] = (byte) (sum >>> 8);
        b[3] = (byte) sum;
        Mbuf m = Mbuf.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        if (m == null) {
            return;
        }
        m.append(b, 0, b.length);
        (type == V2_LEAVE_GROUP ? stats.sndLeaves : stats.sndReports).inc();
        out.send(ifp, type == V2_LEAVE_GROUP ? ALL_ROUTERS : group, m, sendRa.get() ? IpOptions.routerAlert() : null);
    }

    /** The Ethernet address of an IPv4 group: 01:00:5e and the low 23 bits (RFC 1112). */
    public static byte[] mac(InAddr group) {
        int g = group.bits();
        return new byte[] {0x01, 0x00, 0x5e, (byte) ((g >>> 16) & 0x7f), (byte) (g >>> 8), (byte) g};
    }

    private static InAddr macKey(InAddr group) {
        return new InAddr(group.bits() & 0x007fffff);
    }
}
