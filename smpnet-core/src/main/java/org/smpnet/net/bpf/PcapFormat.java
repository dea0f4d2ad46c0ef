package org.smpnet.net.bpf;

/** The kind of capture file, as told by its first four bytes. */
public enum PcapFormat {
    /** Classic pcap, microsecond timestamps (magic 0xa1b2c3d4). */
    PCAP_MICROS,
    /** Classic pcap, nanosecond timestamps (magic 0xa1b23c4d). */
    PCAP_NANOS,
    /** pcapng (first block a Section Header Block, type 0x0a0d0d0a). */
    PCAPNG
}
