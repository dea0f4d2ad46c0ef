package org.smpnet.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;
import org.smpnet.net.Mbuf;
import org.smpnet.net.MbufZones;

/**
 * One packet-header mbuf with a 2 KiB cluster allocated and freed, per operation (R-UMA-1):
 * smpnet's zones with per-thread caches, the same zones with no caches (one locked zone), and Netty's pooled
 * allocator handing out and taking back a 2 KiB heap buffer. Each at one and two threads sharing
 * one allocator; scores are nanoseconds per alloc+free in one thread.
 *
 * <p>{@code netty*T} run on Netty's own thread class ({@link NettyThreadsExecutor}), its best case;
 * {@code nettyPlainThreads*T}, for information, on JMH's plain threads.
 *
 * <p>The buffer is handed to a {@link Blackhole} before it is freed, so the allocation is real.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MbufAllocBench {
    static final int CLUSTER = 2048;

    /**
     * smpnet's system zones, the ones {@code Mbuf.getcl} uses: per-thread bucket caches over a
     * depot, with the {@code kern.ipc.nmbclusters} limit.
     */
    @State(Scope.Benchmark)
    public static class Cached {
        MbufZones zones;

        @Setup(Level.Trial)
        public void setUp() {
            zones = MbufZones.system();
        }
    }

    /** The same zones with no per-thread caches: every alloc and free takes the zone lock. */
    @State(Scope.Benchmark)
    public static class Locked {
        MbufZones zones;

        @Setup(Level.Trial)
        public void setUp() {
            zones = new MbufZones(false);
        }
    }

    /** Netty's pooled allocator, configured by {@link NettyEnv}. */
    @State(Scope.Benchmark)
    public static class Netty {
        PooledByteBufAllocator alloc;

        @Setup(Level.Trial)
        public void setUp() {
            alloc = NettyEnv.create();
        }
    }

    private static void mbuf(MbufZones zones, Blackhole bh) {
        Mbuf m = zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        if (m == null) {
            throw new IllegalStateException("getcl(M_NOWAIT) failed: zone limit reached in a benchmark that frees every mbuf");
        }
        bh.consume(m);
        m.freem();
    }

    private static void netty(PooledByteBufAllocator alloc, Blackhole bh) {
        ByteBuf b = alloc.heapBuffer(CLUSTER);
        bh.consume(b);
        bh.consume(b.release());
    }

    @Benchmark
    @Threads(1)
    public void smpnetCached1T(Cached s, Blackhole bh) {
        mbuf(s.zones, bh);
    }

    @Benchmark
    @Threads(2)
    public void smpnetCached2T(Cached s, Blackhole bh) {
        mbuf(s.zones, bh);
    }

    @Benchmark
    @Threads(1)
    public void smpnetLocked1T(Locked s, Blackhole bh) {
        mbuf(s.zones, bh);
    }

    @Benchmark
    @Threads(2)
    public void smpnetLocked2T(Locked s, Blackhole bh) {
        mbuf(s.zones, bh);
    }

    @Benchmark
    @Threads(1)
    @Fork(jvmArgsAppend = {"-Djmh.executor=CUSTOM", "-Djmh.executor.class=org.smpnet.bench.NettyThreadsExecutor"})
    public void netty1T(Netty s, Blackhole bh) {
        netty(s.alloc, bh);
    }

    @Benchmark
    @Threads(2)
    @Fork(jvmArgsAppend = {"-Djmh.executor=CUSTOM", "-Djmh.executor.class=org.smpnet.bench.NettyThreadsExecutor"})
    public void netty2T(Netty s, Blackhole bh) {
        netty(s.alloc, bh);
    }

    /** Netty on plain threads, as a non-Netty application would call it: no object recycling. */
    @Benchmark
    @Threads(1)
    public void nettyPlainThreads1T(Netty s, Blackhole bh) {
        netty(s.alloc, bh);
    }

    @Benchmark
    @Threads(2)
    public void nettyPlainThreads2T(Netty s, Blackhole bh) {
        netty(s.alloc, bh);
    }
}
