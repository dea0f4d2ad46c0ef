package org.smpnet.net;

import org.smpnet.kern.Sysctl;
import org.smpnet.kern.UmaCache;
import org.smpnet.kern.UmaZone;

/**
 * The UMA zones behind mbufs (FreeBSD {@code kern_mbuf.c}): {@code mbuf} (headers with their
 * internal buffer), {@code mbuf_cluster} (2 KiB), {@code mbuf_jumbo_page} (4 KiB),
 * {@code mbuf_jumbo_9k}, {@code mbuf_jumbo_16k}, and {@code mbuf_packet}, whose items are mbuf +
 * 2 KiB cluster pairs taken from the first two zones and kept paired (FreeBSD {@code zone_pack}), so
 * {@link #getcl(int, int, int)} is one cache pop and a header reset, and freeing an untouched pair
 * returns it whole. The {@code mbuf} zone does not recycle ({@link UmaZone.Builder#recycle}): a
 * packet is usually freed on another thread than the one that built it, and reusing its header
 * there would pull the header's cache lines across CPUs for every packet (a fresh one cost 0.59x
 * the CPU per datagram in {@code UdpPacketRate}). Clusters cached in the packet zone count as in use
 * in {@code mbuf_cluster}, so {@code kern.ipc.nmbclusters} bounds both.
 *
 * <p>{@link #system()} is the JVM's set, registered in sysctl ({@code vm.uma.<zone>.*},
 * {@code kern.ipc.nmbclusters} and the jumbo limits, also boot tunables). Other sets are independent
 * and unregistered (tests, benchmarks). An mbuf always returns to the set it came from.
 *
 * <p>Locking: the zones do their own; allocation never sleeps with {@link Mbuf#M_NOWAIT} and may
 * sleep at a zone limit with {@link Mbuf#M_WAITOK} (hold no non-sleepable lock then).
 */
public final class MbufZones {
    final UmaZone<Mbuf> mbuf;
    final UmaZone<byte[]> clust;
    final UmaZone<byte[]> jumbop;
    final UmaZone<byte[]> jumbo9;
    final UmaZone<byte[]> jumbo16;
    final UmaZone<Mbuf> packet;

    private static final class SystemHolder {
        static final MbufZones ZONES = createSystem();
    }

    /** The JVM's zones (per-thread caches on), registered in the kernel sysctl tree. */
    public static MbufZones system() {
        return SystemHolder.ZONES;
    }

    /**
     * A separate, independent set of zones with no limits and no sysctl nodes. With
     * {@code perThreadCaches} false every alloc and free takes the zone lock (the single locked zone).
     */
    public MbufZones(boolean perThreadCaches) {
        this(perThreadCaches, UmaZone.DEFAULT_BUCKET_SIZE, Long.MAX_VALUE);
    }

    /** A separate set with the given bucket size and 2 KiB cluster limit (as nmbclusters). */
    public MbufZones(boolean perThreadCaches, int bucketSize, long nmbclusters) {
        mbuf = UmaZone.<Mbuf>builder("mbuf", how -> new Mbuf(this))
                .itemSize(Mbuf.MSIZE).trash(m -> m.dat).bucketSize(bucketSize).perThreadCaches(perThreadCaches)
                .recycle(false).build();
        clust = clusterZone("mbuf_cluster", Mbuf.MCLBYTES, nmbclusters, bucketSize, perThreadCaches);
        jumbop = clusterZone("mbuf_jumbo_page", Mbuf.MJUMPAGESIZE, Long.MAX_VALUE, bucketSize, perThreadCaches);
        jumbo9 = clusterZone("mbuf_jumbo_9k", Mbuf.MJUM9BYTES, Long.MAX_VALUE, bucketSize, perThreadCaches);
        jumbo16 = clusterZone("mbuf_jumbo_16k", Mbuf.MJUM16BYTES, Long.MAX_VALUE, bucketSize, perThreadCaches);
        packet = UmaZone.<Mbuf>builder("mbuf_packet", this::importPacket)
                .itemSize(Mbuf.MSIZE + Mbuf.MCLBYTES).trash(m -> m.ownExt.buf).fini(this::releasePacket)
                .bucketSize(bucketSize).perThreadCaches(perThreadCaches).build();
    }

    private static UmaZone<byte[]> clusterZone(String name, int size, long limit, int bucketSize, boolean caches) {
        return UmaZone.<byte[]>builder(name, how -> new byte[size])
                .itemSize(size).trash(b -> b).limit(limit).bucketSize(bucketSize).perThreadCaches(caches).build();
    }

    private static MbufZones createSystem() {
        long heapClusters = Runtime.getRuntime().maxMemory() / 8 / Mbuf.MCLBYTES;
        int nmbclusters = (int) Math.max(1024, Math.min(Integer.MAX_VALUE / 8, heapClusters));
        MbufZones z = new MbufZones(true, UmaZone.DEFAULT_BUCKET_SIZE, nmbclusters);
        Sysctl s = Sysctl.kernel();
        for (UmaZone<?> zone : z.zones()) {
            zone.registerSysctl(s, "vm.uma");
        }
        limitNode(s, "kern.ipc.nmbclusters", "Maximum number of 2 KiB mbuf clusters", nmbclusters, z.clust);
        limitNode(s, "kern.ipc.nmbjumbop", "Maximum number of 4 KiB mbuf clusters", nmbclusters / 2, z.jumbop);
        limitNode(s, "kern.ipc.nmbjumbo9", "Maximum number of 9 KiB mbuf clusters", nmbclusters / 4, z.jumbo9);
        limitNode(s, "kern.ipc.nmbjumbo16", "Maximum number of 16 KiB mbuf clusters", nmbclusters / 8, z.jumbo16);
        return z;
    }

    private static void limitNode(Sysctl s, String name, String descr, int initial, UmaZone<byte[]> zone) {
        Sysctl.IntOid oid = s.addInt(name, descr, initial, 0, Integer.MAX_VALUE, true, zone::setLimit);
        zone.setLimit(oid.get());
    }

    /** All six zones, primaries first. */
    public java.util.List<UmaZone<?>> zones() {
        return java.util.List.of(mbuf, clust, jumbop, jumbo9, jumbo16, packet);
    }

    public UmaZone<Mbuf> mbufZone() {
        return mbuf;
    }

    public UmaZone<Mbuf> packetZone() {
        return packet;
    }

    /** The zone of clusters of exactly {@code size} bytes. */
    public UmaZone<byte[]> clusterZone(int size) {
        return switch (size) {
            case Mbuf.MCLBYTES -> clust;
            case Mbuf.MJUMPAGESIZE -> jumbop;
            case Mbuf.MJUM9BYTES -> jumbo9;
            case Mbuf.MJUM16BYTES -> jumbo16;
            default -> throw new IllegalArgumentException("no mbuf cluster size " + size
                    + " (MCLBYTES, MJUMPAGESIZE, MJUM9BYTES or MJUM16BYTES)");
        };
    }

    /** The smallest cluster size holding {@code len} bytes. */
    static int clusterSizeFor(int len) {
        if (len <= Mbuf.MCLBYTES) {
            return Mbuf.MCLBYTES;
        } else if (len <= Mbuf.MJUMPAGESIZE) {
            return Mbuf.MJUMPAGESIZE;
        } else if (len <= Mbuf.MJUM9BYTES) {
            return Mbuf.MJUM9BYTES;
        } else if (len <= Mbuf.MJUM16BYTES) {
            return Mbuf.MJUM16BYTES;
        }
        throw new IllegalArgumentException("no mbuf cluster holds " + len + " bytes");
    }

    private Mbuf importPacket(int how) {
        Mbuf m = mbuf.alloc(how);
        if (m == null) {
            return null;
        }
        byte[] c = clust.alloc(how);
        if (c == null) {
            mbuf.free(m);
            return null;
        }
        m.ownExt().attachPacketCluster(c, clust);
        m.packetItem = true;
        m.pointAtPacketCluster();
        return m;
    }

    private void releasePacket(Mbuf m) {
        byte[] c = m.ownExt.buf;
        m.ownExt.buf = null;
        m.ownExt.zone = null;
        m.packetItem = false;
        m.packetCache = null;
        m.buf = m.dat;
        m.ext = null;
        clust.free(c);
        mbuf.free(m);
    }

    // ---- allocation -----------------------------------------------------------------------------

    /** An mbuf with internal storage (FreeBSD {@code m_get}); null if M_NOWAIT fails. */
    public Mbuf get(int how, int type) {
        Mbuf m = mbuf.alloc(how);
        if (m != null) {
            m.initInternal(type, 0);
        }
        return m;
    }

    /** A packet-header mbuf with internal storage (FreeBSD {@code m_gethdr}). */
    public Mbuf gethdr(int how, int type) {
        Mbuf m = mbuf.alloc(how);
        if (m != null) {
            m.initInternal(type, Mbuf.M_PKTHDR);
        }
        return m;
    }

    /**
     * An mbuf with a 2 KiB cluster from the packet zone (FreeBSD {@code m_getcl}); {@code flags}
     * may hold {@link Mbuf#M_PKTHDR} and the packet flags. Null if M_NOWAIT fails.
     */
    public Mbuf getcl(int how, int type, int flags) {
        UmaCache c = packet.cache();
        Mbuf m = packet.alloc(c, how);
        if (m != null) {
            m.initPacket(type, flags, c);
        }
        return m;
    }

    /**
     * An mbuf with a cluster of {@code size} bytes (FreeBSD {@code m_getjcl}).
     *
     * @throws IllegalArgumentException if {@code size} is not a cluster size
     */
    public Mbuf getcl(int how, int type, int flags, int size) {
        if (size == Mbuf.MCLBYTES) {
            return getcl(how, type, flags);
        }
        UmaZone<byte[]> z = clusterZone(size);
        Mbuf m = mbuf.alloc(how);
        if (m == null) {
            return null;
        }
        byte[] c = z.alloc(how);
        if (c == null) {
            mbuf.free(m);
            return null;
        }
        m.initInternal(type, flags);
        m.attachOwnCluster(c, z);
        return m;
    }

    /**
     * A packet holding a copy of {@code src[off, off+len)} in clusters and mbufs (FreeBSD
     * {@code m_devget}), with its packet length set.
     *
     * @return the packet, or null if M_NOWAIT allocation failed
     */
    public Mbuf devget(byte[] src, int off, int len, int how) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        Mbuf top = len > Mbuf.MLEN ? getcl(how, Mbuf.MT_DATA, Mbuf.M_PKTHDR) : gethdr(how, Mbuf.MT_DATA);
        if (top == null) {
            return null;
        }
        int n = Math.min(len, top.size());
        System.arraycopy(src, off, top.buf, top.off, n);
        top.len = n;
        top.pktLen = n;
        if (n < len && !top.append(src, off + n, len - n)) {
            top.freem();
            return null;
        }
        return top;
    }
}
