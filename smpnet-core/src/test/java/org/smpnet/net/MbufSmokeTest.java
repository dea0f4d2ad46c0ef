package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MbufSmokeTest {
    @Test
    @DisplayName("R-MBUF-1: getcl/freem through the system zones returns the pair whole")
    void getclFreem() {
        MbufZones z = new MbufZones(true);
        for (int i = 0; i < 1000; i++) {
            Mbuf m = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
            assertThat(m.size()).isEqualTo(Mbuf.MCLBYTES);
            assertThat(m.writable()).isTrue();
            m.freem();
        }
        assertThat(z.packetZone().allocs()).isEqualTo(1000);
        assertThat(z.packetZone().frees()).isEqualTo(1000);
        assertThat(z.packetZone().kegSize()).isEqualTo(1);
        Mbuf s = Mbuf.getcl(Mbuf.M_WAITOK, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        s.freem();
    }
}
