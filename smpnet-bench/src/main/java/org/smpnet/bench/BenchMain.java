package org.smpnet.bench;

/** Entry point of the benchmark jar: delegates to JMH's runner. */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(args);
    }
}
