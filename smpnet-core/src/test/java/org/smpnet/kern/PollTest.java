package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.kern.FileTestSupport.read;
import static org.smpnet.kern.FileTestSupport.write;

import java.time.Duration;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PollTest {
    private final Filedesc fdp = new Filedesc();

    @AfterEach
    void tearDown() {
        fdp.closeAll();
    }

    private static Errno errnoOf(Throwable t) {
        return ((ErrnoException) t).errno();
    }

    @Test
    @DisplayName("R-SEL-1: poll reports POLLIN/POLLRDNORM with data, POLLOUT with room, POLLHUP after the peer's close, POLLNVAL for a closed descriptor")
    void pollBits() throws Exception {
        int[] p = Pipe.pipe(fdp);
        Poll.PollFd r = new Poll.PollFd(p[0], Poll.POLLIN | Poll.POLLRDNORM);
        Poll.PollFd w = new Poll.PollFd(p[1], Poll.POLLOUT);
        Poll.PollFd skipped = new Poll.PollFd(-1, Poll.POLLIN);
        Poll.PollFd bad = new Poll.PollFd(40, Poll.POLLIN);
        Poll.PollFd[] set = {r, w, skipped, bad};
        assertThat(Poll.poll(fdp, set, Duration.ZERO)).isEqualTo(2);
        assertThat(r.revents()).isZero();
        assertThat(w.revents()).isEqualTo(Poll.POLLOUT);
        assertThat(skipped.revents()).isZero();
        assertThat(bad.revents()).isEqualTo(Poll.POLLNVAL);
        write(fdp, p[1], 1);
        assertThat(Poll.poll(fdp, new Poll.PollFd[] {r}, Duration.ZERO)).isEqualTo(1);
        assertThat(r.revents()).isEqualTo(Poll.POLLIN | Poll.POLLRDNORM);
        write(fdp, p[1], Pipe.PIPE_SIZE - 1);
        assertThat(Poll.poll(fdp, new Poll.PollFd[] {w}, Duration.ZERO)).as("full").isZero();
        fdp.close(p[0]);
        assertThat(Poll.poll(fdp, new Poll.PollFd[] {w, r}, Duration.ZERO)).isEqualTo(2);
        assertThat(w.revents()).isEqualTo(Poll.POLLHUP);
        assertThat(r.revents()).isEqualTo(Poll.POLLNVAL);
    }

    @Test
    @DisplayName("R-SEL-1: a blocked poll wakes when a writer makes one of many pipes readable, and finds that one")
    void pollWakes() throws Exception {
        int n = 8;
        int[][] pipes = new int[n][];
        Poll.PollFd[] set = new Poll.PollFd[n];
        for (int i = 0; i < n; i++) {
            pipes[i] = Pipe.pipe(fdp);
            set[i] = new Poll.PollFd(pipes[i][0], Poll.POLLIN);
        }
        var poller = FileTestSupport.start("poller", () -> Poll.poll(fdp, set, null));
        Thread.sleep(10);
        write(fdp, pipes[5][1], 1);
        assertThat(poller.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(set[5].revents()).isEqualTo(Poll.POLLIN);
        assertThat(Poll.poll(fdp, new Poll.PollFd[] {set[0]}, Duration.ofMillis(5))).as("timeout").isZero();
        Pipe.End e = (Pipe.End) fdp.get(pipes[0][0]);
        try {
            assertThat(e.hasPollers()).as("a finished poll leaves no record behind").isFalse();
        } finally {
            e.drop();
        }
        assertThatThrownBy(() -> Poll.poll(fdp, set, Duration.ofSeconds(-1))).extracting(PollTest::errnoOf).isEqualTo(Errno.EINVAL);
    }

    @Test
    @DisplayName("R-SEL-1: a poller blocked on a descriptor that is closed wakes with POLLNVAL")
    void pollClosed() throws Exception {
        int[] p = Pipe.pipe(fdp);
        Poll.PollFd r = new Poll.PollFd(p[0], Poll.POLLIN);
        var poller = FileTestSupport.start("poller-closed", () -> Poll.poll(fdp, new Poll.PollFd[] {r}, null));
        Thread.sleep(10);
        fdp.close(p[0]);
        assertThat(poller.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(r.revents()).isEqualTo(Poll.POLLNVAL);
    }

    @Test
    @DisplayName("R-SEL-1: select fills the read and write sets, times out with empty sets, and refuses a closed descriptor with EBADF")
    void select() throws Exception {
        int[] p = Pipe.pipe(fdp);
        int[] q = Pipe.pipe(fdp);
        BitSet rd = new BitSet();
        rd.set(p[0]);
        rd.set(q[0]);
        BitSet wr = new BitSet();
        wr.set(p[1]);
        BitSet ex = new BitSet();
        ex.set(p[0]);
        assertThat(Poll.select(fdp, 8, rd, wr, ex, Duration.ZERO)).isEqualTo(1);
        assertThat(rd.isEmpty()).isTrue();
        assertThat(wr.stream().toArray()).containsExactly(p[1]);
        assertThat(ex.isEmpty()).isTrue();

        BitSet rd2 = new BitSet();
        rd2.set(p[0]);
        rd2.set(q[0]);
        var selector = FileTestSupport.start("selector", () -> Poll.select(fdp, 8, rd2, null, null, null));
        Thread.sleep(10);
        write(fdp, q[1], 3);
        assertThat(selector.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(rd2.stream().toArray()).containsExactly(q[0]);
        read(fdp, q[0], 3, 0);

        BitSet rd3 = new BitSet();
        rd3.set(p[0]);
        assertThat(Poll.select(fdp, 8, rd3, null, null, Duration.ofMillis(5))).isZero();
        assertThat(rd3.isEmpty()).isTrue();
        BitSet bad = new BitSet();
        bad.set(7);
        assertThatThrownBy(() -> Poll.select(fdp, 8, bad, null, null, Duration.ZERO)).extracting(PollTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThatThrownBy(() -> Poll.select(fdp, -1, null, null, null, Duration.ZERO)).extracting(PollTest::errnoOf).isEqualTo(Errno.EINVAL);
        fdp.close(p[1]);
        BitSet hup = new BitSet();
        hup.set(p[0]);
        assertThat(Poll.select(fdp, 8, hup, null, null, null)).as("EOF counts as readable").isEqualTo(1);
    }

    @Test
    @DisplayName("R-SEL-1: an interrupted poll fails with EINTR")
    void interrupted() throws Exception {
        int[] p = Pipe.pipe(fdp);
        java.util.concurrent.atomic.AtomicReference<Throwable> err = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = FileTestSupport.blockedThread("poll-intr", () -> {
            try {
                Poll.poll(fdp, new Poll.PollFd[] {new Poll.PollFd(p[0], Poll.POLLIN)}, null);
            } catch (Throwable e) {
                err.set(e);
            }
        });
        t.interrupt();
        t.join(10_000);
        assertThat(err.get()).isInstanceOf(ErrnoException.class).extracting(PollTest::errnoOf).isEqualTo(Errno.EINTR);
    }
}
