package org.smpnet.net.bpf;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * The bytes of a capture file, read front to back, with the offset of each byte and, when known,
 * how many remain. Lengths read from the file are untrusted: {@link #readExactly} checks them against
 * what remains before allocating, and reads streams of unknown length in bounded steps, so a huge
 * length in a short file costs nothing.
 *
 * <p>Not thread-safe: confined to the reader that owns it.
 */
final class PcapInput implements Closeable {
    /** Largest single read we allocate for, whatever the file says (a block or record body). */
    static final int MAX_READ = 128 << 20;

    private final byte[] array;          // the whole file, or null for a stream
    private final InputStream in;        // the stream, or null for an array
    private final long length;           // total length, or -1 when unknown
    private long position;

    private PcapInput(byte[] array, InputStream in, long length) {
        this.array = array;
        this.in = in;
        this.length = length;
    }

    static PcapInput of(byte[] bytes) {
        return new PcapInput(bytes, null, bytes.length);
    }

    /** A stream; {@code length} is its total size when known (a file), else -1. */
    static PcapInput of(InputStream in, long length) {
        InputStream buffered = in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 65536);
        return new PcapInput(null, buffered, length);
    }

    long position() {
        return position;
    }

    /** Bytes left, or -1 when the total length is not known. */
    long remaining() {
        return length < 0 ? -1 : length - position;
    }

    /** Reads up to {@code n} bytes; returns how many were read, fewer only at the end of input. */
    int read(byte[] dst, int off, int n) throws IOException {
        int got;
        if (array != null) {
            got = (int) Math.min(n, array.length - position);
            System.arraycopy(array, (int) position, dst, off, got);
        } else {
            got = in.readNBytes(dst, off, n);
        }
        position += got;
        return got;
    }

    /**
     * Reads exactly {@code n} bytes of a structure starting at {@code start}; a short file is a
     * {@link PcapFormatException} naming {@code what}.
     */
    byte[] readExactly(long n, String what, long start, long index) throws IOException {
        if (n < 0 || n > MAX_READ) {
            throw new PcapFormatException(what + ": length " + n + " is out of range (0.." + MAX_READ + ")",
                    start, index);
        }
        long left = remaining();
        if (left >= 0 && n > left) {
            throw truncated(what, n, left, start, index);
        }
        if (array != null) {
            byte[] b = Arrays.copyOfRange(array, (int) position, (int) (position + n));
            position += n;
            return b;
        }
        byte[] b = in.readNBytes((int) n);   // grows step by step: no allocation of n up front
        position += b.length;
        if (b.length < n) {
            throw truncated(what, n, b.length, start, index);
        }
        return b;
    }

    private static PcapFormatException truncated(String what, long need, long have, long start, long index) {
        return new PcapFormatException("truncated " + what + ": needs " + need + " bytes, only " + have
                + " remain", start, index);
    }

    @Override
    public void close() throws IOException {
        if (in != null) {
            in.close();
        }
    }
}
