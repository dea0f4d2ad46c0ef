package org.smpnet.net.bpf;

import java.io.Serial;

/** A filter program that {@link BpfValidator} refused; the message names the instruction index. */
public final class BpfValidationException extends IllegalArgumentException {
    @Serial private static final long serialVersionUID = 1L;

    private final int index;

    BpfValidationException(int index, String reason) {
        super(index >= 0 ? "insn " + index + ": " + reason : reason);
        this.index = index;
    }

    /** The index of the offending instruction, or -1 if the program as a whole is bad. */
    public int index() {
        return index;
    }
}
