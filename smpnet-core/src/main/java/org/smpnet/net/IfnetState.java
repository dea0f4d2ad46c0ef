package org.smpnet.net;

/**
 * The lifecycle of an interface (R-IF-1). Transitions only go forward:
 * ALLOCATED → ATTACHED → DETACHING → DETACHED. Only an ATTACHED interface is in the lists, and it is
 * fully initialised (per-address-family data included) before it becomes ATTACHED.
 */
public enum IfnetState {
    /** Being initialised by its driver; invisible to lookups. */
    ALLOCATED,
    /** In the interface lists; packets flow. */
    ATTACHED,
    /** Unlinked from the lists; waiting for the net epoch to drain in-flight users. */
    DETACHING,
    /** Torn down; every use fails with {@link IfnetGoneException}. */
    DETACHED
}
