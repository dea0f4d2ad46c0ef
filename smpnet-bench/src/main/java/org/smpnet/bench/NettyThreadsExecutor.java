package org.smpnet.bench;

import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * JMH's worker pool made of Netty {@link FastThreadLocalThread}s, selected per benchmark with
 * {@code -Djmh.executor=CUSTOM -Djmh.executor.class=} this class.
 *
 * <p>Netty 4.2 recycles its {@code PooledByteBuf} objects and thread-cache entries only on such
 * threads (on any other thread {@code Recycler.get()} makes a new object every time: 136 B per
 * alloc+release), and Netty's own event loops always run on them. So this is Netty's best case,
 * the one the comparison must use.
 */
public final class NettyThreadsExecutor extends ThreadPoolExecutor {

    /** The constructor JMH calls for a custom executor: pool size and thread-name prefix. */
    public NettyThreadsExecutor(int maxThreads, String prefix) {
        super(maxThreads, maxThreads, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(), factory(prefix));
    }

    private static java.util.concurrent.ThreadFactory factory(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new FastThreadLocalThread(r, prefix + "-ftl-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
