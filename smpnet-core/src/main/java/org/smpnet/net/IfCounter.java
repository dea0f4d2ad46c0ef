package org.smpnet.net;

/** Per-interface statistics ({@code ift_counter}); each is a per-CPU {@link org.smpnet.kern.Counter}. */
public enum IfCounter {
    IPACKETS, IERRORS, OPACKETS, OERRORS, COLLISIONS, IBYTES, OBYTES, IMCASTS, OMCASTS, IQDROPS, OQDROPS, NOPROTO;

    /** The sysctl/netstat name, e.g. {@code ipackets}. */
    public String sysctlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
