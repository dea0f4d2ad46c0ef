package org.smpnet.netinet;

import java.util.List;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.InAddr;
import org.smpnet.net.InIfaddr;
import org.smpnet.net.NetAddrs;
import org.smpnet.net.Nexthop;
import org.smpnet.net.Rtable;

/**
 * {@link InPcbAddrs} over a stack's interface addresses and routing table. Every call enters the net
 * epoch itself and takes no lock (address lists and route lookups are lock-free), so it may be called
 * with the table and PCB locks held.
 */
public final class InPcbVnetAddrs implements InPcbAddrs {
    private final Rtable rtable;
    private final NetAddrs addrs;

    public InPcbVnetAddrs(Rtable rtable) {
        this.rtable = rtable;
        this.addrs = rtable.addrs();
    }

    @Override
    public boolean isLocal(InAddr a) {
        int et = Epoch.NET.enter();
        try {
            if (addrs.isLocal(a)) {
                return true;
            }
            for (InIfaddr ia : addrs.all()) {
                if (a.equals(ia.broadcast())) {
                    return true; // binding to a subnet broadcast address receives its broadcasts
                }
            }
            return false;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    /** {@code in_pcbladdr}: the destination itself if local, else the address of the route's interface. */
    @Override
    public InAddr source(InAddr dst) throws ErrnoException {
        int et = Epoch.NET.enter();
        try {
            if (addrs.isLocal(dst)) {
                return dst;
            }
            Nexthop nh = rtable.lookup(dst);
            if (nh == null) {
                if (dst.isMulticast() || dst.isLimitedBroadcast()) {
                    InAddr p = primaryIn();
                    if (p != null) {
                        return p;
                    }
                }
                throw new ErrnoException(Errno.ENETUNREACH, "no route to " + dst);
            }
            if (nh.isReject() || nh.isBlackhole()) {
                throw new ErrnoException(Errno.EHOSTUNREACH, "reject route to " + dst);
            }
            InAddr src = nh.src();
            if (src == null) {
                InIfaddr ia = addrs.firstIn(nh.ifp());
                src = ia == null ? null : ia.inAddr();
            }
            if (src == null) {
                throw new ErrnoException(Errno.EADDRNOTAVAIL, nh.ifp().name() + " has no IPv4 address");
            }
            return src;
        } finally {
            Epoch.NET.exit(et);
        }
    }

    @Override
    public InAddr primary() {
        int et = Epoch.NET.enter();
        try {
            return primaryIn();
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private InAddr primaryIn() {
        List<InIfaddr> all = addrs.all();
        for (InIfaddr ia : all) {
            if (!ia.inAddr().isLoopback()) {
                return ia.inAddr();
            }
        }
        return all.isEmpty() ? null : all.get(0).inAddr();
    }
}
