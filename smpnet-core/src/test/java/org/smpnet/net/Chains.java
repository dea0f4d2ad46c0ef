package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.smpnet.kern.UmaZone;

/** Test helpers: read a chain's bytes, check its structure, build random chains. */
final class Chains {
    private Chains() {}

    static byte[] bytes(Mbuf m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (; m != null; m = m.next()) {
            out.write(m.data(), m.dataOff(), m.len());
        }
        return out.toByteArray();
    }

    /** Storage bounds of every mbuf, a packet header only on the head, pkthdr.len = chain length. */
    static void checkStructure(Mbuf head) {
        int total = 0;
        for (Mbuf m = head; m != null; m = m.next()) {
            assertThat(m.len()).as("m_len").isNotNegative();
            int base = m.ext == null ? 0 : m.ext.base;
            assertThat(m.dataOff()).as("m_data").isGreaterThanOrEqualTo(base);
            assertThat(m.dataOff() + m.len()).as("data end").isLessThanOrEqualTo(base + m.size());
            assertThat(m.type()).as("type of a live mbuf").isNotEqualTo(Mbuf.MT_NOTMBUF);
            if (m != head) {
                assertThat(m.flags() & Mbuf.M_PKTHDR).as("M_PKTHDR inside a chain").isZero();
            }
            if (m.ext != null) {
                assertThat(m.ext.refcount()).as("refcount").isPositive();
                assertThat(m.flags() & Mbuf.M_EXT).isNotZero();
            }
            total += m.len();
        }
        if ((head.flags() & Mbuf.M_PKTHDR) != 0) {
            assertThat(head.pktLen()).as("pkthdr.len").isEqualTo(total);
        }
    }

    /** Every zone of the set has nothing in use and no leak; cached + in use = keg. */
    static void checkNoLeaks(MbufZones z) {
        // Cached packet-zone pairs hold an mbuf and a cluster "in use" in the primary zones.
        z.packetZone().drain();
        for (UmaZone<?> zone : z.zones()) {
            assertThat(zone.inUse()).as("in use in " + zone.name()).isZero();
            assertThat(zone.leaks()).as("leaks in " + zone.name()).isEmpty();
            assertThat(zone.cached()).as("cached in " + zone.name()).isEqualTo(zone.kegSize());
        }
    }

    /** Builds random chains with mixed storage, recording their bytes. */
    static final class Builder {
        final MbufZones zones;
        final Random rnd;
        final AtomicInteger externalsCreated = new AtomicInteger();
        final AtomicInteger externalsFreed = new AtomicInteger();

        Builder(MbufZones zones, Random rnd) {
            this.zones = zones;
            this.rnd = rnd;
        }

        /** A chain of 1..5 segments; the head has a packet header when {@code pkthdr}. */
        Mbuf chain(boolean pkthdr, ByteArrayOutputStream model, java.util.List<Mbuf> sources) {
            int segs = 1 + rnd.nextInt(5);
            Mbuf head = null;
            Mbuf tail = null;
            for (int i = 0; i < segs; i++) {
                boolean hdr = pkthdr && i == 0;
                Mbuf m = segment(hdr, model, sources);
                if (head == null) {
                    head = m;
                } else {
                    tail.setNext(m);
                }
                tail = m.last();
            }
            if (pkthdr) {
                head.setPktLen(head.length());
            }
            return head;
        }

        private Mbuf segment(boolean hdr, ByteArrayOutputStream model, java.util.List<Mbuf> sources) {
            int kind = rnd.nextInt(hdr ? 4 : 6);
            int f = hdr ? Mbuf.M_PKTHDR : 0;
            Mbuf m;
            switch (kind) {
                case 0 -> m = hdr ? zones.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA) : zones.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
                case 1 -> m = zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, f);
                case 2 -> m = zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, f,
                        new int[] {Mbuf.MJUMPAGESIZE, Mbuf.MJUM9BYTES, Mbuf.MJUM16BYTES}[rnd.nextInt(3)]);
                case 3 -> m = external(hdr);
                case 4 -> {
                    return sharedCopy(model, sources);
                }
                default -> m = zones.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
            }
            if (kind == 3) {
                fillExternal(m, rnd, model);
            } else {
                fill(m, model);
            }
            return m;
        }

        private void fill(Mbuf m, ByteArrayOutputStream model) {
            int lead = rnd.nextInt(Math.min(m.size(), 64) + 1);
            m.reserve(lead);
            int room = m.size() - lead;
            int n = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(Math.min(room, 3000) + 1);
            byte[] data = randomBytes(n);
            System.arraycopy(data, 0, m.writableData(), m.dataOff(), n);
            m.setLen(n);
            model.write(data, 0, n);
        }

        private Mbuf external(boolean hdr) {
            byte[] big = randomBytes(600 + rnd.nextInt(600));
            int off = rnd.nextInt(100);
            int size = 400 + rnd.nextInt(big.length - off - 400);
            externalsCreated.incrementAndGet();
            ExtBuf e = ExtBuf.external(big, off, size, externalsFreed::incrementAndGet);
            Mbuf m = hdr ? zones.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA) : zones.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
            m.extadd(e, rnd.nextBoolean());
            return m;
        }

        /** A copym of part of an independent chain (kept in {@code sources} to be checked and freed). */
        private Mbuf sharedCopy(ByteArrayOutputStream model, java.util.List<Mbuf> sources) {
            ByteArrayOutputStream srcModel = new ByteArrayOutputStream();
            Mbuf src = chainNoShare(srcModel);
            byte[] sb = srcModel.toByteArray();
            int off = rnd.nextInt(sb.length + 1);
            int len = rnd.nextInt(sb.length - off + 1);
            Mbuf c = src.copym(off, len, Mbuf.M_NOWAIT);
            model.write(sb, off, len);
            sources.add(src);
            return c;
        }

        private Mbuf chainNoShare(ByteArrayOutputStream model) {
            Mbuf head = zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0);
            fill(head, model);
            Mbuf m2 = rnd.nextBoolean() ? zones.get(Mbuf.M_NOWAIT, Mbuf.MT_DATA) : zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, 0);
            fill(m2, model);
            head.setNext(m2);
            return head;
        }

        byte[] randomBytes(int n) {
            byte[] b = new byte[n];
            rnd.nextBytes(b);
            return b;
        }
    }

    /** Fills an external-storage mbuf's data (written into the backing array before sharing). */
    static void fillExternal(Mbuf m, Random rnd, ByteArrayOutputStream model) {
        int room = m.size();
        int lead = rnd.nextInt(Math.min(room, 32) + 1);
        int n = rnd.nextInt(room - lead + 1);
        int start = m.dataOff();
        byte[] b = m.data();
        m.setLen(0);
        // External storage: the creator writes it before attaching; here we write through the array.
        for (int i = 0; i < n; i++) {
            b[start + lead + i] = (byte) rnd.nextInt();
        }
        m.off = start + lead;
        m.setLen(n);
        model.write(b, start + lead, n);
    }
}
