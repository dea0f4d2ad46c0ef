package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The pcapng-test-generator corpus: each {@code testNNN.txt} states the block counts and sequence
 * of its {@code .pcapng}; tshark's view of each packet (lengths, comments, link type) is stored by
 * scripts/corpus-counts.sh.
 */
class PcapngGeneratorCorpusTest {
    private static final String CORPUS = "pcapng-test-generator";

    /** What a .txt file states. */
    record Stated(Map<String, Integer> counts, List<String> sequence) {
        static Stated parse(List<String> lines) {
            Map<String, Integer> counts = new TreeMap<>();
            List<String> sequence = new ArrayList<>();
            boolean inCounts = false;
            for (String l : lines) {
                if (l.startsWith("Block counts:")) {
                    inCounts = true;
                } else if (l.startsWith("Block sequence:")) {
                    inCounts = false;
                    for (String t : l.substring("Block sequence:".length()).split(",", -1)) {
                        sequence.add(t.strip());
                    }
                } else if (inCounts && l.startsWith("\t")) {
                    String[] kv = l.strip().split(":", -1);
                    counts.put(kv[0].strip(), Integer.parseInt(kv[1].strip()));
                } else if (!l.startsWith("\t")) {
                    inCounts = false;
                }
            }
            return new Stated(counts, sequence);
        }
    }

    /** Reads every block of a pcapng file. */
    static List<PcapngBlock> blocks(Path file) throws IOException {
        List<PcapngBlock> blocks = new ArrayList<>();
        try (PcapngReader r = (PcapngReader) PcapFiles.open(file)) {
            for (PcapngBlock b = r.nextBlock(); b != null; b = r.nextBlock()) {
                blocks.add(b);
            }
        }
        return blocks;
    }

    @Test
    @DisplayName("R-BPF-4: every pcapng-test-generator file has the blocks its .txt states, in order")
    void blocksAsStated() throws IOException {
        List<Path> files = PcapCorpus.captures(CORPUS);
        assertThat(files).as("generator files").hasSizeGreaterThanOrEqualTo(48);
        for (Path file : files) {
            Path txt = file.resolveSibling(file.getFileName().toString().replace(".pcapng", ".txt"));
            Stated stated = Stated.parse(Files.readAllLines(txt));
            assertThat(stated.sequence()).as("%s states a sequence", txt).isNotEmpty();
            List<PcapngBlock> blocks = blocks(file);
            List<String> seen = blocks.stream().map(PcapngBlock::typeName).toList();
            assertThat(seen).as("block sequence of %s", file).isEqualTo(stated.sequence());
            Map<String, Integer> counts = new TreeMap<>();
            seen.forEach(t -> counts.merge(t, 1, Integer::sum));
            assertThat(counts).as("block counts of %s", file).isEqualTo(stated.counts());
        }
    }

    @Test
    @DisplayName("R-BPF-4: packets of the generator files match tshark: lengths, comments, link types, timestamps")
    void packetsAsTsharkSees() throws IOException {
        Map<String, List<String>> truth = new LinkedHashMap<>();
        for (String line : PcapCorpus.resourceLines("pcapng-generator-packets.txt")) {
            int bar = line.indexOf('|');
            String row = line.substring(bar + 1);
            if (row.endsWith("|")) {
                row += "0.000000000";   // a Simple Packet Block: no time; ours reads as 0
            }
            truth.computeIfAbsent(line.substring(0, bar), k -> new ArrayList<>()).add(row);
        }
        Path root = PcapCorpus.dir(CORPUS);
        List<Path> files = PcapCorpus.captures(CORPUS);
        for (Path file : files) {
            String key = root.relativize(file).toString().replace('\\', '/');
            List<String> ours = new ArrayList<>();
            try (PcapReader r = PcapFiles.open(file)) {
                for (PcapRecord p : r.readAll()) {
                    assertThat(p.data()).hasSize(p.capturedLength());
                    ours.add(p.capturedLength() + "|" + p.originalLength() + "|" + String.join(";", p.comments())
                            + "|" + p.linkType() + "|" + Math.floorDiv(p.timestampNanos(), 1_000_000_000L) + "."
                            + String.format("%09d", Math.floorMod(p.timestampNanos(), 1_000_000_000L)));
                }
            }
            assertThat(ours).as("packets of %s (caplen|len|comments|linktype|time)", key)
                    .isEqualTo(truth.getOrDefault(key, List.of()));
        }
    }

    private static List<String> decoded(List<PcapngInterface> interfaces) {
        return interfaces.stream().map(i -> i.id() + " " + i.linkType() + " " + i.snaplen() + " " + i.tsresol() + " "
                + i.tsoffsetSeconds() + " " + i.name() + " " + i.description() + " "
                + i.options().stream().map(PcapngOption::code).toList()).toList();
    }

    @Test
    @DisplayName("R-BPF-4: little- and big-endian generator files give the same packets and interfaces")
    void byteOrdersAgree() throws IOException {
        Path le = PcapCorpus.dir(CORPUS).resolve("output_le");
        for (Path lf : PcapCorpus.captures(CORPUS + "/output_le")) {
            Path bf = PcapCorpus.dir(CORPUS).resolve("output_be").resolve(le.relativize(lf).toString());
            try (PcapngReader l = (PcapngReader) PcapFiles.open(lf);
                    PcapngReader b = (PcapngReader) PcapFiles.open(bf)) {
                assertThat(l.readAll()).as("%s", lf).isEqualTo(b.readAll());
                // Numeric option values differ in byte order; the decoded fields and option codes must not.
                assertThat(decoded(l.interfaces())).as("%s interfaces", lf).isEqualTo(decoded(b.interfaces()));
                assertThat(l.sections()).extracting(PcapngSection::options)
                        .isEqualTo(b.sections().stream().map(PcapngSection::options).toList());
            }
        }
    }
}
