package org.smpnet.net.bpf;

import java.io.Closeable;
import java.io.IOException;

/**
 * Writes packets to a pcap or pcapng file. Each {@link #write} is flushed to the underlying stream
 * before it returns, so a reader of the file sees whole records (like {@code tcpdump -U}).
 *
 * <p>Not thread-safe: use from one thread at a time. It holds no locks.
 */
public sealed interface PcapWriter extends Closeable permits PcapClassicWriter, PcapngWriter {

    /** Appends one packet and flushes it. Bad records get an IllegalArgumentException. */
    void write(PcapRecord r) throws IOException;
}
