package org.smpnet.net.bpf;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hand-made pcap and pcapng files: each feature read right, each broken length caught. */
class PcapReaderTest {
    private static final int MICROS = PcapClassicReader.MAGIC_MICROS;
    private static final int NANOS = PcapClassicReader.MAGIC_NANOS;
    private static final byte[] NONE = new byte[0];

    private static byte[] data(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + 1);
        }
        return b;
    }

    private static PcapFormatException formatError(byte[] file) {
        return catchFormatError(() -> PcapFiles.readAll(file));
    }

    interface Read {
        void run() throws IOException;
    }

    private static PcapFormatException catchFormatError(Read r) {
        try {
            r.run();
        } catch (PcapFormatException e) {
            return e;
        } catch (IOException e) {
            throw new AssertionError("expected a PcapFormatException, got " + e, e);
        }
        throw new AssertionError("expected a PcapFormatException, the file read fine");
    }

    private static List<PcapngBlock> blocks(byte[] file) throws IOException {
        List<PcapngBlock> out = new ArrayList<>();
        try (PcapngReader r = (PcapngReader) PcapFiles.open(file)) {
            for (PcapngBlock b = r.nextBlock(); b != null; b = r.nextBlock()) {
                out.add(b);
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"BIG_ENDIAN", "LITTLE_ENDIAN"})
    @DisplayName("R-BPF-4: pcap micro- and nanosecond magic in both byte orders: header and records read")
    void classicBothMagicsBothOrders(String orderName) throws IOException {
        ByteOrder order = orderName.equals("BIG_ENDIAN") ? BIG_ENDIAN : LITTLE_ENDIAN;
        for (int magic : new int[] {MICROS, NANOS}) {
            byte[] file = new PcapTestBytes(order).pcapHeader(magic, 2, 4, 65535, 1)
                    .pcapRecord(1000, 999, 10, 1514, data(10))
                    .pcapRecord(1001, 0, 0, 60, NONE).bytes();
            try (PcapReader r = PcapFiles.open(file)) {
                assertThat(r.format()).isEqualTo(magic == MICROS ? PcapFormat.PCAP_MICROS : PcapFormat.PCAP_NANOS);
                assertThat(r.byteOrder()).isEqualTo(order);
                assertThat(r.snaplen()).isEqualTo(65535);
                assertThat(r.linkTypes()).containsExactly(1);
                PcapRecord p = r.next();
                assertThat(p.timestampNanos()).isEqualTo(1000_000_000_000L + 999L * (magic == MICROS ? 1000 : 1));
                assertThat(p.data()).isEqualTo(data(10));
                assertThat(p.originalLength()).isEqualTo(1514);
                assertThat(r.next().capturedLength()).isZero();
                assertThat(r.next()).isNull();
                assertThat(r.recordsRead()).isEqualTo(2);
            }
        }
    }

    @Test
    @DisplayName("R-BPF-4: pcap 2.2 files have their two lengths swapped; 2.3 only when captured > original")
    void oldVersionsSwapLengths() throws IOException {
        byte[] v22 = new PcapTestBytes(BIG_ENDIAN).pcapHeader(MICROS, 2, 2, 100, 1)
                .pcapRecord(0, 0, 60, 4, data(4)).bytes();
        assertThat(PcapFiles.readAll(v22)).singleElement()
                .satisfies(p -> assertThat(p.originalLength()).isEqualTo(60));
        byte[] v23 = new PcapTestBytes(BIG_ENDIAN).pcapHeader(MICROS, 2, 3, 100, 1)
                .pcapRecord(0, 0, 60, 4, data(4)).pcapRecord(0, 0, 4, 60, data(4)).bytes();
        assertThat(PcapFiles.readAll(v23)).extracting(PcapRecord::originalLength).containsExactly(60L, 60L);
    }

    @Test
    @DisplayName("R-BPF-4: broken pcap files fail at the record with its offset: truncation, huge lengths, version")
    void classicErrors() {
        PcapTestBytes good = new PcapTestBytes(LITTLE_ENDIAN).pcapHeader(MICROS, 2, 4, 65535, 1)
                .pcapRecord(1, 2, 3, 3, data(3));
        byte[] header = good.bytes();
        PcapFormatException e = formatError(Arrays.copyOf(header, header.length + 10));
        assertThat(e).hasMessageContaining("truncated record header").hasMessageContaining("10 of 16");
        assertThat(e.offset()).isEqualTo(24 + 19);
        assertThat(e.recordIndex()).isEqualTo(1);

        byte[] shortData = new PcapTestBytes(LITTLE_ENDIAN).raw(header).pcapRecord(0, 0, 100, 100, data(40)).bytes();
        assertThat(formatError(shortData)).hasMessageContaining("truncated packet data: needs 100 bytes, only 40");

        byte[] huge = new PcapTestBytes(LITTLE_ENDIAN).raw(header).pcapRecord(0, 0, 0xFFFF_FFF0L, 60, NONE).bytes();
        assertThat(formatError(huge)).hasMessageContaining("captured length 4294967280 exceeds the maximum 262144");

        byte[] bigButAllowed = new PcapTestBytes(LITTLE_ENDIAN).pcapHeader(MICROS, 2, 4, 0, 231)
                .pcapRecord(0, 0, 100_000_000, 60, NONE).bytes();
        assertThat(formatError(bigButAllowed)).hasMessageContaining("needs 100000000 bytes, only 0 remain");

        assertThat(formatError(Arrays.copyOf(header, 20))).hasMessageContaining("truncated pcap file header");
        assertThat(formatError(new PcapTestBytes(BIG_ENDIAN).pcapHeader(MICROS, 1, 0, 10, 1).bytes()))
                .hasMessageContaining("unsupported pcap version 1.0");
        assertThat(formatError(new byte[] {1, 2, 3, 4, 5})).hasMessageContaining("magic 0x01020304");
        assertThat(formatError(new byte[] {(byte) 0xd4, (byte) 0xc3})).hasMessageContaining("too short");
    }

    @Test
    @DisplayName("R-BPF-4: a huge length claimed in a stream of unknown size fails as truncated, allocating little")
    void streamHugeLengths() throws IOException {
        byte[] pcap = new PcapTestBytes(BIG_ENDIAN).pcapHeader(MICROS, 2, 4, 0, 231)
                .pcapRecord(0, 0, 120_000_000, 60, data(5)).bytes();
        try (PcapReader r = PcapFiles.open(new ByteArrayInputStream(pcap))) {
            assertThat(catchFormatError(r::next)).hasMessageContaining("only 5 remain");
        }
        byte[] ng = new PcapTestBytes(BIG_ENDIAN).shb(BIG_ENDIAN, NONE).u32(PcapngBlock.EPB).u32(0x7FFF_FFF0L)
                .raw(data(100)).bytes();
        try (PcapReader r = PcapFiles.open(new ByteArrayInputStream(ng))) {
            assertThat(catchFormatError(r::next)).hasMessageContaining("out of range");
        }
        byte[] ng2 = new PcapTestBytes(BIG_ENDIAN).shb(BIG_ENDIAN, NONE).u32(PcapngBlock.EPB).u32(100_000_000)
                .raw(data(100)).bytes();
        try (PcapReader r = PcapFiles.open(new ByteArrayInputStream(ng2))) {
            PcapFormatException e = catchFormatError(r::next);
            assertThat(e).hasMessageContaining("truncated EPB body").hasMessageContaining("only 100 remain");
            assertThat(e.offset()).isEqualTo(28);
            assertThat(catchFormatError(r::next)).as("the reader repeats its error").isSameAs(e);
        }
    }

    @Test
    @DisplayName("R-BPF-4: pcapng SHB, IDB options (name, tsresol, tsoffset) and EPB options (flags, comments)")
    void pcapngOptions() throws IOException {
        PcapTestBytes f = new PcapTestBytes(LITTLE_ENDIAN);
        byte[] shbOpts = f.body().option(PcapngSection.SHB_OS, "Linux").option(1, "section note").endOfOptions().bytes();
        f.shb(LITTLE_ENDIAN, shbOpts);
        byte[] tsoffset = f.body().u64(100).bytes();
        f.idb(1, 1500, f.body().option(PcapngInterface.IF_NAME, "eth0").option(PcapngInterface.IF_TSRESOL, new byte[] {3})
                .option(PcapngInterface.IF_TSOFFSET, tsoffset).endOfOptions().bytes());
        f.idb(101, 0, f.body().option(PcapngInterface.IF_TSRESOL, new byte[] {(byte) (0x80 | 10)}).endOfOptions().bytes());
        byte[] flags = f.body().u32(0x1234_0001L).bytes();
        f.epb(0, 2500, data(5), 60, f.body().option(1, "first").option(PcapngReader.EPB_FLAGS, flags).option(1, "second")
                .endOfOptions().bytes());
        f.epb(1, 3 * 1024 + 512, data(7), 7, NONE);
        try (PcapngReader r = (PcapngReader) PcapFiles.open(f.bytes())) {
            PcapRecord a = r.next();
            assertThat(a.timestampNanos()).as("2500 ms + 100 s").isEqualTo(102_500_000_000L);
            assertThat(a.comments()).containsExactly("first", "second");
            assertThat(a.flags()).hasValue(0x1234_0001);
            assertThat(a.originalLength()).isEqualTo(60);
            PcapRecord b = r.next();
            assertThat(b.timestampNanos()).as("3.5 * 2^10 units of 2^-10 s").isEqualTo(3_500_000_000L);
            assertThat(b.linkType()).isEqualTo(101);
            assertThat(b.interfaceId()).isEqualTo(1);
            assertThat(r.next()).isNull();
            assertThat(r.linkTypes()).containsExactly(1, 101);
            assertThat(r.snaplen()).isEqualTo(1500);
            assertThat(r.interfaces()).extracting(PcapngInterface::name).containsExactly("eth0", "");
            assertThat(r.sections()).singleElement().satisfies(s -> {
                assertThat(s.byteOrder()).isEqualTo(LITTLE_ENDIAN);
                assertThat(s.options()).extracting(PcapngOption::text).containsExactly("Linux", "section note");
            });
        }
    }

    @Test
    @DisplayName("R-BPF-4: SPB length is min(original, snaplen, block); obsolete PB; NRB, ISB, custom and unknown blocks")
    void pcapngOtherBlocks() throws IOException {
        PcapTestBytes f = new PcapTestBytes(BIG_ENDIAN).shb(BIG_ENDIAN, NONE).idb(1, 8, NONE);
        f.block(PcapngBlock.SPB, f.body().u32(60).raw(data(12)).bytes());          // snaplen 8 wins
        f.block(PcapngBlock.SPB, f.body().u32(3).raw(data(4)).bytes());            // original 3 wins
        f.block(PcapngBlock.PB, f.body().u16(0).u16(5).u32(0).u32(7).u32(4).u32(4).raw(data(4))
                .option(1, "old").endOfOptions().bytes());
        byte[] nrb = f.body().u16(PcapngNameRecord.IPV4).u16(4 + 8).raw(new byte[] {10, 0, 0, 1})
                .raw("a.b\0c.d\0".getBytes(StandardCharsets.US_ASCII))
                .u16(77).u16(3).raw(new byte[] {1, 2, 3, 0})             // unknown record type
                .u16(0).u16(0).option(1, "names").endOfOptions().bytes();
        f.block(PcapngBlock.NRB, nrb);
        f.block(PcapngBlock.ISB, f.body().u32(0).u32(0).u32(1).option(4, f.body().u64(9).bytes()).endOfOptions().bytes());
        f.block(PcapngBlock.CB, f.body().u32(32473).raw(data(9)).bytes());
        f.block(PcapngBlock.DCB, f.body().u32(32473).bytes());
        f.block(0x0000_0FFF, data(13));
        List<PcapngBlock> blocks = blocks(f.bytes());
        assertThat(blocks).extracting(PcapngBlock::typeName)
                .containsExactly("SHB", "IDB", "SPB", "SPB", "PB", "NRB", "ISB", "CB", "DCB", "0x00000fff");
        assertThat(blocks.get(2).packet()).hasValueSatisfying(p -> {
            assertThat(p.data()).isEqualTo(data(8));
            assertThat(p.originalLength()).isEqualTo(60);
        });
        assertThat(blocks.get(3).packet()).hasValueSatisfying(p -> assertThat(p.capturedLength()).isEqualTo(3));
        assertThat(blocks.get(4).packet()).hasValueSatisfying(p -> {
            assertThat(p.timestampNanos()).isEqualTo(7_000);
            assertThat(p.comments()).containsExactly("old");
        });
        PcapngBlock names = blocks.get(5);
        assertThat(names.nameRecords()).hasSize(2);
        assertThat(names.nameRecords().get(0).names()).containsExactly("a.b", "c.d");
        assertThat(names.nameRecords().get(0).address()).containsExactly(10, 0, 0, 1);
        assertThat(names.nameRecords().get(1).type()).isEqualTo(77);
        assertThat(names.comments()).containsExactly("names");
        assertThat(blocks.get(6).interfaceId()).isZero();
        assertThat(blocks.get(6).options()).extracting(PcapngOption::code).containsExactly(4);
    }

    @Test
    @DisplayName("R-BPF-4: sections of different byte orders each number their own interfaces")
    void sectionsChangeByteOrder() throws IOException {
        PcapTestBytes f = new PcapTestBytes(BIG_ENDIAN).shb(BIG_ENDIAN, NONE).idb(1, 0, NONE).epb(0, 1, data(3), 3, NONE);
        f.shb(LITTLE_ENDIAN, NONE).idb(228, 0, NONE).idb(101, 0, NONE).epb(1, 2, data(4), 4, NONE);
        try (PcapngReader r = (PcapngReader) PcapFiles.open(f.bytes())) {
            assertThat(r.next().linkType()).isEqualTo(1);
            PcapRecord second = r.next();
            assertThat(second.linkType()).isEqualTo(101);
            assertThat(second.timestampNanos()).isEqualTo(2_000);
            assertThat(r.next()).isNull();
            assertThat(r.byteOrder()).isEqualTo(LITTLE_ENDIAN);
            assertThat(r.sections()).extracting(PcapngSection::byteOrder).containsExactly(BIG_ENDIAN, LITTLE_ENDIAN);
            assertThat(r.linkTypes()).containsExactly(1, 228, 101);
        }
        PcapTestBytes g = new PcapTestBytes(BIG_ENDIAN).shb(BIG_ENDIAN, NONE).idb(1, 0, NONE);
        g.shb(LITTLE_ENDIAN, NONE).epb(0, 1, data(3), 3, NONE);
        assertThat(formatError(g.bytes())).as("interfaces do not carry over sections")
                .hasMessageContaining("packet names interface 0 but its section describes 0");
    }

    @Test
    @DisplayName("R-BPF-4: a stated section length must match what the section holds, at the next SHB or the end")
    void statedSectionLength() throws IOException {
        PcapTestBytes b = new PcapTestBytes(LITTLE_ENDIAN);
        byte[] idb = b.body().idb(1, 0, NONE).bytes();     // 20 bytes
        byte[] right = b.body().block(PcapngBlock.SHB, b.body().u32(PcapngReader.BYTE_ORDER_MAGIC).u16(1).u16(0)
                .u64(idb.length).bytes()).raw(idb).bytes();
        assertThat(blocks(right)).hasSize(2);
        byte[] twoSections = b.body().raw(right).raw(right).bytes();
        assertThat(blocks(twoSections)).hasSize(4);
        byte[] wrong = b.body().block(PcapngBlock.SHB, b.body().u32(PcapngReader.BYTE_ORDER_MAGIC).u16(1).u16(0)
                .u64(idb.length + 4).bytes()).raw(idb).bytes();
        PcapFormatException atEnd = formatError(wrong);
        assertThat(atEnd).hasMessageContaining("section 0 states a length of 24 bytes but holds 20");
        assertThat(atEnd.offset()).isZero();
        assertThat(formatError(b.body().raw(wrong).raw(right).bytes())).hasMessageContaining("holds 20");
    }

    @Test
    @DisplayName("R-BPF-4: broken pcapng lengths are caught: zero, unaligned, mismatched, overrunning, oversized")
    void pcapngLengthErrors() {
        byte[] head = new PcapTestBytes(BIG_ENDIAN).shb(BIG_ENDIAN, NONE).idb(1, 0, NONE).bytes();
        PcapTestBytes b = new PcapTestBytes(BIG_ENDIAN);
        PcapFormatException zero = formatError(b.body().raw(head).u32(PcapngBlock.EPB).u32(0).u32(0).bytes());
        assertThat(zero).hasMessageContaining("EPB total length 0 is below its minimum 32");
        assertThat(zero.offset()).isEqualTo(head.length);
        assertThat(zero.recordIndex()).isEqualTo(2);
        assertThat(formatError(b.body().raw(head).u32(77).u32(0).bytes())).hasMessageContaining("below its minimum 12");
        assertThat(formatError(b.body().raw(head).u32(77).u32(13).raw(new byte[5]).bytes()))
                .hasMessageContaining("not a multiple of 4");
        assertThat(formatError(b.body().raw(head).u32(77).u32(16).u32(0).u32(20).bytes()))
                .hasMessageContaining("16 at start and 20 at end differ");
        assertThat(formatError(b.body().raw(head).u32(77).u32(0xFFFF_FFFCL).bytes())).hasMessageContaining("out of range");
        assertThat(formatError(b.body().raw(head).u32(77).u32(64).raw(new byte[20]).bytes()))
                .hasMessageContaining("truncated 0x0000004d body: needs 52 bytes, only 20 remain");
        assertThat(formatError(b.body().raw(head).u32(77).u32(12).u16(0).bytes()))
                .hasMessageContaining("truncated 0x0000004d trailer");
        assertThat(formatError(b.body().raw(head).u32(77).bytes())).hasMessageContaining("truncated block header: 4 of 8");
        // EPB whose captured length overruns its block.
        byte[] epb = b.body().raw(head).u32(PcapngBlock.EPB).u32(36).u32(0).u32(0).u32(0).u32(9).u32(9).u32(0).u32(36)
                .bytes();
        assertThat(formatError(epb)).hasMessageContaining("EPB captured length 9 exceeds the 4 bytes the block holds");
        // Option whose length runs past the block.
        byte[] opt = b.body().raw(head).block(PcapngBlock.EPB, b.body().u32(0).u32(0).u32(0).u32(0).u32(0)
                .u16(1).u16(200).raw(new byte[8]).bytes()).bytes();
        assertThat(formatError(opt)).hasMessageContaining("EPB option 1 of length 200 runs past the block (8 bytes left)");
        assertThat(formatError(b.body().raw(head).block(PcapngBlock.IDB, b.body().u16(1).u16(0).u32(0)
                .option(PcapngInterface.IF_TSRESOL, new byte[] {6, 6}).bytes()).bytes()))
                .hasMessageContaining("if_tsresol option has length 2, not 1");
        byte[] nrb = b.body().raw(head).block(PcapngBlock.NRB, b.body().u16(1).u16(2).raw(new byte[] {1, 2, 0, 0})
                .u16(0).u16(0).bytes()).bytes();
        assertThat(formatError(nrb)).hasMessageContaining("less than its 4-byte address");
    }

    @Test
    @DisplayName("R-BPF-4: pcapng files that are not: no SHB first, bad byte-order magic, bad version, empty")
    void pcapngHeaderErrors() {
        PcapTestBytes b = new PcapTestBytes(BIG_ENDIAN);
        assertThat(formatError(b.body().u32(PcapngBlock.SHB).u32(28).u32(0x11223344).bytes()))
                .hasMessageContaining("bad byte-order magic 0x11223344");
        assertThat(formatError(b.body().block(PcapngBlock.SHB, b.body().u32(PcapngReader.BYTE_ORDER_MAGIC).u16(2).u16(0)
                .u64(-1).bytes()).bytes())).hasMessageContaining("unsupported pcapng version 2.0");
        assertThat(formatError(b.body().block(PcapngBlock.SHB, b.body().u32(PcapngReader.BYTE_ORDER_MAGIC).u16(1).u16(0)
                .u64(-8).bytes()).bytes())).hasMessageContaining("section length -8");
        assertThat(formatError(b.body().block(PcapngBlock.SHB, b.body().u32(PcapngReader.BYTE_ORDER_MAGIC).u16(1).u16(0)
                .u64(6).bytes()).bytes())).hasMessageContaining("section length 6 is neither -1 nor a multiple of 4");
        assertThat(formatError(b.body().u32(PcapngBlock.SHB).u32(28).bytes())).hasMessageContaining("no byte-order magic");
        assertThat(formatError(b.body().u32(PcapngBlock.SHB).u32(8).u32(PcapngReader.BYTE_ORDER_MAGIC).bytes()))
                .hasMessageContaining("SHB total length 8 is below its minimum 28");
    }
}
