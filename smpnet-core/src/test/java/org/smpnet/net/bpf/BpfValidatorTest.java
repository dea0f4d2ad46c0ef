package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.net.bpf.BpfInsn.jump;
import static org.smpnet.net.bpf.BpfInsn.stmt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class BpfValidatorTest {
    private static final BpfInsn RET0 = stmt(BpfInsn.RET | BpfInsn.K, 0);
    private static final BpfInsn LDA = stmt(BpfInsn.LD | BpfInsn.IMM, 1);

    private static BpfValidationException rejected(BpfInsn... insns) {
        try {
            BpfProgram.of(insns);
        } catch (BpfValidationException e) {
            return e;
        }
        throw new AssertionError("validator accepted " + List.of(insns));
    }

    @Test
    @DisplayName("R-BPF-1: validator accepts a well-formed program and keeps it unchanged")
    void acceptsValid() {
        List<BpfInsn> insns = List.of(stmt(0x28, 12), jump(0x15, 0x800, 0, 1), stmt(0x06, 0xffff), RET0);
        BpfProgram p = BpfValidator.validate(insns);
        assertThat(p.insns()).isEqualTo(insns);
        assertThat(p.length()).isEqualTo(4);
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects an empty program")
    void rejectsEmpty() {
        assertThatThrownBy(() -> BpfValidator.validate(List.of()))
                .isInstanceOf(BpfValidationException.class).hasMessage("program is empty");
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects a program longer than BPF_MAXINSNS, accepts exactly 4096")
    void rejectsTooLong() {
        List<BpfInsn> max = new ArrayList<>(Collections.nCopies(BpfInsn.MAXINSNS - 1, LDA));
        max.add(RET0);
        assertThat(BpfValidator.validate(max).length()).isEqualTo(4096);
        List<BpfInsn> tooLong = new ArrayList<>(Collections.nCopies(BpfInsn.MAXINSNS, LDA));
        tooLong.add(RET0);
        assertThatThrownBy(() -> BpfValidator.validate(tooLong))
                .isInstanceOf(BpfValidationException.class)
                .hasMessage("program has 4097 instructions, more than BPF_MAXINSNS (4096)");
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects unknown opcodes, naming the index and the opcode")
    void rejectsUnknownOpcode() {
        assertThat(rejected(LDA, stmt(0x0e, 0), RET0)).hasMessage("insn 1: unknown opcode 0x0e")
                .extracting(BpfValidationException::index).isEqualTo(1);
        // NEG|X, LD|H|IMM, LDX|W|ABS and a high opcode are not instructions either.
        assertThat(rejected(stmt(0x8c, 0), RET0)).hasMessage("insn 0: unknown opcode 0x8c");
        assertThat(rejected(stmt(0x08, 0), RET0)).hasMessage("insn 0: unknown opcode 0x08");
        assertThat(rejected(stmt(0x21, 0), RET0)).hasMessage("insn 0: unknown opcode 0x21");
        assertThat(rejected(stmt(0x106, 0))).hasMessage("insn 0: unknown opcode 0x106");
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects conditional and unconditional jumps that leave the program")
    void rejectsJumpOutOfRange() {
        // jt lands one past the end.
        assertThat(rejected(LDA, jump(0x15, 1, 2, 0), LDA, RET0))
                .hasMessage("insn 1: jump target 4 out of range (program has 4 instructions)");
        // jf does.
        assertThat(rejected(jump(0x15, 1, 0, 9), RET0))
                .hasMessage("insn 0: jump target 10 out of range (program has 2 instructions)");
        // JA with a k that wraps when added to the pc in 32 bits is still caught.
        assertThat(rejected(LDA, LDA, LDA, stmt(0x05, -1), LDA, LDA, LDA, LDA, LDA, RET0))
                .hasMessage("insn 3: jump target 4294967299 out of range (program has 10 instructions)");
        assertThat(rejected(LDA, LDA, LDA, stmt(0x05, 8), LDA, LDA, LDA, LDA, LDA, RET0))
                .hasMessage("insn 3: jump target 12 out of range (program has 10 instructions)");
        // Landing on the last instruction is fine.
        assertThat(BpfProgram.of(LDA, stmt(0x05, 1), LDA, RET0).length()).isEqualTo(4);
        assertThat(BpfProgram.of(jump(0x15, 1, 1, 0), LDA, RET0).length()).isEqualTo(3);
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects division and modulo by constant zero (but not by X)")
    void rejectsDivisionByZero() {
        assertThat(rejected(LDA, stmt(0x34, 0), RET0)).hasMessage("insn 1: division by constant zero");
        assertThat(rejected(LDA, LDA, stmt(0x94, 0), RET0)).hasMessage("insn 2: modulo by constant zero");
        assertThat(BpfProgram.of(stmt(0x3c, 0), stmt(0x9c, 0), RET0).length()).isEqualTo(3);
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects scratch memory indexes of 16 and above for ld/ldx/st/stx")
    void rejectsScratchOutOfRange() {
        for (int code : new int[] {0x60, 0x61, 0x02, 0x03}) {
            assertThat(rejected(LDA, stmt(code, 16), RET0))
                    .hasMessage("insn 1: scratch memory index 16 out of range (BPF_MEMWORDS is 16)");
        }
        assertThat(rejected(stmt(0x02, -1), RET0))
                .hasMessage("insn 0: scratch memory index 4294967295 out of range (BPF_MEMWORDS is 16)");
        assertThat(BpfProgram.of(stmt(0x02, 15), stmt(0x61, 15), RET0).length()).isEqualTo(3);
    }

    @Test
    @DisplayName("R-BPF-1: validator rejects a program whose last instruction is not a return")
    void rejectsMissingReturn() {
        assertThat(rejected(LDA, RET0, LDA)).hasMessage("insn 2: last instruction is not a return (opcode 0x00)");
        assertThat(rejected(stmt(0x04, 1))).hasMessage("insn 0: last instruction is not a return (opcode 0x04)");
    }

    @Test
    @DisplayName("R-BPF-1: instructions reject fields that do not fit the encoding")
    void insnFieldRanges() {
        assertThatThrownBy(() -> new BpfInsn(0x10000, 0, 0, 0)).hasMessageContaining("16 bits");
        assertThatThrownBy(() -> new BpfInsn(0x15, 256, 0, 0)).hasMessageContaining("0..255");
        assertThatThrownBy(() -> new BpfInsn(0x15, 0, -1, 0)).hasMessageContaining("0..255");
    }
}
