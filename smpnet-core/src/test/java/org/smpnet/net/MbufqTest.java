package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.UmaZone;

class MbufqTest {
    @Test
    @DisplayName("R-MBUF-1: an mbufq links what it is given oldest first through nextpkt, counts it, and drains by freeing it all")
    void buildsAndDrains() {
        Mbufq q = new Mbufq();
        assertThat(q.isEmpty()).isTrue();
        assertThat(q.first()).isNull();
        Mbuf[] ms = {NetTestSupport.mbuf(new byte[] {1}), NetTestSupport.mbuf(new byte[] {2}), NetTestSupport.mbuf(new byte[] {3})};
        for (Mbuf m : ms) {
            q.enqueue(m);
        }
        assertThat(q.len()).isEqualTo(3);
        assertThat(q.first()).isSameAs(ms[0]);
        assertThat(ms[0].nextpkt()).isSameAs(ms[1]);
        assertThat(ms[1].nextpkt()).isSameAs(ms[2]);
        assertThat(ms[2].nextpkt()).isNull();
        q.drain();
        assertThat(q.isEmpty()).isTrue();
        assertThat(q.len()).isZero();
        if (UmaZone.INVARIANTS) { // freed mbufs are marked only in test mode
            for (Mbuf m : ms) {
                assertThat(m.type()).isEqualTo(Mbuf.MT_NOTMBUF);
            }
        }
        Mbuf again = NetTestSupport.mbuf(new byte[] {4});
        q.enqueue(again);
        assertThat(q.first()).isSameAs(again);
        assertThat(q.len()).isEqualTo(1);
        q.drain();
    }
}
