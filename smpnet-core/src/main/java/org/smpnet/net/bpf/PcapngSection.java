package org.smpnet.net.bpf;

import java.nio.ByteOrder;
import java.util.List;

/**
 * A pcapng Section Header Block: byte order, version and options of the blocks that follow it, up
 * to the next section.
 *
 * @param index which section of the file, from 0
 * @param offset byte offset of the SHB in the file
 * @param byteOrder the byte order of every block in the section
 * @param sectionLength bytes of the section after the SHB, or -1 when unspecified; the reader checks
 *     a stated length when the section ends
 * @param options {@code shb_hardware} (2), {@code shb_os} (3), {@code shb_userappl} (4), comments
 */
public record PcapngSection(int index, long offset, ByteOrder byteOrder, int versionMajor, int versionMinor,
        long sectionLength, List<PcapngOption> options) {
    public static final int SHB_HARDWARE = 2;
    public static final int SHB_OS = 3;
    public static final int SHB_USERAPPL = 4;

    public PcapngSection {
        options = List.copyOf(options);
    }
}
