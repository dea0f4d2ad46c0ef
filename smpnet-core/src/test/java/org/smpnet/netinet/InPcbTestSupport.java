package org.smpnet.netinet;

import java.util.Set;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.net.InAddr;

/** A PCB table over a fixed host: addresses 10.0.0.1, 10.0.0.2 and 127.0.0.1; 192.168/16 unreachable. */
final class InPcbTestSupport {
    static final InAddr A1 = InAddr.parse("10.0.0.1");
    static final InAddr A2 = InAddr.parse("10.0.0.2");
    static final Set<InAddr> LOCAL = Set.of(A1, A2, InAddr.LOOPBACK);

    private InPcbTestSupport() {}

    static final class FixedAddrs implements InPcbAddrs {
        @Override
        public boolean isLocal(InAddr a) {
            return LOCAL.contains(a);
        }

        @Override
        public InAddr source(InAddr dst) throws ErrnoException {
            if (dst.isLoopback()) {
                return InAddr.LOOPBACK;
            }
            if ((dst.bits() >>> 16) == 0xc0a8) {
                throw new ErrnoException(Errno.ENETUNREACH, "no route to " + dst);
            }
            return A1;
        }

        @Override
        public InAddr primary() {
            return A1;
        }
    }

    static InPcbInfo info(String name, int hashSize) {
        return new InPcbInfo(name, hashSize, new FixedAddrs(), new InPcbPortRange(new Sysctl()), 64);
    }

    /** {@link InPcbInfo#lookupLocked} as protocol input calls it: inside a net-epoch section. */
    static InPcb lookupLocked(InPcbInfo info, InAddr faddr, int fport, InAddr laddr, int lport, boolean wildcard) {
        int et = org.smpnet.kern.Epoch.NET.enter();
        try {
            return info.lookupLocked(faddr, fport, laddr, lport, wildcard);
        } finally {
            org.smpnet.kern.Epoch.NET.exit(et);
        }
    }
}
