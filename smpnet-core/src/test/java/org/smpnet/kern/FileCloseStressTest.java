package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Closing descriptors while other threads are blocked in them: readers in a pipe, waiters in a
 * kqueue watching that pipe. Every blocked thread must return exactly once, with EBADF or with the
 * end of file it is entitled to, no other exception, and nothing may be left open or attached.
 * Bounded by {@code smpnet.stress.millis}; each round's outcome is checked when the round ends.
 */
@Tag("stress")
class FileCloseStressTest {
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);
    private static final int READERS = 3;
    private static final int WAITERS = 3;

    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

    private void violation(String what) {
        if (violations.size() < 20) {
            violations.add(what);
        }
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-FD-1/R-KQ-1: close of a descriptor with threads blocked in read and in kevent on it wakes each exactly once with EBADF or EOF")
    void closeWhileBlocked(boolean mpsafenet) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafenet);
        int openBefore = File.openFiles();
        long knotesBefore = Kqueue.liveKnotes();
        long rounds = 0;
        long ebadf = 0;
        long eof = 0;
        try {
            long end = System.nanoTime() + MILLIS * 1_000_000;
            while (System.nanoTime() < end) {
                long[] r = round();
                ebadf += r[0];
                eof += r[1];
                rounds++;
                assertThat(violations).as("violations after round " + rounds).isEmpty();
                assertThat(Kqueue.liveKnotes()).as("knotes after round " + rounds).isEqualTo(knotesBefore);
                assertThat(File.openFiles()).as("open files after round " + rounds).isEqualTo(openBefore);
            }
        } finally {
            Giant.setMpsafenet(saved);
        }
        System.out.printf("close-while-blocked mpsafenet=%s: %d rounds, %d EBADF, %d EOF%n", mpsafenet, rounds, ebadf, eof);
        assertThat(rounds).isPositive();
        assertThat(ebadf + eof).isEqualTo(rounds * (READERS + WAITERS));
        assertThat(ebadf).as("some thread must have seen EBADF").isPositive();
    }

    /** One round; returns {EBADF outcomes, EOF outcomes}. */
    private long[] round() throws Exception {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        Filedesc fdp = new Filedesc();
        int[] p = Pipe.pipe(fdp);
        int kqfd = fdp.install(new Kqueue(fdp, CalloutWheels.system()));
        List<Pipe.End> ends = new ArrayList<>();
        for (int fd : p) {
            File f = fdp.get(fd);
            ends.add((Pipe.End) f);
            f.drop();
        }
        kevent(fdp, kqfd, List.of(KEvent.of(p[0], KEvent.EVFILT_READ, KEvent.EV_ADD)), 0);
        // the order of the three closes decides what each thread may see
        int[] order = {p[0], p[1], kqfd};
        for (int i = 2; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        boolean writerFirst = indexOf(order, p[1]) < indexOf(order, p[0]);
        boolean writerBeforeKq = indexOf(order, p[1]) < indexOf(order, kqfd);
        AtomicInteger ebadf = new AtomicInteger();
        AtomicInteger eof = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < READERS; i++) {
            threads.add(Thread.ofVirtual().name("reader-" + i).start(() -> {
                try {
                    File fp = fdp.get(p[0]);
                    try {
                        int n = fp.read(ByteBuffer.allocate(8), 0);
                        if (n != 0 || !writerFirst) {
                            violation("read returned " + n + " (writer closed first: " + writerFirst + ")");
                        }
                        eof.incrementAndGet();
                    } finally {
                        fp.drop();
                    }
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EBADF) {
                        ebadf.incrementAndGet();
                    } else {
                        violation("reader: " + e);
                    }
                } catch (Throwable t) {
                    violation("reader: " + t);
                }
            }));
        }
        for (int i = 0; i < WAITERS; i++) {
            threads.add(Thread.ofVirtual().name("kevent-" + i).start(() -> {
                try {
                    KEvent[] ev = new KEvent[4];
                    int n = keventInto(fdp, kqfd, ev);
                    if (n != 1 || ev[0].ident() != p[0] || !ev[0].has(KEvent.EV_EOF) || !writerBeforeKq) {
                        violation("kevent returned " + n + " " + ev[0]);
                    }
                    eof.incrementAndGet();
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EBADF) {
                        ebadf.incrementAndGet();
                    } else {
                        violation("kevent: " + e);
                    }
                } catch (Throwable t) {
                    violation("kevent: " + t);
                }
            }));
        }
        if (rnd.nextBoolean()) {
            for (Thread t : threads) {
                FileTestSupport.awaitBlocked(t);
            }
        } else {
            Thread.onSpinWait();
        }
        boolean giant = Giant.pickup(Filedesc.class);
        try {
            for (int fd : order) {
                fdp.close(fd);
            }
        } finally {
            Giant.drop(giant);
        }
        for (Thread t : threads) {
            t.join(10_000);
            if (t.isAlive()) {
                violation(t.getName() + " still blocked after every close: lost wake-up");
            }
        }
        for (Pipe.End e : ends) {
            if (e.refcount() != 0 || e.knoteCount() != 0) {
                violation(e + " left with " + e.knoteCount() + " knotes");
            }
        }
        fdp.closeAll();
        return new long[] {ebadf.get(), eof.get()};
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static int kevent(Filedesc fdp, int kqfd, List<KEvent> changes, int room) throws ErrnoException {
        File fp = fdp.get(kqfd);
        try {
            return ((Kqueue) fp).kevent(changes, new KEvent[room], java.time.Duration.ZERO);
        } finally {
            fp.drop();
        }
    }

    private static int keventInto(Filedesc fdp, int kqfd, KEvent[] ev) throws ErrnoException {
        File fp = fdp.get(kqfd);
        try {
            return ((Kqueue) fp).kevent(List.of(), ev, null);
        } finally {
            fp.drop();
        }
    }
}
