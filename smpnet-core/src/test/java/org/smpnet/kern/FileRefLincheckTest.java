package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of {@link File}'s reference protocol: threads taking and releasing open
 * references (as {@code dup}/SCM_RIGHTS do) and plain references (as a system call does) race with
 * the close of the descriptor's reference. Sequentially a use before the close succeeds and one after
 * it fails with EBADF; concurrently every use must linearize as one or the other, and whatever the
 * interleaving {@code closing()} runs once, {@code close()} once and after it, and no operation runs
 * on a file whose close has run.
 */
class FileRefLincheckTest {
    /** A file that records protocol violations instead of throwing from inside the checker. */
    static final class Probe extends File {
        final AtomicInteger closings = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();
        final AtomicBoolean violated = new AtomicBoolean();

        Probe() {
            super(DTYPE_PIPE, FREAD);
        }

        @Override
        public int read(ByteBuffer dst, int ioflags) throws ErrnoException {
            checkOpen();
            if (closes.get() != 0) {
                violated.set(true); // an operation on a finally closed file
            }
            return 0;
        }

        @Override
        public int write(ByteBuffer src, int ioflags) throws ErrnoException {
            throw new ErrnoException(Errno.EBADF);
        }

        @Override
        public int poll(int events, PollWaiter waiter) {
            return 0;
        }

        @Override
        public void kqfilter(Knote kn) throws ErrnoException {
            throw new ErrnoException(Errno.EINVAL);
        }

        @Override
        public FileStat stat() {
            return new FileStat(type(), 0, 0);
        }

        @Override
        protected void closing() {
            if (closings.incrementAndGet() != 1) {
                violated.set(true);
            }
        }

        @Override
        protected void close() {
            if (closings.get() != 1 || closes.incrementAndGet() != 1) {
                violated.set(true);
            }
        }
    }

    /** The structure under test: one file whose only descriptor reference may be closed once. */
    public static class Model {
        private final Probe file = new Probe();
        private final AtomicBoolean tableClosed = new AtomicBoolean();

        /** close(fd): releases the descriptor's open reference (once). */
        @Operation(nonParallelGroup = "closer")
        public boolean closeFd() {
            if (tableClosed.compareAndSet(false, true)) {
                file.dropOpen();
                return true;
            }
            return false;
        }

        /** dup-and-close: an open reference taken and released; "ok" or "EBADF". */
        @Operation
        public String dupAndClose() {
            try {
                file.holdOpen();
            } catch (ErrnoException e) {
                return e.errno().name();
            }
            try {
                file.read(ByteBuffer.allocate(1), 0);
                return "ok";
            } catch (ErrnoException e) {
                return "late " + e.errno().name(); // must not happen: holding an open reference keeps it open
            } finally {
                file.dropOpen();
            }
        }

        /** Whether the protocol held so far. */
        @Operation
        public boolean intact() {
            return !file.violated.get();
        }
    }

    @Test
    @DisplayName("R-FD-1: Lincheck model checking: open references race the descriptor's close; closing and close run once, in order, never under a user")
    void modelChecking() {
        boolean was = Witness.isEnabled();
        Witness.setEnabled(false);
        try {
            new ModelCheckingOptions()
                    .invocationsPerIteration(100)
                    .iterations(3)
                    .threads(3)
                    .actorsPerThread(2)
                    .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(Witness.class.getName(), ErrnoException.class.getName(),
                            Errno.class.getName()).allMethods().ignore())
                    .check(Model.class);
        } finally {
            Witness.setEnabled(was);
        }
        assertThat(Witness.isEnabled()).isEqualTo(was);
    }
}
