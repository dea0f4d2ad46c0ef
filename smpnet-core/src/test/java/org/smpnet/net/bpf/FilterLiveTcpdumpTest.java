package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real tcpdump, when it is installed, on a sample of the oracle's expressions and
 * captures, and checks that it still selects what was recorded and what we select: guards
 * against a stale recording. Skips (with the reason) where tcpdump is not installed.
 */
class FilterLiveTcpdumpTest {
    private static final int SAMPLE_EVERY = 12;

    private static String tcpdump() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String d : List.of(dir, "/usr/sbin", "/usr/bin")) {
                Path p = Path.of(d, "tcpdump");
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        return null;
    }

    @Test
    @DisplayName("R-BPF-3: live tcpdump agrees with the recorded oracle and with our compiler (sample)")
    void liveTcpdumpAgrees(@TempDir Path tmp) throws Exception {
        String tcpdump = tcpdump();
        assumeTrue(tcpdump != null, "tcpdump is not installed: live comparison skipped (the recorded oracle test still ran)");
        List<FilterOracle.Answer> answers = FilterOracle.answers();
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (int i = 0; i < answers.size(); i += SAMPLE_EVERY) {
            FilterOracle.Answer a = answers.get(i);
            Path cap = tmp.resolve(a.link() + ".pcap");
            if (!Files.exists(cap)) {
                Files.write(cap, FilterOracle.resource("filter-oracle-" + a.link().toLowerCase(java.util.Locale.ROOT) + ".pcap"));
            }
            BitSet live = run(tcpdump, cap, a.expr(), tmp.resolve("out.pcap"));
            checked++;
            if (live == null ? a.selected() != null : !live.equals(a.selected())) {
                failures.add(a.link() + " '" + a.expr() + "': recorded " + a.selected() + ", live " + live);
                continue;
            }
            if (live != null && !FilterDifferentialTest.UNSUPPORTED.contains(a.link() + " '" + a.expr() + "'")) {
                BitSet ours = FilterOracle.select(FilterCompiler.compile(a.expr(),
                        FilterCompiler.Options.savefile(FilterOracle.LINKS.get(a.link()))).program(), FilterOracle.packets(a.link()));
                if (!ours.equals(live)) {
                    failures.add(a.link() + " '" + a.expr() + "': live " + live + ", ours " + ours);
                }
            }
        }
        System.out.printf("live tcpdump: %d sampled expressions checked, %d differences%n", checked, failures.size());
        assertThat(failures).isEmpty();
    }

    /** Indices tcpdump selects (packet i has timestamp i), or null if it refuses the expression. */
    private static BitSet run(String tcpdump, Path cap, String expr, Path out) throws IOException, InterruptedException {
        Files.deleteIfExists(out);
        Process p = new ProcessBuilder(tcpdump, "-r", cap.toString(), "-w", out.toString(), "--", expr)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("tcpdump timed out on '" + expr + "'");
        }
        if (p.exitValue() != 0) {
            return null;
        }
        BitSet b = new BitSet();
        for (PcapRecord r : PcapFiles.readAll(Files.readAllBytes(out))) {
            b.set((int) (r.timestampNanos() / 1_000_000_000L));
        }
        return b;
    }
}
