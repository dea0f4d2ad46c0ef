package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Seeded mutation of capture files: whatever the bytes, the reader returns records or throws
 * {@link PcapFormatException}, in bounded time, and reads a stream exactly as it reads an array.
 * Bounded by {@code smpnet.stress.millis}.
 */
class PcapFuzzTest {
    private static final long SEED = 0x5EED_0004L;
    private static final long HANG_MILLIS = 5000;
    private static final int[] INTERESTING = {0, 1, 3, 4, 8, 11, 12, 13, 16, 28, 0x7f, 0x80, 0xff, 0xffff, 0x10000,
        0x7fff_ffff, 0x8000_0000, 0xffff_fffc, 0xffff_ffff, PcapngBlock.SHB, PcapngReader.BYTE_ORDER_MAGIC};

    /** What reading gave: the records' lengths or the error message; equal for equal behaviour. */
    static String outcome(Reader how, byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        try (PcapReader r = how.open(bytes)) {
            for (PcapRecord p = r.next(); p != null; p = r.next()) {
                assertThat(p.data()).hasSize(p.capturedLength());
                sb.append(p.capturedLength()).append('/').append(p.originalLength()).append(' ');
            }
        } catch (PcapFormatException e) {
            sb.append("error: ").append(e.getMessage());
        } catch (IOException e) {
            throw new AssertionError("a plain IOException from in-memory bytes", e);
        }
        return sb.toString();
    }

    interface Reader {
        PcapReader open(byte[] bytes) throws IOException;
    }

    static byte[] mutate(byte[] in, Random rnd) {
        byte[] b = in.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int i = 0; i < edits && b.length > 0; i++) {
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(6)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) INTERESTING[rnd.nextInt(INTERESTING.length)];
                case 2 -> {
                    int aligned = at & ~3;
                    if (aligned + 4 <= b.length) {
                        ByteOrder o = rnd.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
                        PcapBytes.put32(b, aligned, INTERESTING[rnd.nextInt(INTERESTING.length)], o);
                    }
                }
                case 3 -> b = Arrays.copyOf(b, at);                                       // truncate
                case 4 -> {                                                               // cut a chunk out
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                default -> {                                                              // duplicate a chunk
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at + len);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                }
            }
        }
        return b;
    }

    /** Corpus files no larger than 64 KiB (mutation cost), or files we write when the corpus is absent. */
    static List<byte[]> seeds() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        Path root = null;
        for (Path p = Path.of("").toAbsolutePath(); p != null && root == null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("shared/corpus"))) {
                root = p.resolve("shared/corpus");
            }
        }
        if (root != null) {
            for (String sub : List.of("tcpdump-captures", "pcapng-test-generator")) {
                for (Path f : PcapCorpus.captures(sub)) {
                    if (Files.size(f) <= 64 << 10) {
                        seeds.add(Files.readAllBytes(f));
                    }
                }
            }
        }
        for (PcapRoundTripTest.Kind k : PcapRoundTripTest.Kind.values()) {
            seeds.add(PcapRoundTripTest.write(k, ByteOrder.LITTLE_ENDIAN, PcapRoundTripTest.packets(1, 20, 1000,
                    k == PcapRoundTripTest.Kind.PCAPNG)));
        }
        return seeds;
    }

    @Test
    @DisplayName("R-BPF-4: mutated and truncated captures give records or PcapFormatException, never another "
            + "exception or a hang; streams read as arrays do")
    void mutatedCaptures() throws Exception {
        List<byte[]> seeds = seeds();
        long millis = Long.getLong("smpnet.stress.millis", 1500);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pcap-fuzz");
            t.setDaemon(true);
            return t;
        });
        long iterations = 0;
        long errors = 0;
        try {
            while (iterations < 200 || System.nanoTime() < deadline) {
                long seed = SEED + iterations;
                Random rnd = new Random(seed);
                byte[] bytes = mutate(seeds.get(rnd.nextInt(seeds.size())), rnd);
                Future<String[]> f = pool.submit(() -> new String[] {
                    outcome(PcapFiles::open, bytes),
                    outcome(b -> PcapFiles.open(new ByteArrayInputStream(b)), bytes)});
                String[] got;
                try {
                    got = f.get(HANG_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    throw new AssertionError("iteration seed " + seed + ": no result in " + HANG_MILLIS + " ms");
                } catch (ExecutionException e) {
                    throw new AssertionError("iteration seed " + seed + ": " + e.getCause(), e.getCause());
                }
                assertThat(got[1]).as("seed %d: stream and array reads agree", seed).isEqualTo(got[0]);
                if (got[0].contains("error: ")) {
                    errors++;
                }
                iterations++;
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf("pcap fuzz: %d mutated files from %d seeds, %d ended in a format error%n", iterations,
                seeds.size(), errors);
        assertThat(errors).as("mutations do reach the error paths").isPositive();
    }
}
