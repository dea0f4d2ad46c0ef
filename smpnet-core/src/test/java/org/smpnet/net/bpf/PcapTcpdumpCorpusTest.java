package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The tcpdump test captures: real, truncated and fuzzer-made files of many link types. */
class PcapTcpdumpCorpusTest {
    private static final Duration PER_FILE = Duration.ofSeconds(5);

    /** What reading one file gave: packets read, and the format error that stopped it, if any. */
    record Outcome(long packets, PcapFormatException error) {
    }

    static Outcome read(byte[] bytes) {
        long n = 0;
        try (PcapReader r = PcapFiles.open(bytes)) {
            while (r.next() != null) {
                n++;
            }
            return new Outcome(n, null);
        } catch (PcapFormatException e) {
            return new Outcome(n, e);
        } catch (IOException e) {
            throw new AssertionError("in-memory read threw a plain IOException", e);
        }
    }

    @Test
    @DisplayName("R-BPF-4: every tcpdump capture reads fully or fails with PcapFormatException, in bounded time, "
            + "and packet counts agree with tcpdump --count")
    void tcpdumpCorpus() throws Exception {
        List<Path> files = PcapCorpus.captures("tcpdump-captures");
        Map<String, Long> truth = new HashMap<>();
        for (String line : PcapCorpus.resourceLines("tcpdump-counts.txt")) {
            String[] f = line.split(" ", -1);
            if (f[2].equals("0")) {
                truth.put(f[0], Long.parseLong(f[1]));
            }
        }
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pcap-corpus");
            t.setDaemon(true);
            return t;
        });
        List<String> disagree = new ArrayList<>();
        int agree = 0;
        int errors = 0;
        try {
            for (Path file : files) {
                byte[] bytes = Files.readAllBytes(file);
                Future<Outcome> f = pool.submit(() -> read(bytes));
                Outcome o;
                try {
                    o = f.get(PER_FILE.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    throw new AssertionError(file.getFileName() + ": read took over " + PER_FILE + " (hang?)");
                } catch (ExecutionException e) {
                    throw new AssertionError(file.getFileName() + ": unexpected exception", e.getCause());
                }
                String name = file.getFileName().toString();
                Long want = truth.get(name);
                if (o.error() != null) {
                    errors++;
                }
                if (want != null && want == o.packets() && o.error() == null) {
                    agree++;
                } else {
                    disagree.add(name + ": tcpdump " + want + ", we " + o.packets()
                            + (o.error() == null ? "" : " then " + o.error().getMessage()));
                }
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf("tcpdump corpus: %d files, %d agree with tcpdump --count, %d end in a format error%n",
                files.size(), agree, errors);
        disagree.forEach(d -> System.out.println("  " + d));
        assertThat(files).hasSizeGreaterThan(800);
        if (!disagree.isEmpty()) {
            fail(disagree.size() + " files disagree with tcpdump: " + disagree);
        }
    }
}
