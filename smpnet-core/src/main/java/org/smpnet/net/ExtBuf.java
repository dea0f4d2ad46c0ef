package org.smpnet.net;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import org.smpnet.kern.UmaZone;

/**
 * External storage of an mbuf (FreeBSD {@code m_ext}): a region of a {@code byte[]} shared by every
 * mbuf that points at it, with an atomic reference count (one per such mbuf) and what to do when the
 * last reference goes: return a cluster to its zone, or run a free callback (driver memory, sendfile
 * pages).
 *
 * <p>Every mbuf embeds one {@code ExtBuf} for the clusters it gets (FreeBSD's embedded refcount,
 * {@code EXT_FLAG_EMBREF}): that mbuf is the <em>holder</em> and holds one reference for as long as it
 * is allocated, even after its data moved elsewhere; a holder freed while others still share its
 * storage is parked, and whoever drops the last reference returns it to its zone. So a shared cluster
 * and its holder are freed exactly once, by the last user, on whatever thread that is.
 *
 * <p>Locking: {@link #ref} is atomic; the other fields are set by the owner before the storage is
 * shared and constant while shared (publication through the mbuf handoff or the zones).
 */
public final class ExtBuf {
    /** What the storage is and where it goes when unreferenced. */
    enum Kind { CLUSTER, PACKET, EXTERNAL }

    private static final VarHandle REF;

    static {
        try {
            REF = MethodHandles.lookup().findVarHandle(ExtBuf.class, "ref", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    byte[] buf;
    int base;
    int size;
    Kind kind;
    UmaZone<byte[]> zone;
    /** The mbuf this is embedded in, or null for standalone storage. */
    final Mbuf holder;
    private final Runnable onFree;
    private int ref;

    ExtBuf(Mbuf holder) {
        this.holder = holder;
        this.onFree = null;
    }

    private ExtBuf(byte[] buf, int base, int size, Kind kind, UmaZone<byte[]> zone, Runnable onFree) {
        this.holder = null;
        this.buf = buf;
        this.base = base;
        this.size = size;
        this.kind = kind;
        this.zone = zone;
        this.onFree = onFree;
    }

    /**
     * External storage over {@code buf[off, off+len)} (FreeBSD {@code m_extadd}); attach it with
     * {@link Mbuf#extadd}. {@code onFree} (may be null) runs once, on the thread that drops the last
     * reference, after every mbuf pointing at it has been freed.
     */
    public static ExtBuf external(byte[] buf, int off, int len, Runnable onFree) {
        Objects.requireNonNull(buf, "buf");
        Objects.checkFromIndexSize(off, len, buf.length);
        return new ExtBuf(buf, off, len, Kind.EXTERNAL, null, onFree);
    }

    /** A cluster not embedded in any mbuf (copy-on-write when the holder's own is busy). */
    static ExtBuf standaloneCluster(byte[] cluster, UmaZone<byte[]> zone) {
        ExtBuf e = new ExtBuf(cluster, 0, cluster.length, Kind.CLUSTER, zone, null);
        e.ref = 1;
        return e;
    }

    /** Holder only: makes the embedded storage a cluster with one reference (the holder's). */
    void attachCluster(byte[] cluster, UmaZone<byte[]> z, Kind k) {
        buf = cluster;
        base = 0;
        size = cluster.length;
        kind = k;
        zone = z;
        REF.setRelease(this, 1);
    }

    /** Holder only: pairs a packet-zone cluster with its holder, unreferenced until allocated. */
    void attachPacketCluster(byte[] cluster, UmaZone<byte[]> z) {
        buf = cluster;
        base = 0;
        size = cluster.length;
        kind = Kind.PACKET;
        zone = z;
        ref = 0;
    }

    /** Current number of references. */
    public int refcount() {
        return (int) REF.getAcquire(this);
    }

    /** Whether some mbuf (or the holder) still references this storage. */
    boolean active() {
        return ref != 0;
    }

    /** Sets one reference on an idle embedded packet cluster (the packet zone's items). */
    void activate() {
        ref = 1;
    }

    /** Adds a reference for another mbuf that will point here. */
    void acquire() {
        REF.getAndAdd(this, 1);
    }

    /**
     * Drops the caller's reference if it is the only one, and then returns true; else changes
     * nothing and returns false.
     */
    boolean releaseSole() {
        if ((int) REF.getAcquire(this) == 1) {
            ref = 0; // nobody else holds a reference, so nobody can add one
            return true;
        }
        return false;
    }

    /** Drops a reference; true when it was the last. The caller held one. */
    boolean release() {
        if ((int) REF.getAcquire(this) == 1) {
            // Sole reference: nobody else can add one, so no atomic update is needed.
            ref = 0;
            return true;
        }
        return (int) REF.getAndAdd(this, -1) == 1;
    }

    /** The last reference to standalone storage has gone: give it back. */
    void freeStandalone() {
        switch (kind) {
            case CLUSTER -> {
                byte[] b = buf;
                buf = null;
                zone.free(b);
            }
            case EXTERNAL -> {
                if (onFree != null) {
                    onFree.run();
                }
            }
            case PACKET -> throw new IllegalStateException("packet cluster without a holder");
        }
    }
}
