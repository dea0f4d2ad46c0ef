package org.smpnet.net.bpf;

import java.io.IOException;

/**
 * A capture file (pcap or pcapng) is malformed or truncated. The message names what was wrong, the
 * byte offset in the file where the bad structure starts, and the index of the record (packet or
 * block) being read, counting from 0.
 *
 * <p>Readers throw only this for bad input; a plain {@link IOException} means the underlying stream
 * failed.
 */
public final class PcapFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long offset;
    private final long recordIndex;

    public PcapFormatException(String what, long offset, long recordIndex) {
        super(what + " (at byte offset " + offset + ", record #" + recordIndex + ")");
        this.offset = offset;
        this.recordIndex = recordIndex;
    }

    /** The byte offset in the file where the bad header, block or record starts. */
    public long offset() {
        return offset;
    }

    /** The index (from 0) of the record or block being read when the error was found. */
    public long recordIndex() {
        return recordIndex;
    }
}
