package org.smpnet.net.bpf;

import java.util.Arrays;
import java.util.List;

/**
 * A validated filter program: only {@link BpfValidator#validate} makes one, so holding a
 * {@code BpfProgram} proves the checks passed. Immutable and thread-safe.
 */
public final class BpfProgram {
    private final BpfInsn[] insns;

    /** Takes ownership of {@code insns}, which the validator has checked. */
    BpfProgram(BpfInsn[] insns) {
        this.insns = insns;
    }

    /** Validates {@code insns}; see {@link BpfValidator#validate}. */
    public static BpfProgram of(BpfInsn... insns) {
        return BpfValidator.validate(Arrays.asList(insns));
    }

    /** Validates {@code insns}; see {@link BpfValidator#validate}. */
    public static BpfProgram of(List<BpfInsn> insns) {
        return BpfValidator.validate(insns);
    }

    public int length() {
        return insns.length;
    }

    public BpfInsn insn(int i) {
        return insns[i];
    }

    public List<BpfInsn> insns() {
        return List.of(insns);
    }

    /** Bit j is set when some instruction reads or writes scratch word M[j]. */
    public int scratchUsed() {
        int used = 0;
        for (BpfInsn insn : insns) {
            if (insn.usesScratch()) {
                used |= 1 << insn.k();
            }
        }
        return used;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BpfProgram p && Arrays.equals(insns, p.insns);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(insns);
    }

    @Override
    public String toString() {
        return "BpfProgram[" + insns.length + " insns]";
    }
}
