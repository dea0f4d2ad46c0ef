package org.smpnet.net;

/** Use of an interface that has been detached (the errno a BSD kernel returns is ENXIO). */
public final class IfnetGoneException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public IfnetGoneException(String ifname, IfnetState state) {
        super("interface " + ifname + " is " + state.name().toLowerCase(java.util.Locale.ROOT) + " (ENXIO)");
    }
}
