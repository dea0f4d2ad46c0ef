package org.smpnet.netinet;

import org.smpnet.net.InAddr;

/**
 * An immutable snapshot of a PCB's addresses as hashed ({@code inp_inc}): lookups match on it without
 * taking the PCB lock and always see one consistent 4-tuple. Addresses are {@link InAddr#bits()}.
 */
public record InPcbEntry(InPcb inp, int laddr, int lport, int faddr, int fport) {
    boolean connected() {
        return faddr != 0;
    }

    InAddr localAddr() {
        return new InAddr(laddr);
    }
}
