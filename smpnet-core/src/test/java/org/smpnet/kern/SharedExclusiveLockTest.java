package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SharedExclusiveLockTest {
    @Test
    @DisplayName("R-LOCK-1: rw lock shared holds recurse; exclusive recursion on a non-recursive class is an error")
    void rwRecursionRules() {
        RwLock rw = new RwLock("test-rw");
        rw.readLock().lock();
        rw.readLock().lock();
        assertThat(rw.ownedShared()).isTrue();
        assertThatThrownBy(() -> rw.writeLock().lock())
                .isInstanceOf(LockAssertionError.class).hasMessageContaining("would deadlock");
        rw.readLock().unlock();
        rw.readLock().unlock();
        assertThat(rw.ownedByCurrentThread()).isFalse();

        rw.writeLock().lock();
        rw.assertExclusive();
        assertThatThrownBy(() -> rw.writeLock().lock())
                .isInstanceOf(LockAssertionError.class).hasMessageContaining("recursed on non-recursive rw \"test-rw\"");
        assertThatThrownBy(() -> rw.readLock().lock())
                .isInstanceOf(LockAssertionError.class).hasMessageContaining("test-rw");
        rw.writeLock().unlock();
        assertThatThrownBy(() -> rw.writeLock().unlock()).isInstanceOf(LockAssertionError.class);
        assertThatThrownBy(() -> rw.readLock().unlock()).isInstanceOf(LockAssertionError.class);
    }

    @Test
    @DisplayName("R-LOCK-1: a recursive sx class allows exclusive recursion")
    void recursiveSx() {
        Sx sx = new Sx("test-sx-rec", LockClass.of("test-sx-rec", LockKind.SX, true));
        sx.writeLock().lock();
        sx.writeLock().lock();
        sx.writeLock().unlock();
        sx.assertExclusive();
        sx.writeLock().unlock();
        sx.assertNotOwned();
    }

    @Test
    @DisplayName("R-LOCK-1: downgrade keeps the lock held shared with no writer in between")
    void downgrade() throws Exception {
        Sx sx = new Sx("test-sx-down");
        sx.writeLock().lock();
        sx.downgrade();
        assertThat(sx.ownedShared()).isTrue();
        assertThat(sx.ownedExclusively()).isFalse();
        CountDownLatch tried = new CountDownLatch(1);
        boolean[] writerGot = new boolean[1];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                writerGot[0] = sx.writeLock().tryLock(20, TimeUnit.MILLISECONDS);
                if (writerGot[0]) {
                    sx.writeLock().unlock();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                tried.countDown();
            }
        });
        tried.await();
        t.join();
        assertThat(writerGot[0]).isFalse();
        sx.readLock().unlock();
        assertThat(Witness.heldByCurrentThread()).isEmpty();
    }

    @Test
    @DisplayName("R-LOCK-1: readers share the lock concurrently; a writer excludes them")
    void readersShare() throws Exception {
        RwLock rw = new RwLock("test-rw-share");
        rw.readLock().lock();
        boolean[] otherReader = new boolean[1];
        boolean[] otherWriter = new boolean[1];
        Thread t = Thread.ofPlatform().start(() -> {
            otherReader[0] = rw.readLock().tryLock();
            if (otherReader[0]) {
                rw.readLock().unlock();
            }
            otherWriter[0] = rw.writeLock().tryLock();
            if (otherWriter[0]) {
                rw.writeLock().unlock();
            }
        });
        t.join();
        rw.readLock().unlock();
        assertThat(otherReader[0]).isTrue();
        assertThat(otherWriter[0]).isFalse();
    }

    @Test
    @DisplayName("R-LOCK-1: a class declared as rw cannot be used for an sx")
    void kindMismatch() {
        LockClass rwClass = LockClass.of("test-kind-rw", LockKind.RW, false);
        assertThatThrownBy(() -> new Sx("x", rwClass)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Mtx("x", rwClass)).isInstanceOf(IllegalArgumentException.class);
    }
}
