package org.smpnet.socket;

import java.util.Arrays;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

/**
 * One {@code setsockopt}/{@code getsockopt} request ({@code struct sockopt}): direction, level,
 * name and value bytes. Integer values are 4 bytes in host (little-endian) order as a BSD program
 * would pass an {@code int}. Owned by the one thread that makes the call.
 */
public final class Sockopt {
    /** Direction: set. */
    public static final int SOPT_SET = 1;
    /** Direction: get. */
    public static final int SOPT_GET = 2;

    private final int dir;
    private final int level;
    private final int name;
    private byte[] val;

    private Sockopt(int dir, int level, int name, byte[] val) {
        this.dir = dir;
        this.level = level;
        this.name = name;
        this.val = val;
    }

    /** A set request carrying {@code val} (copied). */
    public static Sockopt set(int level, int name, byte[] val) {
        return new Sockopt(SOPT_SET, level, name, val.clone());
    }

    /** A set request carrying an int. */
    public static Sockopt setInt(int level, int name, int v) {
        return new Sockopt(SOPT_SET, level, name, intBytes(v));
    }

    /** A get request; the handler fills the value. */
    public static Sockopt get(int level, int name) {
        return new Sockopt(SOPT_GET, level, name, new byte[0]);
    }

    public int dir() {
        return dir;
    }

    public boolean isSet() {
        return dir == SOPT_SET;
    }

    public int level() {
        return level;
    }

    public int name() {
        return name;
    }

    /** The value (a copy). */
    public byte[] value() {
        return val.clone();
    }

    /** The value as an int ({@code sooptcopyin} of an int); EINVAL if shorter than 4 bytes. */
    public int intValue() throws ErrnoException {
        if (val.length < 4) {
            throw new ErrnoException(Errno.EINVAL, "option " + name + " needs an int, got " + val.length + " bytes");
        }
        return (val[0] & 0xff) | (val[1] & 0xff) << 8 | (val[2] & 0xff) << 16 | (val[3] & 0xff) << 24;
    }

    /** Sets the value of a get ({@code sooptcopyout}). */
    public void setValue(byte[] v) {
        val = v.clone();
    }

    public void setIntValue(int v) {
        val = intBytes(v);
    }

    static byte[] intBytes(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    /** Encodes {@code struct linger} (l_onoff, l_linger as two ints). */
    public static byte[] linger(boolean on, int seconds) {
        byte[] b = Arrays.copyOf(intBytes(on ? 1 : 0), 8);
        System.arraycopy(intBytes(seconds), 0, b, 4, 4);
        return b;
    }

    /** Encodes a {@code struct timeval} as 8-byte seconds and 8-byte microseconds, little-endian. */
    public static byte[] timeval(long micros) {
        byte[] b = new byte[16];
        long sec = micros / 1_000_000;
        long usec = micros % 1_000_000;
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (sec >>> (8 * i));
            b[8 + i] = (byte) (usec >>> (8 * i));
        }
        return b;
    }

    /** Decodes a {@link #timeval} value into microseconds; EINVAL if malformed or negative. */
    public long timevalMicros() throws ErrnoException {
        if (val.length < 16) {
            throw new ErrnoException(Errno.EINVAL, "struct timeval needs 16 bytes, got " + val.length);
        }
        long sec = 0;
        long usec = 0;
        for (int i = 7; i >= 0; i--) {
            sec = sec << 8 | (val[i] & 0xff);
            usec = usec << 8 | (val[8 + i] & 0xff);
        }
        if (sec < 0 || usec < 0 || usec >= 1_000_000) {
            throw new ErrnoException(Errno.EDOM, "timeval " + sec + "s " + usec + "us");
        }
        return Math.multiplyExact(sec, 1_000_000L) + usec;
    }

    @Override
    public String toString() {
        return (isSet() ? "set " : "get ") + level + "/" + name + " " + Arrays.toString(val);
    }
}
