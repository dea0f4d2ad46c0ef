package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.kern.FileTestSupport.read;
import static org.smpnet.kern.FileTestSupport.write;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PipeTest {
    private final Filedesc fdp = new Filedesc();
    private final int openBefore = File.openFiles();

    @AfterEach
    void closeAll() {
        fdp.closeAll();
        assertThat(fdp.count()).isZero();
    }

    private static ErrnoException errno(Errno e) {
        return new ErrnoException(e);
    }

    @Test
    @DisplayName("R-FD-1: bytes written at one end are read at the other, in order, both ways")
    void bothWays() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        assertThat(fds).containsExactly(0, 1);
        assertThat(write(fdp, fds[1], new byte[] {1, 2, 3}, 0)).isEqualTo(3);
        assertThat(write(fdp, fds[1], new byte[] {4}, 0)).isEqualTo(1);
        assertThat(read(fdp, fds[0], 2, 0)).containsExactly(1, 2);
        assertThat(read(fdp, fds[0], 10, 0)).containsExactly(3, 4);
        assertThat(write(fdp, fds[0], new byte[] {9, 8}, 0)).isEqualTo(2);
        assertThat(read(fdp, fds[1], 10, 0)).containsExactly(9, 8);
        File fp = fdp.get(fds[0]);
        try {
            assertThat(fp.stat()).isEqualTo(new File.FileStat(File.DTYPE_PIPE, 0, Pipe.PIPE_SIZE));
        } finally {
            fp.drop();
        }
    }

    @Test
    @DisplayName("R-FD-1: the ring buffer wraps around without losing or reordering bytes")
    void wraps() throws Exception {
        Pipe p = Pipe.create(Pipe.PIPE_BUF);
        try {
            byte next = 0;
            byte expect = 0;
            for (int round = 0; round < 50; round++) {
                int n = 1 + round * 37 % 300;
                byte[] out = new byte[n];
                for (int i = 0; i < n; i++) {
                    out[i] = next++;
                }
                assertThat(p.end(1).write(ByteBuffer.wrap(out), File.IO_NDELAY)).isEqualTo(n);
                ByteBuffer in = ByteBuffer.allocate(n);
                assertThat(p.end(0).read(in, File.IO_NDELAY)).isEqualTo(n);
                for (byte b : in.array()) {
                    assertThat(b).isEqualTo(expect++);
                }
            }
        } finally {
            p.end(0).dropOpen();
            p.end(1).dropOpen();
        }
    }

    @Test
    @DisplayName("R-FD-1: non-blocking read of an empty pipe and write to a full one fail with EAGAIN; a large write may be partial")
    void nonblocking() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        assertThatThrownBy(() -> read(fdp, fds[0], 10, File.IO_NDELAY)).isInstanceOf(ErrnoException.class)
                .extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EAGAIN);
        File w = fdp.get(fds[1]);
        try {
            w.setNonblock(true);
            assertThat(w.write(ByteBuffer.allocate(Pipe.PIPE_SIZE - 100), 0)).isEqualTo(Pipe.PIPE_SIZE - 100);
            assertThat(w.write(ByteBuffer.allocate(1000), 0)).as("partial large write").isEqualTo(100);
            assertThatThrownBy(() -> w.write(ByteBuffer.allocate(1), 0)).extracting(e -> ((ErrnoException) e).errno())
                    .isEqualTo(Errno.EAGAIN);
        } finally {
            w.drop();
        }
    }

    @Test
    @DisplayName("R-FD-1: writes of at most PIPE_BUF bytes are atomic: no partial write, a blocked one lands whole")
    void atomicSmallWrites() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        write(fdp, fds[1], Pipe.PIPE_SIZE - 100);
        assertThatThrownBy(() -> write(fdp, fds[1], new byte[200], File.IO_NDELAY)).extracting(e -> ((ErrnoException) e).errno())
                .isEqualTo(Errno.EAGAIN);
        File r = fdp.get(fds[0]);
        try {
            assertThat(r.stat().size()).isEqualTo(Pipe.PIPE_SIZE - 100);
        } finally {
            r.drop();
        }
        var writer = FileTestSupport.start("atomic-writer", () -> write(fdp, fds[1], new byte[Pipe.PIPE_BUF], 0));
        Thread.sleep(20);
        assertThat(writer.isDone()).isFalse();
        assertThat(read(fdp, fds[0], 300, 0)).hasSize(300); // room for 400 now: still not enough for 512
        Thread.sleep(20);
        assertThat(writer.isDone()).as("a 512-byte write must not land partly").isFalse();
        byte[] rest = read(fdp, fds[0], Pipe.PIPE_SIZE, 0);
        assertThat(rest).hasSize(Pipe.PIPE_SIZE - 400);
        assertThat(writer.get(10, TimeUnit.SECONDS)).isEqualTo(Pipe.PIPE_BUF);
        assertThat(read(fdp, fds[0], Pipe.PIPE_SIZE, 0)).hasSize(Pipe.PIPE_BUF);
    }

    @Test
    @DisplayName("R-FD-1: EOF once the writer is closed and the buffer drained; EPIPE once the reader is gone")
    void eofAndEpipe() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        write(fdp, fds[1], new byte[] {7}, 0);
        fdp.close(fds[1]);
        assertThat(read(fdp, fds[0], 10, 0)).containsExactly(7);
        assertThat(read(fdp, fds[0], 10, 0)).isEmpty();
        assertThat(read(fdp, fds[0], 10, File.IO_NDELAY)).isEmpty();

        int[] q = Pipe.pipe(fdp);
        fdp.close(q[0]);
        assertThatThrownBy(() -> write(fdp, q[1], 1)).extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EPIPE);
    }

    @Test
    @DisplayName("R-FD-1: a reader blocked in an empty pipe wakes with EOF when the writer closes")
    void blockedReaderSeesEof() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        var reader = FileTestSupport.start("eof-reader", () -> read(fdp, fds[0], 10, 0));
        Thread.sleep(10);
        fdp.close(fds[1]);
        assertThat(reader.get(10, TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    @DisplayName("R-FD-1: closing the descriptor a reader and a writer are blocked in wakes both with EBADF")
    void closeWakesBlockedWithEbadf() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        write(fdp, fds[0], Pipe.PIPE_SIZE); // fill end 1's buffer so a write on fd 0 blocks
        AtomicReference<Throwable> readErr = new AtomicReference<>();
        AtomicReference<Throwable> writeErr = new AtomicReference<>();
        Thread r = FileTestSupport.blockedThread("blocked-reader", () -> {
            try {
                read(fdp, fds[0], 10, 0);
            } catch (Throwable t) {
                readErr.set(t);
            }
        });
        Thread w = FileTestSupport.blockedThread("blocked-writer", () -> {
            try {
                write(fdp, fds[0], 10);
            } catch (Throwable t) {
                writeErr.set(t);
            }
        });
        File end0 = fdp.get(fds[0]);
        fdp.close(fds[0]);
        r.join(10_000);
        w.join(10_000);
        assertThat(readErr.get()).isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EBADF);
        assertThat(writeErr.get()).isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EBADF);
        assertThat(end0.isClosing()).isTrue();
        assertThat(end0.refcount()).isEqualTo(1);
        assertThatThrownBy(() -> end0.read(ByteBuffer.allocate(1), 0)).extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EBADF);
        assertThat(end0.drop()).as("our reference was the last").isTrue();
        // the peer sees the end of file, and writing to it fails
        assertThat(read(fdp, fds[1], Pipe.PIPE_SIZE, 0)).hasSize(Pipe.PIPE_SIZE);
        assertThat(read(fdp, fds[1], 10, 0)).isEmpty();
        assertThatThrownBy(() -> write(fdp, fds[1], 1)).extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EPIPE);
    }

    @Test
    @DisplayName("R-FD-1: interrupting a blocked reader fails it with EINTR")
    void interruptGivesEintr() throws Exception {
        int[] fds = Pipe.pipe(fdp);
        AtomicReference<Throwable> err = new AtomicReference<>();
        Thread r = FileTestSupport.blockedThread("interrupted-reader", () -> {
            try {
                read(fdp, fds[0], 10, 0);
            } catch (Throwable t) {
                err.set(t);
            }
        });
        r.interrupt();
        r.join(10_000);
        assertThat(err.get()).isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).errno()).isEqualTo(Errno.EINTR);
    }

    @Test
    @DisplayName("R-FD-1: every pipe end is finally closed once all descriptors and references are gone")
    void noLeak() throws Exception {
        for (int i = 0; i < 10; i++) {
            int[] fds = Pipe.pipe(fdp);
            int d = fdp.dup(fds[0]);
            fdp.close(fds[0]);
            fdp.close(fds[1]);
            fdp.close(d);
        }
        assertThat(File.openFiles()).isEqualTo(openBefore);
        assertThatThrownBy(() -> Pipe.create(100)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PIPE_BUF");
        assertThat(errno(Errno.EPIPE).getMessage()).startsWith("EPIPE");
    }
}
