package org.smpnet.kern;

/**
 * The operations of one kqueue filter on one kind of object (FreeBSD {@code struct filterops}).
 * A {@link File}'s {@link File#kqfilter} picks the ops for the knote's filter, sets them with
 * {@link Knote#setFop} and adds the knote to its object's {@link KnList}.
 */
public interface FilterOps {
    /**
     * Detaches {@code kn} from its object: called once, when the knote is dropped, with no lock
     * held; may take the object's lock. The default removes it from its {@link KnList}, which is
     * all an object-backed filter needs.
     */
    default void detach(Knote kn) {
        KnList l = kn.knlist();
        if (l != null) {
            l.detach(kn);
        }
    }

    /**
     * Recomputes {@code kn}'s state and says whether the event is ready ({@code f_event}). Sets
     * {@link Knote#setData}, {@link Knote#setFflags} and {@link Knote#setEof} as the filter defines.
     * Called with the knote's list lock held (the object's lock), from {@link KnList#knote} with
     * the object's {@code hint} or from the kqueue with hint 0. Must not sleep or take a kqueue lock.
     */
    boolean event(Knote kn, long hint);
}
