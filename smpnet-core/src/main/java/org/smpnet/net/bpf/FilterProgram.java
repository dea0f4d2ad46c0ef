package org.smpnet.net.bpf;

import java.util.List;

/**
 * A compiled filter: the instructions, the validated program and a {@code tcpdump -d} style
 * listing.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param expression the source expression
 * @param linkType the link type it was compiled for
 * @param insns the program, ending in {@code ret} instructions
 */
public record FilterProgram(String expression, int linkType, List<BpfInsn> insns) {
    public FilterProgram {
        insns = List.copyOf(insns);
    }

    /** The instructions checked by {@link BpfValidator}, ready for the interpreter or the JIT. */
    public BpfProgram program() {
        return BpfValidator.validate(insns);
    }

    /** The program as {@code tcpdump -d} prints it, one instruction a line. */
    public String listing() {
        return BpfAsm.disassemble(insns);
    }
}
