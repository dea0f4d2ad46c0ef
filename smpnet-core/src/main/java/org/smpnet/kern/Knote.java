package org.smpnet.kern;

/**
 * One registered event of one {@link Kqueue} (FreeBSD {@code struct knote}): the identity
 * ({@code ident}, {@code filter}), what the user asked for, and the filter's current state.
 *
 * <p>Locking key:
 * <ul>
 *   <li>(a) final: {@link #kq}, {@link #ident}, {@link #filter}, {@link #fp};
 *   <li>(k) the kqueue lock {@code kq.lock}: the status bits, the user flags, the timer callout;
 *   <li>(l) the knote's list lock ({@link KnList#lock()}, the watched object's own mutex), or
 *       {@code kq.lock} for filters without a list (timer, user): {@link #data}, {@link #fflags},
 *       {@link #eof}, written by {@link FilterOps#event} and read when the event is reported;
 *   <li>(m) the list lock: {@link #onList} (set by {@link KnList#add}, cleared when the knote
 *       leaves the list or the list is cleared);
 *   <li>(v) volatile, written under {@code kq.lock} before the knote is attached or when the user
 *       modifies it, read by filters under the list lock: {@link #sfflags}, {@link #sdata},
 *       {@link #fop}, {@link #knlist}.
 * </ul>
 * The guards are other objects' locks, so Error Prone cannot check them; {@link Kqueue} and
 * {@link KnList} are the only writers. Lock order: the list lock, then {@code kq.lock}. A knote
 * is dropped exactly once (the thread
 * that sets {@link #DROPPING} under {@code kq.lock} detaches it); afterwards activations are ignored.
 */
public final class Knote {
    /** Pending activation: the filter said ready since it was last reported or cleared. */
    static final int ACTIVE = 0x01;
    /** On the kqueue's active queue. */
    static final int QUEUED = 0x02;
    /** EV_DISABLE'd (or EV_DISPATCH'd): activations are remembered but not queued. */
    static final int DISABLED = 0x04;
    /** Being dropped: gone from the kqueue's table, detach pending or done. */
    static final int DROPPING = 0x08;
    /** Attach or modification in progress without {@code kq.lock}: others wait for it. */
    static final int INFLUX = 0x10;
    /** A scan is evaluating it: activations must not queue it a second time. */
    static final int SCANNING = 0x20;

    final Kqueue kq;
    final long ident;
    final int filter;
    /** The watched file (held by the kqueue's registration only through its descriptor), or null. */
    final File fp;

    int status;
    /** EV_ONESHOT, EV_CLEAR, EV_DISPATCH, EV_RECEIPT as last given by the user. */
    int sflags;
    Object udata;
    /** EVFILT_TIMER: its callout (with {@code kq.lock} as mutex). */
    Callout callout;
    /** EVFILT_USER: triggered and not yet cleared (written under {@code kq.lock}). */
    volatile boolean triggered;

    private volatile int sfflags;
    private volatile long sdata;
    private volatile FilterOps fop;
    private volatile KnList knlist;
    private volatile Object hook;

    private long data;
    private int fflags;
    private boolean eof;
    boolean onList;

    Knote(Kqueue kq, long ident, int filter, File fp) {
        this.kq = kq;
        this.ident = ident;
        this.filter = filter;
        this.fp = fp;
    }

    public long ident() {
        return ident;
    }

    /** The {@code EVFILT_*} number. */
    public int filter() {
        return filter;
    }

    /** The watched file, or null for filters not about a descriptor. */
    public File file() {
        return fp;
    }

    /** The filter flags the user passed ({@code kn_sfflags}), such as {@link KEvent#NOTE_LOWAT}. */
    public int sfflags() {
        return sfflags;
    }

    void setSfflags(int v) {
        sfflags = v;
    }

    /** The data the user passed ({@code kn_sdata}), such as the low-water mark. */
    public long sdata() {
        return sdata;
    }

    void setSdata(long v) {
        sdata = v;
    }

    /** The low-water mark: {@link #sdata()} if the user gave {@link KEvent#NOTE_LOWAT} and a positive value, else {@code dflt}. */
    public long lowat(long dflt) {
        return (sfflags & KEvent.NOTE_LOWAT) != 0 && sdata > 0 ? sdata : dflt;
    }

    FilterOps fop() {
        return fop;
    }

    /** Sets the filter ops; called by {@link File#kqfilter} before adding the knote to a list. */
    public void setFop(FilterOps ops) {
        fop = ops;
    }

    /** The list this knote was added to, or null. Fixed once set. */
    public KnList knlist() {
        return knlist;
    }

    void setKnlist(KnList l) {
        knlist = l;
    }

    /** The filter's object ({@code kn_hook}), as set by the filter's attach. */
    public Object hook() {
        return hook;
    }

    public void setHook(Object h) {
        hook = h;
    }

    /** Filter state, under the list lock (see the class key). */
    public long data() {
        return data;
    }

    public void setData(long d) {
        data = d;
    }

    public int fflags() {
        return fflags;
    }

    public void setFflags(int f) {
        fflags = f;
    }

    /** Whether the filter reported end of file ({@link KEvent#EV_EOF}). */
    public boolean eof() {
        return eof;
    }

    public void setEof(boolean e) {
        eof = e;
    }

    /** Whether the knote is on its list (under the list lock). */
    boolean onList() {
        return onList;
    }

    /**
     * Marks the event ready and queues it on its kqueue unless disabled or being dropped
     * ({@code KNOTE_ACTIVATE}). Takes {@code kq.lock}; callers hold at most the list lock.
     * Never sleeps.
     */
    void activate() {
        kq.activate(this);
    }

    @Override
    public String toString() {
        return "Knote[" + KEvent.filterName(filter) + " " + ident + "]";
    }
}
