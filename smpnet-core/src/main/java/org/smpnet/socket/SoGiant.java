package org.smpnet.socket;

import org.smpnet.kern.Giant;

/**
 * Giant around the protocol part of socket calls when {@code net.mpsafenet=0}.
 *
 * <p>The socket layer takes Giant only around protocol entry points, which never sleep, and may
 * hold the I/O sx of a socket buffer ({@code sbsx}) when it does: Giant after a sleepable lock,
 * which FreeBSD's WITNESS permits and ours does too ({@code Witness.giantExempt}). It cannot
 * deadlock against a thread that holds Giant and wants that sx, because no thread waits for an sx
 * while holding Giant: an sx acquisition that has to block first releases Giant and takes it back
 * once it has the sx ({@code SharedExclusiveLock}, FreeBSD's {@code GIANT_SAVE}). And the sections
 * run here do not sleep under Giant, so a Giant holder never waits for the sx holder otherwise.
 */
final class SoGiant {
    private SoGiant() {}

    /**
     * Takes Giant if the mode needs it; returns whether it did, for {@link #drop}. May block for
     * Giant; the caller may hold a socket buffer's I/O sx but no mutex.
     */
    static boolean pickup() {
        if (Giant.mpsafenet()) {
            return false;
        }
        Giant.GIANT.lock();
        return true;
    }

    static void drop(boolean taken) {
        Giant.drop(taken);
    }
}
