package org.smpnet.netinet;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.smpnet.kern.Callout;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.IfnetListener;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;

/**
 * ARP for Ethernet ({@code if_ether.c}, {@code in_arpinput}, {@code arpresolve}) with one link-layer
 * table per interface ({@code lltable}). Resolution queues up to {@code net.link.ether.inet.maxhold}
 * packets per entry (older ones are dropped and counted beyond that), retransmits the request every
 * {@code net.link.ether.inet.wait} seconds up to {@code maxtries} times, then fails sends with
 * EHOSTDOWN for {@code down} seconds. Entries are REACHABLE for {@code max_age} seconds, then STALE
 * (used, re-asked on next use) for as long again before they are deleted.
 *
 * <p>Locking key: the per-interface tables are concurrent maps (lock-free lookup, like FreeBSD's
 * epoch-protected lltable reads); each entry has its own "lle" mutex (see {@link Llentry}), the last
 * lock before the driver queue in the declared order. No packet is sent and no other lock is taken
 * while an entry lock is held. Timers are MPSAFE callouts that re-check the entry under its lock.
 */
public final class Arp implements IfnetListener {
    private final Inet inet;
    final ArpStats stats = new ArpStats();
    private final ConcurrentHashMap<Ifnet, ConcurrentHashMap<InAddr, Llentry>> tables = new ConcurrentHashMap<>();
    final Sysctl.IntOid maxAge;
    final Sysctl.IntOid maxtries;
    final Sysctl.IntOid maxhold;
    final Sysctl.IntOid waitSecs;
    final Sysctl.IntOid downSecs;

    Arp(Inet inet, Sysctl tree) {
        this.inet = inet;
        this.maxAge = tree.addInt("net.link.ether.inet.max_age", "ARP entry lifetime in seconds", 1200, 1, Integer.MAX_VALUE, true);
        this.maxtries = tree.addInt("net.link.ether.inet.maxtries", "ARP resolution attempts before returning error", 5, 1, 100, true);
        this.maxhold = tree.addInt("net.link.ether.inet.maxhold", "Number of packets to hold per ARP entry", 16, 1, 1024, true);
        this.waitSecs = tree.addInt("net.link.ether.inet.wait", "Seconds between ARP request retransmits", 1, 1, 3600, true);
        this.downSecs = tree.addInt("net.link.ether.inet.down", "Seconds an unanswered ARP entry fails sends (EHOSTDOWN)", 20, 1, 3600, true);
        stats.table.register(tree, "net.link.ether.arp.stats");
    }

    public ArpStats stats() {
        return stats;
    }

    // ------------------------------------------------------------------ output side

    /**
     * {@code arpresolve}: the link address of {@code dst} on {@code ifp}, or null if {@code m} was queued
     * until a reply comes (it is then sent by the ARP input path). Consumes {@code m} only when it
     * returns null or throws. Called in the net epoch with no entry lock held (PCB locks allowed); never sleeps.
     *
     * @throws ErrnoException EHOSTDOWN if {@code dst} did not answer {@code maxtries} requests recently
     */
    /**
     * The link address of {@code dst} on {@code ifp} if its entry is reachable (the lock-free part of
     * {@link #resolve(Ifnet, InAddr, Mbuf, IpRoute)}, which it shares), else null: then only {@code resolve}
     * knows what to do with a packet (hold it, ask, or fail). Remembers a reachable entry in {@code ro}.
     */
    MacAddr reachable(Ifnet ifp, InAddr dst, IpRoute ro) {
        if (ro != null) {
            Llentry c = ro.lle();
            if (c != null && c.ifp == ifp && c.addr.equals(dst)) {
                MacAddr fast = c.fastMac;
                if (fast != null) {
                    return fast;
                }
            }
        }
        Llentry e = table(ifp).get(dst);
        MacAddr fast = e == null ? null : e.fastMac;
        if (fast != null && ro != null) {
            ro.setLle(e);
        }
        return fast;
    }

    MacAddr resolve(Ifnet ifp, InAddr dst, Mbuf m) throws ErrnoException {
        return resolve(ifp, dst, m, null);
    }

    /**
     * {@link #resolve(Ifnet, InAddr, Mbuf)} through a cached route, which remembers the entry it resolved
     * last ({@code ro_lle}): while that entry is reachable and for the same interface and address, no
     * table is looked up. A reachable entry has a {@code fastMac}; deleting or aging it clears that first.
     */
    MacAddr resolve(Ifnet ifp, InAddr dst, Mbuf m, IpRoute ro) throws ErrnoException {
        MacAddr fast = reachable(ifp, dst, ro);
        if (fast != null) {
            return fast;
        }
        ConcurrentHashMap<InAddr, Llentry> t = table(ifp);
        Llentry e = t.get(dst);
        for (;;) {
            if (e == null) {
                e = t.computeIfAbsent(dst, a -> newEntry(ifp, a));
            }
            boolean ask = false;
            MacAddr mac = null;
            Mbuf dropped = null;
            Llentry ent = e;
            boolean retry;
            ent.lock.lock();
            try {
                retry = ent.deleted; // lost a race with a delete: look up again
                switch (retry ? null : ent.state) {
                    case null -> { }
                    case REACHABLE -> mac = ent.mac;
                    case STALE -> {
                        mac = ent.mac;
                        if (ent.asked == 0) { // RFC 1122 2.3.2.1: verify a stale entry in use
                            ent.asked = 1;
                            ask = true;
                            ent.timer.reset(Duration.ofSeconds(waitSecs.get()), () -> timer(ent));
                        }
                    }
                    case INCOMPLETE -> {
                        if (ent.hold.size() >= maxhold.get()) {
                            dropped = ent.hold.poll();
                        }
                        ent.hold.add(m);
                        if (ent.asked == 0) {
                            ent.asked = 1;
                            ask = true;
                            ent.timer.reset(Duration.ofSeconds(waitSecs.get()), () -> timer(ent));
                        }
                    }
                    case FAILED -> {
                        stats.dropped.inc();
                        m.freem();
                        throw new ErrnoException(Errno.EHOSTDOWN, dst + " on " + ifp.name() + " does not answer ARP");
                    }
                }
            } finally {
                ent.lock.unlock();
            }
            if (retry) {
                e = null;
                continue;
            }
            if (dropped != null) {
                stats.holdoverflow.inc();
                stats.dropped.inc();
                dropped.freem();
            }
            if (ask) {
                request(ifp, null, dst, MacAddr.BROADCAST);
            }
            return mac;
        }
    }

    private ConcurrentHashMap<InAddr, Llentry> table(Ifnet ifp) {
        ConcurrentHashMap<InAddr, Llentry> t = tables.get(ifp); // computeIfAbsent would lock a bin on some paths
        return t != null ? t : tables.computeIfAbsent(ifp, i -> new ConcurrentHashMap<>());
    }

    private Llentry newEntry(Ifnet ifp, InAddr a) {
        return new Llentry(a, ifp, new Callout(inet.callouts()));
    }

    /** Sends a request for {@code tip} from {@code sip} (null: our address on {@code ifp}). */
    private void request(Ifnet ifp, InAddr sip, InAddr tip, MacAddr dstMac) {
        if (sip == null) {
            int et = Epoch.NET.enter();
            try {
                sip = inet.routing().addressOn(ifp);
            } finally {
                Epoch.NET.exit(et);
            }
            if (sip == null) {
                stats.nomem.inc(); // no address to ask from: cannot resolve on this interface
                return;
            }
        }
        if (send(ifp, new ArpRepr(ArpRepr.ARPOP_REQUEST, MacAddr.of(ifp.lladdr()), sip, MacAddr.ZERO, tip), dstMac)) {
            stats.txrequests.inc();
        }
    }

    /**
     * Sends a gratuitous ARP for {@code addr} on {@code ifp} (request with sender and target both
     * {@code addr}): announces a new address and lets a holder of the same address show up as a
     * conflict. Hold no entry lock.
     */
    public void announce(Ifnet ifp, InAddr addr) {
        if (send(ifp, new ArpRepr(ArpRepr.ARPOP_REQUEST, MacAddr.of(ifp.lladdr()), addr, MacAddr.ZERO, addr),
                MacAddr.BROADCAST)) {
            stats.txgratuitous.inc();
        }
    }

    private boolean send(Ifnet ifp, ArpRepr r, MacAddr dstMac) {
        byte[] b = new byte[ArpView.LEN];
        r.emit(new ArpView(b, 0));
        Mbuf m = Mbuf.devget(b, 0, b.length, Mbuf.M_NOWAIT);
        if (m == null) {
            stats.nomem.inc();
            return false;
        }
        inet.ether().output(ifp, m, dstMac, EtherRepr.ETHERTYPE_ARP);
        return true;
    }

    /** {@code arptimer}: retransmit, fail, age or delete, per state. Runs on a callout thread, no lock held. */
    private void timer(Llentry e) {
        boolean ask = false;
        List<Mbuf> drop = new ArrayList<>();
        e.lock.lock();
        try {
            if (e.deleted) {
                return;
            }
            switch (e.state) {
                case INCOMPLETE -> {
                    if (e.asked < maxtries.get()) {
                        e.asked++;
                        ask = true;
                        e.timer.reset(Duration.ofSeconds(waitSecs.get()), () -> timer(e));
                    } else {
                        e.state = Llentry.State.FAILED;
                        stats.timeouts.inc();
                        drop.addAll(e.hold);
                        e.hold.clear();
                        e.timer.reset(Duration.ofSeconds(downSecs.get()), () -> timer(e));
                    }
                }
                case REACHABLE -> {
                    e.state = Llentry.State.STALE;
                    e.fastMac = null;
                    e.asked = 0;
                    e.timer.reset(Duration.ofSeconds(maxAge.get()), () -> timer(e));
                }
                case STALE -> {
                    if (e.asked > 0 && e.asked < maxtries.get()) {
                        e.asked++;
                        ask = true;
                        e.timer.reset(Duration.ofSeconds(waitSecs.get()), () -> timer(e));
                    } else {
                        stats.timeouts.inc();
                        e.markDeleted(drop);
                        unlink(e);
                    }
                }
                case FAILED -> {
                    e.markDeleted(drop);
                    unlink(e);
                }
            }
        } finally {
            e.lock.unlock();
        }
        stats.dropped.add(drop.size());
        drop.forEach(Mbuf::freem);
        if (ask) {
            request(e.ifp, null, e.addr, MacAddr.BROADCAST);
        }
    }

    /** Removes a deleted entry from its table (any thread, any lock). */
    private void unlink(Llentry e) {
        ConcurrentHashMap<InAddr, Llentry> t = tables.get(e.ifp);
        if (t != null) {
            t.remove(e.addr, e);
        }
    }

    // ------------------------------------------------------------------ input side

    /** Netisr entry. Consumes {@code m}. */
    void netisrInput(Mbuf m) {
        Epoch.NET.assertInEpoch(); // netisr calls handlers in the net epoch
        Ifnet ifp = inet.ifnets().byIndex(m.rcvifIndex());
        if (ifp == null) {
            stats.received.inc();
            stats.badaddr.inc();
            m.freem();
            return;
        }
        input(ifp, m);
    }

    /** {@code arpintr}/{@code in_arpinput}. In the net epoch, no lock held. Consumes {@code m}. */
    void input(Ifnet ifp, Mbuf m) {
        stats.received.inc();
        int len = m.pktLen();
        byte[] b = new byte[Math.min(len, ArpView.LEN)];
        m.copydata(0, b.length, b, 0);
        m.freem();
        ArpView v = new ArpView(b, 0);
        ArpRepr.Defect d = ArpRepr.check(v, b.length);
        if (d != null) {
            (switch (d) {
                case TOOSMALL -> stats.toosmall;
                case BADHRD -> stats.badhrd;
                case BADPRO -> stats.badpro;
                case BADOP -> stats.badop;
            }).inc();
            return;
        }
        ArpRepr r = new ArpRepr(v.op(), v.sha(), v.spa(), v.tha(), v.tpa());
        if (r.op() == ArpRepr.ARPOP_REQUEST) {
            stats.rxrequests.inc();
        } else {
            stats.rxreplies.inc();
        }
        MacAddr mine = MacAddr.of(ifp.lladdr());
        if (r.sha().equals(mine)) {
            stats.badaddr.inc(); // our own packet looped back (or a spoofer using our address)
            return;
        }
        if (r.sha().isMulticast()) {
            stats.badaddr.inc(); // a broadcast or group sender address is bogus
            return;
        }
        InRouting rt = inet.routing();
        if (!r.spa().isAny() && rt.isLocalOn(r.spa(), ifp)) {
            stats.dupips.inc(); // another host uses one of our addresses
            if (r.op() == ArpRepr.ARPOP_REQUEST && r.spa().equals(r.tpa())) {
                announce(ifp, r.spa()); // defend the address (RFC 5227 2.4 b)
            }
            return;
        }
        boolean forUs = rt.isLocalOn(r.tpa(), ifp);
        if (!r.spa().isAny()) {
            update(ifp, r.spa(), r.sha(), forUs);
        } else if (r.op() != ArpRepr.ARPOP_REQUEST) {
            stats.badaddr.inc(); // a reply from 0.0.0.0 (only probes may use it, RFC 5227 2.1.1)
        }
        if (r.op() == ArpRepr.ARPOP_REQUEST) {
            if (!forUs) {
                stats.notforus.inc();
                return;
            }
            if (send(ifp, new ArpRepr(ArpRepr.ARPOP_REPLY, mine, r.tpa(), r.sha(), r.spa()), r.sha())) {
                stats.txreplies.inc();
            }
        }
    }

    /**
     * Records that {@code ip} is at {@code mac}: updates an existing entry, or creates one when the
     * packet was aimed at us (RFC 826). Flushes the hold queue of a resolved entry. No lock held.
     */
    private void update(Ifnet ifp, InAddr ip, MacAddr mac, boolean create) {
        ConcurrentHashMap<InAddr, Llentry> t = table(ifp);
        Llentry e = t.get(ip);
        if (e == null) {
            if (!create) {
                stats.unsolicited.inc();
                return;
            }
            e = t.computeIfAbsent(ip, a -> newEntry(ifp, a));
        }
        // Held packets leave before any later one: while they are sent (outside the lock) the entry stays
        // INCOMPLETE, so a concurrent resolve holds its packet too and the next round here sends it; only
        // an empty hold queue makes the entry REACHABLE and publishes fastMac.
        List<Mbuf> flush = new ArrayList<>();
        while (true) {
            e.lock.lock();
            try {
                if (e.deleted) {
                    break; // the delete freed (and counted) what was held
                }
                e.mac = mac;
                if (!e.hold.isEmpty()) {
                    flush.addAll(e.hold);
                    e.hold.clear();
                    e.asked = 1; // resolved: resolve must not ask again while we flush
                } else {
                    e.state = Llentry.State.REACHABLE;
                    e.asked = 0;
                    Llentry ent = e;
                    e.timer.reset(Duration.ofSeconds(maxAge.get()), () -> timer(ent));
                    e.fastMac = mac; // publish last: readers of fastMac see a complete entry
                    break;
                }
            } finally {
                e.lock.unlock();
            }
            for (Mbuf m : flush) {
                inet.ether().outputInEpoch(ifp, m, mac, EtherRepr.ETHERTYPE_IP);
            }
            flush.clear();
        }
    }

    // ------------------------------------------------------------------ administration

    /** The entries on {@code ifp} ({@code arp -a -i}). */
    public List<Llentry.Snapshot> entries(Ifnet ifp) {
        ConcurrentHashMap<InAddr, Llentry> t = tables.get(ifp);
        List<Llentry.Snapshot> out = new ArrayList<>();
        if (t != null) {
            t.values().forEach(e -> out.add(e.snapshot()));
        }
        out.sort((a, c) -> a.addr().compareTo(c.addr()));
        return out;
    }

    /** The entry for {@code addr} on {@code ifp}, or null. */
    public Llentry.Snapshot lookup(Ifnet ifp, InAddr addr) {
        ConcurrentHashMap<InAddr, Llentry> t = tables.get(ifp);
        Llentry e = t == null ? null : t.get(addr);
        return e == null ? null : e.snapshot();
    }

    /** Deletes the entry for {@code addr} on {@code ifp} ({@code arp -d}); its held packets are dropped. */
    public boolean delete(Ifnet ifp, InAddr addr) {
        ConcurrentHashMap<InAddr, Llentry> t = tables.get(ifp);
        Llentry e = t == null ? null : t.get(addr);
        if (e == null) {
            return false;
        }
        destroy(e);
        return true;
    }

    /** Marks {@code e} deleted and unlinks it; the packets it held are dropped and counted. */
    private void destroy(Llentry e) {
        List<Mbuf> drop = new ArrayList<>();
        e.lock.lock();
        try {
            e.markDeleted(drop);
            unlink(e);
        } finally {
            e.lock.unlock();
        }
        stats.dropped.add(drop.size());
        drop.forEach(Mbuf::freem);
    }

    @Override
    public void departing(Ifnet ifp) {
        flush(ifp);
    }

    private void flush(Ifnet ifp) {
        ConcurrentHashMap<InAddr, Llentry> t = tables.remove(ifp);
        if (t != null) {
            for (Llentry e : t.values()) {
                destroy(e);
            }
        }
    }

    /** Deletes every entry; running timers find their entries deleted. Never sleeps. */
    void close() {
        for (Ifnet ifp : List.copyOf(tables.keySet())) {
            flush(ifp);
        }
    }
}
