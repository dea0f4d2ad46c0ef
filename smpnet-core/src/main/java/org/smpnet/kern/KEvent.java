package org.smpnet.kern;

/**
 * One kernel event (FreeBSD {@code struct kevent}, {@code sys/event.h}): a change passed to
 * {@link Kqueue#kevent} or an event it returns. Values, never shared state.
 *
 * @param ident what the event is about: a descriptor for {@link #EVFILT_READ}/{@link #EVFILT_WRITE},
 *     any number for {@link #EVFILT_TIMER}/{@link #EVFILT_USER}
 * @param filter one of the {@code EVFILT_*} constants
 * @param flags {@code EV_*} action and status flags
 * @param fflags filter-specific flags ({@code NOTE_*})
 * @param data filter-specific data (bytes readable or writable, timer period or expirations, an errno
 *     number with {@link #EV_ERROR})
 * @param udata opaque user value passed back unchanged
 */
public record KEvent(long ident, int filter, int flags, int fflags, long data, Object udata) {
    public static final int EVFILT_READ = -1;
    public static final int EVFILT_WRITE = -2;
    public static final int EVFILT_TIMER = -7;
    public static final int EVFILT_USER = -11;

    /** Add the event, or modify it if it exists; implies {@link #EV_ENABLE}. */
    public static final int EV_ADD = 0x0001;
    public static final int EV_DELETE = 0x0002;
    public static final int EV_ENABLE = 0x0004;
    public static final int EV_DISABLE = 0x0008;
    /** Report once, then delete. */
    public static final int EV_ONESHOT = 0x0010;
    /** Reset the state (and re-arm edge-triggered) after it is reported. */
    public static final int EV_CLEAR = 0x0020;
    /** Return an {@link #EV_ERROR} entry for every change, with {@code data} 0 on success. */
    public static final int EV_RECEIPT = 0x0040;
    /** Disable after it is reported. */
    public static final int EV_DISPATCH = 0x0080;
    /** The change failed: {@code data} holds the errno number. */
    public static final int EV_ERROR = 0x4000;
    /** The filter's object reached end of file (peer closed, object gone). */
    public static final int EV_EOF = 0x8000;
    /** Flags a caller may pass in a change. */
    public static final int EV_SYSFLAGS_IN = EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE | EV_ONESHOT
            | EV_CLEAR | EV_RECEIPT | EV_DISPATCH;

    /** EVFILT_READ/WRITE: {@code data} of the change is the low-water mark. */
    public static final int NOTE_LOWAT = 0x0001;

    /** EVFILT_USER: leave the user flags alone. */
    public static final int NOTE_FFNOP = 0x00000000;
    /** EVFILT_USER: AND the user flags with {@code fflags}. */
    public static final int NOTE_FFAND = 0x40000000;
    /** EVFILT_USER: OR {@code fflags} into the user flags. */
    public static final int NOTE_FFOR = 0x80000000;
    /** EVFILT_USER: copy {@code fflags} into the user flags. */
    public static final int NOTE_FFCOPY = 0xc0000000;
    public static final int NOTE_FFCTRLMASK = 0xc0000000;
    public static final int NOTE_FFLAGSMASK = 0x00ffffff;
    /** EVFILT_USER: trigger the event. */
    public static final int NOTE_TRIGGER = 0x01000000;

    /** EVFILT_TIMER: {@code data} is in seconds. */
    public static final int NOTE_SECONDS = 0x00000001;
    /** EVFILT_TIMER: {@code data} is in milliseconds (the default). */
    public static final int NOTE_MSECONDS = 0x00000002;
    /** EVFILT_TIMER: {@code data} is in microseconds. */
    public static final int NOTE_USECONDS = 0x00000004;
    /** EVFILT_TIMER: {@code data} is in nanoseconds. */
    public static final int NOTE_NSECONDS = 0x00000008;

    /** A change or event without user data (FreeBSD {@code EV_SET}). */
    public static KEvent of(long ident, int filter, int flags) {
        return new KEvent(ident, filter, flags, 0, 0, null);
    }

    /** Whether all of {@code f} are set in {@link #flags}. */
    public boolean has(int f) {
        return (flags & f) == f;
    }

    @Override
    public String toString() {
        return "KEvent[ident=" + ident + ", filter=" + filterName(filter) + ", flags=0x" + Integer.toHexString(flags)
                + ", fflags=0x" + Integer.toHexString(fflags) + ", data=" + data + (udata != null ? ", udata=" + udata : "") + "]";
    }

    /** The {@code EVFILT_*} name of a filter number. */
    public static String filterName(int filter) {
        return switch (filter) {
            case EVFILT_READ -> "EVFILT_READ";
            case EVFILT_WRITE -> "EVFILT_WRITE";
            case EVFILT_TIMER -> "EVFILT_TIMER";
            case EVFILT_USER -> "EVFILT_USER";
            default -> Integer.toString(filter);
        };
    }
}
