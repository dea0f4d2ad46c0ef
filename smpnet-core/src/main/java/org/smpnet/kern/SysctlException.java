package org.smpnet.kern;

/** A failed sysctl lookup or write, with the errno a BSD kernel would return. */
public final class SysctlException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The BSD errno names sysctl returns. */
    public enum Errno { ENOENT, EINVAL, EPERM, EEXIST, ENOTDIR }

    private final Errno errno;

    public SysctlException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }

    /** The message without the errno name {@link #getMessage} appends: for a caller that reports the errno itself. */
    public String detail() {
        return super.getMessage();
    }

    @Override
    public String getMessage() {
        return super.getMessage() + " (" + errno + ")";
    }
}
