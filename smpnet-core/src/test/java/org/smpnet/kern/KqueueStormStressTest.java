package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A kqueue register/fire/close storm: registrars add, modify and delete knotes (read, write, timer,
 * user) on pipes through several kqueues, writers fill and drain the pipes, scanners collect
 * events, and a closer closes and replaces kqueues and pipes under all of them. Descriptors are
 * reused, so every thread also races with a descriptor that now means another file.
 *
 * <p>Checked continuously: every reported event is consistent with its filter (read data at least
 * the low-water mark and at most the buffer, write data at least PIPE_BUF unless EOF, timer counts
 * positive), no error other than those the races entitle. At the end, with every descriptor closed,
 * no knote is left in any kqueue, on any pipe, or in the JVM count, and no file is left open.
 */
@Tag("stress")
class KqueueStormStressTest {
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);
    private static final int PIPES = 6;
    private static final int KQS = 3;
    private static final Set<Errno> RACE_ERRORS = EnumSet.of(Errno.EBADF, Errno.ENOENT, Errno.EPIPE, Errno.EAGAIN,
            Errno.EINVAL, Errno.ENXIO);

    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Pipe.End> allEnds = new ConcurrentLinkedQueue<>();
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong changes = new AtomicLong();
    private final AtomicLong closes = new AtomicLong();

    private void violation(String what) {
        if (violations.size() < 20) {
            violations.add(what + " (" + Thread.currentThread().getName() + ")");
        }
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-KQ-1: kqueue register/fire/close storm: consistent events, no exception, no knote left behind")
    void storm(boolean mpsafenet) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafenet);
        int openBefore = File.openFiles();
        long knotesBefore = Kqueue.liveKnotes();
        Filedesc fdp = new Filedesc();
        AtomicIntegerArray pipeFds = new AtomicIntegerArray(PIPES * 2);
        AtomicIntegerArray kqFds = new AtomicIntegerArray(KQS);
        try {
            for (int i = 0; i < PIPES; i++) {
                newPipe(fdp, pipeFds, i);
            }
            for (int i = 0; i < KQS; i++) {
                kqFds.set(i, Kqueue.kqueue(fdp));
            }
            long end = System.nanoTime() + MILLIS * 1_000_000;
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                threads.add(Thread.ofPlatform().name("registrar-" + i).start(() -> loop(end, () -> register(fdp, pipeFds, kqFds))));
                threads.add(Thread.ofPlatform().name("writer-" + i).start(() -> loop(end, () -> io(fdp, pipeFds))));
                threads.add(Thread.ofPlatform().name("scanner-" + i).start(() -> loop(end, () -> scan(fdp, kqFds))));
            }
            threads.add(Thread.ofPlatform().name("closer").start(() -> loop(end, () -> closeSome(fdp, pipeFds, kqFds))));
            for (Thread t : threads) {
                t.join(MILLIS + 30_000);
                assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
            }
        } finally {
            fdp.closeAll();
            Giant.setMpsafenet(saved);
        }
        System.out.printf("kqueue storm mpsafenet=%s: %d changes, %d events, %d closes%n", mpsafenet, changes.get(), events.get(), closes.get());
        assertThat(violations).isEmpty();
        assertThat(changes.get()).isPositive();
        assertThat(closes.get()).isPositive();
        assertThat(Kqueue.liveKnotes()).as("knotes left in the JVM").isEqualTo(knotesBefore);
        for (Pipe.End e : allEnds) {
            assertThat(e.knoteCount()).as("knotes left on " + e).isZero();
            assertThat(e.refcount()).as("references left on " + e).isZero();
        }
        assertThat(File.openFiles()).as("files left open").isEqualTo(openBefore);
    }

    private interface Step {
        void run() throws ErrnoException;
    }

    private void loop(long end, Step step) {
        while (System.nanoTime() < end && violations.isEmpty()) {
            boolean giant = Giant.pickup(Kqueue.class);
            try {
                step.run();
            } catch (ErrnoException e) {
                if (!RACE_ERRORS.contains(e.errno())) {
                    violation("unexpected " + e);
                }
            } catch (Throwable t) {
                violation("unexpected " + t);
            } finally {
                Giant.drop(giant);
            }
        }
    }

    private void newPipe(Filedesc fdp, AtomicIntegerArray pipeFds, int i) throws ErrnoException {
        int[] p = Pipe.pipe(fdp);
        for (int fd : p) {
            File f = fdp.get(fd);
            allEnds.add((Pipe.End) f);
            f.drop();
        }
        pipeFds.set(2 * i, p[0]);
        pipeFds.set(2 * i + 1, p[1]);
    }

    private static Kqueue kqueue(Filedesc fdp, int fd) throws ErrnoException {
        File f = fdp.get(fd);
        if (f instanceof Kqueue kq) {
            return kq; // the caller drops
        }
        f.drop();
        throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " was reused for a non-kqueue");
    }

    private void register(Filedesc fdp, AtomicIntegerArray pipeFds, AtomicIntegerArray kqFds) throws ErrnoException {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        Kqueue kq = kqueue(fdp, kqFds.get(rnd.nextInt(KQS)));
        try {
            KEvent kev;
            int what = rnd.nextInt(10);
            if (what < 7) {
                int fd = pipeFds.get(rnd.nextInt(PIPES * 2));
                int filter = rnd.nextBoolean() ? KEvent.EVFILT_READ : KEvent.EVFILT_WRITE;
                int[] flagChoices = {KEvent.EV_ADD, KEvent.EV_ADD | KEvent.EV_CLEAR, KEvent.EV_ADD | KEvent.EV_ONESHOT,
                        KEvent.EV_ADD | KEvent.EV_DISPATCH, KEvent.EV_DELETE, KEvent.EV_DISABLE, KEvent.EV_ENABLE};
                int flags = flagChoices[rnd.nextInt(flagChoices.length)];
                boolean lowat = rnd.nextInt(4) == 0;
                kev = new KEvent(fd, filter, flags, lowat ? KEvent.NOTE_LOWAT : 0, lowat ? 1 + rnd.nextInt(2000) : 0, null);
            } else if (what < 9) {
                int flags = rnd.nextBoolean() ? KEvent.EV_ADD | (rnd.nextBoolean() ? KEvent.EV_ONESHOT : 0) : KEvent.EV_DELETE;
                kev = new KEvent(rnd.nextInt(4), KEvent.EVFILT_TIMER, flags, 0, 1, null);
            } else {
                int flags = rnd.nextBoolean() ? KEvent.EV_ADD | KEvent.EV_CLEAR : KEvent.EV_DELETE;
                int ff = rnd.nextBoolean() ? KEvent.NOTE_TRIGGER | KEvent.NOTE_FFOR | 1 : 0;
                kev = new KEvent(100 + rnd.nextInt(2), KEvent.EVFILT_USER, rnd.nextBoolean() ? flags : 0, ff, 5, null);
            }
            changes.incrementAndGet();
            kq.kevent(List.of(kev), null, Duration.ZERO);
        } finally {
            kq.drop();
        }
    }

    private void io(Filedesc fdp, AtomicIntegerArray pipeFds) throws ErrnoException {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        File fp = fdp.get(pipeFds.get(rnd.nextInt(PIPES * 2)));
        try {
            if (rnd.nextBoolean()) {
                fp.write(ByteBuffer.allocate(1 + rnd.nextInt(2 * Pipe.PIPE_BUF)), File.IO_NDELAY);
            } else {
                fp.read(ByteBuffer.allocate(1 + rnd.nextInt(4 * Pipe.PIPE_BUF)), File.IO_NDELAY);
            }
        } finally {
            fp.drop();
        }
    }

    private void scan(Filedesc fdp, AtomicIntegerArray kqFds) throws ErrnoException {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        Kqueue kq = kqueue(fdp, kqFds.get(rnd.nextInt(KQS)));
        try {
            KEvent[] ev = new KEvent[8];
            // never sleep holding Giant: only the zero timeout when this thread may hold it
            Duration timeout = Giant.GIANT.isHeldByCurrentThread() || rnd.nextBoolean() ? Duration.ZERO : Duration.ofMillis(1);
            int n = kq.kevent(List.of(), ev, timeout);
            for (int i = 0; i < n; i++) {
                check(ev[i]);
            }
            events.addAndGet(n);
        } finally {
            kq.drop();
        }
    }

    private void check(KEvent e) {
        boolean eof = e.has(KEvent.EV_EOF);
        boolean ok = switch (e.filter()) {
            case KEvent.EVFILT_READ -> e.data() >= (eof ? 0 : 1) && e.data() <= Pipe.PIPE_SIZE;
            case KEvent.EVFILT_WRITE -> eof ? e.data() == 0 : e.data() >= 1 && e.data() <= Pipe.PIPE_SIZE;
            case KEvent.EVFILT_TIMER -> !eof && e.data() >= 1;
            case KEvent.EVFILT_USER -> !eof && (e.fflags() & 1) == 1 && e.data() == 5;
            default -> false;
        };
        if (!ok || e.has(KEvent.EV_ERROR)) {
            violation("inconsistent event " + e);
        }
    }

    private void closeSome(Filedesc fdp, AtomicIntegerArray pipeFds, AtomicIntegerArray kqFds) throws ErrnoException {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        if (rnd.nextInt(4) == 0) {
            int i = rnd.nextInt(KQS);
            fdp.close(kqFds.get(i));
            kqFds.set(i, Kqueue.kqueue(fdp));
        } else {
            int i = rnd.nextInt(PIPES);
            int first = rnd.nextInt(2);
            fdp.close(pipeFds.get(2 * i + first));
            Thread.yield();
            fdp.close(pipeFds.get(2 * i + 1 - first));
            newPipe(fdp, pipeFds, i);
        }
        closes.incrementAndGet();
        Thread.yield();
    }
}
