package org.smpnet.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One packet-header mbuf with a 2 KiB cluster allocated and freed, per operation (R-UMA-1):
 * smpnet's zones with per-thread caches, the same zones as one locked zone, and Netty's pooled
 * allocator handing out and taking back a 2 KiB heap buffer. Each at one and two threads sharing
 * one allocator; scores are nanoseconds per alloc+free in one thread.
 *
 * <p>The buffer is handed to a {@link Blackhole} before it is freed, so the allocation is real.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MbufAllocBench {
    static final int CLUSTER = 2048;

    /** Netty's pooled allocator, configured by {@link NettyEnv}. */
    @State(Scope.Benchmark)
    public static class Netty {
        PooledByteBufAllocator alloc;

        @Setup(Level.Trial)
        public void setUp() {
            alloc = NettyEnv.create();
        }
    }

    private static void netty(PooledByteBufAllocator alloc, Blackhole bh) {
        ByteBuf b = alloc.heapBuffer(CLUSTER);
        bh.consume(b);
        bh.consume(b.release());
    }

    @Benchmark
    @Threads(1)
    public void netty1T(Netty s, Blackhole bh) {
        netty(s.alloc, bh);
    }

    @Benchmark
    @Threads(2)
    public void netty2T(Netty s, Blackhole bh) {
        netty(s.alloc, bh);
    }
}
