package org.smpnet.net.bpf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds hand-made capture files, well-formed or broken on purpose, for the reader tests. */
final class PcapTestBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private ByteOrder order;

    PcapTestBytes(ByteOrder order) {
        this.order = order;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    PcapTestBytes u8(int v) {
        out.write(v);
        return this;
    }

    PcapTestBytes u16(int v) {
        byte[] b = new byte[2];
        PcapBytes.put16(b, 0, v, order);
        out.writeBytes(b);
        return this;
    }

    PcapTestBytes u32(long v) {
        byte[] b = new byte[4];
        PcapBytes.put32(b, 0, v, order);
        out.writeBytes(b);
        return this;
    }

    PcapTestBytes u64(long v) {
        byte[] b = new byte[8];
        PcapBytes.put64(b, 0, v, order);
        out.writeBytes(b);
        return this;
    }

    PcapTestBytes raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    /** A classic pcap header. */
    PcapTestBytes pcapHeader(int magic, int major, int minor, long snaplen, long linkType) {
        return u32(magic).u16(major).u16(minor).u32(0).u32(0).u32(snaplen).u32(linkType);
    }

    /** A pcap record header and its data. */
    PcapTestBytes pcapRecord(long sec, long frac, long caplen, long len, byte[] data) {
        return u32(sec).u32(frac).u32(caplen).u32(len).raw(data);
    }

    /** A pcapng block: type, total length, the body (padded to 4), total length again. */
    PcapTestBytes block(int type, byte[] body) {
        int padded = body.length + PcapBytes.pad4(body.length);
        u32(type).u32(12 + padded).raw(body).raw(new byte[padded - body.length]).u32(12 + padded);
        return this;
    }

    /** A Section Header Block; switches this builder to the section's byte order. */
    PcapTestBytes shb(ByteOrder sectionOrder, byte[] options) {
        order = sectionOrder;
        return block(PcapngBlock.SHB, body().u32(PcapngReader.BYTE_ORDER_MAGIC).u16(1).u16(0).u64(-1)
                .raw(options).bytes());
    }

    PcapTestBytes idb(int linkType, long snaplen, byte[] options) {
        return block(PcapngBlock.IDB, body().u16(linkType).u16(0).u32(snaplen).raw(options).bytes());
    }

    PcapTestBytes epb(long ifid, long ts, byte[] data, long len, byte[] options) {
        return block(PcapngBlock.EPB, body().u32(ifid).u32(ts >>> 32).u32(ts).u32(data.length).u32(len)
                .raw(data).raw(new byte[PcapBytes.pad4(data.length)]).raw(options).bytes());
    }

    /** A fresh builder in this one's byte order, for block bodies. */
    PcapTestBytes body() {
        return new PcapTestBytes(order);
    }

    /** Options (code, value) pairs, each padded, then opt_endofopt. */
    PcapTestBytes option(int code, byte[] value) {
        return u16(code).u16(value.length).raw(value).raw(new byte[PcapBytes.pad4(value.length)]);
    }

    PcapTestBytes option(int code, String value) {
        return option(code, value.getBytes(StandardCharsets.UTF_8));
    }

    PcapTestBytes endOfOptions() {
        return u32(0);
    }
}
