package org.smpnet.net.bpf;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Entry points for capture files: open any pcap or pcapng file by its magic, or create one.
 *
 * <p>{@link #readAll(byte[])} is a pure function of its bytes (no I/O, no global state): the target
 * for fuzzing. Every method is safe to call from any thread; the readers and writers it returns are
 * not shared objects.
 */
public final class PcapFiles {
    private PcapFiles() {
    }

    /** The format a file starting with these bytes is in; at least 4 bytes are needed. */
    public static PcapFormat sniff(byte[] head, int length) throws PcapFormatException {
        if (length < 4) {
            throw new PcapFormatException("too short for a capture file: " + length + " bytes", 0, 0);
        }
        int be = PcapBytes.s32(head, 0, ByteOrder.BIG_ENDIAN);
        for (int magic : new int[] {be, Integer.reverseBytes(be)}) {
            if (magic == PcapClassicReader.MAGIC_MICROS) {
                return PcapFormat.PCAP_MICROS;
            }
            if (magic == PcapClassicReader.MAGIC_NANOS) {
                return PcapFormat.PCAP_NANOS;
            }
        }
        if (be == PcapngBlock.SHB) {
            return PcapFormat.PCAPNG;
        }
        throw new PcapFormatException(String.format("not a pcap or pcapng file: magic 0x%08x", be), 0, 0);
    }

    /** Opens a capture held in memory (the array is not copied; do not change it while reading). */
    public static PcapReader open(byte[] bytes) throws IOException {
        return open(PcapInput.of(bytes), bytes);
    }

    /** Opens a capture file; the reader owns the file until closed. */
    public static PcapReader open(Path file) throws IOException {
        long size = Files.size(file);
        BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), 65536);
        try {
            return open(in, size);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Opens a capture read from a stream of unknown length; the reader closes it. */
    public static PcapReader open(InputStream stream) throws IOException {
        return open(new BufferedInputStream(stream, 65536), -1);
    }

    private static PcapReader open(BufferedInputStream in, long size) throws IOException {
        byte[] head = new byte[4];
        in.mark(4);
        int got = in.readNBytes(head, 0, 4);
        in.reset();
        sniff(head, got);
        return open(PcapInput.of(in, size), head);
    }

    private static PcapReader open(PcapInput in, byte[] head) throws IOException {
        return switch (sniff(head, Math.min(head.length, 4))) {
            case PCAP_MICROS, PCAP_NANOS -> new PcapClassicReader(in);
            case PCAPNG -> new PcapngReader(in);
        };
    }

    /** Reads every packet of a capture held in memory; the fuzzing entry point. */
    public static List<PcapRecord> readAll(byte[] bytes) throws PcapFormatException {
        try (PcapReader r = open(bytes)) {
            return r.readAll();
        } catch (PcapFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("in-memory capture cannot fail to read", e);
        }
    }

    /** Creates a pcap file (truncating any old one); see {@link PcapClassicWriter}. */
    public static PcapClassicWriter newPcapWriter(Path file, int linkType, int snaplen, boolean nanos)
            throws IOException {
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 65536);
        return new PcapClassicWriter(out, ByteOrder.nativeOrder(), linkType, snaplen, nanos);
    }

    /** Creates a pcapng file (truncating any old one) with its SHB; add interfaces before packets. */
    public static PcapngWriter newPcapngWriter(Path file) throws IOException {
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 65536);
        return new PcapngWriter(out, ByteOrder.nativeOrder());
    }
}
