package org.smpnet.netinet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import org.smpnet.kern.Callout;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.Mbuf;

/**
 * IPv4 reassembly ({@code ip_reass}), bounded three ways so a fragment flood cannot exhaust memory:
 * at most {@code net.inet.ip.maxfragpackets} datagrams in reassembly (a new one evicts the oldest),
 * at most {@code net.inet.ip.maxfragsperpacket} fragments each (one more drops the datagram), and
 * {@code net.inet.ip.fragttl} seconds each (then dropped, with an ICMP time-exceeded if the first
 * fragment had arrived). Overlaps are trimmed as in BSD: earlier data wins over the new fragment's
 * head, the new fragment wins over later data; exact duplicates are dropped. Every dropped fragment
 * counts in {@code ips_fragdropped} or {@code ips_fragtimeout}.
 *
 * <p>Locking key: the queue table and every {@link Ipq} are guarded by {@link #lock} ("ipreass",
 * class "ipq", a leaf: nothing else is taken while it is held, and it is never held while sending).
 * Timers are MPSAFE callouts whose handlers take the lock and check that their queue is still live.
 */
public final class IpReass {
    private record Key(int src, int dst, int id, int proto) {}

    /** One fragment's data (IP header removed) covering {@code [start, end)} of the datagram. */
    private static final class Frag {
        int start;
        final int end;
        Mbuf data;

        Frag(int start, int end, Mbuf data) {
            this.start = start;
            this.end = end;
            this.data = data;
        }
    }

    /** A datagram in reassembly ({@code struct ipq}). */
    private static final class Ipq {
        final Key key;
        final Callout timer;
        final List<Frag> frags = new ArrayList<>();  // sorted by start, non-overlapping
        byte[] firstHeader;                          // header of the offset-0 fragment, once seen
        int rcvif;
        int lastEnd = -1;                            // datagram payload length, once the last fragment came

        Ipq(Key key, Callout timer) {
            this.key = key;
            this.timer = timer;
        }
    }

    private final Inet inet;
    private final IpStats stats;
    private final Mtx lock = new Mtx("ipreass", "ipq");
    @GuardedBy("lock") private final LinkedHashMap<Key, Ipq> queues = new LinkedHashMap<>();
    @GuardedBy("lock") private int fragsHeld;
    @GuardedBy("lock") private boolean closed;
    final Sysctl.IntOid maxfragpackets;
    final Sysctl.IntOid maxfragsperpacket;
    final Sysctl.IntOid fragttl;

    IpReass(Inet inet, Sysctl tree) {
        this.inet = inet;
        this.stats = inet.ip().stats;
        this.maxfragpackets = tree.addInt("net.inet.ip.maxfragpackets",
                "Maximum number of IPv4 fragment reassembly queue entries", 1024, 0, 1 << 20, true);
        this.maxfragsperpacket = tree.addInt("net.inet.ip.maxfragsperpacket",
                "Maximum number of IPv4 fragments allowed per packet", 16, 1, 8192, true);
        this.fragttl = tree.addInt("net.inet.ip.fragttl", "IP fragment life time on reassembly queue (seconds)",
                30, 1, 3600, true);
        tree.addProc("net.inet.ip.fragpackets", "Current number of IPv4 fragment reassembly queue entries", this::queues);
        tree.addProc("net.inet.ip.fragsheld", "Current number of fragments held for reassembly", this::fragsHeld);
    }

    /** Datagrams in reassembly now. Takes the lock. */
    public int queues() {
        lock.lock();
        try {
            return queues.size();
        } finally {
            lock.unlock();
        }
    }

    /** Fragments held now. Takes the lock. */
    public int fragsHeld() {
        lock.lock();
        try {
            return fragsHeld;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Adds fragment {@code m} (a checked datagram with MF or an offset, header contiguous). Consumes it.
     * Returns the whole datagram (header fixed: offset 0, no MF, full length) when this fragment
     * completed it, else null. Call with no lock held.
     */
    Mbuf reass(Mbuf m) {
        stats.fragments.inc();
        Ipv4View v = new Ipv4View(m.data(), m.dataOff());
        int hlen = v.hlen();
        int start = v.fragOffset();
        int dlen = v.totalLength() - hlen;
        boolean mf = v.mf();
        if (dlen <= 0 || (mf && (dlen & 7) != 0)) {
            stats.fragdropped.inc(); // a middle fragment must carry a multiple of 8 bytes
            m.freem();
            return null;
        }
        if (start + dlen + hlen > Ipv4View.MAXPACKET) {
            stats.toolong.inc();
            stats.fragdropped.inc();
            m.freem();
            return null;
        }
        Key key = new Key(v.src().bits(), v.dst().bits(), v.id(), v.protocol());
        byte[] header = start == 0 ? copyHeader(m, hlen) : null;
        int rcvif = m.rcvifIndex();
        m.adj(hlen);
        List<Mbuf> toFree = new ArrayList<>();
        Mbuf done;
        lock.lock();
        try {
            done = insert(key, start, start + dlen, mf, m, header, rcvif, toFree);
        } finally {
            lock.unlock();
        }
        toFree.forEach(Mbuf::freem);
        return done;
    }

    private static byte[] copyHeader(Mbuf m, int hlen) {
        byte[] h = new byte[hlen];
        m.copydata(0, hlen, h, 0);
        return h;
    }

    @GuardedBy("lock")
    private Mbuf insert(Key key, int start, int end, boolean mf, Mbuf m, byte[] header, int rcvif, List<Mbuf> toFree) {
        lock.assertOwned();
        Ipq q = queues.get(key);
        if (q == null) {
            int max = maxfragpackets.get();
            if (max == 0 || closed) {
                stats.fragdropped.inc();
                toFree.add(m);
                return null;
            }
            while (queues.size() >= max) {
                Iterator<Ipq> oldest = queues.values().iterator();
                Ipq victim = oldest.next();
                oldest.remove();
                stats.fragdropped.add(victim.frags.size());
                drop(victim, toFree);
            }
            Callout timer = new Callout(inet.callouts());
            q = new Ipq(key, timer);
            queues.put(key, q);
            Ipq armed = q;
            timer.reset(Duration.ofSeconds(fragttl.get()), () -> expire(armed));
        }
        if (q.frags.size() >= maxfragsperpacket.get()) {
            queues.remove(key);
            q.timer.stop();
            stats.fragdropped.add(q.frags.size() + 1L);
            drop(q, toFree);
            toFree.add(m);
            return null;
        }
        if (header != null) {
            q.firstHeader = header;
        }
        q.rcvif = rcvif;
        if (!mf) {
            if (q.lastEnd >= 0 && q.lastEnd != end) {
                stats.fragdropped.inc(); // two different ends: keep the first claim
                toFree.add(m);
                return null;
            }
            q.lastEnd = end;
        }
        if (!place(q, new Frag(start, end, m), toFree)) {
            return null;
        }
        return complete(q) ? assemble(q) : null;
    }

    /** Inserts {@code f} in order, trimming overlaps; false if nothing of it was new. */
    @GuardedBy("lock")
    private boolean place(Ipq q, Frag f, List<Mbuf> toFree) {
        lock.assertOwned();
        List<Frag> l = q.frags;
        int i = 0;
        while (i < l.size() && l.get(i).start <= f.start) {
            i++;
        }
        if (i > 0) {
            Frag prev = l.get(i - 1);
            if (prev.end >= f.end) {
                stats.fragdropped.inc(); // wholly covered: a duplicate
                toFree.add(f.data);
                return false;
            }
            if (prev.end > f.start) {
                f.data.adj(prev.end - f.start);
                f.start = prev.end;
            }
        }
        while (i < l.size() && l.get(i).start < f.end) {
            Frag next = l.get(i);
            if (next.end <= f.end) {
                l.remove(i); // wholly covered by the new fragment
                fragsHeld--;
                stats.fragdropped.inc();
                toFree.add(next.data);
            } else {
                next.data.adj(f.end - next.start);
                next.start = f.end;
                break;
            }
        }
        l.add(i, f);
        fragsHeld++;
        return true;
    }

    @GuardedBy("lock")
    private boolean complete(Ipq q) {
        lock.assertOwned();
        if (q.lastEnd < 0 || q.firstHeader == null) {
            return false;
        }
        int at = 0;
        for (Frag f : q.frags) {
            if (f.start != at) {
                return false;
            }
            at = f.end;
        }
        return at == q.lastEnd;
    }

    @GuardedBy("lock")
    private Mbuf assemble(Ipq q) {
        lock.assertOwned();
        queues.remove(q.key);
        q.timer.stop();
        fragsHeld -= q.frags.size();
        byte[] h = q.firstHeader;
        Ipv4View hv = new Ipv4View(h, 0);
        hv.setTotalLength(h.length + q.lastEnd);
        hv.setOffWord(hv.offWord() & Ipv4View.IP_DF);
        hv.fillChecksum();
        Mbuf head = Mbuf.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        if (head == null || !head.append(h, 0, h.length)) {
            if (head != null) {
                head.freem();
            }
            stats.fragdropped.add(q.frags.size());
            q.frags.forEach(f -> f.data.freem());
            return null;
        }
        for (Frag f : q.frags) {
            head.catpkt(f.data);
        }
        head.setRcvifIndex(q.rcvif);
        stats.reassembled.inc();
        return head.pullup(h.length);
    }

    @GuardedBy("lock")
    private void drop(Ipq q, List<Mbuf> toFree) {
        lock.assertOwned();
        q.timer.stop();
        fragsHeld -= q.frags.size();
        for (Frag f : q.frags) {
            toFree.add(f.data);
        }
        q.frags.clear();
    }

    /** The reassembly timer ({@code ipfrag_slowtimo}): drops the datagram, time-exceeded if we had its start. */
    private void expire(Ipq q) {
        List<Mbuf> toFree = new ArrayList<>();
        Mbuf quote = null;
        lock.lock();
        try {
            if (queues.get(q.key) != q) {
                return; // completed, evicted or dropped meanwhile
            }
            queues.remove(q.key);
            stats.fragtimeout.add(q.frags.size());
            if (q.firstHeader != null && !q.frags.isEmpty() && q.frags.get(0).start == 0) {
                quote = quoteOf(q);
            }
            drop(q, toFree);
        } finally {
            lock.unlock();
        }
        toFree.forEach(Mbuf::freem);
        if (quote != null) {
            inet.icmp().error(quote, Icmp.TIMXCEED, Icmp.TIMXCEED_REASS, 0);
        }
    }

    /** The first fragment's header and first 8 data bytes, as it arrived, for the ICMP error. */
    @GuardedBy("lock")
    private Mbuf quoteOf(Ipq q) {
        lock.assertOwned();
        Frag f = q.frags.get(0);
        int n = Math.min(Icmp.QUOTE_LEN, f.end - f.start);
        byte[] b = new byte[q.firstHeader.length + n];
        System.arraycopy(q.firstHeader, 0, b, 0, q.firstHeader.length);
        f.data.copydata(0, n, b, q.firstHeader.length);
        Mbuf m = Mbuf.devget(b, 0, b.length, Mbuf.M_NOWAIT);
        if (m != null) {
            m.setRcvifIndex(q.rcvif);
        }
        return m;
    }

    /** Drops every queue and refuses new ones. May sleep (waits for running timers). */
    void close() {
        List<Mbuf> toFree = new ArrayList<>();
        List<Callout> timers = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            for (Ipq q : queues.values()) {
                timers.add(q.timer);
                drop(q, toFree);
            }
            queues.clear();
        } finally {
            lock.unlock();
        }
        toFree.forEach(Mbuf::freem);
        timers.forEach(Callout::drain);
    }
}
