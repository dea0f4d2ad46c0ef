package org.smpnet.netinet;

import org.smpnet.net.Ifnet;
import org.smpnet.net.InAddr;

/** Routing before any address is configured: only 127.0.0.0/8 on lo0. Immutable. */
final class LoopbackRouting implements InRouting {
    private final Ifnet lo0;

    LoopbackRouting(Ifnet lo0) {
        this.lo0 = lo0;
    }

    @Override
    public Hop lookup(InAddr dst) {
        return dst.isLoopback() ? new Hop(lo0, null, InAddr.LOOPBACK, 0) : null;
    }

    @Override
    public boolean isLocal(InAddr a) {
        return a.equals(InAddr.LOOPBACK);
    }

    @Override
    public boolean isLocalOn(InAddr a, Ifnet ifp) {
        return ifp == lo0 && isLocal(a);
    }

    @Override
    public boolean isBroadcast(InAddr a, Ifnet ifp) {
        return a.isLimitedBroadcast();
    }

    @Override
    public InAddr addressOn(Ifnet ifp) {
        return ifp == lo0 ? InAddr.LOOPBACK : null;
    }

    @Override
    public long generation() {
        return 0;
    }
}
