package org.smpnet.net.bpf;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Arrays;
import org.smpnet.kern.LockClass;
import org.smpnet.kern.LockKind;
import org.smpnet.kern.Mtx;
import org.smpnet.net.Ifnet;
import org.smpnet.net.Mbuf;
import org.smpnet.net.PacketTap;

/**
 * The BPF side of one interface ({@code struct bpf_if}): the tap installed on the {@link Ifnet} and the
 * descriptors listening on it.
 *
 * <p>Locking key: the descriptor array is replaced copy-on-write under {@link #BPF_LOCK} ("bpf_global",
 * FreeBSD's BPF_LOCK) and read lock-free by {@link #tap}, which always runs inside the net epoch. A
 * descriptor that leaves may still be handed one packet by a tap already running; it checks its own
 * state under its own lock ({@code catchpacket}), so that packet is dropped, never written into freed
 * buffers (the TODO list's {@code catchpacket} page fault).
 */
final class BpfAttachment implements PacketTap {
    static final Mtx BPF_LOCK = new Mtx("bpf_global", LockClass.of("bpf_global", LockKind.MUTEX, false));
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[Mbuf.MJUM16BYTES + 256]);

    private final Ifnet ifp;
    private final int dlt;
    @GuardedBy("BPF_LOCK") private boolean gone;
    private volatile BpfDescriptor[] descs = new BpfDescriptor[0];

    private BpfAttachment(Ifnet ifp, int dlt) {
        this.ifp = ifp;
        this.dlt = dlt;
    }

    int dlt() {
        return dlt;
    }

    Ifnet ifnet() {
        return ifp;
    }

    /**
     * Adds {@code d} to the interface's listeners, installing the tap on first use. The caller holds
     * {@link #BPF_LOCK}.
     *
     * @throws org.smpnet.net.IfnetGoneException if the interface is detaching or gone
     */
    @GuardedBy("BPF_LOCK")
    static BpfAttachment attach(Ifnet ifp, int dlt, BpfDescriptor d) {
        BPF_LOCK.assertOwned();
        PacketTap t = ifp.tap();
        BpfAttachment a;
        if (t instanceof BpfAttachment existing && !existing.gone) {
            a = existing;
        } else {
            a = new BpfAttachment(ifp, dlt);
            ifp.installTap(a); // throws if the interface is going away
        }
        BpfDescriptor[] n = Arrays.copyOf(a.descs, a.descs.length + 1);
        n[n.length - 1] = d;
        a.descs = n;
        return a;
    }

    /** Removes {@code d}; the caller holds {@link #BPF_LOCK}. */
    @GuardedBy("BPF_LOCK")
    void remove(BpfDescriptor d) {
        BPF_LOCK.assertOwned();
        BpfDescriptor[] cur = descs;
        for (int i = 0; i < cur.length; i++) {
            if (cur[i] == d) {
                BpfDescriptor[] n = new BpfDescriptor[cur.length - 1];
                System.arraycopy(cur, 0, n, 0, i);
                System.arraycopy(cur, i + 1, n, i, cur.length - i - 1);
                descs = n;
                return;
            }
        }
    }

    int listeners() {
        return descs.length;
    }

    /** {@code bpf_mtap}: offers the frame to every descriptor. In the net epoch, no lock held. */
    @Override
    public void tap(Ifnet ifp, Mbuf m, Direction dir) {
        BpfDescriptor[] ds = descs;
        if (ds.length == 0) {
            return;
        }
        int wirelen = m.pktLen();
        byte[] pkt = null;
        int buflen = 0;
        long now = 0;
        for (BpfDescriptor d : ds) {
            if (!d.wants(dir)) {
                continue;
            }
            if (pkt == null) {
                pkt = SCRATCH.get();
                buflen = Math.min(wirelen, pkt.length);
                m.copydata(0, buflen, pkt, 0);
                java.time.Instant t = java.time.Instant.now();
                now = t.getEpochSecond() * 1_000_000_000L + t.getNano();
            }
            d.offer(pkt, wirelen, buflen, now);
        }
    }

    /** The interface is gone and the epoch drained: every descriptor sees end-of-file. */
    @Override
    public void detached(Ifnet ifp) {
        BpfDescriptor[] ds;
        BPF_LOCK.lock();
        try {
            gone = true;
            ds = descs;
            descs = new BpfDescriptor[0];
        } finally {
            BPF_LOCK.unlock();
        }
        for (BpfDescriptor d : ds) {
            d.interfaceGone();
        }
    }
}
