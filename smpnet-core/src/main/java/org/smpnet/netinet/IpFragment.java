package org.smpnet.netinet;

import org.smpnet.net.Mbuf;

/**
 * Output fragmentation ({@code ip_fragment}): splits a datagram into fragments of at most the MTU,
 * each with its own header (the first keeps all options, the rest only the copied ones). Stateless.
 */
final class IpFragment {
    private IpFragment() {}

    /**
     * Fragments {@code m} (a full datagram, header contiguous) for {@code mtu}. Consumes {@code m};
     * returns the fragments linked by {@link Mbuf#nextpkt}, checksums filled, or null if mbufs ran out
     * or the MTU cannot carry 8 data bytes (counted in {@code stats}).
     */
    static Mbuf fragment(Mbuf m, int mtu, IpStats stats) {
        byte[] h0 = new byte[new Ipv4View(m.data(), m.dataOff()).hlen()];
        m.copydata(0, h0.length, h0, 0);
        Ipv4View v = new Ipv4View(h0, 0);
        int hlen = h0.length;
        int len = v.totalLength();
        byte[] later = IpOptions.copiedOptions(h0, 0, hlen);
        int laterHlen = Ipv4View.MIN_HEADER_LEN + later.length;
        int firstSize = (mtu - hlen) & ~7;
        int laterSize = (mtu - laterHlen) & ~7;
        if (firstSize < 8 || laterSize < 8) {
            stats.cantfrag.inc();
            m.freem();
            return null;
        }
        int baseOff = v.fragOffset();
        boolean origMf = v.mf();
        Mbuf head = null;
        Mbuf tail = null;
        int nfrags = 0;
        for (int off = hlen; off < len; ) {
            boolean first = off == hlen;
            int size = Math.min(first ? firstSize : laterSize, len - off);
            boolean more = off + size < len || origMf;
            byte[] hdr;
            if (first) {
                hdr = h0.clone();
            } else {
                hdr = new byte[laterHlen];
                System.arraycopy(h0, 0, hdr, 0, Ipv4View.MIN_HEADER_LEN);
                System.arraycopy(later, 0, hdr, Ipv4View.MIN_HEADER_LEN, later.length);
            }
            Ipv4View fv = new Ipv4View(hdr, 0);
            fv.setVersionHlen(4, hdr.length);
            fv.setTotalLength(hdr.length + size);
            fv.setOffWord((more ? Ipv4View.IP_MF : 0) | ((baseOff + off - hlen) >>> 3));
            fv.fillChecksum();
            Mbuf f = Mbuf.gethdr(Mbuf.M_NOWAIT, Mbuf.MT_DATA);
            Mbuf data = f == null ? null : m.copym(off, size, Mbuf.M_NOWAIT);
            if (f == null || data == null || !f.append(hdr, 0, hdr.length)) {
                if (f != null) {
                    f.freem();
                }
                if (data != null) {
                    data.freem();
                }
                freePackets(head);
                m.freem();
                stats.odropped.inc();
                return null;
            }
            f.catpkt(data);
            if (tail == null) {
                head = f;
            } else {
                tail.setNextpkt(f);
            }
            tail = f;
            nfrags++;
            off += size;
        }
        m.freem();
        stats.fragmented.inc();
        stats.ofragments.add(nfrags);
        return head;
    }

    /** Frees packets linked by {@code nextpkt}. */
    static void freePackets(Mbuf p) {
        while (p != null) {
            Mbuf next = p.nextpkt();
            p.setNextpkt(null);
            p.freem();
            p = next;
        }
    }
}
