package org.smpnet.kern;

import java.io.IOException;
import java.util.Objects;

/**
 * A failed system-call-like operation, carrying the BSD {@link Errno} a kernel would return.
 *
 * <p>It is an {@link IOException} so that stream views of sockets and pipes, and Java code written for
 * {@code java.io}, see the failure naturally. The message reads {@code "ECONNREFUSED: Connection refused"},
 * followed by the detail when one is given.
 */
public class ErrnoException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    public ErrnoException(Errno errno) {
        super(format(errno, null));
        this.errno = errno;
    }

    public ErrnoException(Errno errno, String detail) {
        super(format(errno, detail));
        this.errno = errno;
    }

    public ErrnoException(Errno errno, String detail, Throwable cause) {
        super(format(errno, detail), cause);
        this.errno = errno;
    }

    /** The error number. */
    public Errno errno() {
        return errno;
    }

    private static String format(Errno errno, String detail) {
        Objects.requireNonNull(errno, "errno");
        String s = errno.name() + ": " + errno.text();
        return detail == null || detail.isEmpty() ? s : s + " (" + detail + ")";
    }
}
