package org.smpnet.kern;

import java.util.Arrays;

/**
 * The open sections of one thread in one {@link Epoch}, innermost last: the INVARIANTS tracker
 * behind {@code assertInEpoch}, the self-wait check of {@code synchronize} and the nesting check of
 * {@code exit}. Touched only by its own thread.
 */
final class EpochSections {
    private int[] tokens = new int[4];
    int depth;

    void push(int token) {
        if (depth == tokens.length) {
            tokens = Arrays.copyOf(tokens, depth * 2);
        }
        tokens[depth++] = token;
    }

    /**
     * Removes the innermost section, which must be {@code token}'s.
     *
     * @throws IllegalStateException if this thread has no open section or another one is innermost
     */
    void pop(Epoch epoch, int token) {
        if (depth == 0) {
            throw new IllegalStateException("epoch " + epoch.name() + ": exit(0x" + Integer.toHexString(token)
                    + ") in thread " + Thread.currentThread().getName() + ", which has no open section");
        }
        if (tokens[depth - 1] != token) {
            throw new IllegalStateException("epoch " + epoch.name() + ": exit(0x" + Integer.toHexString(token)
                    + ") does not match the innermost section (token 0x" + Integer.toHexString(tokens[depth - 1])
                    + ") of thread " + Thread.currentThread().getName() + "; sections must nest");
        }
        depth--;
    }
}
