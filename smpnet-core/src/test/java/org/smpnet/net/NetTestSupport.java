package org.smpnet.net;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.smpnet.kern.Giant;

/** Frames, drivers and helpers shared by the link-layer tests. */
public final class NetTestSupport {
    private NetTestSupport() {}

    /** A local experimental ethertype the tests register handlers for. */
    public static final int ETHERTYPE_TEST = 0x88b5;

    /** A driver that keeps a copy of every transmitted frame and frees it. */
    public static final class CaptureDriver implements IfDriver {
        public final List<byte[]> sent = new CopyOnWriteArrayList<>();

        @Override
        public void transmit(Ifnet ifp, Mbuf m) {
            sent.add(bytes(m));
            m.freem();
        }

        @Override
        public void init(Ifnet ifp) {
            ifp.setFlags(IfFlags.RUNNING, 0);
            ifp.setLinkState(LinkState.UP);
        }

        @Override
        public void stop(Ifnet ifp) {
            ifp.setLinkState(LinkState.DOWN);
        }
    }

    /** An Ethernet interface with a {@link CaptureDriver}, attached to {@code list} and up. */
    public static Ifnet etherIfnet(String name, IfnetList list, Ether ether, MacAddr mac) {
        Ifnet ifp = Ifnet.alloc(name, IfType.ETHER, new CaptureDriver());
        ether.ifattach(ifp, mac);
        list.attach(ifp);
        ifp.setFlags(IfFlags.UP, 0);
        return ifp;
    }

    /** The packet's bytes (borrowed). */
    public static byte[] bytes(Mbuf m) {
        byte[] b = new byte[m.pktLen()];
        m.copydata(0, b.length, b, 0);
        return b;
    }

    /** An Ethernet II frame: header, then {@code payload}. */
    public static byte[] frame(MacAddr dst, MacAddr src, int type, byte[] payload) {
        byte[] f = new byte[EtherView.HEADER_LEN + payload.length];
        new EtherRepr(dst, src, type).emit(new EtherView(f, 0));
        System.arraycopy(payload, 0, f, EtherView.HEADER_LEN, payload.length);
        return f;
    }

    /** An 802.1Q frame: MACs, 0x8100, TCI, inner type, payload. */
    public static byte[] taggedFrame(MacAddr dst, MacAddr src, int tci, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(18 + payload.length);
        b.put(dst.bytes()).put(src.bytes()).putShort((short) 0x8100).putShort((short) tci).putShort((short) type).put(payload);
        return b.array();
    }

    /** A payload of {@code len} bytes (at least 8) starting with two ints: a flow and a sequence number. */
    public static byte[] seqPayload(int flow, int seq, int len) {
        return ByteBuffer.allocate(Math.max(8, len)).putInt(flow).putInt(seq).array();
    }

    /** Links packets into a list through {@code nextpkt}, in the order given, as a driver's batch; returns the first. */
    public static Mbuf linked(List<Mbuf> packets) {
        for (int i = 0; i + 1 < packets.size(); i++) {
            packets.get(i).setNextpkt(packets.get(i + 1));
        }
        return packets.isEmpty() ? null : packets.get(0);
    }

    public static Mbuf mbuf(byte[] b) {
        return Mbuf.devget(b, 0, b.length, Mbuf.M_WAITOK);
    }

    /** Reads the int at {@code off} of the packet (borrowed). */
    public static int intAt(Mbuf m, int off) {
        byte[] b = new byte[4];
        m.copydata(off, 4, b, 0);
        return ByteBuffer.wrap(b).getInt();
    }

    /** Something to run with net.mpsafenet set one way. */
    @FunctionalInterface
    public interface GiantModeBody {
        void run() throws Exception;
    }

    /**
     * Runs {@code body} in a thread of its own that holds Giant throughout (as a driver's detach does in
     * {@code net.mpsafenet=0} mode) and fails unless it returns within 20 s without throwing. A body stuck
     * in a join is interrupted first, so Giant is released for the tests after this one.
     */
    public static void inThreadUnderGiant(String name, GiantModeBody body) throws InterruptedException {
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = Thread.ofPlatform().daemon().name(name).start(() -> {
            Giant.GIANT.lock();
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                Giant.GIANT.unlock();
            }
        });
        t.join(20_000);
        boolean hung = t.isAlive();
        if (hung) {
            t.interrupt();
            t.join(10_000);
        }
        org.assertj.core.api.Assertions.assertThat(hung).as("%s returned", name).isFalse();
        org.assertj.core.api.Assertions.assertThat(failure.get()).isNull();
    }

    /** Runs {@code body} with net.mpsafenet = {@code on}, restoring the previous mode after. */
    public static void inGiantMode(boolean on, GiantModeBody body) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(on);
        try {
            body.run();
        } finally {
            Giant.setMpsafenet(saved);
        }
    }

    /** The stress bound: {@code smpnet.stress.millis}, capped at {@code cap}. */
    public static long stressMillis(long cap) {
        return Math.min(cap, Long.getLong("smpnet.stress.millis", 1500));
    }

    /**
     * A queue consumer for packets made by {@link #seqPayload}: counts them, and those that arrive with a
     * sequence number not above the last one of the same sender. Thread-safe; frees each packet.
     */
    public static final class SeqOrderSink implements java.util.function.Consumer<Mbuf> {
        private final java.util.concurrent.ConcurrentHashMap<Integer, Integer> last = new java.util.concurrent.ConcurrentHashMap<>();
        public final java.util.concurrent.atomic.AtomicLong got = new java.util.concurrent.atomic.AtomicLong();
        public final java.util.concurrent.atomic.AtomicLong outOfOrder = new java.util.concurrent.atomic.AtomicLong();

        @Override
        public void accept(Mbuf m) {
            int sender = intAt(m, 0);
            int seq = intAt(m, 4);
            Integer prev = last.put(sender, seq);
            if (prev != null && prev >= seq) {
                outOfOrder.incrementAndGet();
            }
            got.incrementAndGet();
            m.freem();
        }
    }

    /**
     * The end of a queue race: joins the sender threads {@code ts}, waits until {@code q} is idle, closes it,
     * and checks that every packet a sender got in was delivered once, each sender's in order, and that
     * every refused one was counted as a drop. Returns the packets delivered (at least one).
     */
    public static long assertEachPacketOnce(IfQueue q, SeqOrderSink sink, java.util.List<Thread> ts, long[] sent,
            long[] refused) throws InterruptedException {
        for (Thread t : ts) {
            t.join();
        }
        awaitIdle(q);
        long total = java.util.Arrays.stream(sent).sum();
        long drops = java.util.Arrays.stream(refused).sum();
        q.close();
        org.assertj.core.api.Assertions.assertThat(sink.outOfOrder.get()).as("packets of one sender delivered out of order").isZero();
        org.assertj.core.api.Assertions.assertThat(sink.got.get()).isEqualTo(total);
        org.assertj.core.api.Assertions.assertThat(q.delivered.get()).isEqualTo(total);
        org.assertj.core.api.Assertions.assertThat(q.drops.get()).isEqualTo(drops);
        org.assertj.core.api.Assertions.assertThat(total).isPositive();
        return total;
    }

    /**
     * Waits (at most 10 s) until {@code q} is empty and idle, without waking anybody: a packet that no
     * drainer will take (a lost hand-off) fails the test instead of hanging it, as {@link IfQueue#drain} would.
     */
    public static void awaitIdle(IfQueue q) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!q.idle()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("packets stranded, no drainer coming: " + q);
            }
            Thread.sleep(1);
        }
    }
}
