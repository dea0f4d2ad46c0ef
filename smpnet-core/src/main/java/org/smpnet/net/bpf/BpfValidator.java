package org.smpnet.net.bpf;

import java.util.List;
import java.util.Objects;

/**
 * Checks that a filter program is safe to run ({@code bpf_validate(9)}): every opcode known,
 * every jump forward and landing inside the program, no constant division or modulo by zero,
 * scratch indexes below {@link BpfInsn#MEMWORDS}, 1..{@link BpfInsn#MAXINSNS} instructions, and
 * a return as the last instruction. Together these make every run end at a return in at most
 * {@code length} steps.
 *
 * <p>Unlike FreeBSD, an empty program is refused (as on Linux) rather than meaning "accept all".
 * Stateless and thread-safe.
 */
public final class BpfValidator {
    private BpfValidator() {}

    /**
     * Validates {@code insns} and returns them as a program.
     *
     * @throws BpfValidationException naming the first bad instruction and why
     */
    public static BpfProgram validate(List<BpfInsn> insns) {
        Objects.requireNonNull(insns, "insns");
        BpfInsn[] prog = insns.toArray(new BpfInsn[0]);
        int n = prog.length;
        if (n == 0) {
            throw new BpfValidationException(-1, "program is empty");
        }
        if (n > BpfInsn.MAXINSNS) {
            throw new BpfValidationException(-1, "program has " + n + " instructions, more than BPF_MAXINSNS ("
                    + BpfInsn.MAXINSNS + ")");
        }
        for (int i = 0; i < n; i++) {
            check(Objects.requireNonNull(prog[i], "insn " + i), i, n);
        }
        if (prog[n - 1].cls() != BpfInsn.RET) {
            throw new BpfValidationException(n - 1, String.format(
                    "last instruction is not a return (opcode 0x%02x)", prog[n - 1].code()));
        }
        return new BpfProgram(prog);
    }

    private static void check(BpfInsn insn, int i, int n) {
        int code = insn.code();
        if (!BpfInsn.isKnownOpcode(code)) {
            throw new BpfValidationException(i, String.format("unknown opcode 0x%02x", code));
        }
        if (code == (BpfInsn.JMP | BpfInsn.JA)) {
            checkTarget(i, i + 1 + insn.uk(), n);
        } else if (insn.isConditionalJump()) {
            checkTarget(i, i + 1 + insn.jt(), n);
            checkTarget(i, i + 1 + insn.jf(), n);
        } else if (insn.usesScratch() && insn.uk() >= BpfInsn.MEMWORDS) {
            throw new BpfValidationException(i, "scratch memory index " + insn.uk()
                    + " out of range (BPF_MEMWORDS is " + BpfInsn.MEMWORDS + ")");
        } else if (insn.k() == 0 && (code == (BpfInsn.ALU | BpfInsn.DIV | BpfInsn.K))) {
            throw new BpfValidationException(i, "division by constant zero");
        } else if (insn.k() == 0 && (code == (BpfInsn.ALU | BpfInsn.MOD | BpfInsn.K))) {
            throw new BpfValidationException(i, "modulo by constant zero");
        }
    }

    private static void checkTarget(int i, long target, int n) {
        if (target >= n) {
            throw new BpfValidationException(i, "jump target " + target + " out of range (program has " + n
                    + " instructions)");
        }
    }
}
