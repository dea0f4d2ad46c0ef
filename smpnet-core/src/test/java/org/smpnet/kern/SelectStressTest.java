package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * select/poll with many pipes and writer threads, counting every wake-up that must happen. A writer
 * writes one byte into a pipe only while it is empty (it holds the pipe's token), so each write is
 * one that makes the pipe readable; the pollers, each watching its own half of the pipes, must
 * observe each such byte (read it and return the token). A poll that sleeps out its hang guard while
 * bytes are outstanding is a lost wake-up. At the end every byte written was observed exactly once.
 */
@Tag("stress")
class SelectStressTest {
    private static final long MILLIS = Long.getLong("smpnet.stress.millis", 1500);
    private static final int PIPES = 32;
    private static final int WRITERS = 4;
    private static final int POLLERS = 2;
    /** Only a hang detector: a correct poll wakes long before. */
    private static final Duration HANG_GUARD = Duration.ofSeconds(20);

    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

    private void violation(String what) {
        if (violations.size() < 20) {
            violations.add(what + " (" + Thread.currentThread().getName() + ")");
        }
    }

    @ParameterizedTest(name = "{0}, mpsafenet={1}")
    @CsvSource({"poll, true", "poll, false", "select, true", "select, false"})
    @DisplayName("R-SEL-1: select/poll over many pipes with concurrent writers: every write that makes a pipe readable is matched by a wake-up that observes it")
    void noLostWakeup(String api, boolean mpsafenet) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafenet);
        Filedesc fdp = new Filedesc();
        int[][] pipes = new int[PIPES][];
        Semaphore[] tokens = new Semaphore[PIPES];
        int[][] control = new int[POLLERS][];
        AtomicLong written = new AtomicLong();
        AtomicLong observed = new AtomicLong();
        AtomicLong wakeups = new AtomicLong();
        try {
            for (int i = 0; i < PIPES; i++) {
                pipes[i] = Pipe.pipe(fdp);
                tokens[i] = new Semaphore(1);
            }
            for (int k = 0; k < POLLERS; k++) {
                control[k] = Pipe.pipe(fdp);
            }
            List<Thread> pollers = new ArrayList<>();
            for (int k = 0; k < POLLERS; k++) {
                int me = k;
                pollers.add(Thread.ofPlatform().name("poller-" + k).start(
                        () -> poller(api, fdp, pipes, tokens, control[me], me, observed, wakeups)));
            }
            long end = System.nanoTime() + MILLIS * 1_000_000;
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int me = w;
                writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> writer(fdp, pipes, tokens, me, end, written)));
            }
            for (Thread t : writers) {
                t.join();
            }
            for (int k = 0; k < POLLERS; k++) {
                FileTestSupport.write(fdp, control[k][1], 1); // "no more writes"
            }
            for (Thread t : pollers) {
                t.join(HANG_GUARD.toMillis() * 2);
                assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
            }
        } finally {
            fdp.closeAll();
            Giant.setMpsafenet(saved);
        }
        System.out.printf("%s mpsafenet=%s: %d writes, %d observed, %d wake-ups%n", api, mpsafenet, written.get(), observed.get(), wakeups.get());
        assertThat(violations).isEmpty();
        assertThat(written.get()).isPositive();
        assertThat(observed.get()).as("every readable-making write observed").isEqualTo(written.get());
        assertThat(wakeups.get()).isPositive().isLessThanOrEqualTo(observed.get() + POLLERS);
    }

    private void writer(Filedesc fdp, int[][] pipes, Semaphore[] tokens, int me, long end, AtomicLong written) {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        try {
            while (System.nanoTime() < end && violations.isEmpty()) {
                int i = rnd.nextInt(PIPES);
                if (!tokens[i].tryAcquire()) {
                    Thread.yield(); // leave the CPU to the pollers
                    continue;
                }
                boolean giant = Giant.pickup(Pipe.class);
                try {
                    written.incrementAndGet();
                    FileTestSupport.write(fdp, pipes[i][1], new byte[] {(byte) me}, File.IO_NDELAY);
                } finally {
                    Giant.drop(giant);
                }
            }
        } catch (Throwable t) {
            violation("writer: " + t);
        }
    }

    private void poller(String api, Filedesc fdp, int[][] pipes, Semaphore[] tokens, int[] control, int me,
            AtomicLong observed, AtomicLong wakeups) {
        List<Integer> mine = new ArrayList<>();
        for (int i = me; i < PIPES; i += POLLERS) {
            mine.add(i);
        }
        try {
            boolean done = false;
            while (!done || outstanding(tokens, mine)) {
                // after "done" the control pipe is drained, so each pass still waits for data
                BitSet ready = "poll".equals(api) ? viaPoll(fdp, pipes, mine, control) : viaSelect(fdp, pipes, mine, control);
                if (ready.isEmpty()) {
                    violation("poller " + me + " slept out the hang guard with bytes outstanding: lost wake-up");
                    return;
                }
                wakeups.incrementAndGet();
                if (ready.get(control[0])) {
                    FileTestSupport.read(fdp, control[0], 8, File.IO_NDELAY);
                    done = true;
                }
                for (int i : mine) {
                    if (ready.get(pipes[i][0])) {
                        byte[] b = FileTestSupport.read(fdp, pipes[i][0], 8, File.IO_NDELAY);
                        if (b.length != 1) {
                            violation("pipe " + i + " held " + b.length + " bytes; one was expected");
                        }
                        observed.incrementAndGet();
                        tokens[i].release();
                    }
                }
            }
        } catch (Throwable t) {
            violation("poller: " + t);
        }
    }

    private static boolean outstanding(Semaphore[] tokens, List<Integer> mine) {
        for (int i : mine) {
            if (tokens[i].availablePermits() == 0) {
                return true;
            }
        }
        return false;
    }

    private static BitSet viaPoll(Filedesc fdp, int[][] pipes, List<Integer> mine, int[] control) throws ErrnoException {
        Poll.PollFd[] set = new Poll.PollFd[mine.size() + 1];
        for (int j = 0; j < mine.size(); j++) {
            set[j] = new Poll.PollFd(pipes[mine.get(j)][0], Poll.POLLIN);
        }
        set[mine.size()] = new Poll.PollFd(control[0], Poll.POLLIN);
        int n = Poll.poll(fdp, set, HANG_GUARD);
        BitSet ready = new BitSet();
        for (Poll.PollFd p : set) {
            if (p.revents() != 0) {
                ready.set(p.fd());
            }
        }
        assertThat(ready.cardinality()).isEqualTo(n);
        return ready;
    }

    private static BitSet viaSelect(Filedesc fdp, int[][] pipes, List<Integer> mine, int[] control) throws ErrnoException {
        BitSet rd = new BitSet();
        for (int i : mine) {
            rd.set(pipes[i][0]);
        }
        rd.set(control[0]);
        int n = Poll.select(fdp, rd.length(), rd, null, null, HANG_GUARD);
        assertThat(rd.cardinality()).isEqualTo(n);
        return rd;
    }
}
