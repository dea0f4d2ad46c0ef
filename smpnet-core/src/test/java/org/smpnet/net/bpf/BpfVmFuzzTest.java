package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

/**
 * Jazzer target for the BPF VM (R-BPF-1): fuzzed programs go through {@link BpfValidator}; a
 * program it refuses must be refused with {@link BpfValidationException} and a reason, and one it
 * accepts must compile with {@link BpfJit} and give, on the fuzzed packet and on every truncation
 * of it tried, exactly the interpreter's result. Nothing else may throw.
 *
 * <p>Input layout (what the seeds in {@code BpfVmFuzzTestInputs/interpreterAndJitAgree} hold):
 * byte 0 gives the instruction count {@code 1 + (b & 63)}; then that many 8-byte
 * {@code struct bpf_insn} in network order (code u16, jt, jf, k u32), zero-padded when the input
 * ends early; then one byte of truncation, a 4-byte wire length, and the packet. So a seed is a
 * {@code tcpdump -ddd} program followed by a frame, and libFuzzer's mutations act on real fields.
 */
class BpfVmFuzzTest {
    static final int MAX_INSNS = 64;

    /** A program and a packet decoded from fuzzer bytes. */
    record Case(List<BpfInsn> insns, byte[] pkt, int wirelen, int cut) {
        static Case decode(byte[] in) {
            int at = 0;
            int n = 1 + (in.length > 0 ? in[at++] & (MAX_INSNS - 1) : 0);
            List<BpfInsn> insns = new ArrayList<>(n);
            for (int i = 0; i < n; i++, at += 8) {
                insns.add(new BpfInsn(u16(in, at), u8(in, at + 2), u8(in, at + 3),
                        (u16(in, at + 4) << 16) | u16(in, at + 6)));
            }
            int cut = u8(in, at);
            int wirelen = (u16(in, at + 1) << 16) | u16(in, at + 3);
            at += 5;
            byte[] pkt = at < in.length ? Arrays.copyOfRange(in, at, in.length) : new byte[0];
            return new Case(insns, pkt, wirelen, cut);
        }

        private static int u8(byte[] b, int i) {
            return i < b.length ? b[i] & 0xff : 0;
        }

        private static int u16(byte[] b, int i) {
            return (u8(b, i) << 8) | u8(b, i + 1);
        }
    }

    @DisplayName("R-BPF-1: fuzzed programs are refused with a reason or run identically in interpreter and JIT")
    @FuzzTest(maxDuration = "30s")
    void interpreterAndJitAgree(byte[] input) {
        Case c = Case.decode(input);
        BpfProgram program;
        try {
            program = BpfValidator.validate(c.insns());
        } catch (BpfValidationException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        BpfFilter interp = new BpfInterpreter(program);
        BpfFilter jit = BpfJit.compile(program);
        int len = c.pkt().length;
        for (int buflen : new int[] {len, Math.max(0, len - c.cut()), Math.min(len, c.cut()), 0}) {
            int want = interp.filter(c.pkt(), c.wirelen(), buflen);
            int got = jit.filter(c.pkt(), c.wirelen(), buflen);
            assertThat(Integer.toUnsignedString(got))
                    .as("JIT vs interpreter, buflen %d of %d, program %s", buflen, len, c.insns())
                    .isEqualTo(Integer.toUnsignedString(want));
        }
    }
}
