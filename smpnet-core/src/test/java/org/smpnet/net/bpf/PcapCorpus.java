package org.smpnet.net.bpf;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Finds the shared capture corpus and the ground truth resources for the pcap tests. */
final class PcapCorpus {
    private PcapCorpus() {
    }

    /**
     * {@code shared/corpus}, found by walking up from the working directory (Surefire runs in the
     * module directory); skips the calling test when absent.
     */
    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/corpus");
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        assumeTrue(false, "shared/corpus not found above " + Path.of("").toAbsolutePath()
                + ": corpus tests skipped");
        throw new AssertionError("unreachable");
    }

    static Path dir(String sub) {
        Path d = root().resolve(sub);
        assumeTrue(Files.isDirectory(d), d + " is missing: corpus tests skipped");
        return d;
    }

    /** The capture files (.pcap, .pcapng) under {@code sub}, sorted. */
    static List<Path> captures(String sub) throws IOException {
        try (Stream<Path> s = Files.walk(dir(sub))) {
            return s.filter(p -> p.toString().endsWith(".pcap") || p.toString().endsWith(".pcapng"))
                    .sorted().toList();
        }
    }

    /** Non-comment lines of a test resource written by scripts/corpus-counts.sh. */
    static List<String> resourceLines(String name) throws IOException {
        try (InputStream in = PcapCorpus.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name + " (run scripts/corpus-counts.sh)");
            }
            List<String> lines = new ArrayList<>();
            for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList()) {
                if (!l.isBlank() && !l.startsWith("#")) {
                    lines.add(l);
                }
            }
            return lines;
        }
    }
}
