package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.net.NetTestSupport.ETHERTYPE_TEST;
import static org.smpnet.net.NetTestSupport.bytes;
import static org.smpnet.net.NetTestSupport.mbuf;
import static org.smpnet.net.NetTestSupport.taggedFrame;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;

class VlanTest {
    private static final MacAddr PARENT_MAC = MacAddr.parse("02:00:00:00:10:01");
    private static final MacAddr PEER = MacAddr.parse("02:00:00:00:10:02");

    /** What a handler saw: the interface and the payload. */
    private record Seen(Ifnet ifp, byte[] payload, int flags) {}

    private final IfnetList list = new IfnetList("vlantest");
    private final Ether ether = new Ether();
    private final Vlans vlans = new Vlans("vlantest", list, ether);
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final Ifnet parent = NetTestSupport.etherIfnet("em0", list, ether, PARENT_MAC);

    VlanTest() {
        ether.register(ETHERTYPE_TEST, (ifp, m) -> {
            seen.add(new Seen(ifp, bytes(m), m.flags()));
            m.freem();
        });
    }

    @AfterEach
    void detachAll() {
        for (Ifnet ifp : list.snapshot()) {
            try {
                list.detach(ifp);
            } catch (IfnetGoneException alreadyGone) {
                // a vlan its parent took along
            }
        }
    }

    private List<byte[]> parentSent() {
        return ((NetTestSupport.CaptureDriver) parent.driver()).sent;
    }

    @Test
    @DisplayName("R-IF-3: vlans follow their parent's MTU changes; vlans on other parents do not")
    void followsParentMtu() {
        Ifnet other = NetTestSupport.etherIfnet("em1", list, ether, PEER);
        Vlan v5 = vlans.create("vlan5", 5, parent);
        Vlan v6 = vlans.create("vlan6", 6, parent);
        Vlan w = vlans.create("vlan7", 7, other);
        assertThat(v5.ifnet().mtu()).isEqualTo(1500);
        parent.setMtu(9000);
        assertThat(v5.ifnet().mtu()).isEqualTo(9000);
        assertThat(v6.ifnet().mtu()).isEqualTo(9000);
        assertThat(w.ifnet().mtu()).isEqualTo(1500);
        parent.setMtu(1280);
        assertThat(v5.ifnet().mtu()).isEqualTo(1280);
        Vlan late = vlans.create("vlan8", 8, parent);
        assertThat(late.ifnet().mtu()).isEqualTo(1280);
        vlans.destroy(v6);
        parent.setMtu(1500); // a destroyed vlan is off the trunk and not touched
        assertThat(v5.ifnet().mtu()).isEqualTo(1500);
        assertThat(v6.ifnet().mtu()).isEqualTo(1280);
    }

    @Test
    @DisplayName("R-IF-3: vlan output inserts TPID 0x8100 and the tag after the MACs and sends on the parent")
    void outputTags() {
        Vlan v = vlans.create("vlan5", 5, parent);
        Ifnet vifp = v.ifnet();
        assertThat(vifp.type()).isEqualTo(IfType.L2VLAN);
        assertThat(vifp.lladdr()).isEqualTo(PARENT_MAC.bytes());
        assertThat(vifp.mtu()).isEqualTo(1500);
        assertThat(vifp.isUp()).isTrue();
        assertThat(vifp.linkState()).isEqualTo(LinkState.UP);
        byte[] payload = "hello vlan".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        ether.output(vifp, mbuf(payload), PEER, 0x0800);
        assertThat(parentSent()).hasSize(1);
        assertThat(parentSent().get(0)).isEqualTo(taggedFrame(PEER, PARENT_MAC, 5, 0x0800, payload));
        assertThat(vifp.get(IfCounter.OPACKETS)).isEqualTo(1);
        assertThat(parent.get(IfCounter.OPACKETS)).isEqualTo(1);
        assertThat(parent.get(IfCounter.OBYTES)).isEqualTo(18 + payload.length);
    }

    @Test
    @DisplayName("R-IF-3: vlan input finds the vlan by (parent, tag), strips the tag, and the vlan's input gets the frame")
    void inputUntags() {
        Vlan v5 = vlans.create("vlan5", 5, parent);
        Vlan v6 = vlans.create("vlan6", 6, parent);
        byte[] payload = "tagged".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        parent.input(mbuf(taggedFrame(PARENT_MAC, PEER, 0xa006, ETHERTYPE_TEST, payload))); // PCP 5, tag 6
        parent.input(mbuf(taggedFrame(MacAddr.BROADCAST, PEER, 5, ETHERTYPE_TEST, payload)));
        assertThat(seen).hasSize(2);
        assertThat(seen.get(0).ifp()).isSameAs(v6.ifnet());
        assertThat(seen.get(0).payload()).isEqualTo(payload);
        assertThat(seen.get(1).ifp()).isSameAs(v5.ifnet());
        assertThat(seen.get(1).flags() & Mbuf.M_BCAST).isNotZero();
        assertThat(v6.ifnet().get(IfCounter.IPACKETS)).isEqualTo(1);
        assertThat(v6.ifnet().get(IfCounter.IBYTES)).isEqualTo(14 + payload.length);
        assertThat(parent.get(IfCounter.IPACKETS)).isEqualTo(2);
    }

    @Test
    @DisplayName("R-IF-3: unknown tags are counted and dropped; priority tags (VID 0) go to the parent; short tags are runts")
    void unknownPriorityAndRunt() {
        vlans.create("vlan5", 5, parent);
        parent.input(mbuf(taggedFrame(PARENT_MAC, PEER, 7, ETHERTYPE_TEST, new byte[10])));
        assertThat(seen).isEmpty();
        assertThat(vlans.unknownTag.get()).isEqualTo(1);
        assertThat(parent.get(IfCounter.NOPROTO)).isEqualTo(1);
        parent.input(mbuf(taggedFrame(PARENT_MAC, PEER, 0x6000, ETHERTYPE_TEST, new byte[] {1, 2, 3})));
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).ifp()).isSameAs(parent);
        assertThat(seen.get(0).payload()).containsExactly(1, 2, 3);
        parent.input(mbuf(Arrays.copyOf(taggedFrame(PARENT_MAC, PEER, 5, ETHERTYPE_TEST, new byte[0]), 16)));
        assertThat(vlans.runts.get()).isEqualTo(1);
        assertThat(parent.get(IfCounter.IERRORS)).isEqualTo(1);
        assertThat(seen).hasSize(1);
    }

    @Test
    @DisplayName("R-IF-3: bad tags, taken tags and non-Ethernet parents are refused with a clear error")
    void badConfigurations() {
        assertThatThrownBy(() -> vlans.create("vlan0", 0, parent)).hasMessageContaining("out of range");
        assertThatThrownBy(() -> vlans.create("vlan1", 4095, parent)).hasMessageContaining("out of range");
        vlans.create("vlan5", 5, parent);
        assertThatThrownBy(() -> vlans.create("vlan7", 5, parent)).isInstanceOf(IfnetExistsException.class)
                .hasMessageContaining("already used on em0 by vlan5");
        assertThatThrownBy(() -> vlans.create("vlan5", 6, parent)).isInstanceOf(IfnetExistsException.class);
        Netisr netisr = new Netisr("vlantest", 1, new org.smpnet.kern.Sysctl());
        Ifnet lo = Loop.create("lo0", list, netisr).ifnet();
        assertThatThrownBy(() -> vlans.create("vlan8", 8, lo)).hasMessageContaining("not Ethernet");
        netisr.close();
        Ifnet foreign = NetTestSupport.etherIfnet("em9", new IfnetList("other"), new Ether(), PEER);
        assertThatThrownBy(() -> vlans.create("vlan9", 9, foreign)).hasMessageContaining("not an interface of this stack");
        foreign.list().detach(foreign);
        assertThat(list.snapshot()).extracting(Ifnet::name).containsExactly("em0", "vlan5", "lo0");
    }

    @Test
    @DisplayName("R-IF-3: when the parent detaches its vlans are destroyed; the tag is free again on a new parent")
    void parentDetachDestroysVlans() {
        Vlan v5 = vlans.create("vlan5", 5, parent);
        Vlan v6 = vlans.create("vlan6", 6, parent);
        parent.setLinkState(LinkState.DOWN);
        assertThat(v5.ifnet().linkState()).isEqualTo(LinkState.DOWN);
        parent.setLinkState(LinkState.UP);
        assertThat(v6.ifnet().linkState()).isEqualTo(LinkState.UP);
        list.detach(parent);
        assertThat(v5.ifnet().state()).isEqualTo(IfnetState.DETACHED);
        assertThat(v6.ifnet().state()).isEqualTo(IfnetState.DETACHED);
        assertThat(list.snapshot()).isEmpty();
        assertThat(vlans.on(parent)).isEmpty();
        assertThatThrownBy(() -> vlans.create("vlan7", 7, parent)).isInstanceOf(IfnetGoneException.class);
        Ifnet again = NetTestSupport.etherIfnet("em0", list, ether, PARENT_MAC);
        assertThat(again.index()).isEqualTo(parent.index()); // index reused: the old trunk must not match
        parent.input(mbuf(taggedFrame(PARENT_MAC, PEER, 5, ETHERTYPE_TEST, new byte[4])));
        again.input(mbuf(taggedFrame(PARENT_MAC, PEER, 5, ETHERTYPE_TEST, new byte[4])));
        assertThat(seen).isEmpty();
        assertThat(vlans.unknownTag.get()).isEqualTo(1);
        Vlan v5b = vlans.create("vlan5", 5, again);
        again.input(mbuf(taggedFrame(PARENT_MAC, PEER, 5, ETHERTYPE_TEST, new byte[4])));
        assertThat(seen).extracting(Seen::ifp).containsExactly(v5b.ifnet());
    }

    @Test
    @DisplayName("R-IF-3: a vlan created by name on each end of an epair carries frames between two stacks")
    void endToEndOverEpair() throws Exception {
        try (Vnet a = new Vnet("vla", 1); Vnet b = new Vnet("vlb", 1)) {
            Epair e = a.epair(b);
            a.ifCreate("vlan10", Map.of("tag", "10", "parent", e.a().name()));
            b.ifCreate("vlan10", Map.of("tag", "10", "parent", e.b().name()));
            List<byte[]> got = new CopyOnWriteArrayList<>();
            List<String> via = new CopyOnWriteArrayList<>();
            b.ether().register(ETHERTYPE_TEST, (ifp, m) -> {
                via.add(ifp.name());
                got.add(bytes(m));
                m.freem();
            });
            Ifnet va = a.ifnets().snapshot().stream().filter(i -> i.name().equals("vlan10")).findFirst().orElseThrow();
            for (int i = 0; i < 20; i++) {
                byte[] p = NetTestSupport.seqPayload(1, i, 46);
                a.ether().output(va, mbuf(p), MacAddr.of(e.b().lladdr()), ETHERTYPE_TEST);
            }
            e.quiesce();
            assertThat(got).hasSize(20);
            assertThat(via).containsOnly("vlan10");
            for (int i = 0; i < 20; i++) {
                assertThat(got.get(i)).isEqualTo(NetTestSupport.seqPayload(1, i, 46));
            }
            // an untagged frame on the same wire reaches the parent, not the vlan
            a.ether().output(e.a(), mbuf(new byte[46]), MacAddr.of(e.b().lladdr()), ETHERTYPE_TEST);
            e.quiesce();
            assertThat(via).hasSize(21).last().isEqualTo(e.b().name());
        }
    }
}
