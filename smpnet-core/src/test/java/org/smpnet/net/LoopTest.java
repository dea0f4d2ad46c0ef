package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.Sysctl;

class LoopTest {
    @Test
    @DisplayName("R-IF-3: loopback output comes back as input and is dispatched to netisr by address family")
    void afDispatch() throws Exception {
        Netisr netisr = new Netisr("looptest", 1, new Sysctl());
        IfnetList list = new IfnetList("looptest");
        Loop lo = Loop.create("lo0", list, netisr);
        try {
            List<byte[]> ip = new CopyOnWriteArrayList<>();
            List<Integer> rcvif = new CopyOnWriteArrayList<>();
            Netisr.Proto p = netisr.register(Netisr.IP, "ip", m -> {
                ip.add(NetTestSupport.bytes(m));
                rcvif.add(m.rcvifIndex());
                m.freem();
            }, Netisr.Policy.DIRECT, 100, LoopTest.class);
            Ifnet ifp = lo.ifnet();
            assertThat(ifp.flags() & (IfFlags.LOOPBACK | IfFlags.UP | IfFlags.RUNNING))
                    .isEqualTo(IfFlags.LOOPBACK | IfFlags.UP | IfFlags.RUNNING);
            assertThat(ifp.mtu()).isEqualTo(16384);
            lo.output(NetTestSupport.mbuf(new byte[] {0x45, 1, 2, 3}), Ifnet.AF_INET);
            lo.output(NetTestSupport.mbuf(new byte[] {0x60, 0}), Ifnet.AF_INET6); // no IPv6 yet
            lo.output(NetTestSupport.mbuf(new byte[] {7}), 99);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((ip.isEmpty() || ifp.get(IfCounter.NOPROTO) < 2) && System.nanoTime() < deadline) {
                Thread.sleep(1); // the loopback's ithread delivers
            }
            assertThat(ip).hasSize(1);
            assertThat(ip.get(0)).containsExactly(0x45, 1, 2, 3);
            assertThat(rcvif).containsExactly(ifp.index());
            assertThat(p.dispatched.get()).isEqualTo(1);
            assertThat(ifp.get(IfCounter.OPACKETS)).isEqualTo(3);
            assertThat(ifp.get(IfCounter.IPACKETS)).isEqualTo(3);
            assertThat(ifp.get(IfCounter.NOPROTO)).isEqualTo(2);
            ifp.input(NetTestSupport.mbuf(new byte[3])); // shorter than the family header
            assertThat(ifp.get(IfCounter.IERRORS)).isEqualTo(1);
        } finally {
            list.detach(lo.ifnet());
            netisr.close();
        }
    }
}
