package org.smpnet.net;

/**
 * Address events ({@code ifaddr_event_ext}): ARP announces a new IPv4 address with a gratuitous request,
 * PCBs bound to a removed address learn it is gone. Called with no routing or address lock held, in the
 * thread that changed the address; must not block for long.
 */
public interface IfaddrListener {
    /** {@code ifa} is configured, its routes are installed. */
    default void added(Ifaddr ifa) {}

    /** {@code ifa} was removed with its routes; it stays valid for readers until the net epoch drains. */
    default void removed(Ifaddr ifa) {}
}
