package org.smpnet.netinet;

import java.util.ArrayList;
import java.util.List;
import org.smpnet.net.InAddr;
import org.smpnet.net.Ifnet;

/**
 * The multicast options of one PCB ({@code struct ip_moptions}): outgoing interface, TTL, loopback
 * and the groups joined.
 *
 * <p>Locking: not thread-safe on its own; every access is under the owning PCB's lock ("inp"), which
 * {@link InPcb#moptions()} and {@link InPcb#moptionsForUpdate()} require.
 */
public final class IpMoptions {
    /** {@code IP_MAX_MEMBERSHIPS}. */
    public static final int MAX_MEMBERSHIPS = 4095;

    /** One joined group on one interface. */
    public record Membership(InAddr group, Ifnet ifp) {}

    private Ifnet multicastIfp;
    private InAddr multicastAddr = InAddr.ANY;
    private int ttl = InPcb.DEFAULT_MULTICAST_TTL;
    private boolean loop = true;
    private final List<Membership> memberships = new ArrayList<>();
    /** Bumped by every change of what {@link IpOutOpts} carries (interface, TTL, loop): output caches compare it. */
    private int version;

    /** The interface given by IP_MULTICAST_IF, or null for "by route". */
    public Ifnet multicastIfp() {
        return multicastIfp;
    }

    /** The address given with IP_MULTICAST_IF ({@code INADDR_ANY} for none). */
    public InAddr multicastAddr() {
        return multicastAddr;
    }

    public void setMulticastIf(Ifnet ifp, InAddr addr) {
        this.multicastIfp = ifp;
        this.multicastAddr = addr;
        version++;
    }

    public int ttl() {
        return ttl;
    }

    public void setTtl(int ttl) {
        this.ttl = ttl;
        version++;
    }

    public boolean loop() {
        return loop;
    }

    public void setLoop(boolean loop) {
        this.loop = loop;
        version++;
    }

    /** Changes whenever the interface, TTL or loop setting does. */
    int version() {
        return version;
    }

    public List<Membership> memberships() {
        return List.copyOf(memberships);
    }

    /** Whether the PCB joined {@code group} on the interface with index {@code ifIndex}. */
    public boolean isMember(InAddr group, int ifIndex) {
        for (Membership m : memberships) {
            if (m.group().equals(group) && m.ifp().index() == ifIndex) {
                return true;
            }
        }
        return false;
    }

    boolean add(Membership m) {
        return !memberships.contains(m) && memberships.add(m);
    }

    boolean remove(Membership m) {
        return memberships.remove(m);
    }

    int size() {
        return memberships.size();
    }
}
