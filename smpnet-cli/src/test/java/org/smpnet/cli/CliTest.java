package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CliTest {
    record Result(int status, String out, String err) {}

    static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    @DisplayName("smpnet sysctl: -a lists, a name gets, name=value sets, errors are clear with status 1")
    void sysctl() {
        Result all = run("sysctl", "-a");
        assertThat(all.status()).isZero();
        assertThat(all.out()).contains("net.mpsafenet: ").contains("debug.witness.enable: ").contains("kern.ostype: smpnet");

        Result get = run("sysctl", "kern.ostype");
        assertThat(get.out()).isEqualTo("kern.ostype: smpnet\n");

        Result subtree = run("sysctl", "debug.witness");
        assertThat(subtree.out()).contains("debug.witness.enable").contains("debug.witness.order");

        String before = run("sysctl", "-n", "net.mpsafenet").out().trim();
        try {
            Result set = run("sysctl", "net.mpsafenet=0");
            assertThat(set.status()).isZero();
            assertThat(set.out()).isEqualTo("net.mpsafenet: " + before + " -> 0\n");
        } finally {
            run("sysctl", "net.mpsafenet=" + before);
        }

        Result unknown = run("sysctl", "net.nothing.here");
        assertThat(unknown.status()).isEqualTo(1);
        assertThat(unknown.err()).contains("unknown oid 'net.nothing.here' (ENOENT)");

        Result bad = run("sysctl", "net.mpsafenet=perhaps");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("invalid value 'perhaps' for net.mpsafenet");

        Result ro = run("sysctl", "kern.ostype=linux");
        assertThat(ro.err()).contains("read only (EPERM)");
    }

    @Test
    @DisplayName("smpnet witness: prints the learned order and the reversal count")
    void witness() {
        Result r = run("witness");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("lock order").contains("sockbuf -> rtentry").contains("reversals: ");
    }

    @Test
    @DisplayName("smpnet demo: exercises every kernel service and prints sysctl and WITNESS state, no reversal")
    void demo() {
        Result r = run("demo", "--kernel", "--millis", "50", "--threads", "2");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("locks, net.mpsafenet=1").contains("locks, net.mpsafenet=0")
                .contains("reads of freed objects: 0")
                .contains("100 stopped, 100 fired")
                .contains("pending counts add up to 10,000")
                .containsPattern("packet zone allocs ([\\d,]+) frees \\1 in use 0")
                .contains("== sysctl -a").contains("vm.uma.")
                .contains("reversals: 0, violations: 0");
        assertThat(run("demo", "--kernel", "--millis", "0").status()).isEqualTo(1);
    }

    @Test
    @DisplayName("smpnet: an unknown subcommand or option is a usage error, not a crash")
    void usageErrors() {
        Result r = run("nosuchcommand");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("Unmatched argument");
        Result opt = run("sysctl", "--bogus");
        assertThat(opt.status()).isEqualTo(2);
        assertThat(opt.err()).contains("Unknown option");
    }
}
