package org.smpnet.net;

import java.util.Objects;
import org.smpnet.kern.UmaCache;
import org.smpnet.kern.UmaZone;

/**
 * A memory buffer (FreeBSD {@code mbuf(9)}): a header object with its data in a small internal
 * buffer ({@link #MLEN} bytes), in a cluster ({@code byte[]} of 2 KiB, 4 KiB, 9 KiB or 16 KiB) or in
 * shared external storage ({@link ExtBuf}). Mbufs form chains through {@link #next()} (one packet)
 * and queues of packets through {@link #nextpkt()}. The first mbuf of a packet carries the packet
 * header ({@link #M_PKTHDR}): total length, receiving interface index, flow id and hash type,
 * checksum flags and data, and tags.
 *
 * <p>Storage shared by {@link #copym}/{@link #split} is reference counted and read-only: every
 * method here that writes copies first ({@link #unshare}), and {@link #writableData()} refuses shared
 * storage. {@link #data()} gives the backing array for reading only.
 *
 * <p>Locking: none. An mbuf chain has one owner at a time (the thread, queue or socket buffer that
 * holds it); handing a chain over through a lock or a queue publishes it. Only the reference counts
 * of shared storage are touched by several owners, atomically. Methods that take a chain say whether
 * they consume it. Nothing here sleeps unless called with {@link #M_WAITOK}.
 */
public final class Mbuf {
    public static final int M_NOWAIT = UmaZone.M_NOWAIT;
    public static final int M_WAITOK = UmaZone.M_WAITOK;

    public static final int MT_NOTMBUF = 0;
    public static final int MT_DATA = 1;
    public static final int MT_HEADER = MT_DATA;
    public static final int MT_SONAME = 8;
    public static final int MT_CONTROL = 14;
    public static final int MT_OOBDATA = 15;

    public static final int M_EXT = 0x0001;
    public static final int M_PKTHDR = 0x0002;
    public static final int M_EOR = 0x0004;
    public static final int M_RDONLY = 0x0008;
    public static final int M_BCAST = 0x0010;
    public static final int M_MCAST = 0x0020;
    /** Flags that belong to the packet, moved with the packet header. */
    public static final int M_COPYFLAGS = M_PKTHDR | M_EOR | M_BCAST | M_MCAST;

    public static final int MSIZE = 256;
    /** Internal buffer size; the packet header lives in the object, so MHLEN equals MLEN. */
    public static final int MLEN = 224;
    public static final int MHLEN = MLEN;
    public static final int MCLBYTES = 2048;
    public static final int MJUMPAGESIZE = 4096;
    public static final int MJUM9BYTES = 9 * 1024;
    public static final int MJUM16BYTES = 16 * 1024;
    /** Length meaning "to the end of the chain" for {@link #copym}. */
    public static final int M_COPYALL = 1_000_000_000;

    public static final int M_HASHTYPE_NONE = 0;
    public static final int M_HASHTYPE_OPAQUE = 1;
    public static final int M_HASHTYPE_RSS_IPV4 = 2;
    public static final int M_HASHTYPE_RSS_TCP_IPV4 = 3;
    public static final int M_HASHTYPE_RSS_UDP_IPV4 = 4;

    /**
     * Output: the IPv4 header's checksum is filled in (this stack always computes it itself), so a link
     * that corrupts nothing may deliver the header as verified ({@code CSUM_L3_CALC | CSUM_L3_VALID}).
     */
    public static final int CSUM_IP = 0x0000_0001;
    public static final int CSUM_IP_UDP = 0x0000_0002;
    public static final int CSUM_IP_TCP = 0x0000_0004;
    public static final int CSUM_L3_CALC = 0x0100_0000;
    public static final int CSUM_L3_VALID = 0x0200_0000;
    public static final int CSUM_L4_CALC = 0x0400_0000;
    public static final int CSUM_L4_VALID = 0x0800_0000;

    final MbufZones zones;
    /** Internal storage, MLEN bytes. */
    final byte[] dat;
    /**
     * Embedded cluster storage, this mbuf its holder; null until the mbuf first holds a cluster of its own
     * ({@link #ownExt()}; packet-zone items get it when made). Most header mbufs never do, and one object
     * less per packet is one cache line less for the CPU that frees it. Written by the thread that owns
     * the mbuf; published with the mbuf.
     */
    ExtBuf ownExt;
    /** True while this mbuf belongs to the packet zone (mbuf + 2 KiB cluster pair). */
    boolean packetItem;
    /**
     * The packet-zone cache of the thread that last allocated this packet item (null if none): a
     * free on that thread goes straight back into it, without a thread-local lookup.
     */
    UmaCache packetCache;

    Mbuf next;
    Mbuf nextpkt;
    byte[] buf;
    int off;
    int len;
    int flags;
    int type;
    /** Current external storage (possibly {@link #ownExt}, possibly another mbuf's), or null. */
    ExtBuf ext;

    int pktLen;
    int rcvifIndex;
    /** The receive queue the packet came in through (Linux's {@code napi_id}), or null; see {@link #rxQueue()}. */
    IfQueue rxQueue;
    int flowid;
    int hashType;
    int csumFlags;
    int csumData;
    MbufTag tags;

    Mbuf(MbufZones zones) {
        this.zones = zones;
        this.dat = new byte[MLEN];
    }

    /** The embedded cluster storage, made on first use. */
    ExtBuf ownExt() {
        ExtBuf e = ownExt;
        if (e == null) {
            e = new ExtBuf(this);
            ownExt = e;
        }
        return e;
    }

    // ---- allocation (delegates to the system zones) ------------------------------------------

    /** An mbuf with internal storage from the system zones; null if M_NOWAIT fails. */
    public static Mbuf get(int how, int type) {
        return MbufZones.system().get(how, type);
    }

    /** A packet-header mbuf with internal storage from the system zones. */
    public static Mbuf gethdr(int how, int type) {
        return MbufZones.system().gethdr(how, type);
    }

    /** An mbuf with a 2 KiB cluster from the system zones' packet zone. */
    public static Mbuf getcl(int how, int type, int flags) {
        return MbufZones.system().getcl(how, type, flags);
    }

    /** An mbuf with a cluster of {@code size} (MCLBYTES, MJUMPAGESIZE, MJUM9BYTES, MJUM16BYTES). */
    public static Mbuf getcl(int how, int type, int flags, int size) {
        return MbufZones.system().getcl(how, type, flags, size);
    }

    /** A packet holding a copy of {@code src[off, off+len)} (FreeBSD {@code m_devget}). */
    public static Mbuf devget(byte[] src, int off, int len, int how) {
        return MbufZones.system().devget(src, off, len, how);
    }

    /** Header reset for a fresh mbuf with internal storage. */
    void initInternal(int type, int flags) {
        this.next = null;
        this.nextpkt = null;
        this.buf = dat;
        this.off = 0;
        this.len = 0;
        this.type = type;
        this.ext = null;
        this.flags = flags & M_COPYFLAGS;
        if ((flags & M_PKTHDR) != 0) {
            initPkthdr();
        }
    }

    /**
     * Header reset for a packet-zone item allocated through {@code cache}. A packet item rests in
     * its zone already pointing at its embedded cluster ({@link #pointAtPacketCluster}), so only
     * the reference, links, data window and header are set here.
     */
    void initPacket(int type, int flags, UmaCache cache) {
        if (packetCache != cache) { // the same thread again: skip the store and its GC barrier
            packetCache = cache;
        }
        ownExt.activate();
        if (next != null) { // mostly null already: skip the store and its GC barrier
            next = null;
        }
        if (nextpkt != null) {
            nextpkt = null;
        }
        this.off = 0;
        this.len = 0;
        this.type = type;
        this.flags = (flags & M_COPYFLAGS) | M_EXT;
        if ((flags & M_PKTHDR) != 0) {
            initPkthdr();
        }
    }

    /** Makes the embedded packet cluster this mbuf's storage again, before it rests in the packet zone. */
    void pointAtPacketCluster() {
        ExtBuf own = ownExt;
        if (ext != own) {
            ext = own;
        }
        if (buf != own.buf) {
            buf = own.buf;
        }
    }

    private void initPkthdr() {
        pktLen = 0;
        rcvifIndex = 0;
        if (rxQueue != null) { // mostly null already: skip the store and its GC barrier
            rxQueue = null;
        }
        flowid = 0;
        hashType = M_HASHTYPE_NONE;
        csumFlags = 0;
        csumData = 0;
        if (tags != null) {
            tags = null;
        }
    }

    /** Makes a fresh cluster this mbuf's storage through its embedded ExtBuf. */
    void attachOwnCluster(byte[] cluster, UmaZone<byte[]> zone) {
        ExtBuf own = ownExt();
        own.attachCluster(cluster, zone, ExtBuf.Kind.CLUSTER);
        ext = own;
        buf = cluster;
        off = 0;
        flags |= M_EXT;
    }

    /**
     * Attaches external storage to this mbuf, which must have none yet and be empty (FreeBSD
     * {@code m_extadd}); adds one reference to {@code e}. {@code readOnly} sets {@link #M_RDONLY}.
     */
    public void extadd(ExtBuf e, boolean readOnly) {
        if (ext != null || len != 0) {
            throw new IllegalStateException("m_extadd: mbuf already has storage or data");
        }
        if (e.kind != ExtBuf.Kind.EXTERNAL) {
            throw new IllegalArgumentException("m_extadd: not external storage");
        }
        e.acquire();
        ext = e;
        buf = e.buf;
        off = e.base;
        flags |= M_EXT | (readOnly ? M_RDONLY : 0);
    }

    // ---- free ----------------------------------------------------------------------------------

    /**
     * Frees this mbuf (FreeBSD {@code m_free}) and returns the next one of its chain. Shared storage
     * loses one reference and goes back to its zone (or its free callback runs) when that was the
     * last. Never sleeps; any thread may free.
     */
    public Mbuf free() {
        Mbuf n = next;
        if (UmaZone.INVARIANTS) {
            if (type == MT_NOTMBUF) {
                throw new IllegalStateException("double free of mbuf " + this);
            }
            type = MT_NOTMBUF;
        }
        // Links and the packet header are reset on the next allocation, not here (fewer stores).
        ExtBuf own = ownExt;
        if (own != null && ext == own && own.kind == ExtBuf.Kind.PACKET && own.releaseSole()) {
            // The common case, kept small: a packet-zone pair whose cluster only we reference.
            zones.packet.free(packetCache, this);
        } else {
            freeStorage(own);
        }
        return n;
    }

    private void freeStorage(ExtBuf own) {
        ExtBuf e = ext;
        if (e != own && e != null) {
            ext = null;
            if (e.release()) {
                lastRef(e);
            }
        }
        if (own == null || !own.active()) {
            zones.mbuf.free(this);
        } else if (own.release()) {
            returnHolder();
        }
        // Otherwise others still share our embedded storage: the last of them returns us.
    }

    /** Frees the whole chain (FreeBSD {@code m_freem}); null is allowed. Consumes the chain. */
    public void freem() {
        Mbuf m = this;
        do {
            m = m.free();
        } while (m != null);
    }

    /** Frees a chain that may be null. */
    public static void freeChain(Mbuf m) {
        if (m != null) {
            m.freem();
        }
    }

    /**
     * Frees every packet of a list linked through {@code nextpkt} ({@code m_freem} of each in an
     * {@code mbufq}); null is allowed. Consumes the list.
     */
    public static void freeList(Mbuf first) {
        while (first != null) {
            Mbuf next = first.nextpkt;
            first.nextpkt = null;
            first.freem();
            first = next;
        }
    }

    private static void lastRef(ExtBuf e) {
        Mbuf h = e.holder;
        if (h != null) {
            h.returnHolder();
        } else {
            e.freeStandalone();
        }
    }

    /** This mbuf was freed and the last reference to its embedded storage has gone. */
    private void returnHolder() {
        ExtBuf own = ownExt;
        if (own.kind == ExtBuf.Kind.PACKET) {
            pointAtPacketCluster();
            zones.packet.free(packetCache, this);
        } else {
            byte[] c = own.buf;
            UmaZone<byte[]> z = own.zone;
            own.buf = null;
            own.zone = null;
            z.free(c);
            zones.mbuf.free(this);
        }
    }

    // ---- accessors -----------------------------------------------------------------------------

    public Mbuf next() {
        return next;
    }

    public void setNext(Mbuf n) {
        next = n;
    }

    public Mbuf nextpkt() {
        return nextpkt;
    }

    public void setNextpkt(Mbuf n) {
        nextpkt = n;
    }

    /** Bytes of data in this mbuf. */
    public int len() {
        return len;
    }

    public int flags() {
        return flags;
    }

    /** Sets the flags in {@code f} that are not storage flags (M_EXT is managed here). */
    public void setFlags(int f) {
        flags = (flags & M_EXT) | (f & ~M_EXT);
    }

    public int type() {
        return type;
    }

    /** The backing array, for reading {@link #len()} bytes from {@link #dataOff()}. Do not write. */
    public byte[] data() {
        return buf;
    }

    /** Offset of the data in {@link #data()} (FreeBSD {@code m_data}). */
    public int dataOff() {
        return off;
    }

    /**
     * The backing array for writing (FreeBSD {@code mtod} on an {@code M_WRITABLE} mbuf).
     *
     * @throws IllegalStateException if the storage is shared or read-only; {@link #unshare} first
     */
    public byte[] writableData() {
        if (!writable()) {
            throw new IllegalStateException("mbuf storage is shared or read-only (refcount "
                    + (ext == null ? 1 : ext.refcount()) + "); unshare it before writing");
        }
        return buf;
    }

    /** Whether the data may be written in place (FreeBSD {@code M_WRITABLE}). */
    public boolean writable() {
        return (flags & M_RDONLY) == 0 && (ext == null || ext.refcount() == 1);
    }

    private int storageBase() {
        return ext == null ? 0 : ext.base;
    }

    /** Total size of this mbuf's storage (FreeBSD {@code M_SIZE}). */
    public int size() {
        return ext == null ? MLEN : ext.size;
    }

    /** Free bytes before the data, 0 if not writable (FreeBSD {@code M_LEADINGSPACE}). */
    public int leadingSpace() {
        return writable() ? off - storageBase() : 0;
    }

    /** Free bytes after the data, 0 if not writable (FreeBSD {@code M_TRAILINGSPACE}). */
    public int trailingSpace() {
        return writable() ? storageBase() + size() - off - len : 0;
    }

    /**
     * Sets the data length of this mbuf (after writing into {@link #writableData()}).
     *
     * @throws IllegalArgumentException if it would run past the storage
     */
    public void setLen(int n) {
        if (n < 0 || off + n > storageBase() + size()) {
            throw new IllegalArgumentException("m_len " + n + " does not fit: data at " + (off - storageBase())
                    + " of " + size());
        }
        len = n;
    }

    /** Moves the (empty) data start forward by {@code n} bytes (FreeBSD {@code m_reserve}). */
    public void reserve(int n) {
        if (len != 0 || n < 0 || off + n > storageBase() + size()) {
            throw new IllegalArgumentException("m_reserve " + n + ": mbuf not empty or too small");
        }
        off += n;
    }

    /** Places the (empty) data so {@code n} bytes end at the end of the storage (M_ALIGN). */
    public void align(int n) {
        if (len != 0 || n < 0 || n > size()) {
            throw new IllegalArgumentException("m_align " + n + ": mbuf not empty or too small");
        }
        off = storageBase() + size() - n;
    }

    // ---- packet header ------------------------------------------------------------------------

    private void checkPkthdr() {
        if ((flags & M_PKTHDR) == 0) {
            throw new IllegalStateException("mbuf has no packet header (M_PKTHDR)");
        }
    }

    public int pktLen() {
        checkPkthdr();
        return pktLen;
    }

    public void setPktLen(int n) {
        checkPkthdr();
        pktLen = n;
    }

    /** Index of the receiving interface (0: none); look the interface up under the net epoch. */
    public int rcvifIndex() {
        checkPkthdr();
        return rcvifIndex;
    }

    public void setRcvifIndex(int index) {
        checkPkthdr();
        rcvifIndex = index;
    }

    /**
     * The driver receive queue that delivered this packet, or null: a socket that receives it remembers
     * the queue, so a reader waiting for more can poll that queue itself ({@link IfQueue#busyPoll}).
     */
    public IfQueue rxQueue() {
        checkPkthdr();
        return rxQueue;
    }

    public int flowid() {
        checkPkthdr();
        return flowid;
    }

    public int hashType() {
        checkPkthdr();
        return hashType;
    }

    /** Sets the flow id and its hash type (FreeBSD {@code M_HASHTYPE_SET}). */
    public void setFlowid(int id, int hashType) {
        checkPkthdr();
        this.flowid = id;
        this.hashType = hashType;
    }

    public int csumFlags() {
        checkPkthdr();
        return csumFlags;
    }

    public int csumData() {
        checkPkthdr();
        return csumData;
    }

    public void setCsum(int flags, int data) {
        checkPkthdr();
        this.csumFlags = flags;
        this.csumData = data;
    }

    /** The first tag, or null. */
    public MbufTag tagFirst() {
        checkPkthdr();
        return tags;
    }

    /** Adds a tag at the head of the packet's list (FreeBSD {@code m_tag_prepend}). */
    public void tagPrepend(MbufTag t) {
        checkPkthdr();
        if (t.next != null) {
            throw new IllegalArgumentException("tag is already on a list");
        }
        t.next = tags;
        tags = t;
    }

    /** The first tag after {@code after} (null: from the start) with this cookie and type. */
    public MbufTag tagLocate(int cookie, int type, MbufTag after) {
        checkPkthdr();
        for (MbufTag t = after == null ? tags : after.next; t != null; t = t.next) {
            if (t.cookie() == cookie && t.type() == type) {
                return t;
            }
        }
        return null;
    }

    /** Unlinks a tag (FreeBSD {@code m_tag_delete}); returns whether it was there. */
    public boolean tagDelete(MbufTag t) {
        checkPkthdr();
        MbufTag prev = null;
        for (MbufTag x = tags; x != null; prev = x, x = x.next) {
            if (x == t) {
                if (prev == null) {
                    tags = x.next;
                } else {
                    prev.next = x.next;
                }
                x.next = null;
                return true;
            }
        }
        return false;
    }

    /** Copies the packet header of {@code from} into this mbuf, tags deeply (M_DUP_PKTHDR). */
    void dupPkthdr(Mbuf from) {
        flags = (flags & ~M_COPYFLAGS) | (from.flags & M_COPYFLAGS);
        pktLen = from.pktLen;
        rcvifIndex = from.rcvifIndex;
        rxQueue = from.rxQueue;
        flowid = from.flowid;
        hashType = from.hashType;
        csumFlags = from.csumFlags;
        csumData = from.csumData;
        MbufTag last = null;
        tags = null;
        for (MbufTag t = from.tags; t != null; t = t.next) {
            MbufTag c = t.copy();
            if (last == null) {
                tags = c;
            } else {
                last.next = c;
            }
            last = c;
        }
    }

    /** Moves the packet header of {@code from} to this mbuf (M_MOVE_PKTHDR). */
    void movePkthdr(Mbuf from) {
        flags = (flags & ~M_COPYFLAGS) | (from.flags & M_COPYFLAGS);
        pktLen = from.pktLen;
        rcvifIndex = from.rcvifIndex;
        rxQueue = from.rxQueue;
        flowid = from.flowid;
        hashType = from.hashType;
        csumFlags = from.csumFlags;
        csumData = from.csumData;
        tags = from.tags;
        from.tags = null;
        from.flags &= ~M_COPYFLAGS;
    }

    /** Strips the packet header from this mbuf (FreeBSD {@code m_demote_pkthdr}). */
    void demote() {
        flags &= ~M_COPYFLAGS;
        tags = null;
    }

    // ---- chain operations ----------------------------------------------------------------------

    /** Bytes in the whole chain from this mbuf (FreeBSD {@code m_length}). */
    public int length() {
        int n = 0;
        for (Mbuf m = this; m != null; m = m.next) {
            n += m.len;
        }
        return n;
    }

    /** The last mbuf of the chain (FreeBSD {@code m_last}). */
    public Mbuf last() {
        Mbuf m = this;
        while (m.next != null) {
            m = m.next;
        }
        return m;
    }

    private void fixPktLenAdd(int delta) {
        if ((flags & M_PKTHDR) != 0) {
            pktLen += delta;
        }
    }

    private static void checkRange(String op, int off, int len, int total) {
        if (off < 0 || len < 0) {
            throw new IllegalArgumentException(op + ": negative offset or length (off " + off + ", len " + len + ")");
        }
        if ((long) off + len > total) {
            throw new IllegalArgumentException(op + ": range [" + off + ", " + ((long) off + len)
                    + ") beyond the chain's " + total + " bytes");
        }
    }

    /**
     * Copies {@code len} bytes from offset {@code off} of the chain into {@code dst} (FreeBSD
     * {@code m_copydata}). Borrows the chain.
     *
     * @throws IllegalArgumentException if the range is negative or runs past the chain
     */
    public void copydata(int off, int len, byte[] dst, int dstOff) {
        checkRange("m_copydata", off, len, length());
        Objects.checkFromIndexSize(dstOff, len, dst.length);
        Mbuf m = this;
        while (off >= m.len && len > 0) {
            off -= m.len;
            m = m.next;
        }
        while (len > 0) {
            int n = Math.min(m.len - off, len);
            System.arraycopy(m.buf, m.off + off, dst, dstOff, n);
            dstOff += n;
            len -= n;
            off = 0;
            m = m.next;
        }
    }

    /**
     * Gives this mbuf storage of its own if its storage is shared or read-only (one mbuf's part of
     * FreeBSD {@code m_unshare}). The data keeps its bytes and leading space where it fits.
     *
     * @return false if no storage could be allocated (M_NOWAIT); the mbuf is then unchanged
     */
    public boolean unshare(int how) {
        if (writable()) {
            return true;
        }
        int lead = off - storageBase();
        ExtBuf old = ext;
        if (len <= MLEN) {
            int newOff = Math.min(lead, MLEN - len);
            System.arraycopy(buf, off, dat, newOff, len);
            buf = dat;
            off = newOff;
            ext = null;
            flags &= ~(M_EXT | M_RDONLY);
        } else {
            int size = MbufZones.clusterSizeFor(len);
            UmaZone<byte[]> z = zones.clusterZone(size);
            byte[] c = z.alloc(how);
            if (c == null) {
                return false;
            }
            int newOff = Math.min(lead, size - len);
            System.arraycopy(buf, off, c, newOff, len);
            ExtBuf own = ownExt();
            if (!own.active()) {
                own.attachCluster(c, z, ExtBuf.Kind.CLUSTER);
                ext = own;
            } else {
                ext = ExtBuf.standaloneCluster(c, z);
            }
            buf = c;
            off = newOff;
            flags = (flags & ~M_RDONLY) | M_EXT;
        }
        // The holder keeps its reference to its own storage until it is freed.
        if (old != null && old != ownExt && old.release()) {
            lastRef(old);
        }
        return true;
    }

    /**
     * Writes {@code len} bytes of {@code src} at offset {@code off} of the chain (FreeBSD
     * {@code m_copyback}), copying shared storage first and extending the chain (zero-filled up to
     * {@code off}) when it is too short; the packet length grows to match.
     *
     * @return false if an allocation failed (M_NOWAIT); part of the data may then be written
     * @throws IllegalArgumentException on a negative offset or length
     */
    public boolean copyback(int off, int len, byte[] src, int srcOff, int how) {
        if (off < 0 || len < 0) {
            throw new IllegalArgumentException("m_copyback: negative offset or length (off " + off + ", len " + len + ")");
        }
        Objects.checkFromIndexSize(srcOff, len, src.length);
        int end = off + len;
        boolean ok = copybackChain(off, len, src, srcOff, how);
        if ((flags & M_PKTHDR) != 0 && pktLen < end && ok) {
            pktLen = end;
        } else if ((flags & M_PKTHDR) != 0 && !ok) {
            pktLen = Math.max(pktLen, length());
        }
        return ok;
    }

    private boolean copybackChain(int off, int len, byte[] src, int srcOff, int how) {
        Mbuf m = this;
        while (off > m.len) {
            off -= m.len;
            if (m.next == null) {
                Mbuf n = zones.get(how, m.type);
                if (n == null) {
                    return false;
                }
                n.len = Math.min(MLEN, len + off);
                java.util.Arrays.fill(n.dat, 0, n.len, (byte) 0);
                m.next = n;
            }
            m = m.next;
        }
        while (len > 0) {
            if (m.next == null && len > m.len - off) {
                if (!m.unshare(how)) {
                    return false;
                }
                m.len += Math.min(len - (m.len - off), m.trailingSpace());
            }
            int n = Math.min(m.len - off, len);
            if (n > 0) {
                if (!m.unshare(how)) {
                    return false;
                }
                System.arraycopy(src, srcOff, m.buf, m.off + off, n);
            }
            len -= n;
            srcOff += n;
            off = 0;
            if (len == 0) {
                break;
            }
            if (m.next == null) {
                Mbuf x = zones.get(how, m.type);
                if (x == null) {
                    return false;
                }
                x.len = Math.min(MLEN, len);
                m.next = x;
            }
            m = m.next;
        }
        return true;
    }

    /**
     * Appends {@code len} bytes of {@code src} to the chain (FreeBSD {@code m_append}), filling the
     * last mbuf's trailing space and then new mbufs or clusters; the packet length grows.
     *
     * @return false if an allocation failed (M_NOWAIT); part of the data may then be appended
     */
    public boolean append(byte[] src, int srcOff, int len) {
        if (len < 0) {
            throw new IllegalArgumentException("m_append: negative length " + len);
        }
        Objects.checkFromIndexSize(srcOff, len, src.length);
        Mbuf m = last();
        int remain = len;
        int space = m.trailingSpace();
        if (space > 0) {
            int n = Math.min(space, remain);
            System.arraycopy(src, srcOff, m.buf, m.off + m.len, n);
            m.len += n;
            srcOff += n;
            remain -= n;
        }
        while (remain > 0) {
            Mbuf x = remain > MLEN ? zones.getcl(M_NOWAIT, m.type, 0) : zones.get(M_NOWAIT, m.type);
            if (x == null) {
                break;
            }
            int n = Math.min(x.size(), remain);
            System.arraycopy(src, srcOff, x.buf, x.off, n);
            x.len = n;
            srcOff += n;
            remain -= n;
            m.next = x;
            m = x;
        }
        fixPktLenAdd(len - remain);
        return remain == 0;
    }

    /**
     * Trims {@code req} bytes from the head of the packet, or {@code -req} bytes from its tail
     * (FreeBSD {@code m_adj}); trimming more than the chain holds empties it. Emptied mbufs stay in
     * the chain with length 0. The packet length follows.
     */
    public void adj(int req) {
        if (req >= 0) {
            int remain = req;
            for (Mbuf m = this; m != null && remain > 0; m = m.next) {
                int n = Math.min(m.len, remain);
                m.len -= n;
                m.off += n;
                remain -= n;
            }
            fixPktLenAdd(-(req - remain));
        } else {
            int total = length();
            int cut = (int) Math.min((long) -req, total);
            int keep = total - cut;
            for (Mbuf m = this; m != null; m = m.next) {
                if (m.len >= keep) {
                    m.len = keep;
                    keep = 0;
                } else {
                    keep -= m.len;
                }
            }
            fixPktLenAdd(-cut);
        }
    }

    /**
     * Makes the first {@code len} bytes of the packet contiguous in the first mbuf (FreeBSD
     * {@code m_pullup}). Consumes the chain and returns the chain to use in its place, whose head
     * may be a new mbuf carrying the packet header.
     *
     * @return the chain, or null if the chain is shorter than {@code len} or an allocation failed
     *     (M_NOWAIT); the chain is then freed
     * @throws IllegalArgumentException if {@code len} is negative or above {@link #MJUM16BYTES}
     */
    public Mbuf pullup(int len) {
        if (len < 0 || len > MJUM16BYTES) {
            throw new IllegalArgumentException("m_pullup: length " + len + " not in [0, " + MJUM16BYTES + "]");
        }
        if (len <= this.len) {
            return this;
        }
        if (length() < len) {
            freem();
            return null;
        }
        Mbuf target;
        Mbuf rest;
        if (next != null && trailingSpace() >= len - this.len) {
            target = this;
            rest = next;
        } else {
            target = len > MLEN ? zones.getcl(M_NOWAIT, type, 0, MbufZones.clusterSizeFor(len)) : zones.get(M_NOWAIT, type);
            if (target == null) {
                freem();
                return null;
            }
            if ((flags & M_PKTHDR) != 0) {
                target.movePkthdr(this);
            }
            rest = this;
        }
        while (target.len < len) {
            int n = Math.min(len - target.len, rest.len);
            System.arraycopy(rest.buf, rest.off, target.buf, target.off + target.len, n);
            target.len += n;
            rest.off += n;
            rest.len -= n;
            if (rest.len == 0) {
                rest = rest.free();
            }
        }
        target.next = rest;
        return target;
    }

    /**
     * Prepends {@code len} bytes of space to the packet (FreeBSD {@code M_PREPEND}), in the leading
     * space when there is enough, else in a new first mbuf that takes the packet header. Consumes
     * the chain and returns the chain to use in its place; the new bytes are uninitialised.
     *
     * @return the chain, or null if an allocation failed (the chain is then freed)
     * @throws IllegalArgumentException if {@code len} is negative or above {@link #MJUM16BYTES}
     */
    public Mbuf prepend(int len, int how) {
        if (len < 0 || len > MJUM16BYTES) {
            throw new IllegalArgumentException("m_prepend: length " + len + " not in [0, " + MJUM16BYTES + "]");
        }
        if (leadingSpace() >= len) {
            off -= len;
            this.len += len;
            fixPktLenAdd(len);
            return this;
        }
        Mbuf n = len > MLEN ? zones.getcl(how, type, 0, MbufZones.clusterSizeFor(len)) : zones.get(how, type);
        if (n == null) {
            freem();
            return null;
        }
        if ((flags & M_PKTHDR) != 0) {
            n.movePkthdr(this);
        }
        n.next = this;
        n.align(len);
        n.len = len;
        n.fixPktLenAdd(len);
        return n;
    }

    /**
     * A copy of {@code len} bytes from offset {@code off} (FreeBSD {@code m_copym}); len may be
     * {@link #M_COPYALL}. Clusters and external storage are shared (reference counted, read-only
     * from then on for both chains), small data is copied. The packet header is duplicated when
     * copying from offset 0. Borrows this chain.
     *
     * @return the copy, or null if an allocation failed (M_NOWAIT)
     * @throws IllegalArgumentException if the range is negative or runs past the chain
     */
    public Mbuf copym(int off, int len, int how) {
        int total = length();
        if (len == M_COPYALL) {
            checkRange("m_copym", off, 0, total);
            len = total - off;
        } else {
            checkRange("m_copym", off, len, total);
        }
        boolean copyhdr = off == 0 && (flags & M_PKTHDR) != 0;
        Mbuf m = this;
        while (m != null && off >= m.len && m.next != null) {
            off -= m.len;
            m = m.next;
        }
        Mbuf top = null;
        Mbuf tail = null;
        do {
            Mbuf n = copyhdr && top == null ? zones.gethdr(how, m.type) : zones.get(how, m.type);
            if (n == null) {
                freeChain(top);
                return null;
            }
            if (copyhdr && top == null) {
                n.dupPkthdr(this);
                n.pktLen = len;
            }
            int cnt = Math.min(len, m.len - off);
            n.shareOrCopy(m, off, cnt);
            if (top == null) {
                top = n;
            } else {
                tail.next = n;
            }
            tail = n;
            len -= cnt;
            off = 0;
            m = m.next;
        } while (len > 0 && m != null);
        return top;
    }

    /** Makes this fresh internal mbuf hold {@code cnt} bytes of {@code m} from {@code off}. */
    private void shareOrCopy(Mbuf m, int off, int cnt) {
        if (m.ext != null) {
            m.ext.acquire();
            ext = m.ext;
            buf = m.buf;
            this.off = m.off + off;
            flags |= M_EXT | (m.flags & M_RDONLY);
        } else {
            System.arraycopy(m.buf, m.off + off, dat, 0, cnt);
        }
        len = cnt;
    }

    /**
     * A deep copy of the whole packet in fresh storage (FreeBSD {@code m_dup}); the packet header and
     * its tags are copied. Borrows this chain.
     *
     * @return the copy, or null if an allocation failed (M_NOWAIT)
     */
    public Mbuf dup(int how) {
        int remain = length();
        Mbuf top = null;
        Mbuf tail = null;
        Mbuf src = this;
        int srcOff = 0;
        do {
            int f = top == null ? (flags & M_PKTHDR) : 0;
            Mbuf n = remain > MLEN ? zones.getcl(how, type, f) : (f != 0 ? zones.gethdr(how, type) : zones.get(how, type));
            if (n == null) {
                freeChain(top);
                return null;
            }
            if (f != 0) {
                n.dupPkthdr(this);
            }
            int want = Math.min(remain, n.size());
            while (n.len < want) {
                while (srcOff == src.len) {
                    src = src.next;
                    srcOff = 0;
                }
                int c = Math.min(want - n.len, src.len - srcOff);
                System.arraycopy(src.buf, src.off + srcOff, n.buf, n.off + n.len, c);
                n.len += c;
                srcOff += c;
            }
            remain -= want;
            if (top == null) {
                top = n;
            } else {
                tail.next = n;
            }
            tail = n;
        } while (remain > 0);
        return top;
    }

    /**
     * Splits the chain after {@code len0} bytes (FreeBSD {@code m_split}): this chain keeps the first
     * {@code len0} bytes and the rest is returned as a new chain (with a copy of the packet header,
     * without tags, when this one has one). Cluster data is shared, not copied.
     *
     * @return the tail chain (possibly an empty mbuf), or null if an allocation failed; this chain is
     *     then unchanged
     * @throws IllegalArgumentException if {@code len0} is negative or beyond the chain
     */
    public Mbuf split(int len0, int how) {
        int total = length();
        checkRange("m_split", len0, 0, total);
        int l = len0;
        Mbuf m = this;
        while (l > m.len) {
            l -= m.len;
            m = m.next;
        }
        int remain = m.len - l;
        boolean hdr = (flags & M_PKTHDR) != 0;
        Mbuf n;
        if (remain == 0 && (hdr || m.next != null)) {
            n = hdr ? zones.gethdr(how, m.type) : null;
            if (hdr && n == null) {
                return null;
            }
            if (n == null) {
                n = m.next;
            } else {
                n.next = m.next;
            }
        } else {
            n = hdr ? zones.gethdr(how, m.type) : zones.get(how, m.type);
            if (n == null) {
                return null;
            }
            n.shareOrCopy(m, l, remain);
            n.next = m.next;
            m.len = l;
        }
        if (hdr) {
            n.rcvifIndex = rcvifIndex;
            n.rxQueue = rxQueue;
            n.flowid = flowid;
            n.hashType = hashType;
            n.flags |= flags & (M_BCAST | M_MCAST);
            n.pktLen = pktLen - len0;
            pktLen = len0;
        }
        m.next = null;
        return n;
    }

    /**
     * Appends chain {@code n} to this one (FreeBSD {@code m_cat}), copying its data into trailing
     * space where it fits and freeing the emptied mbufs. Consumes {@code n}; does not change this
     * packet's length (see {@link #catpkt}). A packet header on {@code n} is dropped.
     */
    public void cat(Mbuf n) {
        Mbuf m = last();
        if (n != null && (n.flags & M_PKTHDR) != 0) {
            n.demote();
        }
        while (n != null) {
            if (!m.writable() || n.ext != null || m.trailingSpace() < n.len) {
                m.next = n;
                return;
            }
            System.arraycopy(n.buf, n.off, m.buf, m.off + m.len, n.len);
            m.len += n.len;
            n = n.free();
        }
    }

    /** {@link #cat} plus the packet length of this packet grown by {@code n}'s (m_catpkt). */
    public void catpkt(Mbuf n) {
        checkPkthdr();
        int add = n == null ? 0 : n.length();
        cat(n);
        pktLen += add;
    }

    @Override
    public String toString() {
        return "Mbuf@" + Integer.toHexString(System.identityHashCode(this)) + "[type " + type + ", len " + len
                + ", flags 0x" + Integer.toHexString(flags) + (ext != null ? ", ext ref " + ext.refcount() : "") + "]";
    }
}
