package org.smpnet.dev;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Giant;
import org.smpnet.net.Ether;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.EtherView;
import org.smpnet.net.IfCounter;
import org.smpnet.net.IfFlags;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetList;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;
import org.smpnet.net.NetTestSupport;

class SimNicTest {
    private static final int FLOWS_PER_SENDER = 24;
    private static final int SENDERS = 3;
    private static final int FLOWS = FLOWS_PER_SENDER * SENDERS;
    private static final MacAddr SRC = MacAddr.parse("02:00:00:00:99:99");

    /** An IPv4/UDP frame of flow {@code flow} (its ports), carrying the flow and a sequence number. */
    static byte[] udpFrame(MacAddr dst, int flow, int seq) {
        byte[] f = new byte[14 + 20 + 8 + 8];
        new EtherRepr(dst, SRC, EtherRepr.ETHERTYPE_IP).emit(new EtherView(f, 0));
        ByteBuffer b = ByteBuffer.wrap(f, 14, f.length - 14);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 36).putInt(0).put((byte) 64).put((byte) 17).putShort((short) 0);
        b.putInt(0x0a000001).putInt(0x0a000002);
        b.putShort((short) (10000 + flow)).putShort((short) 53).putShort((short) 16).putShort((short) 0);
        b.putInt(flow).putInt(seq);
        return f;
    }

    @Test
    @DisplayName("R-IF-5: the NEEDSGIANT simulated NIC is in the build's Giant inventory, the MPSAFE one is not; "
            + "the interfaces carry IFF_NEEDSGIANT accordingly")
    void inventoryAndFlags() {
        assertThat(Giant.inventory()).anyMatch(l -> l.startsWith(SimNic.Legacy.class.getName() + ": simulated legacy NIC"))
                .noneMatch(l -> l.startsWith(SimNic.Mpsafe.class.getName()));
        IfnetList list = new IfnetList("simflags");
        Ether ether = new Ether();
        SimNic legacy = SimNic.attach("sim0", 2, 64, false, list, ether, MacAddr.local(1));
        SimNic mpsafe = SimNic.attach("sim1", 2, 64, true, list, ether, MacAddr.local(2));
        assertThat(legacy).isInstanceOf(SimNic.Legacy.class);
        assertThat(legacy.ifnet().needsGiant()).isTrue();
        assertThat(legacy.ifnet().flags() & IfFlags.NEEDSGIANT).isNotZero();
        assertThat(mpsafe.ifnet().needsGiant()).isFalse();
        assertThat(mpsafe.ifnet().flags() & IfFlags.NEEDSGIANT).isZero();
        list.detach(legacy.ifnet());
        list.detach(mpsafe.ifnet());
    }

    @Test
    @DisplayName("R-IF-5: the flow hash is set on the mbuf (opaque), is the same for one flow and steers it to one queue")
    void hashSteering() {
        IfnetList list = new IfnetList("simhash");
        Ether ether = new Ether();
        SimNic nic = SimNic.attach("sim0", 4, 64, true, list, ether, MacAddr.local(1));
        AtomicIntegerArray hashOf = new AtomicIntegerArray(8);
        AtomicLong opaque = new AtomicLong();
        ether.register(EtherRepr.ETHERTYPE_IP, (ifp, m) -> {
            if (m.hashType() == Mbuf.M_HASHTYPE_OPAQUE) {
                opaque.incrementAndGet();
            }
            int flow = NetTestSupport.intAt(m, 28);
            hashOf.set(flow, m.flowid());
            m.freem();
        });
        for (int i = 0; i < 16; i++) {
            byte[] f = udpFrame(MacAddr.local(1), i % 8, i);
            assertThat(nic.receive(f, 0, f.length)).isTrue();
        }
        nic.drain();
        assertThat(opaque.get()).isEqualTo(16);
        long usedQueues = 0;
        for (int q = 0; q < 4; q++) {
            usedQueues += nic.rxQueue(q).delivered.get() > 0 ? 1 : 0;
        }
        assertThat(usedQueues).as("8 flows spread over the 4 queues").isGreaterThan(1);
        for (int flow = 0; flow < 8; flow++) {
            byte[] f = udpFrame(MacAddr.local(1), flow, 99);
            assertThat(hashOf.get(flow)).isEqualTo(SimNic.flowHash(f, 0, f.length));
        }
        nic.ifnet().setFlags(0, IfFlags.UP);
        byte[] f = udpFrame(MacAddr.local(1), 0, 0);
        assertThat(nic.receive(f, 0, f.length)).isFalse();
        assertThat(nic.rxDown.get()).isEqualTo(1);
        list.detach(nic.ifnet());
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-IF-5 stress: under traffic the NEEDSGIANT NIC's input always runs under Giant and the MPSAFE one's "
            + "only when net.mpsafenet=0; both deliver every frame exactly once, in order per flow")
    void giantAndOrderUnderTraffic(boolean mpsafenet) throws Exception {
        NetTestSupport.inGiantMode(mpsafenet, () -> run(mpsafenet));
    }

    /** Per-NIC observations of the handler. */
    private static final class Observed {
        final AtomicLongArray nextSeq = new AtomicLongArray(FLOWS);
        final AtomicLong underGiant = new AtomicLong();
        final AtomicLong withoutGiant = new AtomicLong();
        final AtomicLong outOfOrder = new AtomicLong();
    }

    private void run(boolean mpsafenet) throws Exception {
        IfnetList list = new IfnetList("simstress");
        Ether ether = new Ether();
        SimNic[] nics = {
            SimNic.attach("sim0", 4, 256, true, list, ether, MacAddr.local(0x10)),
            SimNic.attach("sim1", 4, 256, false, list, ether, MacAddr.local(0x11)),
        };
        Observed[] obs = {new Observed(), new Observed()};
        ether.register(EtherRepr.ETHERTYPE_IP, (ifp, m) -> {
            Observed o = obs[ifp == nics[0].ifnet() ? 0 : 1];
            (Giant.GIANT.isHeldByCurrentThread() ? o.underGiant : o.withoutGiant).incrementAndGet();
            int flow = NetTestSupport.intAt(m, 28);
            int seq = NetTestSupport.intAt(m, 32);
            if (!o.nextSeq.compareAndSet(flow, seq, seq + 1)) {
                o.outOfOrder.incrementAndGet();
            }
            m.freem();
        });
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NetTestSupport.stressMillis(1500));
        long[][] sent = new long[2][FLOWS];
        List<Thread> senders = new ArrayList<>();
        for (int s = 0; s < SENDERS; s++) {
            int first = s * FLOWS_PER_SENDER;
            senders.add(Thread.ofPlatform().name("wire-" + s).start(() -> {
                try {
                    int k = 0;
                    while (System.nanoTime() < deadline) {
                        int n = k++ % 2;
                        int flow = first + k / 2 % FLOWS_PER_SENDER;
                        byte[] f = udpFrame(MacAddr.of(nics[n].ifnet().lladdr()), flow, (int) sent[n][flow]);
                        while (!nics[n].receive(f, 0, f.length)) { // ring full: the wire retries the same frame
                            assertThat(System.nanoTime() - deadline).as("receive ring stuck full").isLessThan(10_000_000_000L);
                            java.util.concurrent.locks.LockSupport.parkNanos(10_000);
                        }
                        sent[n][flow]++;
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        for (Thread t : senders) {
            t.join();
        }
        for (SimNic nic : nics) {
            nic.drain();
        }
        assertThat(failure.get()).isNull();
        for (int n = 0; n < 2; n++) {
            long total = 0;
            for (int flow = 0; flow < FLOWS; flow++) {
                assertThat(obs[n].nextSeq.get(flow)).as("frames of flow %d on %s", flow, nics[n].ifnet().name())
                        .isEqualTo(sent[n][flow]);
                total += sent[n][flow];
            }
            assertThat(total).isPositive();
            assertThat(obs[n].outOfOrder.get()).as("duplicates or reordering").isZero();
            assertThat(obs[n].underGiant.get() + obs[n].withoutGiant.get()).isEqualTo(total);
            assertThat(nics[n].ifnet().get(IfCounter.IPACKETS)).isEqualTo(total);
            boolean expectGiant = !mpsafenet || n == 1;
            assertThat(expectGiant ? obs[n].withoutGiant.get() : obs[n].underGiant.get())
                    .as("%s input under Giant: expected %s", nics[n].ifnet().name(), expectGiant).isZero();
            long busyQueues = 0;
            for (int q = 0; q < nics[n].queues(); q++) {
                busyQueues += nics[n].rxQueue(q).delivered.get() > 0 ? 1 : 0;
            }
            assertThat(busyQueues).isGreaterThan(1);
        }
        assertThat(((SimNic.Legacy) nics[1]).softcRx()).as("soft state kept exact by Giant").isEqualTo(
                nics[1].ifnet().get(IfCounter.IPACKETS));
        for (SimNic nic : nics) {
            Ifnet ifp = nic.ifnet();
            list.detach(ifp);
        }
    }
}
