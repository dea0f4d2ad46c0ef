package org.smpnet.net;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Sx;

/**
 * The VLAN layer of one stack instance ({@code if_vlan.c}'s trunks): for each parent interface, the
 * vlan interfaces on it by tag. It receives 802.1Q frames from {@link Ether} ({@code vlan_input}),
 * finds the vlan interface by (parent, tag), strips the tag and hands the frame to that interface's
 * input. When a parent departs its vlans are destroyed.
 *
 * <p>Locking key: {@code trunksW} is guarded by {@link #lock} ("vlan_sx", sleepable: attach and
 * detach sleep; taken before "ifnet_sx"). Input reads the volatile copy-on-write {@code trunks}
 * without locks, inside the net epoch; a detaching vlan stays reachable until the epoch drains, and its
 * {@link Ifnet#input} then counts the frame as dropped. Trunks are keyed by the parent's identity,
 * not its index, so a new interface reusing a departed parent's index never sees its vlans.
 */
public final class Vlans implements IfnetListener {
    private final IfnetList list;
    private final Ether ether;
    private final Sx lock;
    @GuardedBy("lock.writeLock()") private final IdentityHashMap<Ifnet, Vlan[]> trunksW = new IdentityHashMap<>();
    private volatile IdentityHashMap<Ifnet, Vlan[]> trunks = new IdentityHashMap<>();

    /** Tagged frames whose tag has no vlan interface on the receiving parent. */
    public final Counter unknownTag = new Counter();
    /** Tagged frames too short for the tag. */
    public final Counter runts = new Counter();
    /** Tagged frames dropped for lack of memory. */
    public final Counter nomem = new Counter();

    /** Installs the VLAN layer into a stack instance: its interface events and Ethernet's tag hook. */
    public Vlans(String owner, IfnetList list, Ether ether) {
        this.list = list;
        this.ether = ether;
        this.lock = new Sx("vlan_sx " + owner, "vlan_sx");
        list.addListener(this);
        ether.setVlanInput(this::input);
    }

    /**
     * Creates, attaches and brings up vlan interface {@code name} with {@code tag} on {@code parent}
     * ({@code vlan_clone_create} plus {@code vlan_config}). May sleep; hold no lock.
     *
     * @throws IllegalArgumentException for a bad tag, a parent that is not Ethernet or belongs to another
     *     stack, or a tag already used on this parent or a name already taken ({@link IfnetExistsException})
     * @throws IfnetGoneException if the parent is detaching or gone
     */
    public Vlan create(String name, int tag, Ifnet parent) {
        Vlan.checkTag(tag);
        Vlan v;
        lock.writeLock().lock();
        try {
            if (parent.list() != list) {
                throw new IllegalArgumentException("vlan parent " + parent.name() + " is not an interface of this stack");
            }
            parent.checkAttached();
            if (parent.type() != IfType.ETHER) {
                throw new IllegalArgumentException("vlan parent " + parent.name() + " is not Ethernet (EPROTONOSUPPORT)");
            }
            Vlan[] trunk = trunksW.get(parent);
            if (trunk != null && trunk[tag] != null) {
                throw new IfnetExistsException("vlan tag " + tag + " is already used on " + parent.name() + " by "
                        + trunk[tag].ifnet().name() + " (EEXIST)");
            }
            v = new Vlan(name, tag, parent, ether);
            list.attach(v.ifnet());
            Vlan[] n = trunk == null ? new Vlan[Vlan.MAX_TAG + 1] : trunk.clone();
            n[tag] = v;
            trunksW.put(parent, n);
            publishLocked();
        } finally {
            lock.writeLock().unlock();
        }
        v.ifnet().setFlags(IfFlags.UP, 0);
        v.ifnet().setMtu(parent.mtu()); // a parent MTU change that raced the trunk's publication
        return v;
    }

    /**
     * The {@code vlan} cloner: {@code vlanN} with parameters {@code tag} (1..4094) and {@code parent}
     * (the name of an Ethernet interface of this stack).
     */
    public IfCloner cloner() {
        return new IfCloner() {
            @Override
            public String prefix() {
                return "vlan";
            }

            @Override
            public Clone create(int unit, Map<String, String> params) {
                for (String k : params.keySet()) {
                    if (!k.equals("tag") && !k.equals("parent")) {
                        throw new IllegalArgumentException("unknown vlan parameter '" + k + "' (EINVAL): use tag and parent");
                    }
                }
                String tagText = params.get("tag");
                String parentName = params.get("parent");
                if (tagText == null || parentName == null) {
                    throw new IllegalArgumentException("vlan" + unit + " needs parameters tag and parent (EINVAL)");
                }
                int tag;
                try {
                    tag = Integer.parseInt(tagText);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("vlan tag '" + tagText + "' is not a number (EINVAL)", e);
                }
                Ifnet parent;
                int et = Epoch.NET.enter();
                try {
                    parent = list.byName(parentName);
                } finally {
                    Epoch.NET.exit(et);
                }
                if (parent == null) { // create() re-checks under the lock: the parent may leave meanwhile
                    throw new IfnetGoneException(parentName, IfnetState.DETACHED);
                }
                Vlan v = Vlans.this.create("vlan" + unit, tag, parent);
                return new Clone() {
                    @Override
                    public List<Ifnet> ifnets() {
                        return List.of(v.ifnet());
                    }

                    @Override
                    public void destroy() {
                        try {
                            Vlans.this.destroy(v);
                        } catch (IfnetGoneException alreadyGone) {
                            // its parent left and took it along
                        }
                    }
                };
            }
        };
    }

    /** Destroys a vlan interface ({@code vlan_clone_destroy}). May sleep; hold no lock. */
    public void destroy(Vlan v) {
        list.detach(v.ifnet()); // departing() unlinks it from the trunk
    }

    /** The vlans on {@code parent} now, for control paths. */
    public List<Vlan> on(Ifnet parent) {
        List<Vlan> out = new ArrayList<>();
        Vlan[] t = trunks.get(parent);
        if (t != null) {
            for (Vlan v : t) {
                if (v != null) {
                    out.add(v);
                }
            }
        }
        return out;
    }

    @GuardedBy("lock.writeLock()")
    private void publishLocked() {
        trunks = new IdentityHashMap<>(trunksW); // never modified after publication
    }

    /** A parent leaves: its vlans go too. A vlan leaves: unlink it from its trunk. No lock held. */
    @Override
    public void departing(Ifnet ifp) {
        List<Vlan> orphans = List.of();
        lock.writeLock().lock();
        try {
            Vlan[] trunk = trunksW.remove(ifp);
            if (trunk != null) {
                orphans = new ArrayList<>();
                for (Vlan v : trunk) {
                    if (v != null) {
                        orphans.add(v);
                    }
                }
            }
            if (ifp.driver() instanceof Vlan v) {
                Vlan[] t = trunksW.get(v.parent());
                if (t != null && t[v.tag()] == v) {
                    Vlan[] n = t.clone();
                    n[v.tag()] = null;
                    trunksW.put(v.parent(), n);
                }
            }
            publishLocked();
        } finally {
            lock.writeLock().unlock();
        }
        for (Vlan v : orphans) {
            try {
                list.detach(v.ifnet());
            } catch (IfnetGoneException alreadyLeaving) {
                // destroyed concurrently by its owner
            }
        }
    }

    @Override
    public void mtuChanged(Ifnet ifp, int mtu) {
        Vlan[] t = trunks.get(ifp);
        if (t != null) {
            for (Vlan v : t) {
                if (v != null) {
                    v.ifnet().setMtu(mtu); // the parent is assumed to carry full-size tagged frames (VLAN_MTU)
                }
            }
        }
    }

    @Override
    public void linkStateChanged(Ifnet ifp, LinkState state) {
        Vlan[] t = trunks.get(ifp);
        if (t != null) {
            for (Vlan v : t) {
                if (v != null && v.ifnet().isUp()) {
                    v.ifnet().setLinkState(state);
                }
            }
        }
    }

    /**
     * {@code vlan_input}: {@code m} is a whole 802.1Q frame received on {@code parent}. Consumes it.
     * Called by {@link Ether} inside the net epoch, no lock held.
     */
    void input(Ifnet parent, Mbuf m) {
        Epoch.NET.assertInEpoch();
        if (m.pktLen() < Vlan.HEADER_LEN) {
            runts.inc();
            parent.counter(IfCounter.IERRORS).inc();
            m.freem();
            return;
        }
        if ((m = m.pullup(Vlan.HEADER_LEN)) == null) {
            nomem.inc();
            parent.counter(IfCounter.IQDROPS).inc();
            return;
        }
        byte[] b = m.data();
        int o = m.dataOff();
        int tag = ((b[o + 14] & 0x0f) << 8) | (b[o + 15] & 0xff);
        Vlan v = null;
        if (tag != 0) {
            Vlan[] t = trunks.get(parent);
            v = t == null ? null : t[tag];
            if (v == null) {
                unknownTag.inc();
                parent.counter(IfCounter.NOPROTO).inc();
                m.freem();
                return;
            }
        }
        if (!m.unshare(Mbuf.M_NOWAIT)) {
            nomem.inc();
            parent.counter(IfCounter.IQDROPS).inc();
            m.freem();
            return;
        }
        b = m.writableData();
        o = m.dataOff(); // unshare may have moved the data
        System.arraycopy(b, o, b, o + Vlan.ENCAP_LEN, 12);
        m.adj(Vlan.ENCAP_LEN);
        if (v == null) { // tag 0: an 802.1p priority tag, the frame belongs to the parent itself
            ether.input(parent, m);
        } else {
            v.ifnet().input(m);
        }
    }
}
