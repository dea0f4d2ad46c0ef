package org.smpnet.net.bpf;

import java.io.Serial;

/** Program text that {@link BpfAsm} cannot read; the message names the 1-based line. */
public final class BpfAsmException extends IllegalArgumentException {
    @Serial private static final long serialVersionUID = 1L;

    private final int line;

    BpfAsmException(int line, String reason) {
        super("line " + line + ": " + reason);
        this.line = line;
    }

    /** The 1-based line number of the problem. */
    public int line() {
        return line;
    }
}
