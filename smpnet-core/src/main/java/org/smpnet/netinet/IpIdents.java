package org.smpnet.netinet;

import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.smpnet.net.InAddr;

/**
 * Per-destination IP ID counters, after Linux's {@code ip_idents}: a table of counters indexed by
 * a keyed hash of (source, destination, protocol). IDs toward one destination go up by one per
 * datagram, so a receiver reassembling them sees no early reuse, while the key (random per stack,
 * from {@link SecureRandom}) keeps other hosts from learning anything about the traffic to that
 * destination: the counter they see is another slot's, or the same slot at an offset they cannot
 * compute. Two flows that hash to one slot share its increments (one chance in {@link #SLOTS}).
 *
 * <p>The hash is SipHash-2-4 (Aumasson and Bernstein) of the 12 bytes {@code LE32(src) LE32(dst)
 * LE32(proto)} with a 128-bit key; its low bits pick the slot, its high 16 bits are added to the
 * slot's counter so two flows that share a slot start at unrelated IDs.
 *
 * <p>Threads: lock-free. A thread reserves {@link #BLOCK} values of a slot's counter with one atomic add
 * and numbers its datagrams from them, so concurrent senders to one destination get distinct IDs until
 * the 16-bit counter wraps (65536 datagrams), and do not bounce the slot between CPUs on every datagram.
 */
final class IpIdents {
    /** Counters in the table: 16 KiB per stack, as Linux's 2048 to 4096. */
    static final int SLOTS = 4096;

    private final AtomicIntegerArray idents = new AtomicIntegerArray(SLOTS);
    private final long k0;
    private final long k1;

    IpIdents(SecureRandom entropy) {
        this.k0 = entropy.nextLong();
        this.k1 = entropy.nextLong();
    }

    /** The next ID toward {@code dst} from {@code src} for {@code proto}, in 0..65535. Never blocks. */
    int next(InAddr src, InAddr dst, int proto) {
        return idFrom(hash(src, dst, proto));
    }

    /**
     * {@link #next(InAddr, InAddr, int)} for a datagram sent through the cached route {@code ro} (null: none),
     * which remembers the last flow's hash: a socket sending to one destination hashes once, not per datagram.
     */
    int next(InAddr src, InAddr dst, int proto, IpRoute ro) {
        if (ro == null) {
            return next(src, dst, proto);
        }
        long key = key(src, dst);
        IpRoute.IdHash c = ro.idHash();
        long h;
        if (c != null && c.key() == key && c.proto() == proto) {
            h = c.hash();
        } else {
            h = sipHash24(k0, k1, key, proto);
            ro.setIdHash(new IpRoute.IdHash(key, proto, h));
        }
        return idFrom(h);
    }

    /**
     * The next ID of the flow whose keyed hash is {@code h}: its slot's counter, offset by the hash's high
     * bits. The counter is taken {@link #BLOCK} at a time into the calling thread's {@link IdBlock}, so
     * threads sending to one destination (one flow each) do not write the slot's cache line per datagram.
     */
    private int idFrom(long h) {
        int slot = (int) h & (SLOTS - 1);
        IdBlock b = blocks.get();
        if (b.slot != slot || b.next == b.end) {
            b.refill(idents, slot);
        }
        return (b.next++ + (int) (h >>> 48)) & 0xffff;
    }

    /** Counter values a thread takes from a slot at once. */
    static final int BLOCK = 64;

    private final ThreadLocal<IdBlock> blocks = ThreadLocal.withInitial(IdBlock::new);

    /**
     * A thread's reserved run {@code [next, end)} of one slot's counter. Runs are disjoint, so concurrent
     * senders still never share an ID before the counter wraps; a thread's IDs toward one destination go up
     * by one. Confined to its thread.
     */
    private static final class IdBlock {
        int slot = -1;
        int next;
        int end;

        /**
         * Gives back what is left of the current run when nobody took from its slot since (so one thread
         * alternating between destinations still numbers each one by one), then reserves the next run of
         * {@code slot}.
         */
        void refill(AtomicIntegerArray idents, int newSlot) {
            if (slot >= 0 && next != end) {
                idents.compareAndSet(slot, end, next);
            }
            slot = newSlot;
            next = idents.getAndAdd(newSlot, BLOCK);
            end = next + BLOCK;
        }
    }

    /** The table slot of a flow (tests pick destinations in distinct slots). */
    int slot(InAddr src, InAddr dst, int proto) {
        return (int) hash(src, dst, proto) & (SLOTS - 1);
    }

    private long hash(InAddr src, InAddr dst, int proto) {
        return sipHash24(k0, k1, key(src, dst), proto);
    }

    /** The first 8 bytes of the hashed message: source and destination. */
    private static long key(InAddr src, InAddr dst) {
        return (src.bits() & 0xffffffffL) | ((long) dst.bits() << 32);
    }

    /**
     * SipHash-2-4 of the 12-byte message whose first 8 bytes are {@code m0} little-endian and last 4
     * are {@code tail} little-endian, with the key {@code k0 k1} (each little-endian). Allocates nothing.
     */
    static long sipHash24(long k0, long k1, long m0, int tail) {
        long v0 = k0 ^ 0x736f6d6570736575L;
        long v1 = k1 ^ 0x646f72616e646f6dL;
        long v2 = k0 ^ 0x6c7967656e657261L;
        long v3 = k1 ^ 0x7465646279746573L;
        long last = (12L << 56) | (tail & 0xffffffffL);
        for (int block = 0; block < 2; block++) {
            long m = block == 0 ? m0 : last;
            v3 ^= m;
            for (int r = 0; r < 2; r++) { // SipRound, twice per block
                v0 += v1; v1 = Long.rotateLeft(v1, 13) ^ v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16) ^ v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21) ^ v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17) ^ v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) { // SipRound, four times to finish
            v0 += v1; v1 = Long.rotateLeft(v1, 13) ^ v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16) ^ v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21) ^ v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17) ^ v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }
}
