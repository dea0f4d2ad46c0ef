package org.smpnet.net;

/** A packet that fails a header check. The input path counts and drops it; it never escapes. */
public final class MalformedPacketException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedPacketException(String message) {
        super(message, null, false, false); // no stack trace: thrown per bad packet
    }
}
