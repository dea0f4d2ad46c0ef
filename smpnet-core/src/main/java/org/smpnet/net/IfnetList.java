package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Sx;
import org.smpnet.kern.Witness;

/**
 * The interfaces of one stack instance ({@code V_ifnet} with {@code ifindex_table}).
 *
 * <p>Locking key: writers (attach, detach) serialise on {@link #lock} ("ifnet_sx", sleepable, since
 * detach waits for the epoch after dropping it). Readers take no lock: they look up in the volatile
 * copy-on-write {@link #byIndex} and {@link #byName} tables from inside the net epoch, and must not
 * keep the {@link Ifnet} past their epoch section (a detach waits for that section to end).
 *
 * <p>Memory effects: everything a driver wrote to an {@link Ifnet} before {@link #attach} happens-before
 * any lookup that returns it.
 */
public final class IfnetList {
    private final String owner;
    private final Sx lock;
    @GuardedBy("lock.writeLock()") private Ifnet[] table = new Ifnet[1];
    @GuardedBy("lock.writeLock()") private Map<String, Ifnet> names = new HashMap<>();
    private volatile Ifnet[] byIndex = new Ifnet[1];
    private volatile Map<String, Ifnet> byName = Map.of();
    private final CopyOnWriteArrayList<IfnetListener> listeners = new CopyOnWriteArrayList<>();

    /** @param owner the stack instance's name, for messages and lock names */
    public IfnetList(String owner) {
        this.owner = owner;
        this.lock = new Sx("ifnet_sx " + owner, "ifnet_sx");
    }

    public void addListener(IfnetListener l) {
        listeners.add(l);
    }

    public void removeListener(IfnetListener l) {
        listeners.remove(l);
    }

    /**
     * Makes a fully initialised interface visible: assigns the lowest free index and publishes it.
     * Then tells the listeners (ifnet_arrival_event), without locks held.
     *
     * @throws IllegalStateException if the interface is not freshly allocated
     * @throws IllegalArgumentException if the name is taken ("EEXIST")
     */
    public void attach(Ifnet ifp) {
        lock.writeLock().lock();
        try {
            if (ifp.state() != IfnetState.ALLOCATED) {
                throw new IllegalStateException("interface " + ifp.name() + " cannot be attached in state " + ifp.state());
            }
            if (names.containsKey(ifp.name())) {
                throw new IfnetExistsException("interface " + ifp.name() + " already exists in " + owner + " (EEXIST)");
            }
            int idx = 1;
            while (idx < table.length && table[idx] != null) {
                idx++;
            }
            Ifnet[] t = idx < table.length ? table.clone() : Arrays.copyOf(table, Math.max(idx + 1, table.length * 2));
            ifp.markAttached(this, idx);
            t[idx] = ifp;
            Map<String, Ifnet> n = new HashMap<>(names);
            n.put(ifp.name(), ifp);
            table = t;
            names = n;
            byIndex = t;            // publication: the ifnet's set-up happens-before these writes
            byName = Map.copyOf(n);
        } finally {
            lock.writeLock().unlock();
        }
        for (IfnetListener l : listeners) {
            l.arrived(ifp);
        }
    }

    /**
     * Detaches an interface (if_detach): unlinks it so no new lookup finds it, tells the listeners,
     * waits for the net epoch so no packet or lookup still uses it, then tears it down (driver stop,
     * BPF detach, per-family data dropped). May sleep; the caller must hold no lock and must not be in
     * the net epoch.
     *
     * @throws IfnetGoneException if it is already detaching or detached
     */
    public void detach(Ifnet ifp) {
        Witness.checkSleep("if_detach of " + ifp.name(), null);
        lock.writeLock().lock();
        try {
            if (ifp.list() != this || ifp.state() != IfnetState.ATTACHED) {
                throw new IfnetGoneException(ifp.name(), ifp.state());
            }
            ifp.markDetaching();
            Ifnet[] t = table.clone();
            t[ifp.index()] = null;
            Map<String, Ifnet> n = new HashMap<>(names);
            n.remove(ifp.name());
            table = t;
            names = n;
            byIndex = t;
            byName = Map.copyOf(n);
        } finally {
            lock.writeLock().unlock();
        }
        for (IfnetListener l : listeners) {
            l.departing(ifp);
        }
        Epoch.NET.synchronize();
        ifp.markDetached();
    }

    /**
     * The attached interface with this index, or null. The caller must be in the net epoch and not keep
     * the result past it.
     */
    public Ifnet byIndex(int index) {
        Epoch.NET.assertInEpoch();
        Ifnet[] t = byIndex;
        return index > 0 && index < t.length ? t[index] : null;
    }

    /** The attached interface with this name, or null. Same rules as {@link #byIndex}. */
    public Ifnet byName(String name) {
        Epoch.NET.assertInEpoch();
        return byName.get(name);
    }

    /** A snapshot of the attached interfaces, by index. For control paths and tools; takes no lock. */
    public List<Ifnet> snapshot() {
        List<Ifnet> out = new ArrayList<>();
        for (Ifnet ifp : byIndex) {
            if (ifp != null) {
                out.add(ifp);
            }
        }
        return out;
    }

    void fireMtu(Ifnet ifp, int mtu) {
        for (IfnetListener l : listeners) {
            l.mtuChanged(ifp, mtu);
        }
    }

    void fireLinkState(Ifnet ifp, LinkState s) {
        for (IfnetListener l : listeners) {
            l.linkStateChanged(ifp, s);
        }
    }

    @Override
    public String toString() {
        return "IfnetList[" + owner + " " + snapshot() + "]";
    }
}
