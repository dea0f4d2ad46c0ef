package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;

/**
 * Jazzer target for the pcap-filter compiler (R-BPF-3): any string compiles, for Ethernet, raw IP
 * and BSD loopback, to a program {@link BpfValidator} accepts and the interpreter runs over a few
 * frames without throwing, or it is refused with {@link FilterSyntaxException}. Any other
 * throwable (a stack overflow on deep nesting included) is a finding.
 *
 * <p>The input bytes are the expression in ISO-8859-1, so seeds
 * ({@code FilterCompilerFuzzTestInputs/compile}) are plain text and every byte is a character;
 * {@code filter.dict} lists the keywords and operators to splice in.
 */
class FilterCompilerFuzzTest {
    private static final int[] LINK_TYPES = {FilterCompiler.DLT_EN10MB, FilterCompiler.DLT_RAW,
        FilterCompiler.DLT_NULL};
    private static final int SRC = BpfTestSupport.ip(10, 0, 0, 1);
    private static final int DST = BpfTestSupport.ip(192, 168, 1, 2);
    private static final byte[][] FRAMES = {
        BpfTestSupport.ether(0x0800, BpfTestSupport.ipv4(6, SRC, DST, 0, 0, BpfTestSupport.tcp(1234, 80, 0x02))),
        BpfTestSupport.ether(0x0800, BpfTestSupport.ipv4(17, DST, SRC, 0, 1, BpfTestSupport.udp(5353, 53))),
        BpfTestSupport.ether(0x86dd, BpfTestSupport.ipv6(58, BpfTestSupport.icmpEcho())),
        BpfTestSupport.etherVlan(5, 0x0806, BpfTestSupport.arp(SRC, DST)),
        new byte[0]};

    @DisplayName("R-BPF-3: arbitrary strings compile to a valid program or give FilterSyntaxException")
    @DictionaryFile(resourcePath = "filter.dict")
    @FuzzTest(maxDuration = "30s")
    void compile(byte[] input) {
        String expr = new String(input, StandardCharsets.ISO_8859_1);
        for (int linkType : LINK_TYPES) {
            FilterProgram fp;
            try {
                fp = FilterCompiler.compile(expr, linkType);
            } catch (FilterSyntaxException e) {
                assertThat(e.getMessage()).isNotBlank();
                assertThat(e.position()).isBetween(0, expr.length());
                continue;
            }
            BpfProgram program = fp.program();
            BpfFilter interp = new BpfInterpreter(program);
            for (byte[] frame : FRAMES) {
                interp.filter(frame, frame.length, frame.length);
            }
        }
    }
}
