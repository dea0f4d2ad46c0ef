package org.smpnet.bench;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Netty's pooled allocator in its fastest configuration for plain threads: a cache for every
 * thread, leak detection off, heap buffers, Unsafe if the JVM allows it. Whether the calling
 * thread is one Netty recycles objects on ({@link NettyThreadsExecutor}) is reported too.
 *
 * <p>{@link #create()} reports what Netty actually decided (Unsafe, leak level, caches) on
 * standard output and, when the system property {@value #ENV_FILE_PROPERTY} names a file, appends
 * it there so the runner in the parent JVM can print it beside the scores.
 */
final class NettyEnv {
    static final String ENV_FILE_PROPERTY = "smpnet.bench.envfile";

    private NettyEnv() {}

    static PooledByteBufAllocator create() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(
                false,
                PooledByteBufAllocator.defaultNumHeapArena(),
                PooledByteBufAllocator.defaultNumDirectArena(),
                PooledByteBufAllocator.defaultPageSize(),
                PooledByteBufAllocator.defaultMaxOrder(),
                PooledByteBufAllocator.defaultSmallCacheSize(),
                PooledByteBufAllocator.defaultNormalCacheSize(),
                true);
        boolean ftl = FastThreadLocalThread.currentThreadWillCleanupFastThreadLocals();
        report("netty on " + (ftl ? "FastThreadLocalThreads (objects recycled)" : "plain threads (no recycling)")
                + ": PlatformDependent.hasUnsafe()=" + PlatformDependent.hasUnsafe()
                + " leakDetection=" + ResourceLeakDetector.getLevel()
                + " useCacheForAllThreads=true heapArenas=" + PooledByteBufAllocator.defaultNumHeapArena()
                + " smallCacheSize=" + PooledByteBufAllocator.defaultSmallCacheSize()
                + (PlatformDependent.hasUnsafe() ? "" : " UNSAFE UNAVAILABLE: " + PlatformDependent.getUnsafeUnavailabilityCause()));
        return alloc;
    }

    private static void report(String line) {
        System.out.println(line);
        String file = System.getProperty(ENV_FILE_PROPERTY);
        if (file == null) {
            return;
        }
        try {
            Files.writeString(Path.of(file), line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.out.println("netty: cannot write " + file + ": " + e);
        }
    }
}
