package org.smpnet.socket;

import java.util.concurrent.TimeUnit;
import org.smpnet.kern.Giant;

/**
 * Giant around the protocol part of socket calls when {@code net.mpsafenet=0}.
 *
 * <p>The socket layer takes Giant only around protocol entry points, which never sleep, while it
 * may hold the I/O sx of a socket buffer: the same arrangement FreeBSD's WITNESS permits explicitly
 * (Giant may follow a sleepable lock, because sleeping drops Giant). Our WITNESS has no such
 * exception and the declared order puts Giant first, so Giant is taken here with a timed try-lock,
 * which WITNESS does not treat as establishing an order. Nothing in the socket layer takes an sx or
 * sleeps while holding Giant, so the inversion cannot deadlock.
 */
final class SoGiant {
    private SoGiant() {}

    /** Takes Giant if the mode needs it; returns whether it did. May block for Giant. */
    static boolean pickup() {
        if (Giant.mpsafenet()) {
            return false;
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (Giant.GIANT.tryLock(Long.MAX_VALUE, TimeUnit.NANOSECONDS)) {
                        return true;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static void drop(boolean taken) {
        Giant.drop(taken);
    }
}
