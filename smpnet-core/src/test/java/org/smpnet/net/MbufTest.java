package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.UmaZone;

class MbufTest {
    private final MbufZones z = new MbufZones(true);

    private Mbuf packet(byte[] data) {
        Mbuf m = z.devget(data, 0, data.length, Mbuf.M_NOWAIT);
        assertThat(m).isNotNull();
        return m;
    }

    private static byte[] seq(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + 3);
        }
        return b;
    }

    @Test
    @DisplayName("R-MBUF-1: getcl gives a 2 KiB packet-zone pair; freeing it untouched returns the pair whole")
    void packetPairs() {
        Mbuf m = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        assertThat(m.size()).isEqualTo(Mbuf.MCLBYTES);
        assertThat(m.flags() & (Mbuf.M_EXT | Mbuf.M_PKTHDR)).isEqualTo(Mbuf.M_EXT | Mbuf.M_PKTHDR);
        assertThat(m.pktLen()).isZero();
        m.freem();
        Mbuf again = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0);
        assertThat(again).as("the same pair comes back from the cache").isSameAs(m);
        assertThat(again.flags() & Mbuf.M_PKTHDR).isZero();
        again.freem();
        assertThat(z.packetZone().allocs()).isEqualTo(2);
        assertThat(z.packetZone().kegSize()).isEqualTo(1);
        assertThat(z.clusterZone(Mbuf.MCLBYTES).allocs()).as("one cluster, paired once").isEqualTo(1);
        for (int size : new int[] {Mbuf.MJUMPAGESIZE, Mbuf.MJUM9BYTES, Mbuf.MJUM16BYTES}) {
            Mbuf j = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR, size);
            assertThat(j.size()).isEqualTo(size);
            assertThat(j.trailingSpace()).isEqualTo(size);
            j.freem();
        }
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-MBUF-1: a packet pair freed on another thread, or after its storage moved, comes back whole")
    void packetPairReturnsWhole() throws Exception {
        Mbuf m = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        Thread t = Thread.ofPlatform().start(m::freem); // not the allocating thread: no cache hint match
        t.join();
        Mbuf s = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        s.setLen(10);
        Mbuf c = s.copym(0, Mbuf.M_COPYALL, Mbuf.M_NOWAIT);
        assertThat(s.unshare(Mbuf.M_NOWAIT)).isTrue(); // s now holds its 10 bytes internally
        assertThat(s.size()).isEqualTo(Mbuf.MLEN);
        s.freem(); // parked: the copy still references s's cluster
        c.freem(); // the last reference returns s to the packet zone
        for (int i = 0; i < 3; i++) {
            Mbuf again = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0);
            assertThat(again.size()).as("storage is the pair's cluster again").isEqualTo(Mbuf.MCLBYTES);
            assertThat(again.writable()).isTrue();
            assertThat(again.trailingSpace()).isEqualTo(Mbuf.MCLBYTES);
            assertThat(again.data()).hasSize(Mbuf.MCLBYTES);
            again.freem();
        }
        assertThat(z.packetZone().allocs()).isEqualTo(z.packetZone().frees()).isEqualTo(5);
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-MBUF-1: a shared cluster is freed exactly once, when the last reference goes, whatever the order")
    void sharedClusterRefcount() throws Exception {
        for (int order = 0; order < 3; order++) {
            Mbuf m = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
            System.arraycopy(seq(1000), 0, m.writableData(), m.dataOff(), 1000);
            m.setLen(1000);
            m.setPktLen(1000);
            Mbuf c1 = m.copym(0, Mbuf.M_COPYALL, Mbuf.M_NOWAIT);
            Mbuf c2 = m.copym(100, 50, Mbuf.M_NOWAIT);
            assertThat(m.ext.refcount()).isEqualTo(3);
            assertThat(m.writable()).isFalse();
            assertThat(c1.writable()).isFalse();
            assertThatThrownBy(c1::writableData).isInstanceOf(IllegalStateException.class).hasMessageContaining("shared");
            long pairsInUse = z.packetZone().inUse();
            Mbuf[] frees = switch (order) {
                case 0 -> new Mbuf[] {m, c1, c2};
                case 1 -> new Mbuf[] {c2, c1, m};
                default -> new Mbuf[] {c1, m, c2};
            };
            frees[0].freem();
            frees[1].freem();
            assertThat(z.packetZone().inUse()).as("the pair waits for its last reference").isEqualTo(pairsInUse);
            Mbuf last = frees[2];
            byte[] out = new byte[last.length()];
            last.copydata(0, out.length, out, 0);
            Thread t = Thread.ofPlatform().start(last::freem); // the last reference dies on another thread
            t.join();
            assertThat(z.packetZone().inUse()).isEqualTo(pairsInUse - 1);
        }
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-MBUF-1: external storage runs its free callback once, after the last of its mbufs")
    void externalStorage() {
        AtomicInteger freed = new AtomicInteger();
        byte[] mem = seq(4096);
        ExtBuf e = ExtBuf.external(mem, 100, 3000, freed::incrementAndGet);
        Mbuf m = z.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        m.extadd(e, true);
        m.setLen(3000);
        m.setPktLen(3000);
        assertThat(m.writable()).as("M_RDONLY").isFalse();
        Mbuf copy = m.copym(10, 500, Mbuf.M_NOWAIT);
        Mbuf tail = m.split(2000, Mbuf.M_NOWAIT);
        assertThat(e.refcount()).isEqualTo(3);
        byte[] w = {1, 2, 3};
        assertThat(m.copyback(5, 3, w, 0, Mbuf.M_NOWAIT)).isTrue();
        assertThat(mem[105]).as("read-only external memory is never written").isEqualTo(seq(4096)[105]);
        assertThat(e.refcount()).as("copy-on-write dropped the head's reference").isEqualTo(2);
        m.freem();
        copy.freem();
        assertThat(freed.get()).isZero();
        tail.freem();
        assertThat(freed.get()).isEqualTo(1);
        assertThatThrownBy(() -> ExtBuf.external(mem, 4000, 200, null)).isInstanceOf(IndexOutOfBoundsException.class);
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-MBUF-1: packet header fields, tags deep-copied by copym, flags")
    void pkthdrAndTags() {
        Mbuf m = packet(seq(300));
        m.setRcvifIndex(7);
        m.setFlowid(0xabcdef, Mbuf.M_HASHTYPE_RSS_TCP_IPV4);
        m.setCsum(Mbuf.CSUM_L3_CALC | Mbuf.CSUM_L3_VALID, 0xffff);
        m.setFlags(m.flags() | Mbuf.M_BCAST);
        MbufTag t1 = new MbufTag(42, 1, new byte[] {9});
        MbufTag t2 = new MbufTag(42, 2, null);
        m.tagPrepend(t1);
        m.tagPrepend(t2);
        assertThat(m.tagLocate(42, 1, null)).isSameAs(t1);
        assertThat(m.tagLocate(42, 2, t2)).isNull();
        Mbuf c = m.copym(0, Mbuf.M_COPYALL, Mbuf.M_NOWAIT);
        assertThat(c.rcvifIndex()).isEqualTo(7);
        assertThat(c.flowid()).isEqualTo(0xabcdef);
        assertThat(c.hashType()).isEqualTo(Mbuf.M_HASHTYPE_RSS_TCP_IPV4);
        assertThat(c.csumFlags()).isEqualTo(Mbuf.CSUM_L3_CALC | Mbuf.CSUM_L3_VALID);
        assertThat(c.flags() & Mbuf.M_BCAST).isNotZero();
        MbufTag ct = c.tagLocate(42, 1, null);
        assertThat(ct).isNotSameAs(t1);
        ct.data()[0] = 1;
        assertThat(t1.data()[0]).as("tags are copied, not shared").isEqualTo((byte) 9);
        assertThat(m.tagDelete(t1)).isTrue();
        assertThat(m.tagDelete(t1)).isFalse();
        assertThat(m.tagLocate(42, 1, null)).isNull();
        Mbuf tail = m.split(100, Mbuf.M_NOWAIT);
        assertThat(tail.rcvifIndex()).isEqualTo(7);
        assertThat(tail.pktLen()).isEqualTo(200);
        assertThat(m.pktLen()).isEqualTo(100);
        Mbuf plain = z.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        assertThatThrownBy(plain::pktLen).isInstanceOf(IllegalStateException.class).hasMessageContaining("M_PKTHDR");
        plain.free();
        m.freem();
        c.freem();
        tail.freem();
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-MBUF-1: bad arguments get clear exceptions")
    void badArguments() {
        Mbuf m = packet(seq(500));
        byte[] out = new byte[1000];
        assertThatThrownBy(() -> m.copydata(400, 200, out, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("m_copydata").hasMessageContaining("beyond the chain's 500 bytes");
        assertThatThrownBy(() -> m.copydata(-1, 2, out, 0)).hasMessageContaining("negative");
        assertThatThrownBy(() -> m.copym(501, Mbuf.M_COPYALL, Mbuf.M_NOWAIT)).hasMessageContaining("m_copym");
        assertThatThrownBy(() -> m.copym(0, 501, Mbuf.M_NOWAIT)).hasMessageContaining("beyond");
        assertThatThrownBy(() -> m.split(501, Mbuf.M_NOWAIT)).hasMessageContaining("m_split");
        assertThatThrownBy(() -> m.pullup(-1)).hasMessageContaining("m_pullup");
        assertThatThrownBy(() -> m.prepend(-5, Mbuf.M_NOWAIT)).hasMessageContaining("m_prepend");
        assertThatThrownBy(() -> m.copyback(-1, 1, out, 0, Mbuf.M_NOWAIT)).hasMessageContaining("m_copyback");
        assertThatThrownBy(() -> m.append(out, 0, -1)).hasMessageContaining("m_append");
        assertThatThrownBy(() -> m.setLen(5000)).hasMessageContaining("does not fit");
        assertThatThrownBy(() -> InCksum.cksum(m, 10, 491)).hasMessageContaining("past the chain");
        assertThatThrownBy(() -> z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0, 3000)).hasMessageContaining("cluster size 3000");
        assertThat(m.length()).as("nothing changed").isEqualTo(500);
        m.freem();
        Mbuf shortPkt = packet(seq(10));
        assertThat(shortPkt.pullup(20)).as("m_pullup of a short packet fails and frees it").isNull();
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-MBUF-1: in_cksum over a chain split at odd offsets equals the RFC 1071 example")
    void inCksumOddBoundaries() {
        byte[] ip = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
            (byte) 0xc0, (byte) 0xa8, 0x00, 0x01, (byte) 0xc0, (byte) 0xa8, 0x00, (byte) 0xc7};
        assertThat(InCksum.cksum(ip, 0, ip.length)).isEqualTo(0xb861);
        // Three mbufs holding 3, 9 and 8 bytes: words straddle the odd boundary at offset 3.
        Mbuf m = packet(java.util.Arrays.copyOf(ip, 3));
        Mbuf n = z.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        n.reserve(1);
        System.arraycopy(ip, 3, n.writableData(), n.dataOff(), 9);
        n.setLen(9);
        Mbuf n2 = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0);
        System.arraycopy(ip, 12, n2.writableData(), 0, 8);
        n2.setLen(8);
        m.setNext(n);
        n.setNext(n2);
        m.setPktLen(20);
        assertThat(Chains.bytes(m)).isEqualTo(ip);
        assertThat(InCksum.cksum(m, 0, 20)).isEqualTo(0xb861);
        assertThat(InCksum.cksum(m, 3, 9)).isEqualTo(MbufChainPropertyTest.refCksum(ip, 3, 9));
        m.freem();
        Chains.checkNoLeaks(z);
    }

    @Test
    @DisplayName("R-UMA-1: double free of an mbuf and writes after free are detected; leaks are reported")
    void debugging() {
        Mbuf m = z.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        m.free();
        assertThatThrownBy(m::free).isInstanceOf(IllegalStateException.class).hasMessageContaining("double free");
        Mbuf p = z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0);
        byte[] cluster = p.data();
        p.freem();
        cluster[5] = 1; // a stale writer
        assertThatThrownBy(() -> z.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0))
                .hasMessageContaining("\"mbuf_packet\"").hasMessageContaining("use after free");
        MbufZones fresh = new MbufZones(true);
        Mbuf leaked = fresh.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
        assertThat(fresh.mbufZone().leaks()).singleElement()
                .satisfies(l -> assertThat(l.stack()).contains("MbufTest.debugging"));
        leaked.freem();
        assertThat(fresh.mbufZone().leaks()).isEmpty();
    }

    @Test
    @DisplayName("R-UMA-1: the 2 KiB cluster limit makes getcl fail soft, counted, for packet pairs too")
    void clusterLimit() {
        MbufZones lz = new MbufZones(true, 4, 3);
        Mbuf[] held = new Mbuf[3];
        for (int i = 0; i < 3; i++) {
            held[i] = lz.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        }
        assertThat(lz.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR)).isNull();
        assertThat(lz.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0, Mbuf.MCLBYTES)).isNull();
        assertThat(lz.clusterZone(Mbuf.MCLBYTES).fails()).isEqualTo(2);
        assertThat(lz.packetZone().fails()).isEqualTo(2);
        assertThat(lz.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA)).as("plain mbufs are not limited").isNotNull().satisfies(Mbuf::free);
        held[0].freem();
        Mbuf again = lz.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        assertThat(again).isSameAs(held[0]);
        again.freem();
        held[1].freem();
        held[2].freem();
        Chains.checkNoLeaks(lz);
    }

    @Test
    @DisplayName("R-UMA-1: system zones are in sysctl and kern.ipc.nmbclusters sets the cluster limit")
    void systemSysctl() {
        Mbuf m = Mbuf.getcl(Mbuf.M_WAITOK, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        Sysctl s = Sysctl.kernel();
        assertThat(Long.parseLong(s.get("vm.uma.mbuf_packet.allocs"))).isPositive();
        assertThat(Long.parseLong(s.get("vm.uma.mbuf_packet.inuse"))).isPositive();
        assertThat(s.get("vm.uma.mbuf_cluster.size")).isEqualTo("2048");
        for (String n : new String[] {"size", "limit", "allocs", "frees", "fails", "inuse", "cached"}) {
            assertThat(s.oid("vm.uma.mbuf." + n)).isNotNull();
        }
        String old = s.get("kern.ipc.nmbclusters");
        UmaZone<byte[]> clust = MbufZones.system().clusterZone(Mbuf.MCLBYTES);
        try {
            s.set("kern.ipc.nmbclusters", "123456");
            assertThat(clust.limit()).isEqualTo(123456);
            assertThat(s.get("vm.uma.mbuf_cluster.limit")).isEqualTo("123456");
        } finally {
            s.set("kern.ipc.nmbclusters", old);
        }
        m.freem();
    }

    @Test
    @DisplayName("R-UMA-1: the single locked zone set gives the same mbufs")
    void lockedZones() {
        MbufZones lz = new MbufZones(false);
        Mbuf m = lz.devget(seq(5000), 0, 5000, Mbuf.M_NOWAIT);
        assertThat(Chains.bytes(m)).isEqualTo(seq(5000));
        Mbuf c = m.copym(0, Mbuf.M_COPYALL, Mbuf.M_NOWAIT);
        m.freem();
        c.freem();
        Chains.checkNoLeaks(lz);
    }
}
