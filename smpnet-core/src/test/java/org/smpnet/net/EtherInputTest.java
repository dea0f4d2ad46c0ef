package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.NetTestSupport.ETHERTYPE_TEST;
import static org.smpnet.net.NetTestSupport.bytes;
import static org.smpnet.net.NetTestSupport.frame;
import static org.smpnet.net.NetTestSupport.mbuf;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EtherInputTest {
    private static final MacAddr US = MacAddr.parse("02:00:00:00:20:01");
    private static final MacAddr THEM = MacAddr.parse("02:00:00:00:20:02");
    private static final MacAddr OTHER = MacAddr.parse("02:00:00:00:20:03");
    private static final MacAddr GROUP = MacAddr.parse("01:00:5e:00:00:fb");

    private record Got(byte[] payload, int flags) {}

    private final IfnetList list = new IfnetList("ethertest");
    private final Ether ether = new Ether();
    private final Ifnet ifp = NetTestSupport.etherIfnet("em0", list, ether, US);
    private final List<Got> got = new CopyOnWriteArrayList<>();

    EtherInputTest() {
        ether.register(ETHERTYPE_TEST, (i, m) -> {
            got.add(new Got(bytes(m), m.flags()));
            m.freem();
        });
    }

    @AfterEach
    void detach() {
        if (ifp.state() == IfnetState.ATTACHED) {
            list.detach(ifp);
        }
    }

    private void in(MacAddr dst, int type, byte[] payload) {
        ifp.input(mbuf(frame(dst, THEM, type, payload)));
    }

    @Test
    @DisplayName("R-IF-3: a frame for us reaches the handler of its type without the Ethernet header")
    void handlerGetsPayload() {
        byte[] payload = "payload bytes".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        in(US, ETHERTYPE_TEST, payload);
        assertThat(got).hasSize(1);
        assertThat(got.get(0).payload()).isEqualTo(payload);
        assertThat(got.get(0).flags() & (Mbuf.M_BCAST | Mbuf.M_MCAST)).isZero();
        assertThat(ifp.get(IfCounter.IPACKETS)).isEqualTo(1);
        assertThat(ifp.get(IfCounter.IBYTES)).isEqualTo(14 + payload.length);
    }

    @Test
    @DisplayName("R-IF-3: runts are counted as input errors and dropped")
    void runt() {
        ifp.input(mbuf(new byte[13]));
        assertThat(ether.runts.get()).isEqualTo(1);
        assertThat(ifp.get(IfCounter.IERRORS)).isEqualTo(1);
        assertThat(got).isEmpty();
    }

    @Test
    @DisplayName("R-IF-3: unicast for another station is dropped as not-for-us, or as a promiscuous drop in promiscuous mode")
    void notForUsAndPromiscuous() {
        in(OTHER, ETHERTYPE_TEST, new byte[4]);
        assertThat(ether.notForUs.get()).isEqualTo(1);
        ifp.setPromisc(true);
        assertThat(ifp.flags() & IfFlags.PROMISC).isNotZero();
        in(OTHER, ETHERTYPE_TEST, new byte[4]);
        assertThat(ether.promiscDrops.get()).isEqualTo(1);
        assertThat(ether.notForUs.get()).isEqualTo(1);
        ifp.setPromisc(false);
        assertThat(ifp.flags() & IfFlags.PROMISC).isZero();
        assertThat(got).isEmpty();
    }

    @Test
    @DisplayName("R-IF-3: multicast passes only for joined groups (addMulti/delMulti) or in all-multicast mode, flagged M_MCAST")
    void multicastFilter() {
        in(GROUP, ETHERTYPE_TEST, new byte[] {1});
        assertThat(got).isEmpty();
        assertThat(ether.notForUs.get()).isEqualTo(1);
        ifp.addMulti(GROUP.bytes());
        ifp.addMulti(GROUP.bytes()); // joining twice is fine
        in(GROUP, ETHERTYPE_TEST, new byte[] {2});
        assertThat(got).hasSize(1);
        assertThat(got.get(0).flags() & Mbuf.M_MCAST).isNotZero();
        assertThat(ifp.get(IfCounter.IMCASTS)).isEqualTo(1);
        assertThat(ifp.delMulti(GROUP.bytes())).isTrue();
        assertThat(ifp.delMulti(GROUP.bytes())).isFalse();
        in(GROUP, ETHERTYPE_TEST, new byte[] {3});
        assertThat(got).hasSize(1);
        ifp.setAllmulti(true);
        in(GROUP, ETHERTYPE_TEST, new byte[] {4});
        assertThat(got).hasSize(2);
        ifp.setAllmulti(false);
        in(GROUP, ETHERTYPE_TEST, new byte[] {5});
        assertThat(got).hasSize(2);
        assertThat(ether.notForUs.get()).isEqualTo(3);
    }

    @Test
    @DisplayName("R-IF-3: broadcast frames are delivered with M_BCAST")
    void broadcast() {
        in(MacAddr.BROADCAST, ETHERTYPE_TEST, new byte[] {9});
        assertThat(got).hasSize(1);
        assertThat(got.get(0).flags() & Mbuf.M_BCAST).isNotZero();
        assertThat(got.get(0).flags() & Mbuf.M_MCAST).isZero();
        assertThat(ifp.get(IfCounter.IMCASTS)).isZero();
    }

    @Test
    @DisplayName("R-IF-3: unknown ethertypes, 802.3 length fields and tagged frames without a vlan layer count as noproto")
    void unknownTypes() {
        in(US, 0x88b6, new byte[4]);
        in(US, 0x0100, new byte[4]);
        in(US, EtherRepr.ETHERTYPE_VLAN, new byte[8]);
        assertThat(ether.noproto.get()).isEqualTo(3);
        assertThat(ifp.get(IfCounter.NOPROTO)).isEqualTo(3);
        ether.unregister(ETHERTYPE_TEST);
        in(US, ETHERTYPE_TEST, new byte[4]);
        assertThat(ether.noproto.get()).isEqualTo(4);
        assertThat(got).isEmpty();
    }

    @Test
    @DisplayName("R-IF-3: output prepends the header with our address; a down interface counts an output error")
    void output() {
        byte[] payload = {1, 2, 3, 4};
        ether.output(ifp, mbuf(payload), THEM, ETHERTYPE_TEST);
        List<byte[]> sent = ((NetTestSupport.CaptureDriver) ifp.driver()).sent;
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0)).isEqualTo(frame(THEM, US, ETHERTYPE_TEST, payload));
        ifp.setFlags(0, IfFlags.UP);
        ether.output(ifp, mbuf(payload), THEM, ETHERTYPE_TEST);
        assertThat(sent).hasSize(1);
        assertThat(ifp.get(IfCounter.OERRORS)).isEqualTo(1);
        assertThat(ifp.get(IfCounter.OPACKETS)).isEqualTo(1);
    }

    private void outList(Ifnet to, Mbuf first) {
        int et = org.smpnet.kern.Epoch.NET.enter();
        try {
            ether.outputListInEpoch(to, first, THEM, ETHERTYPE_TEST);
        } finally {
            org.smpnet.kern.Epoch.NET.exit(et);
        }
    }

    @Test
    @DisplayName("R-IF-3: list output gives the driver the frames single outputs give, in order, and the same counters and taps; a down interface counts each as an output error")
    void listOutputAsSingleFrames() {
        List<byte[]> tapped = new CopyOnWriteArrayList<>();
        ifp.installTap(new PacketTap() {
            @Override
            public void tap(Ifnet i, Mbuf m, Direction dir) {
                assertThat(dir).isEqualTo(Direction.OUT);
                tapped.add(bytes(m));
            }

            @Override
            public void detached(Ifnet i) {}
        });
        byte[][] payloads = {{1}, {2, 2}, new byte[60], {4, 4, 4, 4}};
        for (byte[] p : payloads) {
            ether.output(ifp, mbuf(p), THEM, ETHERTYPE_TEST);
        }
        outList(ifp, list(payloads));
        List<byte[]> sent = ((NetTestSupport.CaptureDriver) ifp.driver()).sent;
        assertThat(sent).hasSize(8);
        long bytes = 0;
        for (int i = 0; i < 4; i++) {
            assertThat(sent.get(4 + i)).isEqualTo(sent.get(i)).isEqualTo(frame(THEM, US, ETHERTYPE_TEST, payloads[i]));
            bytes += 2L * sent.get(i).length;
        }
        assertThat(tapped).containsExactlyElementsOf(sent);
        assertThat(ifp.get(IfCounter.OPACKETS)).isEqualTo(8);
        assertThat(ifp.get(IfCounter.OBYTES)).isEqualTo(bytes);
        outList(ifp, null);
        assertThat(ifp.get(IfCounter.OPACKETS)).as("an empty list is nothing").isEqualTo(8);
        ifp.setFlags(0, IfFlags.UP);
        outList(ifp, list(payloads));
        assertThat(sent).hasSize(8);
        assertThat(ifp.get(IfCounter.OERRORS)).isEqualTo(4);
        assertThat(ifp.get(IfCounter.OPACKETS)).isEqualTo(8);
    }

    @Test
    @DisplayName("R-IF-3: a driver without list transmit gets a list frame by frame; if it throws, the frames it did not reach are freed and the exception propagates")
    void listOutputThroughAPerFrameDriver() {
        List<byte[]> sent = new CopyOnWriteArrayList<>();
        Ifnet one = Ifnet.alloc("em1", IfType.ETHER, new IfDriver() {
            @Override
            public void transmit(Ifnet i, Mbuf m) {
                sent.add(bytes(m));
                m.freem();
                if (sent.size() == 2) {
                    throw new IllegalStateException("driver bug");
                }
            }

            @Override
            public void init(Ifnet i) {
                i.setFlags(IfFlags.RUNNING, 0);
            }
        });
        ether.ifattach(one, OTHER);
        list.attach(one);
        one.setFlags(IfFlags.UP, 0);
        try {
            Mbuf[] ms = {mbuf(new byte[] {1}), mbuf(new byte[] {2}), mbuf(new byte[] {3}), mbuf(new byte[] {4})};
            Mbuf first = NetTestSupport.linked(List.of(ms));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> outList(one, first)).hasMessage("driver bug");
            assertThat(sent).containsExactly(frame(THEM, OTHER, ETHERTYPE_TEST, new byte[] {1}),
                    frame(THEM, OTHER, ETHERTYPE_TEST, new byte[] {2}));
            assertThat(ms[2].nextpkt()).as("unlinked when freed").isNull();
            assertThat(ms[3].nextpkt()).isNull();
            if (org.smpnet.kern.UmaZone.INVARIANTS) { // freed mbufs are marked only in test mode
                assertThat(ms[2].type()).isEqualTo(Mbuf.MT_NOTMBUF);
                assertThat(ms[3].type()).isEqualTo(Mbuf.MT_NOTMBUF);
            }
        } finally {
            list.detach(one);
        }
    }

    /** The frames as a driver's batch: a list through nextpkt, oldest first. */
    private static Mbuf list(byte[]... frames) {
        return NetTestSupport.linked(java.util.Arrays.stream(frames).map(NetTestSupport::mbuf).toList());
    }

    private void inList(Mbuf first) {
        int et = org.smpnet.kern.Epoch.NET.enter();
        try {
            ifp.inputListInEpoch(first);
        } finally {
            org.smpnet.kern.Epoch.NET.exit(et);
        }
    }

    @Test
    @DisplayName("R-IF-3: a driver's batch is filtered, counted and demultiplexed frame by frame, in order, as single frames are")
    void listInputAsSingleFrames() {
        int otherType = 0x88b7;
        List<String> order = new CopyOnWriteArrayList<>();
        ether.register(otherType, new Ether.Handler() {
            @Override
            public void input(Ifnet i, Mbuf m) {
                order.add("other " + bytes(m)[0]);
                m.freem();
            }

            @Override
            public void inputList(Ifnet i, Mbuf first) {
                order.add("run");
                Ether.Handler.super.inputList(i, first);
            }
        });
        inList(list(
                frame(US, THEM, ETHERTYPE_TEST, new byte[] {1}),
                new byte[13], // runt
                frame(OTHER, THEM, ETHERTYPE_TEST, new byte[] {2}), // not for us
                frame(MacAddr.BROADCAST, THEM, ETHERTYPE_TEST, new byte[] {3}),
                frame(US, THEM, 0x88b6, new byte[] {4}), // no handler
                frame(US, THEM, otherType, new byte[] {5}),
                frame(US, THEM, otherType, new byte[] {6}),
                frame(US, THEM, ETHERTYPE_TEST, new byte[] {7})));
        assertThat(got).extracting(g -> g.payload()[0]).containsExactly((byte) 1, (byte) 3, (byte) 7);
        assertThat(got.get(1).flags() & Mbuf.M_BCAST).isNotZero();
        assertThat(order).containsExactly("run", "other 5", "other 6"); // one run of two, in order
        assertThat(ether.runts.get()).isEqualTo(1);
        assertThat(ether.notForUs.get()).isEqualTo(1);
        assertThat(ether.noproto.get()).isEqualTo(1);
        assertThat(ifp.get(IfCounter.IPACKETS)).isEqualTo(8);
        assertThat(ifp.get(IfCounter.IBYTES)).isEqualTo(7 * 15 + 13);
        assertThat(ifp.get(IfCounter.IERRORS)).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IF-3: in a batch, a handler that throws loses only its own frame (counted in iqdrops); the rest arrive")
    void listInputSurvivesAFailingHandler() {
        int failingType = 0x88b7;
        List<Byte> seen = new CopyOnWriteArrayList<>();
        ether.register(failingType, (i, m) -> {
            byte b = bytes(m)[0];
            m.freem();
            if (b == 2) {
                throw new IllegalStateException("handler bug");
            }
            seen.add(b);
        });
        inList(list(
                frame(US, THEM, failingType, new byte[] {1}),
                frame(US, THEM, failingType, new byte[] {2}),
                frame(US, THEM, failingType, new byte[] {3}),
                frame(US, THEM, ETHERTYPE_TEST, new byte[] {4})));
        assertThat(seen).containsExactly((byte) 1, (byte) 3);
        assertThat(got).extracting(g -> g.payload()[0]).containsExactly((byte) 4);
        assertThat(ifp.get(IfCounter.IQDROPS)).isEqualTo(1);
    }

    @Test
    @DisplayName("R-IF-3: a batch for a detached interface is dropped whole and counted")
    void listInputOnDetachedInterface() {
        list.detach(ifp);
        inList(list(frame(US, THEM, ETHERTYPE_TEST, new byte[] {1}), frame(US, THEM, ETHERTYPE_TEST, new byte[] {2})));
        assertThat(got).isEmpty();
        assertThat(ifp.get(IfCounter.IQDROPS)).isEqualTo(2);
        assertThat(ifp.get(IfCounter.IPACKETS)).isZero();
    }
}
