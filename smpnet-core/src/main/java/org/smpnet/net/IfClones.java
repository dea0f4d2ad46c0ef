package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Mtx;

/**
 * The interface cloners of one stack instance ({@code if_clone.c}): create and destroy interfaces by
 * name ({@code ifconfig epair create}, {@code ifconfig vlan5 create vlan 5 vlandev em0},
 * {@code ifconfig lo1 destroy}), safe against concurrent traffic, lookups and other creates and
 * destroys (R-IF-2).
 *
 * <p>Units: {@code epair3} asks for unit 3 ({@link IfnetExistsException} if taken); {@code epair}
 * takes the lowest unit that is neither allocated nor has one of its names in use. A unit is reserved
 * before the interfaces are created, so two creates never race for it, and released when its clone's
 * interfaces have all departed (destroyed by name, or by their own teardown, as a vlan whose parent left).
 *
 * <p>Locking key: {@code cloners}, {@code units}, {@code byName} and {@code closed} are guarded by
 * {@link #lock} ("if_cloners", a mutex never held across a create or destroy, which sleep).
 */
public final class IfClones implements IfnetListener {
    private static final Pattern NAME = Pattern.compile("([a-z]+)(0|[1-9][0-9]{0,8})?");

    /** One created unit. */
    private record Entry(IfCloner cloner, int unit, IfCloner.Clone created) {}

    private final IfnetList list;
    private final Mtx lock;
    @GuardedBy("lock") private final Map<String, IfCloner> cloners = new HashMap<>();
    @GuardedBy("lock") private final Map<String, BitSet> units = new HashMap<>();
    @GuardedBy("lock") private final Map<String, Entry> byName = new HashMap<>();
    @GuardedBy("lock") private boolean closed;

    public IfClones(String owner, IfnetList list) {
        this.list = list;
        this.lock = new Mtx("if_cloners " + owner, "if_cloners");
        list.addListener(this);
    }

    /**
     * Registers a cloner ({@code if_clone_attach}).
     *
     * @throws IllegalArgumentException if the prefix is not letters only or already registered
     */
    public void register(IfCloner c) {
        String p = c.prefix();
        if (p == null || !p.matches("[a-z]+")) {
            throw new IllegalArgumentException("cloner prefix '" + p + "' must be lower-case letters");
        }
        lock.lock();
        try {
            if (cloners.putIfAbsent(p, c) != null) {
                throw new IllegalArgumentException("a cloner for '" + p + "' is already registered");
            }
            units.put(p, new BitSet());
        } finally {
            lock.unlock();
        }
    }

    /** The registered prefixes ({@code ifconfig -C}). */
    public List<String> prefixes() {
        lock.lock();
        try {
            return List.copyOf(new java.util.TreeSet<>(cloners.keySet()));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Creates interfaces by name ({@code SIOCIFCREATE2}): {@code prefix} or {@code prefix<unit>}. May
     * sleep; hold no lock, be outside the net epoch.
     *
     * @return the names of the interfaces created, e.g. {@code [epair0a, epair0b]}
     * @throws IllegalArgumentException for a malformed name, an unknown prefix or a unit out of range (EINVAL),
     *     or what the cloner rejects
     * @throws IfnetExistsException if the unit is taken (EEXIST)
     * @throws IllegalStateException once the stack instance is closing
     */
    public List<String> create(String name, Map<String, String> params) {
        Matcher mt = name == null ? null : NAME.matcher(name);
        if (mt == null || !mt.matches()) {
            throw new IllegalArgumentException("bad interface name '" + name + "' to create: expected a prefix and an "
                    + "optional unit, like vlan5 (EINVAL)");
        }
        String prefix = mt.group(1);
        boolean wildcard = mt.group(2) == null;
        int wanted = wildcard ? -1 : Integer.parseInt(mt.group(2));
        Map<String, String> p = params == null ? Map.of() : params;
        for (int attempt = 0; ; attempt++) {
            Reservation r = reserve(prefix, wanted);
            IfCloner.Clone clone;
            try {
                clone = r.cloner.create(r.unit, p);
            } catch (IfnetExistsException taken) { // a name of this unit was attached outside the cloner
                release(prefix, r.unit);
                if (wildcard && attempt < 64 && namesInUse(r.cloner, r.unit)) {
                    continue;
                }
                throw taken;
            } catch (RuntimeException e) {
                release(prefix, r.unit);
                throw e;
            }
            return register(prefix, r, clone);
        }
    }

    private record Reservation(IfCloner cloner, int unit) {}

    private Reservation reserve(String prefix, int wanted) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("stack instance is closing: no interface can be created (ENXIO)");
            }
            IfCloner c = cloners.get(prefix);
            if (c == null) {
                throw new IllegalArgumentException("no interface cloner for '" + prefix + "' (EINVAL); known: "
                        + new java.util.TreeSet<>(cloners.keySet()));
            }
            BitSet used = units.get(prefix);
            int unit = wanted;
            if (unit < 0) {
                unit = used.nextClearBit(0);
                while (unit <= c.maxUnit() && namesInUse(c, unit)) {
                    unit = used.nextClearBit(unit + 1);
                }
            } else if (used.get(unit) || namesInUse(c, unit)) {
                throw new IfnetExistsException("interface " + prefix + unit + " already exists (EEXIST)");
            }
            if (unit > c.maxUnit()) {
                throw new IllegalArgumentException((wanted < 0 ? "no free unit" : "unit " + unit + " out of range")
                        + " for " + prefix + " (max " + c.maxUnit() + ") (EINVAL)");
            }
            used.set(unit);
            return new Reservation(c, unit);
        } finally {
            lock.unlock();
        }
    }

    /** Whether an interface with one of the unit's names is attached (created outside the cloner). */
    private boolean namesInUse(IfCloner c, int unit) {
        int et = Epoch.NET.enter();
        try {
            for (String n : c.names(unit)) {
                if (list.byName(n) != null) {
                    return true;
                }
            }
            return false;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private List<String> register(String prefix, Reservation r, IfCloner.Clone clone) {
        List<String> names = new ArrayList<>();
        boolean orphan;
        lock.lock();
        try {
            Entry e = new Entry(r.cloner, r.unit, clone);
            for (Ifnet ifp : clone.ifnets()) {
                names.add(ifp.name());
                byName.put(ifp.name(), e);
            }
            orphan = closed || allGone(clone); // closing, or torn down by someone else already
            if (orphan) {
                names.forEach(byName::remove);
                units.get(prefix).clear(r.unit);
            }
        } finally {
            lock.unlock();
        }
        if (orphan) {
            clone.destroy();
            throw new IfnetGoneException(prefix + r.unit, IfnetState.DETACHED);
        }
        return names;
    }

    private static boolean allGone(IfCloner.Clone clone) {
        for (Ifnet ifp : clone.ifnets()) {
            if (ifp.state() == IfnetState.ATTACHED) {
                return false;
            }
        }
        return true;
    }

    private void release(String prefix, int unit) {
        lock.lock();
        try {
            units.get(prefix).clear(unit);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Destroys the clone that created interface {@code name} ({@code SIOCIFDESTROY}); for an epair,
     * either side's name destroys both. May sleep; hold no lock, be outside the net epoch.
     *
     * @throws IllegalArgumentException if the interface exists but was not created by cloning (EINVAL)
     * @throws IllegalStateException if another thread is creating or destroying it right now (EBUSY)
     * @throws IfnetGoneException if no such interface exists (ENXIO)
     */
    public void destroy(String name) {
        Entry e;
        lock.lock();
        try {
            e = byName.get(name);
            if (e != null) {
                unregisterLocked(e);
            } else if (inTransitLocked(name)) {
                throw new IllegalStateException("interface " + name + " is being created or destroyed (EBUSY)");
            }
        } finally {
            lock.unlock();
        }
        if (e == null) {
            int et = Epoch.NET.enter();
            boolean exists;
            try {
                exists = list.byName(name) != null;
            } finally {
                Epoch.NET.exit(et);
            }
            if (exists) {
                throw new IllegalArgumentException("interface " + name + " was not created by cloning and cannot be "
                        + "destroyed (EINVAL)");
            }
            throw new IfnetGoneException(name, IfnetState.DETACHED);
        }
        e.created.destroy();
        release(e.cloner.prefix(), e.unit);
    }

    /** Whether {@code name} belongs to a unit that is reserved but has no registered clone: mid-create or mid-destroy. */
    @GuardedBy("lock")
    private boolean inTransitLocked(String name) {
        lock.assertOwned();
        for (Map.Entry<String, IfCloner> c : cloners.entrySet()) {
            String prefix = c.getKey();
            if (!name.startsWith(prefix)) {
                continue;
            }
            int end = prefix.length();
            while (end < name.length() && end < prefix.length() + 9 && Character.isDigit(name.charAt(end))) {
                end++;
            }
            if (end == prefix.length()) {
                continue;
            }
            int unit = Integer.parseInt(name.substring(prefix.length(), end));
            if (units.get(prefix).get(unit) && c.getValue().names(unit).contains(name)) {
                return true;
            }
        }
        return false;
    }

    /** Removes the clone's names, so no second destroy finds it; the unit stays reserved. */
    @GuardedBy("lock")
    private void unregisterLocked(Entry e) {
        lock.assertOwned();
        for (Ifnet ifp : e.created.ifnets()) {
            byName.remove(ifp.name(), e);
        }
    }

    /** A cloned interface left by another path (a vlan whose parent left): forget its clone once all of it is gone. */
    @Override
    public void departing(Ifnet ifp) {
        lock.lock();
        try {
            Entry e = byName.get(ifp.name());
            if (e != null && e.created.ifnets().contains(ifp) && allGone(e.created)) {
                unregisterLocked(e);
                units.get(e.cloner.prefix()).clear(e.unit);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code name} is an interface created by cloning. */
    public boolean isCloned(String name) {
        lock.lock();
        try {
            return byName.containsKey(name);
        } finally {
            lock.unlock();
        }
    }

    /** Refuses further creates and destroys every clone (stack shutdown). May sleep; hold no lock. */
    public void close() {
        List<Entry> all;
        lock.lock();
        try {
            closed = true;
            all = new ArrayList<>(new LinkedHashSet<>(byName.values()));
            byName.clear();
        } finally {
            lock.unlock();
        }
        for (Entry e : all) {
            e.created.destroy();
            release(e.cloner.prefix(), e.unit);
        }
    }
}
