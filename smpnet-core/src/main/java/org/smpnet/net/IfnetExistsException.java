package org.smpnet.net;

/** An interface name (or a vlan tag on a parent) is already taken ({@code EEXIST}). */
public final class IfnetExistsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public IfnetExistsException(String message) {
        super(message);
    }
}
