package org.smpnet.kern;

/**
 * BSD error numbers, with FreeBSD's values from {@code sys/errno.h}.
 *
 * <p>The stack's system-call-like entry points report failure as an {@link ErrnoException} carrying one of
 * these, so a caller can switch on the name a BSD programmer expects ({@code EAGAIN}, {@code ECONNREFUSED}...).
 * {@code EWOULDBLOCK} is {@code EAGAIN} in BSD; use {@link #EAGAIN}.
 */
public enum Errno {
    EPERM(1, "Operation not permitted"),
    ENOENT(2, "No such file or directory"),
    ESRCH(3, "No such process"),
    EINTR(4, "Interrupted system call"),
    EIO(5, "Input/output error"),
    ENXIO(6, "Device not configured"),
    E2BIG(7, "Argument list too long"),
    EBADF(9, "Bad file descriptor"),
    EDEADLK(11, "Resource deadlock avoided"),
    ENOMEM(12, "Cannot allocate memory"),
    EACCES(13, "Permission denied"),
    EFAULT(14, "Bad address"),
    EBUSY(16, "Device busy"),
    EEXIST(17, "File exists"),
    ENODEV(19, "Operation not supported by device"),
    ENOTDIR(20, "Not a directory"),
    EISDIR(21, "Is a directory"),
    EINVAL(22, "Invalid argument"),
    ENFILE(23, "Too many open files in system"),
    EMFILE(24, "Too many open files"),
    ENOTTY(25, "Inappropriate ioctl for device"),
    EFBIG(27, "File too large"),
    ENOSPC(28, "No space left on device"),
    ESPIPE(29, "Illegal seek"),
    EPIPE(32, "Broken pipe"),
    EDOM(33, "Numerical argument out of domain"),
    ERANGE(34, "Result too large"),
    EAGAIN(35, "Resource temporarily unavailable"),
    EINPROGRESS(36, "Operation now in progress"),
    EALREADY(37, "Operation already in progress"),
    ENOTSOCK(38, "Socket operation on non-socket"),
    EDESTADDRREQ(39, "Destination address required"),
    EMSGSIZE(40, "Message too long"),
    EPROTOTYPE(41, "Protocol wrong type for socket"),
    ENOPROTOOPT(42, "Protocol not available"),
    EPROTONOSUPPORT(43, "Protocol not supported"),
    ESOCKTNOSUPPORT(44, "Socket type not supported"),
    EOPNOTSUPP(45, "Operation not supported"),
    EPFNOSUPPORT(46, "Protocol family not supported"),
    EAFNOSUPPORT(47, "Address family not supported by protocol family"),
    EADDRINUSE(48, "Address already in use"),
    EADDRNOTAVAIL(49, "Can't assign requested address"),
    ENETDOWN(50, "Network is down"),
    ENETUNREACH(51, "Network is unreachable"),
    ENETRESET(52, "Network dropped connection on reset"),
    ECONNABORTED(53, "Software caused connection abort"),
    ECONNRESET(54, "Connection reset by peer"),
    ENOBUFS(55, "No buffer space available"),
    EISCONN(56, "Socket is already connected"),
    ENOTCONN(57, "Socket is not connected"),
    ESHUTDOWN(58, "Can't send after socket shutdown"),
    ETOOMANYREFS(59, "Too many references: can't splice"),
    ETIMEDOUT(60, "Operation timed out"),
    ECONNREFUSED(61, "Connection refused"),
    ELOOP(62, "Too many levels of symbolic links"),
    ENAMETOOLONG(63, "File name too long"),
    EHOSTDOWN(64, "Host is down"),
    EHOSTUNREACH(65, "No route to host"),
    ENOTEMPTY(66, "Directory not empty"),
    ENOLCK(77, "No locks available"),
    ENOSYS(78, "Function not implemented"),
    EOVERFLOW(84, "Value too large to be stored in data type"),
    ECANCELED(85, "Operation canceled"),
    EBADMSG(89, "Bad message"),
    EPROTO(92, "Protocol error");

    private final int number;
    private final String text;

    Errno(int number, String text) {
        this.number = number;
        this.text = text;
    }

    /** The FreeBSD number of this error. */
    public int number() {
        return number;
    }

    /** The {@code strerror(3)} text. */
    public String text() {
        return text;
    }

    /**
     * The error with FreeBSD number {@code n}.
     *
     * @throws IllegalArgumentException if no error here has that number
     */
    public static Errno of(int n) {
        for (Errno e : values()) {
            if (e.number == n) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown errno " + n);
    }
}
