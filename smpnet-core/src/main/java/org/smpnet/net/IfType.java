package org.smpnet.net;

/** Interface types ({@code IFT_*}, the numbers are IANA ifType values as in FreeBSD). */
public enum IfType {
    ETHER(0x06),
    LOOP(0x18),
    L2VLAN(0x87),
    TUNNEL(0x83),
    OTHER(0x01);

    private final int value;

    IfType(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }
}
