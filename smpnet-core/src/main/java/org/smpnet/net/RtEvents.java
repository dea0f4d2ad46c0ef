package org.smpnet.net;

/**
 * Where the routing code reports what changed ({@code rt_ifmsg}, {@code rt_newaddrmsg}, {@code rt_routemsg},
 * {@code rt_ifannouncemsg}, {@code rt_missmsg}). Called with no routing or address lock held; must not sleep.
 */
interface RtEvents {
    /** A route was added, deleted, changed or redirected ({@code RTM_ADD}...). */
    void route(int rtm, Rtentry rt);

    /** An address was added ({@code RTM_NEWADDR}) or deleted ({@code RTM_DELADDR}). */
    void addr(int rtm, Ifaddr ifa);

    /** An interface arrived or departs ({@code IFAN_ARRIVAL}, {@code IFAN_DEPARTURE}). */
    void ifAnnounce(Ifnet ifp, int what);

    /** An interface's flags or link state changed ({@code RTM_IFINFO}). */
    void ifInfo(Ifnet ifp);

    /** A lookup found no route ({@code RTM_MISS}). */
    void miss(Sockaddr dst);

    RtEvents NONE = new RtEvents() {
        @Override
        public void route(int rtm, Rtentry rt) {}

        @Override
        public void addr(int rtm, Ifaddr ifa) {}

        @Override
        public void ifAnnounce(Ifnet ifp, int what) {}

        @Override
        public void ifInfo(Ifnet ifp) {}

        @Override
        public void miss(Sockaddr dst) {}
    };
}
