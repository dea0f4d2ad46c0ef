package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;

/** Helpers for the file-layer tests: descriptor I/O as a "process" would do it, and blocked threads. */
final class FileTestSupport {
    private FileTestSupport() {}

    /** write(2) on a descriptor: fget, write, fdrop. */
    static int write(Filedesc fdp, int fd, byte[] data, int ioflags) throws ErrnoException {
        File fp = fdp.get(fd);
        try {
            return fp.write(ByteBuffer.wrap(data), ioflags);
        } finally {
            fp.drop();
        }
    }

    static int write(Filedesc fdp, int fd, int n) throws ErrnoException {
        return write(fdp, fd, new byte[n], 0);
    }

    /** read(2) on a descriptor into a fresh buffer of {@code max} bytes; returns the bytes read. */
    static byte[] read(Filedesc fdp, int fd, int max, int ioflags) throws ErrnoException {
        File fp = fdp.get(fd);
        try {
            ByteBuffer b = ByteBuffer.allocate(max);
            int n = fp.read(b, ioflags);
            assertThat(n).isEqualTo(b.position());
            byte[] out = new byte[n];
            b.flip().get(out);
            return out;
        } finally {
            fp.drop();
        }
    }

    /** Starts {@code body} on a new platform thread; the task's get() returns its result or throws its exception. */
    static <T> FutureTask<T> start(String name, Callable<T> body) {
        FutureTask<T> t = new FutureTask<>(body);
        Thread.ofPlatform().name(name).daemon().start(t);
        return t;
    }

    /** Waits (bounded) until {@code t} is parked/waiting, so a test knows it is blocked inside the call. */
    static void awaitBlocked(Thread t) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            if (System.nanoTime() > end) {
                throw new AssertionError(t.getName() + " never blocked: " + t.getState());
            }
            Thread.sleep(1);
        }
    }

    /** Runs {@code body} in a thread and returns that thread once it blocks. */
    static Thread blockedThread(String name, Runnable body) throws InterruptedException {
        Thread t = Thread.ofPlatform().name(name).daemon().start(body);
        awaitBlocked(t);
        return t;
    }
}
