package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;

/**
 * A descriptor table: one "process"'s open files, indexed by small integers (FreeBSD
 * {@code struct filedesc}, {@code kern_descrip.c}). Each slot owns one open reference
 * ({@link File#holdOpen()}) of its file.
 *
 * <p>Locking key: {@link #files}, {@link #freeHint}, {@link #nopen} and {@link #kqueues} are guarded
 * by {@link #lock} (class "filedesc"). It is held only for table updates, never while a file's lock
 * is taken or a file operation runs: files are closed ({@link File#dropOpen()}) and kqueues told
 * ({@code knote_fdclose}) after the slot is cleared and the lock released.
 *
 * <p>{@link #get} takes no lock ({@code fget_unlocked}): it reads the published array, takes a reference
 * and re-checks the slot; only when that races with a change does it fall back to the lock.
 *
 * <p>Memory effects: installing a file happens-before a {@link #get} that returns it.
 */
public final class Filedesc {
    /** Default limit of descriptors per table ({@code kern.maxfilesperproc}). */
    public static final int DEFAULT_MAXFILES = 1 << 16;

    private final Mtx lock = new Mtx("filedesc", "filedesc");
    private final int maxFiles;
    @GuardedBy("lock")
    private File[] files = new File[16];
    /** {@link #files} for lock-free {@link #get}: the same array, its slots written with release semantics. */
    private volatile File[] view = files;
    /** No free slot below this index. */
    @GuardedBy("lock")
    private int freeHint;
    @GuardedBy("lock")
    private int nopen;
    /** Kqueues created on this table: told when one of its descriptors closes. */
    @GuardedBy("lock")
    private final List<Kqueue> kqueues = new ArrayList<>();

    public Filedesc() {
        this(DEFAULT_MAXFILES);
    }

    /** A table of at most {@code maxFiles} descriptors. */
    public Filedesc(int maxFiles) {
        if (maxFiles < 1) {
            throw new IllegalArgumentException("a descriptor table needs room for at least one file, not " + maxFiles);
        }
        this.maxFiles = maxFiles;
    }

    /**
     * Puts {@code fp} in the lowest free slot ({@code finstall}), taking over the caller's open
     * reference (on failure the reference is released). Never sleeps.
     *
     * @return the descriptor
     * @throws ErrnoException EMFILE if the table is full, ENFILE if the JVM holds more than
     *     {@code kern.maxfiles} files
     */
    public int install(File fp) throws ErrnoException {
        if (File.openFiles() > File.maxFiles()) {
            fp.dropOpen();
            throw new ErrnoException(Errno.ENFILE, "kern.maxfiles (" + File.maxFiles() + ") reached");
        }
        int fd;
        lock.lock();
        try {
            fd = allocLocked();
            if (fd >= 0) {
                setSlot(fd, fp);
                nopen++;
                return fd;
            }
        } finally {
            lock.unlock();
        }
        fp.dropOpen();
        throw new ErrnoException(Errno.EMFILE, "descriptor table full (" + maxFiles + ")");
    }

    /** The lowest free slot, growing the array; -1 if the table is at its limit. */
    @GuardedBy("lock")
    private int allocLocked() {
        for (int i = freeHint; i < maxFiles; i++) {
            if (i >= files.length) {
                files = Arrays.copyOf(files, Math.min(maxFiles, Math.max(files.length * 2, i + 1)));
                view = files;
            }
            if (files[i] == null) {
                freeHint = i + 1;
                return i;
            }
        }
        return -1;
    }

    /**
     * The file open on {@code fd}, with a reference the caller must {@link File#drop()} ({@code fget}).
     * Never sleeps.
     *
     * @throws ErrnoException EBADF if {@code fd} is not open
     */
    public File get(int fd) throws ErrnoException {
        // fget_unlocked: take a reference on what the slot holds, then confirm the slot still holds it
        File[] t = view;
        if (fd >= 0 && fd < t.length) {
            File fp = (File) SLOT.getAcquire(t, fd);
            if (fp != null && fp.tryHold()) {
                if (SLOT.getAcquire(view, fd) == fp) {
                    return fp;
                }
                fp.drop(); // closed or replaced meanwhile: the locked lookup decides
            }
        }
        return getLocked(fd);
    }

    private File getLocked(int fd) throws ErrnoException {
        lock.lock();
        try {
            File fp = lookupLocked(fd);
            if (fp == null) {
                throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " is not open");
            }
            return fp.hold();
        } finally {
            lock.unlock();
        }
    }

    /** Writes a slot so that a lock-free {@link #get} that sees the file sees it fully installed. */
    @GuardedBy("lock")
    private void setSlot(int fd, File fp) {
        SLOT.setRelease(files, fd, fp);
    }

    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(File[].class);

    @GuardedBy("lock")
    private File lookupLocked(int fd) {
        return fd >= 0 && fd < files.length ? files[fd] : null;
    }

    /** Whether {@code fd} still refers to {@code fp} (a kqueue re-checks after attaching a knote). */
    boolean isCurrent(int fd, File fp) {
        lock.lock();
        try {
            return lookupLocked(fd) == fp;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes {@code fd} ({@code kern_close}): frees the slot, drops the kqueue registrations made
     * through it, and releases the slot's open reference (the last one wakes threads blocked in the
     * file with EBADF). Call with no lock held.
     *
     * @throws ErrnoException EBADF if {@code fd} is not open
     */
    public void close(int fd) throws ErrnoException {
        File fp;
        List<Kqueue> kqs;
        lock.lock();
        try {
            fp = lookupLocked(fd);
            if (fp == null) {
                throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " is not open");
            }
            freeLocked(fd);
            kqs = List.copyOf(kqueues);
        } finally {
            lock.unlock();
        }
        closed(fd, fp, kqs);
    }

    @GuardedBy("lock")
    private void freeLocked(int fd) {
        setSlot(fd, null);
        nopen--;
        if (fd < freeHint) {
            freeHint = fd;
        }
    }

    private static void closed(int fd, File fp, List<Kqueue> kqs) {
        for (Kqueue kq : kqs) {
            kq.fdclose(fd, fp);
        }
        fp.dropOpen();
    }

    /**
     * Duplicates {@code fd} onto the lowest free descriptor ({@code dup}).
     *
     * @throws ErrnoException EBADF, EMFILE
     */
    public int dup(int fd) throws ErrnoException {
        lock.lock();
        try {
            File fp = lookupLocked(fd);
            if (fp == null) {
                throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " is not open");
            }
            int nfd = allocLocked();
            if (nfd < 0) {
                throw new ErrnoException(Errno.EMFILE, "descriptor table full (" + maxFiles + ")");
            }
            fp.holdOpen();
            setSlot(nfd, fp);
            nopen++;
            return nfd;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes {@code newfd} refer to {@code fd}'s file, closing what {@code newfd} had ({@code dup2}).
     *
     * @throws ErrnoException EBADF if {@code fd} is not open or {@code newfd} is out of range
     */
    public int dup2(int fd, int newfd) throws ErrnoException {
        if (newfd < 0 || newfd >= maxFiles) {
            throw new ErrnoException(Errno.EBADF, "descriptor " + newfd + " out of range");
        }
        File old;
        List<Kqueue> kqs;
        lock.lock();
        try {
            File fp = lookupLocked(fd);
            if (fp == null) {
                throw new ErrnoException(Errno.EBADF, "descriptor " + fd + " is not open");
            }
            if (fd == newfd) {
                return newfd;
            }
            if (newfd >= files.length) {
                files = Arrays.copyOf(files, Math.min(maxFiles, Math.max(files.length * 2, newfd + 1)));
                view = files;
            }
            fp.holdOpen();
            old = files[newfd];
            setSlot(newfd, fp);
            if (old == null) {
                nopen++;
            }
            kqs = List.copyOf(kqueues);
        } finally {
            lock.unlock();
        }
        if (old != null) {
            closed(newfd, old, kqs);
        }
        return newfd;
    }

    /** Closes every descriptor (process exit, {@code fdescfree}). Call with no lock held. */
    public void closeAll() {
        File[] snapshot;
        List<Kqueue> kqs;
        lock.lock();
        try {
            snapshot = files.clone();
            for (int fd = 0; fd < files.length; fd++) {
                if (files[fd] != null) {
                    freeLocked(fd);
                }
            }
            kqs = List.copyOf(kqueues);
        } finally {
            lock.unlock();
        }
        for (int fd = 0; fd < snapshot.length; fd++) {
            if (snapshot[fd] != null) {
                closed(fd, snapshot[fd], kqs);
            }
        }
    }

    /** Open descriptors now. */
    public int count() {
        lock.lock();
        try {
            return nopen;
        } finally {
            lock.unlock();
        }
    }

    public int maxFiles() {
        return maxFiles;
    }

    void addKqueue(Kqueue kq) {
        lock.lock();
        try {
            kqueues.add(kq);
        } finally {
            lock.unlock();
        }
    }

    void removeKqueue(Kqueue kq) {
        lock.lock();
        try {
            kqueues.remove(kq);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Filedesc[" + count() + " open]";
    }
}
