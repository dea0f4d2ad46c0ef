package org.smpnet.kern;

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

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A kernel event queue (FreeBSD {@code kern_event.c}): a file holding {@link Knote}s registered by
 * {@link #kevent}, and the queue of those whose filter said ready.
 *
 * <p>Filters: {@link KEvent#EVFILT_READ}/{@link KEvent#EVFILT_WRITE} on any descriptor of the
 * kqueue's {@link Filedesc} whose file supports them ({@link File#kqfilter}); {@link KEvent#EVFILT_TIMER}
 * on a {@link Callout} of the kqueue's {@link CalloutWheels} (virtual time with a {@link ManualClock});
 * {@link KEvent#EVFILT_USER}. Flags: EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR,
 * EV_DISPATCH, EV_RECEIPT. A kqueue cannot itself be watched by a kqueue (EINVAL), but can be polled.
 *
 * <p>Locking key: {@link #knotes}, {@link #active}, {@link #sleepers}, {@link #sel} and every
 * knote's status are guarded by {@link #lock} ("kqueue" class). Lock order: a watched object's lock
 * (its {@link KnList}'s), then {@link #lock}, then the "select" and callout-wheel leaves. The kqueue
 * never takes an object lock while holding {@link #lock}: it drops it first and marks the knote
 * {@code INFLUX} (registration) or {@code SCANNING} (reporting) so others leave it alone meanwhile.
 * Timer callouts run with {@link #lock} held (their mutex), so stopping one under it is final.
 *
 * <p>Concurrent register, fire and close are safe: every knote is dropped exactly once (by
 * EV_DELETE, EV_ONESHOT, its descriptor's close, its object's end, or the kqueue's close), and a
 * dropped knote is never reported. Closing the kqueue's last descriptor wakes threads blocked in
 * {@code kevent} with EBADF.
 *
 * <p>Memory effects: actions before an activation (under the object lock) happen-before the
 * {@code kevent} that reports it.
 */
public final class Kqueue extends File {
    /** Knotes registered and not yet dropped, in this JVM ({@code kern.kq.knotes}). */
    private static final AtomicLong LIVE_KNOTES = new AtomicLong();

    /** Identity of a knote in its kqueue. */
    private record Key(long ident, int filter) {}

    final Mtx lock = new Mtx("kqueue", "kqueue");
    /** kevent sleepers and threads waiting for an INFLUX knote. */
    private final Cv cv = lock.newCondition();
    private final Filedesc fdp;
    private final CalloutWheels wheels;
    @GuardedBy("lock")
    private final Map<Key, Knote> knotes = new HashMap<>();
    @GuardedBy("lock")
    private final ArrayDeque<Knote> active = new ArrayDeque<>();
    @GuardedBy("lock")
    private int sleepers;
    private final SelInfo sel = new SelInfo(lock);

    /** A kqueue for descriptors of {@code fdp}, with timers on {@code wheels}, not yet in any table. */
    public Kqueue(Filedesc fdp, CalloutWheels wheels) {
        super(DTYPE_KQUEUE, FREAD | FWRITE);
        this.fdp = fdp;
        this.wheels = wheels;
        fdp.addKqueue(this);
    }

    /** {@code kqueue(2)}: a new kqueue installed in {@code fdp}, timers on the system callout wheels. */
    public static int kqueue(Filedesc fdp) throws ErrnoException {
        return fdp.install(new Kqueue(fdp, CalloutWheels.system()));
    }

    /** Knotes registered in any kqueue of this JVM and not yet dropped. */
    public static long liveKnotes() {
        return LIVE_KNOTES.get();
    }

    /** Knotes registered here now. */
    public int knoteCount() {
        lock.lock();
        try {
            return knotes.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code kevent(2)}: applies {@code changes} in order, then, unless a change produced an error or
     * receipt entry, waits for ready events and fills {@code events}. Call holding a reference and
     * no lock; may sleep.
     *
     * <p>A change that fails puts an {@link KEvent#EV_ERROR} entry with the errno number in
     * {@code data} into {@code events} if there is room, and otherwise fails the call; with
     * {@link KEvent#EV_RECEIPT} a successful change also gives an entry, with {@code data} 0. Either
     * way the call then returns those entries without waiting.
     *
     * @param timeout null: wait as long as it takes; zero: do not wait
     * @return entries written to {@code events}
     * @throws ErrnoException EBADF if the kqueue is closed (also while waiting), EINTR if
     *     interrupted, EINVAL for a negative timeout, or a change's error when there is no room for it
     */
    public int kevent(List<KEvent> changes, KEvent[] events, Duration timeout) throws ErrnoException {
        if (timeout != null && timeout.isNegative()) {
            throw new ErrnoException(Errno.EINVAL, "negative kevent timeout " + timeout);
        }
        checkOpen();
        int room = events == null ? 0 : events.length;
        int n = 0;
        if (changes != null) {
            for (KEvent kev : changes) {
                try {
                    register(kev);
                    if ((kev.flags() & EV_RECEIPT) != 0 && n < room) {
                        events[n++] = new KEvent(kev.ident(), kev.filter(), kev.flags() | EV_ERROR, kev.fflags(), 0, kev.udata());
                    }
                } catch (ErrnoException e) {
                    if (n >= room) {
                        throw e;
                    }
                    events[n++] = new KEvent(kev.ident(), kev.filter(), kev.flags() | EV_ERROR, kev.fflags(),
                            e.errno().number(), kev.udata());
                }
            }
        }
        if (n > 0 || room == 0) {
            return n;
        }
        return scan(events, timeout);
    }

    // ---- registration ----

    private void register(KEvent kev) throws ErrnoException {
        int filter = kev.filter();
        if ((kev.flags() & ~(KEvent.EV_SYSFLAGS_IN)) != 0) {
            throw new ErrnoException(Errno.EINVAL, "unknown kevent flags 0x" + Integer.toHexString(kev.flags()));
        }
        switch (filter) {
            case EVFILT_READ, EVFILT_WRITE -> {
                if (kev.ident() < 0 || kev.ident() > Integer.MAX_VALUE) {
                    throw new ErrnoException(Errno.EBADF, "descriptor " + kev.ident());
                }
                File fp = fdp.get((int) kev.ident());
                try {
                    if (fp == this) {
                        throw new ErrnoException(Errno.EINVAL, "a kqueue cannot watch itself");
                    }
                    register(kev, fp);
                } finally {
                    fp.drop();
                }
            }
            case EVFILT_TIMER, EVFILT_USER -> register(kev, null);
            default -> throw new ErrnoException(Errno.EINVAL, "unsupported filter " + filter);
        }
    }

    private void register(KEvent kev, File fp) throws ErrnoException {
        Key key = new Key(kev.ident(), kev.filter());
        int flags = kev.flags();
        if (kev.filter() == EVFILT_TIMER && (flags & EV_ADD) != 0) {
            timerPeriod(kev); // refuse a bad period before touching anything
        }
        List<Knote> detach = new ArrayList<>(1);
        Knote kn;
        boolean created = false;
        lock.lock();
        try {
            while (true) {
                if (isClosing()) {
                    throw new ErrnoException(Errno.EBADF, "kqueue closed");
                }
                kn = knotes.get(key);
                if (kn != null && fp != null && kn.fp != fp) {
                    // its descriptor was closed and reused; the close's fdclose is on its way
                    if (dropLocked(kn)) {
                        detach.add(kn);
                    }
                    kn = null;
                }
                if (kn == null || (kn.status & Knote.INFLUX) == 0) {
                    break;
                }
                cv.awaitUninterruptibly();
            }
            if (kn == null) {
                if ((flags & EV_ADD) == 0) {
                    throw new ErrnoException(Errno.ENOENT, "no such event " + kev);
                }
                kn = new Knote(this, kev.ident(), kev.filter(), fp);
                kn.status = Knote.INFLUX;
                knotes.put(key, kn);
                LIVE_KNOTES.incrementAndGet();
                created = true;
            } else if ((flags & EV_DELETE) != 0) {
                if (dropLocked(kn)) {
                    detach.add(kn);
                }
                return;
            } else {
                kn.status |= Knote.INFLUX;
            }
            if ((flags & EV_ADD) != 0) {
                kn.sflags = flags & (EV_ONESHOT | EV_CLEAR | EV_DISPATCH);
                kn.udata = kev.udata();
                if (fp != null) {
                    kn.setSfflags(kev.fflags());
                    kn.setSdata(kev.data());
                }
            }
        } finally {
            lock.unlock();
            detachAll(detach);
        }
        try {
            if (created) {
                attach(kn, kev);
            }
        } catch (ErrnoException | RuntimeException e) {
            boolean detachNow;
            lock.lock();
            try {
                detachNow = unfluxLocked(kn, true);
            } finally {
                lock.unlock();
            }
            if (detachNow) {
                detachAll(List.of(kn)); // harmless when the attach never reached a list
            }
            throw e;
        }
        finishRegister(kn, kev, fp);
    }

    /** Attaches a new knote to its object; no lock held. */
    private void attach(Knote kn, KEvent kev) throws ErrnoException {
        switch (kn.filter) {
            case EVFILT_READ, EVFILT_WRITE -> {
                kn.fp.kqfilter(kn);
                if (kn.fop() == null || kn.knlist() == null) {
                    throw new IllegalStateException(kn.fp + " kqfilter did not attach " + kn + " to a knote list");
                }
            }
            case EVFILT_TIMER -> {
                timerPeriod(kev); // validates before anything is scheduled
                kn.setFop(TIMER_OPS);
            }
            case EVFILT_USER -> kn.setFop(USER_OPS);
            default -> throw new ErrnoException(Errno.EINVAL, "unsupported filter " + kn.filter);
        }
    }

    /**
     * Completes an add or modify: applies the user data of timer/user filters, evaluates the filter
     * (EV_ADD) and EV_ENABLE/EV_DISABLE, and lets other threads at the knote again. Takes the knote's
     * list lock, then {@link #lock}.
     */
    private void finishRegister(Knote kn, KEvent kev, File fp) throws ErrnoException {
        if (fp != null && !fdp.isCurrent((int) kev.ident(), fp)) {
            // the descriptor was closed while we attached; its fdclose may have missed this knote
            boolean dropNow;
            lock.lock();
            try {
                dropNow = unfluxLocked(kn, true);
            } finally {
                lock.unlock();
            }
            if (dropNow) {
                detachAll(List.of(kn));
            }
            throw new ErrnoException(Errno.EBADF, "descriptor " + kev.ident() + " closed during registration");
        }
        KnList knl = kn.knlist();
        if (knl != null) {
            knl.lock().lock();
        }
        boolean detachNow;
        try {
            lock.lock();
            try {
                detachNow = unfluxLocked(kn, false);
                if (!detachNow) {
                    applyLocked(kn, kev);
                }
            } finally {
                lock.unlock();
            }
        } finally {
            if (knl != null) {
                knl.lock().unlock();
            }
        }
        if (detachNow) {
            // dropped by a close of the kqueue or of the descriptor while it was in flux
            detachAll(List.of(kn));
            checkOpen();
        }
    }

    /** Applies an add/modify to a knote that is not dropping; {@link #lock} and the list lock held. */
    @GuardedBy("lock")
    private void applyLocked(Knote kn, KEvent kev) throws ErrnoException {
        int flags = kev.flags();
        if (kn.filter == EVFILT_USER) {
            userTouchLocked(kn, kev);
        }
        if ((flags & EV_DISABLE) != 0) {
            kn.status |= Knote.DISABLED;
        }
        if (kn.filter == EVFILT_TIMER && (flags & EV_ADD) != 0) {
            timerStartLocked(kn, kev);
        }
        if ((flags & EV_ADD) != 0 || kn.filter == EVFILT_USER) {
            boolean ready = kn.knlist() != null && !kn.onList ? true : kn.fop().event(kn, 0);
            if (ready) {
                kn.status |= Knote.ACTIVE;
            } else if ((kn.status & Knote.QUEUED) == 0) {
                kn.status &= ~Knote.ACTIVE;
            }
        }
        if ((flags & EV_ENABLE) != 0 || ((flags & EV_ADD) != 0 && (flags & EV_DISABLE) == 0)) {
            kn.status &= ~Knote.DISABLED;
        }
        if ((kn.status & (Knote.ACTIVE | Knote.QUEUED | Knote.DISABLED)) == Knote.ACTIVE) {
            enqueueLocked(kn);
        }
    }

    /**
     * Ends the caller's INFLUX on {@code kn} and, if {@code drop}, drops it. Returns whether the
     * caller must detach it: a knote dropped while in flux is left to its flux owner to detach.
     */
    @GuardedBy("lock")
    private boolean unfluxLocked(Knote kn, boolean drop) {
        kn.status &= ~Knote.INFLUX;
        cv.signalAll();
        if ((kn.status & Knote.DROPPING) != 0) {
            return true;
        }
        return drop && dropLocked(kn);
    }

    /**
     * Takes {@code kn} out of this kqueue ({@code knote_drop}, first half): marks it DROPPING, removes
     * it from the table and the active queue, stops its timer. Returns whether the caller must now
     * call its detach (after releasing {@link #lock}); false if it was already dropping, or if it is
     * in flux, whose owner detaches it when it finishes.
     */
    @GuardedBy("lock")
    private boolean dropLocked(Knote kn) {
        if ((kn.status & Knote.DROPPING) != 0) {
            return false;
        }
        kn.status |= Knote.DROPPING;
        knotes.remove(new Key(kn.ident, kn.filter), kn);
        if ((kn.status & Knote.QUEUED) != 0) {
            active.remove(kn);
            kn.status &= ~Knote.QUEUED;
        }
        if (kn.callout != null) {
            kn.callout.stop();
        }
        LIVE_KNOTES.decrementAndGet();
        return (kn.status & Knote.INFLUX) == 0;
    }

    /** Second half of dropping: detaches knotes from their objects. No lock held. */
    private static void detachAll(List<Knote> kns) {
        for (Knote kn : kns) {
            FilterOps ops = kn.fop();
            if (ops != null) {
                ops.detach(kn);
            }
        }
    }

    // ---- activation ----

    /** Called by {@link Knote#activate()} holding at most the knote's list lock. */
    void activate(Knote kn) {
        lock.lock();
        try {
            activateLocked(kn);
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private void activateLocked(Knote kn) {
        kn.status |= Knote.ACTIVE;
        if ((kn.status & (Knote.QUEUED | Knote.DISABLED | Knote.DROPPING | Knote.INFLUX | Knote.SCANNING)) == 0) {
            enqueueLocked(kn);
        }
    }

    @GuardedBy("lock")
    private void enqueueLocked(Knote kn) {
        kn.status |= Knote.QUEUED;
        active.addLast(kn);
        if (sleepers > 0) {
            cv.signalAll();
        }
        sel.wakeup();
    }

    // ---- scanning ----

    private int scan(KEvent[] events, Duration timeout) throws ErrnoException {
        Witness.checkSleep("kevent", null);
        long deadline = timeout == null ? 0 : System.nanoTime() + saturatedNanos(timeout);
        List<Knote> detach = new ArrayList<>();
        lock.lock();
        try {
            while (true) {
                checkOpen();
                if (active.isEmpty()) {
                    if (timeout != null && timeout.isZero()) {
                        return 0;
                    }
                    if (!sleep(timeout == null, deadline - System.nanoTime())) {
                        return 0;
                    }
                    continue;
                }
                int n = 0;
                for (int budget = active.size(); n < events.length && budget > 0 && !active.isEmpty(); budget--) {
                    Knote kn = active.pollFirst();
                    kn.status &= ~Knote.QUEUED;
                    if ((kn.status & (Knote.DISABLED | Knote.DROPPING)) != 0) {
                        continue;
                    }
                    KEvent ev = evaluateLocked(kn, detach);
                    if (ev != null) {
                        events[n++] = ev;
                    }
                }
                if (n > 0) {
                    return n;
                }
            }
        } finally {
            lock.unlock();
            detachAll(detach);
        }
    }

    /** Sleeps for an activation or close; false once {@code nanos} have run out (unless {@code forever}). */
    @GuardedBy("lock")
    private boolean sleep(boolean forever, long nanos) throws ErrnoException {
        if (!forever && nanos <= 0) {
            return false;
        }
        sleepers++;
        try {
            if (forever) {
                cv.await();
                return true;
            }
            cv.awaitNanos(nanos);
            return true;
        } catch (InterruptedException e) {
            throw new ErrnoException(Errno.EINTR, "kevent interrupted");
        } finally {
            sleepers--;
        }
    }

    private static long saturatedNanos(Duration d) {
        return d.compareTo(Duration.ofDays(365 * 100)) > 0 ? Long.MAX_VALUE / 4 : d.toNanos();
    }

    /**
     * Evaluates a dequeued knote and builds its event, or null if it is not ready any more. For a
     * knote with a list, drops {@link #lock}, takes the list lock, retakes {@link #lock}, so the
     * filter runs with both held and no activation can slip between its answer and the bookkeeping.
     */
    @GuardedBy("lock")
    private KEvent evaluateLocked(Knote kn, List<Knote> detach) {
        KnList knl = kn.knlist();
        if (knl == null) {
            return reportLocked(kn, kn.fop().event(kn, 0), detach);
        }
        kn.status |= Knote.SCANNING;
        lock.unlock();
        knl.lock().lock();
        try {
            lock.lock();
            kn.status &= ~Knote.SCANNING;
            if ((kn.status & (Knote.DROPPING | Knote.DISABLED)) != 0) {
                return null;
            }
            boolean ready = kn.onList ? kn.fop().event(kn, 0) : true;
            return reportLocked(kn, ready, detach);
        } finally {
            knl.lock().unlock();
        }
    }

    /** Builds the event of a ready knote and applies ONESHOT/CLEAR/DISPATCH; {@link #lock} held. */
    @GuardedBy("lock")
    private KEvent reportLocked(Knote kn, boolean ready, List<Knote> detach) {
        if (!ready) {
            kn.status &= ~Knote.ACTIVE;
            return null;
        }
        boolean gone = kn.knlist() != null && !kn.onList;
        int flags = EV_ADD | kn.sflags | (kn.eof() ? EV_EOF : 0);
        KEvent ev = switch (kn.filter) {
            case EVFILT_USER -> new KEvent(kn.ident, kn.filter, flags, kn.sfflags() & KEvent.NOTE_FFLAGSMASK, kn.sdata(), kn.udata);
            default -> new KEvent(kn.ident, kn.filter, flags, kn.fflags(), kn.data(), kn.udata);
        };
        if ((kn.sflags & EV_ONESHOT) != 0 || gone) {
            if (dropLocked(kn)) {
                detach.add(kn);
            }
            return ev;
        }
        if (kn.filter == EVFILT_TIMER) {
            kn.setData(0);
        }
        if ((kn.sflags & EV_CLEAR) != 0 || kn.filter == EVFILT_TIMER) {
            if (kn.filter == EVFILT_USER) {
                kn.triggered = false;
            }
            kn.setFflags(0);
            kn.status &= ~Knote.ACTIVE;
        }
        if ((kn.sflags & EV_DISPATCH) != 0) {
            kn.status |= Knote.DISABLED;
        }
        if ((kn.status & (Knote.ACTIVE | Knote.DISABLED)) == Knote.ACTIVE) {
            kn.status |= Knote.QUEUED;
            active.addLast(kn); // level-triggered: still ready, report again next time
        }
        return ev;
    }

    // ---- descriptor close ----

    /**
     * Descriptor {@code fd} of this kqueue's table, which held {@code fp}, was closed
     * ({@code knote_fdclose}): drops the knotes registered through it. Called with no lock held.
     */
    void fdclose(int fd, File fp) {
        List<Knote> detach = new ArrayList<>(2);
        lock.lock();
        try {
            for (int filter : new int[] {EVFILT_READ, EVFILT_WRITE}) {
                Knote kn = knotes.get(new Key(fd, filter));
                if (kn != null && kn.fp == fp && dropLocked(kn)) {
                    detach.add(kn);
                }
            }
        } finally {
            lock.unlock();
        }
        detachAll(detach);
    }

    // ---- timers ----

    private static final FilterOps TIMER_OPS = (kn, hint) -> kn.data() > 0;

    /** The period of a timer change; EINVAL if negative. */
    private static Duration timerPeriod(KEvent kev) throws ErrnoException {
        long v = kev.data();
        if (v < 0) {
            throw new ErrnoException(Errno.EINVAL, "negative timer period " + v);
        }
        int unit = kev.fflags() & (KEvent.NOTE_SECONDS | KEvent.NOTE_MSECONDS | KEvent.NOTE_USECONDS | KEvent.NOTE_NSECONDS);
        try {
            return switch (unit) {
                case KEvent.NOTE_SECONDS -> Duration.ofSeconds(v);
                case KEvent.NOTE_USECONDS -> Duration.ofNanos(Math.multiplyExact(v, 1000L));
                case KEvent.NOTE_NSECONDS -> Duration.ofNanos(v);
                case 0, KEvent.NOTE_MSECONDS -> Duration.ofMillis(v);
                default -> throw new ErrnoException(Errno.EINVAL, "more than one timer unit in fflags 0x" + Integer.toHexString(kev.fflags()));
            };
        } catch (ArithmeticException e) {
            throw new ErrnoException(Errno.EINVAL, "timer period " + v + " out of range");
        }
    }

    /** (Re)starts a timer knote's callout; {@link #lock} held, so a stop under it is final. */
    @GuardedBy("lock")
    private void timerStartLocked(Knote kn, KEvent kev) throws ErrnoException {
        Duration period = timerPeriod(kev);
        if (kn.callout == null) {
            kn.callout = new Callout(wheels, lock, Kqueue.class);
        }
        kn.setData(0);
        kn.status &= ~Knote.ACTIVE;
        kn.callout.reset(period, () -> timerFired(kn, period));
    }

    /** A timer expired: runs from the callout, whose mutex is {@link #lock}. */
    @SuppressWarnings("GuardedBy") // the callout holds lock around its handler; asserted
    private void timerFired(Knote kn, Duration period) {
        lock.assertOwned();
        timerFiredLocked(kn, period);
    }

    @GuardedBy("lock")
    private void timerFiredLocked(Knote kn, Duration period) {
        if ((kn.status & Knote.DROPPING) != 0) {
            return;
        }
        kn.setData(kn.data() + 1);
        activateLocked(kn);
        if ((kn.sflags & EV_ONESHOT) == 0) {
            kn.callout.reset(period, () -> timerFired(kn, period));
        }
    }

    // ---- user events ----

    private static final FilterOps USER_OPS = new FilterOps() {
        @Override
        public boolean event(Knote kn, long hint) {
            kn.kq.lock.assertOwned();
            return kn.triggered;
        }
    };

    /** EVFILT_USER's touch on register: NOTE_TRIGGER and the NOTE_FF* operations on the user flags; {@code kq.lock} held. */
    private static void userTouchLocked(Knote kn, KEvent kev) {
        int ff = kev.fflags();
        if ((ff & KEvent.NOTE_TRIGGER) != 0) {
            kn.triggered = true;
        }
        int v = ff & KEvent.NOTE_FFLAGSMASK;
        int cur = kn.sfflags();
        switch (ff & KEvent.NOTE_FFCTRLMASK) {
            case KEvent.NOTE_FFAND -> kn.setSfflags(cur & v);
            case KEvent.NOTE_FFOR -> kn.setSfflags(cur | v);
            case KEvent.NOTE_FFCOPY -> kn.setSfflags(v);
            default -> { }
        }
        if ((kev.flags() & EV_ADD) != 0 || (ff & KEvent.NOTE_TRIGGER) != 0) {
            kn.setSdata(kev.data());
        }
    }

    // ---- file operations ----

    /** Kqueues are not read: ENXIO, as in BSD. */
    @Override
    public int read(ByteBuffer dst, int ioflags) throws ErrnoException {
        throw new ErrnoException(Errno.ENXIO, "read on a kqueue");
    }

    /** Kqueues are not written: ENXIO, as in BSD. */
    @Override
    public int write(ByteBuffer src, int ioflags) throws ErrnoException {
        throw new ErrnoException(Errno.ENXIO, "write on a kqueue");
    }

    /** Readable (POLLIN/POLLRDNORM) while an event is queued. */
    @Override
    public int poll(int events, PollWaiter waiter) {
        lock.lock();
        try {
            if (isClosing()) {
                return Poll.POLLNVAL;
            }
            int revents = active.isEmpty() ? 0 : events & (Poll.POLLIN | Poll.POLLRDNORM);
            if (revents == 0) {
                sel.record(waiter);
            }
            return revents;
        } finally {
            lock.unlock();
        }
    }

    /** A kqueue cannot be watched by a kqueue here (EINVAL). */
    @Override
    public void kqfilter(Knote kn) throws ErrnoException {
        throw new ErrnoException(Errno.EINVAL, "kqueue on a kqueue is not supported");
    }

    @Override
    public FileStat stat() throws ErrnoException {
        checkOpen();
        lock.lock();
        try {
            return new FileStat(DTYPE_KQUEUE, active.size(), 0);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes kevent sleepers and pollers (they see EBADF / POLLNVAL) and drops every knote. */
    @Override
    protected void closing() {
        List<Knote> detach = new ArrayList<>();
        lock.lock();
        try {
            cv.signalAll();
            sel.wakeup();
            for (Knote kn : new ArrayList<>(knotes.values())) {
                if (dropLocked(kn)) {
                    detach.add(kn);
                }
            }
            active.clear();
        } finally {
            lock.unlock();
        }
        detachAll(detach);
        fdp.removeKqueue(this);
    }

    @Override
    protected void close() {
        lock.lock();
        try {
            if (!knotes.isEmpty()) {
                throw new IllegalStateException("kqueue finally closed with " + knotes.size() + " knotes left");
            }
        } finally {
            lock.unlock();
        }
    }
}
