package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MtxTest {
    @Test
    @DisplayName("R-LOCK-1: recursion on a non-recursive mutex is an error naming the lock, not a deadlock")
    void recursionOnNonRecursiveMutexThrows() {
        Mtx m = new Mtx("test-nonrecursive");
        m.lock();
        try {
            assertThatThrownBy(m::lock)
                    .isInstanceOf(LockAssertionError.class)
                    .hasMessageContaining("recursed on non-recursive mutex \"test-nonrecursive\"");
            assertThat(m.getHoldCount()).isEqualTo(1);
        } finally {
            m.unlock();
        }
        assertThat(m.isLocked()).isFalse();
    }

    @Test
    @DisplayName("R-LOCK-1: a recursive mutex class allows recursion and counts it")
    void recursiveMutexRecurses() {
        Mtx m = new Mtx("test-recursive", LockClass.of("test-recursive", LockKind.MUTEX, true));
        m.lock();
        m.lock();
        assertThat(m.getHoldCount()).isEqualTo(2);
        m.unlock();
        m.assertOwned();
        m.unlock();
        m.assertNotOwned();
    }

    @Test
    @DisplayName("R-LOCK-1: unlock by a thread that does not own the mutex is an error")
    void unlockByNonOwnerThrows() throws Exception {
        Mtx m = new Mtx("test-owner");
        m.lock();
        AtomicReference<Throwable> seen = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Thread.ofPlatform().start(() -> {
            try {
                m.unlock();
            } catch (Throwable t) {
                seen.set(t);
            } finally {
                done.countDown();
            }
        });
        done.await();
        m.unlock();
        assertThat(seen.get()).isInstanceOf(LockAssertionError.class).hasMessageContaining("not owned");
    }

    @Test
    @DisplayName("R-LOCK-1: a class name cannot be reused with another kind")
    void classKindsDoNotMix() {
        LockClass.of("test-kind", LockKind.MUTEX, false);
        assertThatThrownBy(() -> LockClass.of("test-kind", LockKind.SX, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("test-kind");
    }
}
