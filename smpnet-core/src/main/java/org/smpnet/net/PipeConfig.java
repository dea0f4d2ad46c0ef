package org.smpnet.net;

import java.time.Duration;

/**
 * What a {@link LinkPipe} does to the packets crossing it, in the spirit of dummynet/netem. All random
 * choices come from {@code seed}, so the same packets through the same config meet the same fate.
 *
 * @param delay          one-way delay added to every packet
 * @param jitter         uniform extra delay in [-jitter, +jitter] (never below zero in total)
 * @param loss           probability a packet is dropped
 * @param duplicate      probability a packet is delivered twice
 * @param reorder        probability a packet is held back by {@code reorderGap} so later ones overtake it
 * @param reorderGap     how long a reordered packet is held back
 * @param bandwidthBps   link rate in bits per second (0: unlimited); packets queue behind each other
 * @param queueLimit     packets the pipe holds at most; more are dropped and counted
 * @param seed           seed of the pipe's random choices
 */
public record PipeConfig(Duration delay, Duration jitter, double loss, double duplicate, double reorder,
                         Duration reorderGap, long bandwidthBps, int queueLimit, long seed) {
    /** A perfect link: no delay, no loss, unlimited rate. */
    public static final PipeConfig NONE = new PipeConfig(Duration.ZERO, Duration.ZERO, 0, 0, 0, Duration.ZERO, 0, 4096, 1);

    public PipeConfig {
        requireNonNegative("delay", delay);
        requireNonNegative("jitter", jitter);
        requireNonNegative("reorderGap", reorderGap);
        requireProbability("loss", loss);
        requireProbability("duplicate", duplicate);
        requireProbability("reorder", reorder);
        if (bandwidthBps < 0) {
            throw new IllegalArgumentException("bandwidth must not be negative: " + bandwidthBps);
        }
        if (queueLimit < 1) {
            throw new IllegalArgumentException("queue limit must be positive: " + queueLimit);
        }
    }

    private static void requireNonNegative(String what, Duration d) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException(what + " must be a non-negative duration, not " + d);
        }
    }

    private static void requireProbability(String what, double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException(what + " must be a probability in [0, 1], not " + p);
        }
    }

    public boolean isPerfect() {
        return delay.isZero() && jitter.isZero() && loss == 0 && duplicate == 0 && reorder == 0 && bandwidthBps == 0;
    }

    public PipeConfig withDelay(Duration d) {
        return new PipeConfig(d, jitter, loss, duplicate, reorder, reorderGap, bandwidthBps, queueLimit, seed);
    }

    public PipeConfig withJitter(Duration j) {
        return new PipeConfig(delay, j, loss, duplicate, reorder, reorderGap, bandwidthBps, queueLimit, seed);
    }

    public PipeConfig withLoss(double p) {
        return new PipeConfig(delay, jitter, p, duplicate, reorder, reorderGap, bandwidthBps, queueLimit, seed);
    }

    public PipeConfig withDuplicate(double p) {
        return new PipeConfig(delay, jitter, loss, p, reorder, reorderGap, bandwidthBps, queueLimit, seed);
    }

    public PipeConfig withReorder(double p, Duration gap) {
        return new PipeConfig(delay, jitter, loss, duplicate, p, gap, bandwidthBps, queueLimit, seed);
    }

    public PipeConfig withBandwidth(long bps) {
        return new PipeConfig(delay, jitter, loss, duplicate, reorder, reorderGap, bps, queueLimit, seed);
    }

    public PipeConfig withQueueLimit(int n) {
        return new PipeConfig(delay, jitter, loss, duplicate, reorder, reorderGap, bandwidthBps, n, seed);
    }

    public PipeConfig withSeed(long s) {
        return new PipeConfig(delay, jitter, loss, duplicate, reorder, reorderGap, bandwidthBps, queueLimit, s);
    }

    @Override
    public String toString() {
        return "delay " + delay.toMillis() + "ms jitter " + jitter.toMillis() + "ms loss " + loss + " dup " + duplicate
                + " reorder " + reorder + (bandwidthBps > 0 ? " bw " + bandwidthBps + "bit/s" : "") + " seed " + seed;
    }
}
