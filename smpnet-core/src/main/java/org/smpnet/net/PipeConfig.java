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

    /** The parameter names {@link #parse} accepts. */
    public static final java.util.List<String> KEYS = java.util.List.of("delay", "jitter", "loss", "duplicate", "reorder",
            "reorder_gap", "bandwidth", "qlimit", "seed");

    /**
     * A config from cloner parameters ({@code ifconfig epair create delay 10ms loss 0.01}): {@code delay},
     * {@code jitter} and {@code reorder_gap} as durations ({@code 10ms}, {@code 250us}, {@code 1s}; a bare
     * number is milliseconds), {@code loss}, {@code duplicate} and {@code reorder} as probabilities,
     * {@code bandwidth} in bits/s with an optional {@code k}, {@code M} or {@code G} suffix, {@code qlimit} in
     * packets, {@code seed} a long. Missing keys keep {@link #NONE}'s values.
     *
     * @throws IllegalArgumentException naming the key, for an unknown key or a bad value (EINVAL)
     */
    public static PipeConfig parse(java.util.Map<String, String> params) {
        PipeConfig c = NONE;
        for (var e : params.entrySet()) {
            String k = e.getKey();
            String v = e.getValue() == null ? "" : e.getValue().trim();
            try {
                c = switch (k) {
                    case "delay" -> c.withDelay(duration(v));
                    case "jitter" -> c.withJitter(duration(v));
                    case "loss" -> c.withLoss(Double.parseDouble(v));
                    case "duplicate" -> c.withDuplicate(Double.parseDouble(v));
                    case "reorder" -> c.withReorder(Double.parseDouble(v), c.reorderGap());
                    case "reorder_gap" -> c.withReorder(c.reorder(), duration(v));
                    case "bandwidth" -> c.withBandwidth(bandwidth(v));
                    case "qlimit" -> c.withQueueLimit(Integer.parseInt(v));
                    case "seed" -> c.withSeed(Long.parseLong(v));
                    default -> throw new IllegalArgumentException("unknown parameter (known: " + String.join(", ", KEYS) + ")");
                };
            } catch (IllegalArgumentException | ArithmeticException bad) { // NumberFormatException too
                throw new IllegalArgumentException("bad pipe parameter " + k + "=" + v + ": " + bad.getMessage() + " (EINVAL)", bad);
            }
        }
        return c;
    }

    private static Duration duration(String v) {
        String num = v;
        long unitNanos = 1_000_000L;
        for (String[] u : new String[][] {{"ns", "1"}, {"us", "1000"}, {"ms", "1000000"}, {"s", "1000000000"}}) {
            if (v.endsWith(u[0])) {
                num = v.substring(0, v.length() - u[0].length());
                unitNanos = Long.parseLong(u[1]);
                break;
            }
        }
        double n = Double.parseDouble(num.trim());
        if (!(n >= 0) || Double.isInfinite(n)) {
            throw new IllegalArgumentException("not a non-negative duration");
        }
        return Duration.ofNanos(Math.round(n * unitNanos));
    }

    private static long bandwidth(String v) {
        long mult = 1;
        String num = v;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'k', 'K' -> mult = 1_000L;
                case 'M' -> mult = 1_000_000L;
                case 'G' -> mult = 1_000_000_000L;
                default -> mult = 1;
            }
            if (mult != 1) {
                num = v.substring(0, v.length() - 1);
            }
        }
        return Math.multiplyExact(Long.parseLong(num.trim()), mult);
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
