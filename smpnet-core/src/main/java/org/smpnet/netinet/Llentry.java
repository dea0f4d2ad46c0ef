package org.smpnet.netinet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import org.smpnet.kern.Callout;
import org.smpnet.kern.Mtx;
import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;

/**
 * One ARP table entry ({@code struct llentry}): an IPv4 neighbour on one interface.
 *
 * <p>Locking key: {@link #addr}, {@link #ifp} and {@link #timer} are final; the state, link address,
 * request count, hold queue and deleted flag are guarded by {@link #lock} ("lle", class "lle"). The
 * volatile {@link #fastMac} mirrors the address while the entry is REACHABLE so output can use it
 * without the lock (it is published after the guarded fields are set, under the lock).
 */
public final class Llentry {
    /** Neighbour states (FreeBSD's {@code ARP_LLINFO_*}, with the stale/failed states made explicit). */
    public enum State {
        /** A request is out; packets wait in the hold queue. */
        INCOMPLETE,
        /** Confirmed by a reply or request from the neighbour; used until it ages out. */
        REACHABLE,
        /** Aged out but still used; the next use asks again. */
        STALE,
        /** No answer after {@code maxtries} requests: sends fail with EHOSTDOWN until it is deleted. */
        FAILED
    }

    final InAddr addr;
    final Ifnet ifp;
    final Mtx lock = new Mtx("lle", "lle");
    final Callout timer;
    @GuardedBy("lock") State state = State.INCOMPLETE;
    @GuardedBy("lock") MacAddr mac;
    @GuardedBy("lock") int asked;
    @GuardedBy("lock") final ArrayDeque<Mbuf> hold = new ArrayDeque<>();
    @GuardedBy("lock") boolean deleted;
    volatile MacAddr fastMac;

    Llentry(InAddr addr, Ifnet ifp, Callout timer) {
        this.addr = addr;
        this.ifp = ifp;
        this.timer = timer;
    }

    /** Marks the entry dead: stops its timer and moves its held packets to {@code drop}. */
    @GuardedBy("lock")
    void markDeleted(java.util.List<Mbuf> drop) {
        lock.assertOwned();
        deleted = true;
        fastMac = null;
        drop.addAll(hold);
        hold.clear();
        timer.stop();
    }

    public InAddr addr() {
        return addr;
    }

    /** A snapshot for display ({@code arp -a}). Takes the entry lock. */
    public Snapshot snapshot() {
        lock.lock();
        try {
            return new Snapshot(addr, ifp.name(), state, mac, hold.size(), asked);
        } finally {
            lock.unlock();
        }
    }

    /** What {@code arp -a} shows of an entry. */
    public record Snapshot(InAddr addr, String ifname, State state, MacAddr mac, int held, int asked) {
        @Override
        public String toString() {
            return "? (" + addr + ") at " + (mac == null ? "(incomplete)" : mac.toString()) + " on " + ifname
                    + " " + state.name().toLowerCase(java.util.Locale.ROOT) + (held > 0 ? " held " + held : "");
        }
    }
}
