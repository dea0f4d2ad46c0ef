package org.smpnet.kern;

/**
 * A broken lock rule that would corrupt state or deadlock if execution went on: recursion on a
 * non-recursive lock, unlock by a non-owner, a failed ownership assertion. The kernel would panic.
 */
public final class LockAssertionError extends Error {
    private static final long serialVersionUID = 1L;

    public LockAssertionError(String message) {
        super(message);
    }
}
