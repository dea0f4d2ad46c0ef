package org.smpnet.net.bpf;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the packets of a capture file, pcap or pcapng alike; open one with {@link PcapFiles#open}.
 *
 * <p>Bad input ends the read with a {@link PcapFormatException} at the failing record, never with
 * another exception, a hang, or an allocation larger than the input: every length is checked
 * against the file before use. A truncated last record is such an error (there is no silent
 * "truncated" mode): the records before it were already returned by {@link #next()}. After an
 * exception the reader throws the same exception again.
 *
 * <p>Not thread-safe: use from one thread at a time. It holds no locks.
 */
public sealed interface PcapReader extends Closeable permits PcapClassicReader, PcapngReader {

    /** The next packet, or null at the end of the file. */
    PcapRecord next() throws IOException;

    PcapFormat format();

    /** The file's byte order (pcapng: of the current section). */
    ByteOrder byteOrder();

    /** Version of the file format (pcap: 2.4; pcapng: of the current section, 1.0). */
    int versionMajor();

    int versionMinor();

    /** Link types of the interfaces seen so far, distinct, in order of appearance (pcap: the one). */
    List<Integer> linkTypes();

    /** pcap: the header's snaplen; pcapng: the first interface's of the current section, or 0. */
    long snaplen();

    /** Packets returned so far. */
    long recordsRead();

    /** Reads every remaining packet. */
    default List<PcapRecord> readAll() throws IOException {
        List<PcapRecord> all = new ArrayList<>();
        for (PcapRecord r = next(); r != null; r = next()) {
            all.add(r);
        }
        return all;
    }
}
