package org.smpnet.bench;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The machine's cache-line round trip between two CPUs, as two spinning threads see it: one thread writes a
 * line, the other sees the write and answers on the same line. On a VM whose virtual CPUs the host moves
 * between cores (sharing a core's caches, or across chiplets) it changes from second to second, and with it
 * every figure of a benchmark whose threads talk across CPUs; {@link UdpPacketRate} prints it beside each
 * smpnet run so a slow run can be told from a slow machine.
 */
final class CpuRoundTrip {
    private CpuRoundTrip() {}

    /**
     * The median of {@code samples} measurements of {@code iterations} round trips each, in nanoseconds per
     * round trip, after an untimed warm-up (so both loops run compiled). Needs two CPUs free of other work.
     */
    static double medianNanos(int samples, int iterations) throws InterruptedException {
        once(iterations); // warm-up: compiles both loops
        double[] ns = new double[samples];
        for (int s = 0; s < samples; s++) {
            ns[s] = once(iterations);
        }
        Arrays.sort(ns);
        return ns[samples / 2];
    }

    /** One timed measurement of {@code iterations} round trips, nanoseconds per round trip. */
    static double once(int iterations) throws InterruptedException {
        AtomicLong line = new AtomicLong();
        Thread answerer = Thread.ofPlatform().name("roundtrip-answer").start(() -> {
            for (long i = 0; i < iterations; i++) {
                long ask = 2 * i + 1;
                while (line.get() != ask) {
                    // spin: the measured latency is this load seeing the other CPU's store
                }
                line.set(ask + 1);
            }
        });
        long start = 0;
        for (long i = 0; i < iterations; i++) {
            if (i == 1) {
                start = System.nanoTime(); // the first trip waits for the answerer to start
            }
            long ask = 2 * i + 1;
            line.set(ask);
            while (line.get() != ask + 1) {
                // spin
            }
        }
        long elapsed = System.nanoTime() - start;
        answerer.join();
        return (double) elapsed / Math.max(1, iterations - 1);
    }
}
