package org.smpnet.kern;

/**
 * poll(2) and select(2) over the files of a {@link Filedesc} (FreeBSD {@code sys_generic.c}), and
 * the poll event bits ({@code sys/poll.h}, FreeBSD values).
 */
public final class Poll {
    private Poll() {}

    /** Data other than high-priority data may be read. */
    public static final int POLLIN = 0x0001;
    /** High-priority data may be read. */
    public static final int POLLPRI = 0x0002;
    /** Data may be written (normal data). */
    public static final int POLLOUT = 0x0004;
    /** Normal data may be read. */
    public static final int POLLRDNORM = 0x0040;
    /** Normal data may be written (same as POLLOUT). */
    public static final int POLLWRNORM = POLLOUT;
    /** Priority data may be read. */
    public static final int POLLRDBAND = 0x0080;
    /** Priority data may be written. */
    public static final int POLLWRBAND = 0x0100;
    /** An error (always reported). */
    public static final int POLLERR = 0x0008;
    /** Hung up: the peer closed (always reported). */
    public static final int POLLHUP = 0x0010;
    /** Not an open descriptor (always reported). */
    public static final int POLLNVAL = 0x0020;

    /** The bits select's read set waits for. */
    static final int SELECT_READ = POLLRDNORM | POLLIN | POLLHUP | POLLERR;
    /** The bits select's write set waits for. */
    static final int SELECT_WRITE = POLLWRNORM | POLLOUT | POLLERR;
    /** The bits select's exception set waits for. */
    static final int SELECT_EXCEPT = POLLRDBAND | POLLPRI;
}
