package org.smpnet.net.bpf;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/** Packet builders and a random program generator shared by the BPF tests. */
final class BpfTestSupport {
    private BpfTestSupport() {}

    /** Every opcode the validator accepts, in numeric order. */
    static final int[] OPCODES = IntStream.range(0, 256).filter(BpfInsn::isKnownOpcode).toArray();

    /** A seed from {@code -Dsmpnet.bpf.seed}, or a fixed default so runs repeat. */
    static long seed() {
        return Long.getLong("smpnet.bpf.seed", 0x5eed_b9f1L);
    }

    // ---- Random programs ----

    /**
     * A random program of 1..maxLen instructions that is valid by construction: jumps stay inside,
     * scratch indexes are below 16, constant divisors are non-zero, and it ends in a return.
     * Constants favour small packet offsets and the values at the edges of unsigned arithmetic.
     */
    static List<BpfInsn> randomValidProgram(Random r, int maxLen) {
        int n = 1 + r.nextInt(maxLen);
        List<BpfInsn> p = new ArrayList<>(n);
        for (int i = 0; i < n - 1; i++) {
            p.add(randomInsn(r, i, n));
        }
        p.add(r.nextBoolean() ? BpfInsn.stmt(BpfInsn.RET | BpfInsn.A, 0)
                : BpfInsn.stmt(BpfInsn.RET | BpfInsn.K, randomK(r)));
        return p;
    }

    /** A random valid instruction at index i of an n-instruction program (i < n - 1). */
    static BpfInsn randomInsn(Random r, int i, int n) {
        int code = OPCODES[r.nextInt(OPCODES.length)];
        int room = n - i - 2; // the largest offset that still lands inside the program
        BpfInsn shape = new BpfInsn(code, 0, 0, 0);
        int k = randomK(r);
        int jt = 0;
        int jf = 0;
        if (code == (BpfInsn.JMP | BpfInsn.JA)) {
            k = r.nextInt(room + 1);
        } else if (shape.isConditionalJump()) {
            jt = r.nextInt(Math.min(room, 255) + 1);
            jf = r.nextInt(Math.min(room, 255) + 1);
        } else if (shape.usesScratch()) {
            k = r.nextInt(BpfInsn.MEMWORDS);
        } else if (code == (BpfInsn.ALU | BpfInsn.DIV | BpfInsn.K) || code == (BpfInsn.ALU | BpfInsn.MOD | BpfInsn.K)) {
            k = k == 0 ? 1 + r.nextInt(9) : k;
        } else if (shape.cls() <= BpfInsn.LDX && (shape.mode() == BpfInsn.ABS || shape.mode() == BpfInsn.IND
                || shape.mode() == BpfInsn.MSH)) {
            k = r.nextInt(10) == 0 ? randomK(r) : r.nextInt(72);
        }
        return new BpfInsn(code, jt, jf, k);
    }

    static int randomK(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> 0;
            case 1 -> r.nextInt(64);
            case 2 -> new int[] {-1, Integer.MIN_VALUE, Integer.MAX_VALUE, -2, 32, 31, 33}[r.nextInt(7)];
            case 3 -> r.nextInt();
            case 4 -> 1 << r.nextInt(32);
            case 5 -> r.nextInt(256);
            default -> r.nextInt(40) - 4;
        };
    }

    /** Random bytes of length 0..maxLen. */
    static byte[] randomPacket(Random r, int maxLen) {
        byte[] p = new byte[r.nextInt(maxLen + 1)];
        r.nextBytes(p);
        // Keep some nibbles small so ldxb 4*([k]&0xf) and IND loads land inside now and then.
        for (int i = 0; i < p.length; i += 1 + r.nextInt(4)) {
            p[i] &= (byte) (r.nextBoolean() ? 0x0f : 0x07);
        }
        return p;
    }

    // ---- Packets ----

    static final byte[] MAC_A = {0x02, 0, 0, 0, 0, 0x0a};
    static final byte[] MAC_B = {0x02, 0, 0, 0, 0, 0x0b};

    /** An Ethernet frame around {@code payload}. */
    static byte[] ether(int type, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(MAC_B);
        b.writeBytes(MAC_A);
        put16(b, type);
        b.writeBytes(payload);
        return b.toByteArray();
    }

    /** An 802.1Q-tagged Ethernet frame around {@code payload}. */
    static byte[] etherVlan(int vid, int type, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put16(b, type);
        b.writeBytes(payload);
        byte[] inner = b.toByteArray();
        ByteArrayOutputStream tag = new ByteArrayOutputStream();
        put16(tag, vid);
        tag.writeBytes(inner);
        return ether(0x8100, tag.toByteArray());
    }

    /** An IPv4 header (with {@code optionWords} words of NOP options) and payload. */
    static byte[] ipv4(int proto, int src, int dst, int fragOff, int optionWords, byte[] payload) {
        return ipv4(0, proto, src, dst, fragOff, optionWords, payload);
    }

    /** An IPv4 header with type of service {@code tos}. */
    static byte[] ipv4(int tos, int proto, int src, int dst, int fragOff, int optionWords, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int ihl = 5 + optionWords;
        b.write(0x40 | ihl);
        b.write(tos);
        put16(b, ihl * 4 + payload.length);
        put16(b, 0x1234);
        put16(b, fragOff);
        b.write(64);
        b.write(proto);
        put16(b, 0);
        put32(b, src);
        put32(b, dst);
        for (int i = 0; i < optionWords * 4; i++) {
            b.write(1); // NOP
        }
        b.writeBytes(payload);
        return b.toByteArray();
    }

    /** An IPv6 header with next header {@code nh} and payload. */
    static byte[] ipv6(int nh, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put32(b, 0x60000000);
        put16(b, payload.length);
        b.write(nh);
        b.write(64);
        byte[] src = new byte[16];
        src[0] = (byte) 0xfe;
        src[1] = (byte) 0x80;
        src[15] = 1;
        byte[] dst = src.clone();
        dst[15] = 2;
        b.writeBytes(src);
        b.writeBytes(dst);
        b.writeBytes(payload);
        return b.toByteArray();
    }

    /** An 8-byte IPv6 extension header (hop-by-hop, fragment, ...) carrying next header {@code nh}. */
    static byte[] ipv6Ext(int nh, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(nh);
        b.write(0);
        b.writeBytes(new byte[] {1, 4, 0, 0, 0, 0});
        b.writeBytes(payload);
        return b.toByteArray();
    }

    static byte[] tcp(int sport, int dport, int flags) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put16(b, sport);
        put16(b, dport);
        put32(b, 1000);
        put32(b, 0);
        b.write(0x50);
        b.write(flags);
        put16(b, 65535);
        put16(b, 0);
        put16(b, 0);
        return b.toByteArray();
    }

    static byte[] udp(int sport, int dport) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put16(b, sport);
        put16(b, dport);
        put16(b, 8 + 4);
        put16(b, 0);
        b.writeBytes(new byte[] {1, 2, 3, 4});
        return b.toByteArray();
    }

    /** An ARP request from {@code spa} for {@code tpa}. */
    static byte[] arp(int spa, int tpa) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put16(b, 1);
        put16(b, 0x0800);
        b.write(6);
        b.write(4);
        put16(b, 1);
        b.writeBytes(MAC_A);
        put32(b, spa);
        b.writeBytes(new byte[6]);
        put32(b, tpa);
        return b.toByteArray();
    }

    static byte[] icmpEcho() {
        return new byte[] {8, 0, 0, 0, 0, 1, 0, 1};
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    private static void put16(ByteArrayOutputStream b, int v) {
        b.write(v >>> 8);
        b.write(v);
    }

    private static void put32(ByteArrayOutputStream b, int v) {
        put16(b, v >>> 16);
        put16(b, v);
    }
}
