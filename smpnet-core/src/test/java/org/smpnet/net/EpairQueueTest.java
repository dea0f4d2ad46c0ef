package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EpairQueueTest {
    /** An Ethernet + IPv4 + UDP/TCP header with the given addresses and ports (fragment: MF set). */
    private static Mbuf frame(int src, int dst, int proto, int sport, int dport, boolean fragment) {
        byte[] b = new byte[14 + 20 + 8];
        b[12] = 0x08;
        b[13] = 0x00;
        b[14] = 0x45;
        b[14 + 6] = (byte) (fragment ? 0x20 : 0x40);
        b[14 + 9] = (byte) proto;
        putInt(b, 14 + 12, src);
        putInt(b, 14 + 16, dst);
        b[34] = (byte) (sport >>> 8);
        b[35] = (byte) sport;
        b[36] = (byte) (dport >>> 8);
        b[37] = (byte) dport;
        return NetTestSupport.mbuf(b);
    }

    private static void putInt(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 24);
        b[i + 1] = (byte) (v >>> 16);
        b[i + 2] = (byte) (v >>> 8);
        b[i + 3] = (byte) v;
    }

    private static int queue(Mbuf m, int n) {
        try {
            return Epair.queueOf(m, n);
        } finally {
            m.freem();
        }
    }

    @Test
    @DisplayName("R-IF-3: epair receive queues: one flow always one queue, flows spread, non-IP on queue 0")
    void flowsHashOntoQueues() {
        int a = 0x0a000001;
        int b = 0x0a000002;
        for (int n : new int[] {2, 3, 4}) {
            Set<Integer> used = new HashSet<>();
            for (int port = 9000; port < 9064; port++) {
                int q = queue(frame(a, b, 17, 40000, port, false), n);
                assertThat(q).isBetween(0, n - 1);
                assertThat(queue(frame(a, b, 17, 40000, port, false), n)).as("same flow, same queue").isEqualTo(q);
                used.add(q);
            }
            assertThat(used).as("64 flows over %d queues", n).hasSize(n);
            // every fragment of a datagram (ports unknown past the first) hashes on the addresses alone
            int f = queue(frame(a, b, 17, 1, 2, true), n);
            assertThat(queue(frame(a, b, 17, 3, 4, true), n)).isEqualTo(f);
        }
        byte[] arp = new byte[60];
        arp[12] = 0x08;
        arp[13] = 0x06;
        Mbuf m = NetTestSupport.mbuf(arp);
        assertThat(queue(m, 4)).isZero();
        assertThat(queue(frame(a, b, 17, 1, 2, false), 1)).isZero();
    }
}
