package org.smpnet.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The real tcpdump and the shared corpus, for differential tests; both may be absent. */
final class Oracle {
    private Oracle() {}

    /** The tcpdump binary, or null when it is not installed. */
    static Path tcpdump() {
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")) {
            Path p = Path.of(dir, "tcpdump");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** {@code shared/corpus/tcpdump-captures} found by walking up from the working directory, or null. */
    static Path captures() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path c = d.resolve("shared/corpus/tcpdump-captures");
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        return null;
    }

    /** Runs tcpdump with {@code args} in UTC; stdout lines (hex-dump lines dropped) and the status. */
    record Run(int status, List<String> lines, String err) {}

    static Run run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tcpdump().toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("TZ", "UTC");
        Path err = Files.createTempFile("tcpdump", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("tcpdump did not finish: " + cmd);
        }
        String e = Files.readString(err);
        Files.delete(err);
        List<String> lines = out.lines().filter(l -> !l.startsWith("\t")).toList();
        return new Run(p.exitValue(), lines, e);
    }
}
