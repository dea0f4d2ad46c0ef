package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Mangled expressions either compile to a valid program or fail with a positioned FilterSyntaxException. */
class FilterRobustnessTest {
    private static final String[] PIECES = {" and ", " or ", " not ", "(", ")", "[", "]", ":", "tcp", "port", "80",
        "host", "1.2.3.4", "::1", "/", "24", "vlan", "mpls", "ether", "src", "dst", "=", "!=", "<", "&", "^", "-",
        "len", "0x", "\\", "ab:cd:ef:00:00:01", "geneve", "proto", "llc", "99999999999", "!", "&&", "||"};

    @Test
    @DisplayName("R-BPF-3: 20000 mangled expressions never crash the compiler; errors carry a position inside the text")
    void mangledExpressions() throws IOException {
        List<String> seeds = new ArrayList<>();
        for (FilterOracle.Answer a : FilterOracle.answers()) {
            seeds.add(a.expr());
        }
        Random rnd = new Random(20261125);
        int compiled = 0;
        int refused = 0;
        for (int i = 0; i < 20000; i++) {
            StringBuilder e = new StringBuilder(seeds.get(rnd.nextInt(seeds.size())));
            for (int m = rnd.nextInt(3) + 1; m > 0; m--) {
                int at = e.isEmpty() ? 0 : rnd.nextInt(e.length() + 1);
                switch (rnd.nextInt(3)) {
                    case 0 -> e.insert(at, PIECES[rnd.nextInt(PIECES.length)]);
                    case 1 -> {
                        if (at < e.length()) {
                            e.delete(at, Math.min(e.length(), at + 1 + rnd.nextInt(4)));
                        }
                    }
                    default -> e.insert(at, (char) (32 + rnd.nextInt(95)));
                }
            }
            String expr = e.toString();
            int link = new int[] {FilterCompiler.DLT_EN10MB, FilterCompiler.DLT_RAW, FilterCompiler.DLT_NULL}[rnd.nextInt(3)];
            try {
                FilterProgram p = FilterCompiler.compile(expr, link);
                assertThat(p.program().length()).as(expr).isPositive();
                compiled++;
            } catch (FilterSyntaxException x) {
                assertThat(x.position()).as(expr).isBetween(0, expr.length());
                refused++;
            }
        }
        System.out.printf("mangled expressions: %d compiled, %d refused%n", compiled, refused);
        assertThat(compiled).isPositive();
        assertThat(refused).isPositive();
    }
}
