package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.kern.FileTestSupport.read;
import static org.smpnet.kern.FileTestSupport.write;
import static org.smpnet.kern.KEvent.EVFILT_READ;
import static org.smpnet.kern.KEvent.EVFILT_TIMER;
import static org.smpnet.kern.KEvent.EVFILT_USER;
import static org.smpnet.kern.KEvent.EVFILT_WRITE;
import static org.smpnet.kern.KEvent.EV_ADD;
import static org.smpnet.kern.KEvent.EV_CLEAR;
import static org.smpnet.kern.KEvent.EV_DELETE;
import static org.smpnet.kern.KEvent.EV_DISABLE;
import static org.smpnet.kern.KEvent.EV_DISPATCH;
import static org.smpnet.kern.KEvent.EV_ENABLE;
import static org.smpnet.kern.KEvent.EV_EOF;
import static org.smpnet.kern.KEvent.EV_ERROR;
import static org.smpnet.kern.KEvent.EV_ONESHOT;
import static org.smpnet.kern.KEvent.EV_RECEIPT;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class KqueueTest {
    private final ManualClock clock = new ManualClock();
    private final CalloutWheels wheels = new CalloutWheels("test-kq", clock, 1000, 1);
    private final Filedesc fdp = new Filedesc();
    private final long knotesBefore = Kqueue.liveKnotes();
    private final Kqueue kq = new Kqueue(fdp, wheels);
    private final int kqfd;

    KqueueTest() throws ErrnoException {
        kqfd = fdp.install(kq);
    }

    @AfterEach
    void tearDown() {
        fdp.closeAll();
        wheels.close();
        assertThat(Kqueue.liveKnotes()).as("every knote dropped").isEqualTo(knotesBefore);
    }

    private void change(KEvent... changes) throws ErrnoException {
        assertThat(kq.kevent(List.of(changes), null, Duration.ZERO)).isZero();
    }

    private List<KEvent> poll() throws ErrnoException {
        KEvent[] ev = new KEvent[16];
        int n = kq.kevent(List.of(), ev, Duration.ZERO);
        return Arrays.asList(ev).subList(0, n);
    }

    private static KEvent ev(long ident, int filter, int flags) {
        return KEvent.of(ident, filter, flags);
    }

    private static Errno errnoOf(Throwable t) {
        return ((ErrnoException) t).errno();
    }

    @Test
    @DisplayName("R-KQ-1: EVFILT_READ on a pipe reports the bytes buffered, level-triggered, with udata passed back")
    void readLevel() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(new KEvent(p[0], EVFILT_READ, EV_ADD, 0, 0, "tag"));
        assertThat(poll()).isEmpty();
        write(fdp, p[1], 10);
        List<KEvent> got = poll();
        assertThat(got).hasSize(1);
        assertThat(got.getFirst().ident()).isEqualTo(p[0]);
        assertThat(got.getFirst().filter()).isEqualTo(EVFILT_READ);
        assertThat(got.getFirst().data()).isEqualTo(10);
        assertThat(got.getFirst().udata()).isEqualTo("tag");
        assertThat(got.getFirst().has(EV_EOF)).isFalse();
        write(fdp, p[1], 5);
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(15L);
        read(fdp, p[0], 15, 0);
        assertThat(poll()).as("drained: no longer ready").isEmpty();
    }

    @Test
    @DisplayName("R-KQ-1: EV_CLEAR reports once per new activity; EV_ONESHOT once and then deletes")
    void clearAndOneshot() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(ev(p[0], EVFILT_READ, EV_ADD | EV_CLEAR));
        write(fdp, p[1], 3);
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(3L);
        assertThat(poll()).as("edge-triggered: nothing new").isEmpty();
        write(fdp, p[1], 2);
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(5L);

        int[] q = Pipe.pipe(fdp);
        change(ev(q[0], EVFILT_READ, EV_ADD | EV_ONESHOT));
        write(fdp, q[1], 1);
        assertThat(poll()).singleElement().satisfies(e -> assertThat(e.has(EV_ONESHOT)).isTrue());
        write(fdp, q[1], 1);
        assertThat(poll()).isEmpty();
        assertThatThrownBy(() -> change(ev(q[0], EVFILT_READ, EV_DELETE))).extracting(KqueueTest::errnoOf).isEqualTo(Errno.ENOENT);
    }

    @Test
    @DisplayName("R-KQ-1: EV_DISABLE holds events back, EV_ENABLE releases them, EV_DISPATCH disables after each report")
    void disableEnableDispatch() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(ev(p[0], EVFILT_READ, EV_ADD | EV_DISABLE));
        write(fdp, p[1], 4);
        assertThat(poll()).isEmpty();
        change(ev(p[0], EVFILT_READ, EV_ENABLE));
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(4L);
        change(ev(p[0], EVFILT_READ, EV_DISABLE));
        assertThat(poll()).isEmpty();
        change(ev(p[0], EVFILT_READ, EV_DELETE));
        assertThat(kq.knoteCount()).isZero();

        change(ev(p[0], EVFILT_READ, EV_ADD | EV_DISPATCH));
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(4L);
        write(fdp, p[1], 1);
        assertThat(poll()).as("dispatched: disabled until re-enabled").isEmpty();
        change(ev(p[0], EVFILT_READ, EV_ENABLE));
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(5L);
        assertThat(poll()).isEmpty();
    }

    @Test
    @DisplayName("R-KQ-1: EVFILT_WRITE reports the room in the peer's buffer; NOTE_LOWAT moves both thresholds")
    void writeAndLowat() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(ev(p[1], EVFILT_WRITE, EV_ADD));
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo((long) Pipe.PIPE_SIZE);
        write(fdp, p[1], Pipe.PIPE_SIZE - 100);
        assertThat(poll()).as("less than PIPE_BUF of room").isEmpty();
        change(new KEvent(p[1], EVFILT_WRITE, EV_ADD, KEvent.NOTE_LOWAT, 50, null));
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(100L);
        change(ev(p[1], EVFILT_WRITE, EV_DELETE));

        change(new KEvent(p[0], EVFILT_READ, EV_ADD, KEvent.NOTE_LOWAT, Pipe.PIPE_SIZE, null));
        assertThat(poll()).as("below the read low-water mark").isEmpty();
        write(fdp, p[1], 100);
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo((long) Pipe.PIPE_SIZE);
    }

    @Test
    @DisplayName("R-KQ-1: closing a pipe's writer gives EV_EOF to the reader's knote; a write knote on a widowed pipe is EPIPE")
    void eof() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(ev(p[0], EVFILT_READ, EV_ADD), ev(p[0], EVFILT_WRITE, EV_ADD | EV_DISABLE));
        write(fdp, p[1], 2);
        fdp.close(p[1]);
        assertThat(poll()).singleElement().satisfies(e -> {
            assertThat(e.has(EV_EOF)).isTrue();
            assertThat(e.data()).isEqualTo(2);
        });
        change(ev(p[0], EVFILT_WRITE, EV_ENABLE));
        assertThat(poll()).hasSize(2).allSatisfy(e -> assertThat(e.has(EV_EOF)).isTrue());
        change(ev(p[0], EVFILT_WRITE, EV_DELETE));
        assertThatThrownBy(() -> change(ev(p[0], EVFILT_WRITE, EV_ADD))).extracting(KqueueTest::errnoOf).isEqualTo(Errno.EPIPE);
    }

    @Test
    @DisplayName("R-KQ-1: closing a watched descriptor drops its knotes; an object closed under a dup'd knote reports EV_EOF once")
    void fdcloseDropsKnotes() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(ev(p[0], EVFILT_READ, EV_ADD), ev(p[1], EVFILT_WRITE, EV_ADD));
        assertThat(kq.knoteCount()).isEqualTo(2);
        Pipe.End end0 = (Pipe.End) fdp.get(p[0]);
        end0.drop();
        fdp.close(p[0]);
        assertThat(kq.knoteCount()).isEqualTo(1);
        assertThat(end0.knoteCount()).isZero();
        fdp.close(p[1]);
        assertThat(kq.knoteCount()).isZero();

        // a knote registered through another table's descriptor outlives this table's view of the file
        Filedesc other = new Filedesc();
        Kqueue kq2 = new Kqueue(other, wheels);
        int kq2fd = other.install(kq2);
        int[] q = Pipe.pipe(fdp);
        File fp = fdp.get(q[0]);
        fp.holdOpen();
        fp.drop();
        int ofd = other.install(fp);
        assertThat(kq2.kevent(List.of(ev(ofd, EVFILT_READ, EV_ADD)), null, Duration.ZERO)).isZero();
        fdp.close(q[0]);
        other.dup2(kq2fd, 9); // keeps kq2 open while ofd goes
        other.close(ofd);
        assertThat(kq2.knoteCount()).isZero();
        other.closeAll();
        fdp.close(q[1]);
    }

    @Test
    @DisplayName("R-KQ-1: EVFILT_TIMER counts expirations in virtual time; EV_ONESHOT fires once; bad periods are EINVAL")
    void timers() throws Exception {
        change(new KEvent(1, EVFILT_TIMER, EV_ADD, 0, 10, null));
        change(new KEvent(2, EVFILT_TIMER, EV_ADD | EV_ONESHOT, KEvent.NOTE_SECONDS, 1, null));
        assertThat(poll()).isEmpty();
        clock.advance(Duration.ofMillis(35));
        assertThat(poll()).singleElement().satisfies(e -> {
            assertThat(e.ident()).isEqualTo(1);
            assertThat(e.data()).as("expirations since last report").isEqualTo(3);
        });
        assertThat(poll()).isEmpty();
        clock.advance(Duration.ofMillis(1000));
        assertThat(poll()).extracting(KEvent::ident).containsExactlyInAnyOrder(1L, 2L);
        clock.advance(Duration.ofSeconds(2));
        assertThat(poll()).singleElement().extracting(KEvent::ident).isEqualTo(1L);
        assertThat(kq.knoteCount()).as("the one-shot timer is gone").isEqualTo(1);
        change(ev(1, EVFILT_TIMER, EV_DELETE));
        clock.advance(Duration.ofSeconds(1));
        assertThat(poll()).isEmpty();
        assertThat(wheels.pending()).isZero();
        assertThatThrownBy(() -> change(new KEvent(3, EVFILT_TIMER, EV_ADD, 0, -1, null))).extracting(KqueueTest::errnoOf)
                .isEqualTo(Errno.EINVAL);
        assertThatThrownBy(() -> change(new KEvent(3, EVFILT_TIMER, EV_ADD, KEvent.NOTE_SECONDS | KEvent.NOTE_USECONDS, 1, null)))
                .extracting(KqueueTest::errnoOf).isEqualTo(Errno.EINVAL);
        change(new KEvent(4, EVFILT_TIMER, EV_ADD, KEvent.NOTE_USECONDS, 500, null));
        change(ev(4, EVFILT_TIMER, EV_DISABLE));
        clock.advance(Duration.ofMillis(3));
        assertThat(poll()).isEmpty();
        change(ev(4, EVFILT_TIMER, EV_ENABLE));
        // 500 µs rounds up to one tick (1 ms at hz=1000): three expirations while disabled, all counted
        assertThat(poll()).singleElement().extracting(KEvent::data).isEqualTo(3L);
    }

    @Test
    @DisplayName("R-KQ-1: EVFILT_USER: NOTE_TRIGGER, NOTE_FFAND/FFOR/FFCOPY on the user flags, EV_CLEAR re-arms")
    void userEvents() throws Exception {
        change(new KEvent(42, EVFILT_USER, EV_ADD | EV_CLEAR, KEvent.NOTE_FFCOPY | 0x0f, 0, "u"));
        assertThat(poll()).isEmpty();
        change(new KEvent(42, EVFILT_USER, 0, KEvent.NOTE_TRIGGER | KEvent.NOTE_FFOR | 0x30, 7, null));
        assertThat(poll()).singleElement().satisfies(e -> {
            assertThat(e.fflags()).isEqualTo(0x3f);
            assertThat(e.data()).isEqualTo(7);
            assertThat(e.udata()).isEqualTo("u");
        });
        assertThat(poll()).isEmpty();
        change(new KEvent(42, EVFILT_USER, 0, KEvent.NOTE_TRIGGER | KEvent.NOTE_FFAND | 0x21, 0, null));
        assertThat(poll()).singleElement().extracting(KEvent::fflags).isEqualTo(0x21);
        change(new KEvent(43, EVFILT_USER, EV_ADD, 0, 0, null));
        change(new KEvent(43, EVFILT_USER, 0, KEvent.NOTE_TRIGGER, 0, null));
        assertThat(poll()).as("without EV_CLEAR it stays triggered").hasSize(1);
        assertThat(poll()).hasSize(1);
        change(ev(43, EVFILT_USER, EV_DELETE), ev(42, EVFILT_USER, EV_DELETE));
    }

    @Test
    @DisplayName("R-KQ-1: failed changes come back as EV_ERROR entries when there is room, EV_RECEIPT acknowledges each change")
    void errorsAndReceipts() throws Exception {
        int[] p = Pipe.pipe(fdp);
        KEvent[] out = new KEvent[4];
        int n = kq.kevent(List.of(ev(99, EVFILT_READ, EV_ADD), ev(p[0], EVFILT_READ, EV_ADD | EV_RECEIPT),
                ev(p[0], 123, EV_ADD), ev(kqfd, EVFILT_READ, EV_ADD)), out, null);
        assertThat(n).isEqualTo(4);
        assertThat(out).allSatisfy(e -> assertThat(e.has(EV_ERROR)).isTrue());
        assertThat(Arrays.stream(out).mapToLong(KEvent::data).toArray())
                .containsExactly(Errno.EBADF.number(), 0, Errno.EINVAL.number(), Errno.EINVAL.number());
        assertThatThrownBy(() -> change(ev(99, EVFILT_READ, EV_ADD))).extracting(KqueueTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThatThrownBy(() -> change(ev(p[0], EVFILT_WRITE, EV_DELETE))).extracting(KqueueTest::errnoOf).isEqualTo(Errno.ENOENT);
        assertThatThrownBy(() -> kq.kevent(List.of(), new KEvent[1], Duration.ofSeconds(-1))).extracting(KqueueTest::errnoOf)
                .isEqualTo(Errno.EINVAL);
    }

    @Test
    @DisplayName("R-KQ-1: a blocked kevent wakes for an event; closing the kqueue's descriptor wakes it with EBADF")
    void blockedKevent() throws Exception {
        int[] p = Pipe.pipe(fdp);
        change(ev(p[0], EVFILT_READ, EV_ADD));
        var waiter = FileTestSupport.start("kevent-waiter", () -> kq.kevent(List.of(), new KEvent[4], null));
        Thread.sleep(10);
        write(fdp, p[1], 1);
        assertThat(waiter.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(kq.kevent(List.of(), new KEvent[4], Duration.ofMillis(5))).isEqualTo(1);
        read(fdp, p[0], 1, 0);
        assertThat(kq.kevent(List.of(), new KEvent[4], Duration.ofMillis(5))).as("timeout").isZero();

        AtomicReference<Throwable> err = new AtomicReference<>();
        File held = fdp.get(kqfd);
        Thread t = FileTestSupport.blockedThread("kevent-closed", () -> {
            try {
                kq.kevent(List.of(), new KEvent[4], null);
            } catch (Throwable e) {
                err.set(e);
            }
        });
        fdp.close(kqfd);
        t.join(10_000);
        assertThat(err.get()).isInstanceOf(ErrnoException.class).extracting(KqueueTest::errnoOf).isEqualTo(Errno.EBADF);
        assertThat(kq.knoteCount()).isZero();
        Pipe.End end0 = (Pipe.End) fdp.get(p[0]);
        assertThat(end0.knoteCount()).isZero();
        end0.drop();
        assertThat(held.drop()).isTrue();
        assertThatThrownBy(() -> kq.kevent(List.of(), new KEvent[1], Duration.ZERO)).extracting(KqueueTest::errnoOf).isEqualTo(Errno.EBADF);
    }

    @Test
    @DisplayName("R-KQ-1: a kqueue polls readable while an event is queued; reading or writing it is ENXIO")
    void pollKqueue() throws Exception {
        assertThat(kq.poll(Poll.POLLIN, null)).isZero();
        change(new KEvent(1, EVFILT_USER, EV_ADD, KEvent.NOTE_TRIGGER, 0, null));
        assertThat(kq.poll(Poll.POLLIN, null)).isEqualTo(Poll.POLLIN);
        assertThat(kq.stat().size()).isEqualTo(1);
        assertThatThrownBy(() -> kq.read(java.nio.ByteBuffer.allocate(1), 0)).extracting(KqueueTest::errnoOf).isEqualTo(Errno.ENXIO);
        assertThatThrownBy(() -> kq.write(java.nio.ByteBuffer.allocate(1), 0)).extracting(KqueueTest::errnoOf).isEqualTo(Errno.ENXIO);
    }
}
