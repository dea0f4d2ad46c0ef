package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FiledescTest {
    /** A file that counts its closing and close calls. */
    static final class CountingFile extends File {
        final AtomicInteger closings = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();

        CountingFile() {
            super(DTYPE_PIPE, FREAD | FWRITE);
        }

        @Override
        public int read(ByteBuffer dst, int ioflags) throws ErrnoException {
            checkOpen();
            return 0;
        }

        @Override
        public int write(ByteBuffer src, int ioflags) throws ErrnoException {
            checkOpen();
            int n = src.remaining();
            src.position(src.limit());
            return n;
        }

        @Override
        public int poll(int events, PollWaiter waiter) {
            return isClosing() ? Poll.POLLNVAL : events & Poll.POLLOUT;
        }

        @Override
        public void kqfilter(Knote kn) throws ErrnoException {
            throw new ErrnoException(Errno.EINVAL, "counting file");
        }

        @Override
        public FileStat stat() {
            return new FileStat(type(), 0, 0);
        }

        @Override
        protected void closing() {
            closings.incrementAndGet();
        }

        @Override
        protected void close() {
            assertThat(closings.get()).as("closing runs before close").isEqualTo(1);
            closes.incrementAndGet();
        }
    }

    private static Errno errnoOf(Throwable t) {
        return ((ErrnoException) t).errno();
    }

    @Test
    @DisplayName("R-FD-1: descriptors are the lowest free numbers; dup and dup2 share the file; close frees the slot")
    void allocation() throws Exception {
        Filedesc fdp = new Filedesc();
        CountingFile a = new CountingFile();
        CountingFile b = new CountingFile();
        assertThat(fdp.install(a)).isZero();
        assertThat(fdp.install(b)).isEqualTo(1);
        assertThat(fdp.dup(0)).isEqualTo(2);
        fdp.close(1);
        assertThat(b.closes.get()).isEqualTo(1);
        assertThat(fdp.dup(2)).as("lowest free slot").isEqualTo(1);
        assertThat(fdp.dup2(0, 7)).isEqualTo(7);
        assertThat(fdp.count()).isEqualTo(4);
        assertThat(a.refcount()).isEqualTo(4);
        CountingFile c = new CountingFile();
        assertThat(fdp.install(c)).isEqualTo(3);
        assertThat(fdp.dup2(0, 3)).isEqualTo(3);
        assertThat(c.closes.get()).as("dup2 closes what the target held").isEqualTo(1);
        assertThatThrownBy(() -> fdp.close(5)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThatThrownBy(() -> fdp.get(-1)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThatThrownBy(() -> fdp.dup2(0, -1)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EBADF);
        fdp.closeAll();
        assertThat(fdp.count()).isZero();
        assertThat(a.closings.get()).isEqualTo(1);
        assertThat(a.closes.get()).isEqualTo(1);
    }

    @Test
    @DisplayName("R-FD-1: a table that is full refuses with EMFILE and releases the file it was given")
    void emfile() throws Exception {
        Filedesc fdp = new Filedesc(2);
        fdp.install(new CountingFile());
        fdp.install(new CountingFile());
        CountingFile extra = new CountingFile();
        assertThatThrownBy(() -> fdp.install(extra)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EMFILE);
        assertThat(extra.closes.get()).isEqualTo(1);
        assertThatThrownBy(() -> fdp.dup(0)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EMFILE);
        fdp.closeAll();
    }

    @Test
    @DisplayName("R-FD-1: kern.maxfiles bounds the files of the whole JVM (ENFILE); kern.openfiles counts them")
    void maxfiles() throws Exception {
        Filedesc fdp = new Filedesc();
        int saved = File.maxFiles();
        int open = File.openFiles();
        assertThat(Sysctl.kernel().get("kern.openfiles")).isEqualTo(Integer.toString(open));
        Sysctl.kernel().set("kern.maxfiles", Integer.toString(open + 1));
        try {
            fdp.install(new CountingFile());
            CountingFile extra = new CountingFile();
            assertThatThrownBy(() -> fdp.install(extra)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.ENFILE);
            assertThat(extra.closes.get()).isEqualTo(1);
        } finally {
            Sysctl.kernel().set("kern.maxfiles", Integer.toString(saved));
            fdp.closeAll();
        }
        assertThat(File.openFiles()).isEqualTo(open);
    }

    @Test
    @DisplayName("R-FD-1: a reference held across close keeps the file alive but closing; the last drop closes it once")
    void heldAcrossClose() throws Exception {
        Filedesc fdp = new Filedesc();
        CountingFile f = new CountingFile();
        int fd = fdp.install(f);
        File held = fdp.get(fd);
        fdp.close(fd);
        assertThat(f.closings.get()).isEqualTo(1);
        assertThat(f.closes.get()).isZero();
        assertThatThrownBy(() -> held.write(ByteBuffer.allocate(1), 0)).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThatThrownBy(held::holdOpen).extracting(FiledescTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThat(held.drop()).isTrue();
        assertThat(f.closes.get()).isEqualTo(1);
        assertThatThrownBy(held::hold).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(held::drop).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @DisplayName("R-FD-1: an open reference in flight (SCM_RIGHTS-style) survives the sender's close and installs elsewhere")
    void inFlight() throws Exception {
        Filedesc sender = new Filedesc();
        Filedesc receiver = new Filedesc();
        CountingFile f = new CountingFile();
        int fd = sender.install(f);
        File fp = sender.get(fd);
        fp.holdOpen();
        fp.drop();
        sender.close(fd);
        assertThat(f.closings.get()).isZero();
        int rfd = receiver.install(fp);
        File again = receiver.get(rfd);
        try {
            assertThat(again.write(ByteBuffer.allocate(3), 0)).isEqualTo(3);
        } finally {
            again.drop();
        }
        receiver.closeAll();
        assertThat(f.closes.get()).isEqualTo(1);
    }
}
