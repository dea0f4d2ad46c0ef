package org.smpnet.socket;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A protocol family of one Vnet ({@code struct domain}): its family number and its protocols.
 *
 * <p>Locking: the protocol list is copy-on-write; registration may race with lookups, which see
 * the list as of some moment. Adding a protocol publishes it (happens-before) to later lookups.
 */
public final class Domain {
    private final int family;
    private final String name;
    private final List<Protosw> protosw = new CopyOnWriteArrayList<>();

    public Domain(int family, String name) {
        if (family <= 0 || family > 255) {
            throw new IllegalArgumentException("address family " + family + " not in 1..255");
        }
        this.family = family;
        this.name = Objects.requireNonNull(name, "name");
    }

    /** {@code dom_family}. */
    public int family() {
        return family;
    }

    public String name() {
        return name;
    }

    /**
     * Adds a protocol ({@code pf_proto_register}).
     *
     * @throws IllegalStateException if one with the same type and protocol number is already there
     */
    public void add(Protosw pr) {
        Objects.requireNonNull(pr, "pr");
        for (Protosw p : protosw) {
            if (p.type() == pr.type() && p.protocol() == pr.protocol()) {
                throw new IllegalStateException(name + ": " + SocketConst.typeName(pr.type()) + " protocol "
                        + pr.protocol() + " already registered (" + p.name() + ")");
            }
        }
        protosw.add(pr);
    }

    /** Removes a protocol; sockets already attached keep using it. */
    public boolean remove(Protosw pr) {
        return protosw.remove(pr);
    }

    /** The protocols, in registration order (a snapshot). */
    public List<Protosw> protosw() {
        return List.copyOf(protosw);
    }

    /**
     * The protocol for {@code socket(family, type, protocol)}: with protocol 0 the first of that type
     * ({@code pffindtype}); otherwise the exact match, or a raw protocol registered with number 0 as
     * the wildcard ({@code pffindproto}). Null if none.
     */
    public Protosw find(int type, int protocol) {
        Protosw wildcard = null;
        for (Protosw p : protosw) {
            if (p.type() != type) {
                continue;
            }
            if (protocol == 0 || p.protocol() == protocol) {
                return p;
            }
            if (type == SocketConst.SOCK_RAW && p.protocol() == 0 && wildcard == null) {
                wildcard = p;
            }
        }
        return wildcard;
    }

    /** Whether any protocol of this domain has socket type {@code type}. */
    public boolean hasType(int type) {
        for (Protosw p : protosw) {
            if (p.type() == type) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "Domain[" + name + " (" + family + ")]";
    }
}
