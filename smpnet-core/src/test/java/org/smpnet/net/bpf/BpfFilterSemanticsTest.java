package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.net.bpf.BpfInsn.jump;
import static org.smpnet.net.bpf.BpfInsn.stmt;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hand-written programs, one or more per opcode, with the result FreeBSD's bpf_filter gives;
 * each runs on the interpreter and on the JIT.
 */
class BpfFilterSemanticsTest {
    enum Engine {
        INTERPRETER,
        JIT;

        BpfFilter make(BpfProgram p) {
            return this == JIT ? BpfJit.compile(p) : new BpfInterpreter(p);
        }
    }

    private static final byte[] PKT = {0x45, 0x02, 0x03, 0x04, 0x05, (byte) 0x86, (byte) 0xdd, (byte) 0xff};
    private static final BpfInsn RET_A = stmt(0x16, 0);

    private static int run(Engine e, byte[] pkt, int wirelen, int buflen, BpfInsn... insns) {
        return e.make(BpfProgram.of(insns)).filter(pkt, wirelen, buflen);
    }

    private static int run(Engine e, BpfInsn... insns) {
        return run(e, PKT, 1500, PKT.length, insns);
    }

    /** Runs {@code A = a; X = x; <insn>; ret a}. */
    private static int alu(Engine e, int a, int x, BpfInsn insn) {
        return run(e, stmt(0x00, a), stmt(0x01, x), insn, RET_A);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: absolute loads are big-endian and return 0 when any byte lies past buflen")
    void absoluteLoads(Engine e) {
        assertThat(run(e, stmt(0x20, 1), RET_A)).isEqualTo(0x02030405);
        assertThat(run(e, stmt(0x20, 4), RET_A)).isEqualTo(0x0586ddff);
        assertThat(run(e, stmt(0x20, 5), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x28, 5), RET_A)).isEqualTo(0x86dd);
        assertThat(run(e, stmt(0x28, 7), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x30, 7), RET_A)).isEqualTo(0xff);
        assertThat(run(e, stmt(0x30, 8), stmt(0x06, 7))).isZero();
        // buflen, not the array length, is the limit.
        assertThat(run(e, PKT, 1500, 3, stmt(0x30, 2), RET_A)).isEqualTo(3);
        assertThat(run(e, PKT, 1500, 3, stmt(0x30, 3), stmt(0x06, 7))).isZero();
        assertThat(run(e, PKT, 1500, 3, stmt(0x28, 2), stmt(0x06, 7))).isZero();
        // Offsets are unsigned: 0xffffffff is far past the end, not -1.
        assertThat(run(e, stmt(0x30, -1), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x20, -4), stmt(0x06, 7))).isZero();
        assertThat(run(e, new byte[0], 0, 0, stmt(0x30, 0), stmt(0x06, 7))).isZero();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: indirect loads add X without wrap-around and check every byte")
    void indirectLoads(Engine e) {
        assertThat(run(e, stmt(0x01, 2), stmt(0x40, 1), RET_A)).isEqualTo(0x0405_86dd);
        assertThat(run(e, stmt(0x01, 2), stmt(0x48, 3), RET_A)).isEqualTo(0x86dd);
        assertThat(run(e, stmt(0x01, 2), stmt(0x50, 5), RET_A)).isEqualTo(0xff);
        assertThat(run(e, stmt(0x01, 2), stmt(0x50, 6), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x01, 2), stmt(0x48, 5), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x01, 2), stmt(0x40, 3), stmt(0x06, 7))).isZero();
        // X + k wraps to 1 in 32 bits; FreeBSD refuses rather than reading pkt[1].
        assertThat(run(e, stmt(0x01, -1), stmt(0x50, 2), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x01, 2), stmt(0x50, -1), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x01, Integer.MIN_VALUE), stmt(0x40, Integer.MIN_VALUE), stmt(0x06, 7))).isZero();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: ldxb 4*([k]&0xf) loads the IPv4 header length; past buflen it returns 0")
    void msh(Engine e) {
        assertThat(run(e, stmt(0xb1, 0), stmt(0x87, 0), RET_A)).isEqualTo(20);
        assertThat(run(e, stmt(0xb1, 7), stmt(0x87, 0), RET_A)).isEqualTo(60);
        assertThat(run(e, stmt(0xb1, 8), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0xb1, Integer.MAX_VALUE), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0xb1, -1), stmt(0x06, 7))).isZero();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: #pktlen is wirelen (unsigned), immediates and scratch memory round-trip")
    void lenImmMem(Engine e) {
        assertThat(run(e, PKT, 1514, 4, stmt(0x80, 0), RET_A)).isEqualTo(1514);
        assertThat(run(e, PKT, -2, 4, stmt(0x81, 0), stmt(0x87, 0), RET_A)).isEqualTo(-2);
        assertThat(run(e, stmt(0x00, 7), stmt(0x02, 3), stmt(0x01, 9), stmt(0x03, 15),
                stmt(0x60, 15), stmt(0x61, 3), stmt(0x0c, 0), RET_A)).isEqualTo(16);
        // Scratch words start at zero.
        assertThat(run(e, stmt(0x00, 7), stmt(0x02, 3), stmt(0x60, 4), RET_A)).isZero();
        assertThat(run(e, stmt(0x00, 7), stmt(0x07, 0), stmt(0x00, 1), stmt(0x87, 0), RET_A)).isEqualTo(7);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: ALU with constants: wrap-around, unsigned division/modulo, logical shifts mod 32")
    void aluK(Engine e) {
        assertThat(alu(e, -1, 0, stmt(0x04, 2))).isEqualTo(1);
        assertThat(alu(e, 0, 0, stmt(0x14, 1))).isEqualTo(-1);
        assertThat(alu(e, 0x10000, 0, stmt(0x24, 0x10001))).isEqualTo(0x10000);
        assertThat(alu(e, -1, 0, stmt(0x34, 2))).isEqualTo(0x7fffffff);
        assertThat(alu(e, 7, 0, stmt(0x34, -1))).isZero();
        assertThat(alu(e, -1, 0, stmt(0x94, 10))).isEqualTo(5);
        assertThat(alu(e, 0xf0, 0, stmt(0x44, 0x0f))).isEqualTo(0xff);
        assertThat(alu(e, 0xf0, 0, stmt(0x54, 0x3c))).isEqualTo(0x30);
        assertThat(alu(e, 0xf0, 0, stmt(0xa4, 0xff))).isEqualTo(0x0f);
        assertThat(alu(e, 0xdefc0, 0, stmt(0x64, 9))).isEqualTo(0x1bdf8000);
        assertThat(alu(e, Integer.MIN_VALUE, 0, stmt(0x74, 4))).isEqualTo(0x08000000);
        assertThat(alu(e, 3, 0, stmt(0x64, 33))).isEqualTo(6);
        assertThat(alu(e, 3, 0, stmt(0x64, 32))).isEqualTo(3);
        assertThat(alu(e, 5, 0, stmt(0x84, 0))).isEqualTo(-5);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: ALU with X; division or modulo by X == 0 ends the filter with 0")
    void aluX(Engine e) {
        assertThat(alu(e, -1, 2, stmt(0x0c, 0))).isEqualTo(1);
        assertThat(alu(e, 0, 1, stmt(0x1c, 0))).isEqualTo(-1);
        assertThat(alu(e, 6, 7, stmt(0x2c, 0))).isEqualTo(42);
        assertThat(alu(e, -1, 2, stmt(0x3c, 0))).isEqualTo(0x7fffffff);
        assertThat(alu(e, -1, 10, stmt(0x9c, 0))).isEqualTo(5);
        assertThat(alu(e, 0xf0, 0x0f, stmt(0x4c, 0))).isEqualTo(0xff);
        assertThat(alu(e, 0xf0, 0x3c, stmt(0x5c, 0))).isEqualTo(0x30);
        assertThat(alu(e, 0xf0, 0xff, stmt(0xac, 0))).isEqualTo(0x0f);
        assertThat(alu(e, 0xdefc0, 9, stmt(0x6c, 0))).isEqualTo(0x1bdf8000);
        assertThat(alu(e, -1, 28, stmt(0x7c, 0))).isEqualTo(0xf);
        assertThat(alu(e, -1, 36, stmt(0x7c, 0))).isEqualTo(0x0fffffff);
        assertThat(run(e, stmt(0x00, 9), stmt(0x01, 0), stmt(0x3c, 0), stmt(0x06, 7))).isZero();
        assertThat(run(e, stmt(0x00, 9), stmt(0x01, 0), stmt(0x9c, 0), stmt(0x06, 7))).isZero();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: conditional jumps compare unsigned, against k or X; ja skips forward")
    void jumps(Engine e) {
        BpfInsn yes = stmt(0x06, 1);
        BpfInsn no = stmt(0x06, 2);
        assertThat(run(e, stmt(0x00, 5), jump(0x15, 5, 0, 1), yes, no)).isEqualTo(1);
        assertThat(run(e, stmt(0x00, 5), jump(0x15, 6, 0, 1), yes, no)).isEqualTo(2);
        assertThat(run(e, stmt(0x00, -1), jump(0x25, 1, 0, 1), yes, no)).isEqualTo(1);
        assertThat(run(e, stmt(0x00, 1), jump(0x25, -1, 0, 1), yes, no)).isEqualTo(2);
        assertThat(run(e, stmt(0x00, 1), jump(0x25, 1, 0, 1), yes, no)).isEqualTo(2);
        assertThat(run(e, stmt(0x00, 1), jump(0x35, 1, 0, 1), yes, no)).isEqualTo(1);
        assertThat(run(e, stmt(0x00, Integer.MAX_VALUE), jump(0x35, Integer.MIN_VALUE, 0, 1), yes, no))
                .isEqualTo(2);
        assertThat(run(e, stmt(0x00, 6), jump(0x45, 2, 0, 1), yes, no)).isEqualTo(1);
        assertThat(run(e, stmt(0x00, 6), jump(0x45, 9, 0, 1), yes, no)).isEqualTo(2);
        BpfInsn ldx = stmt(0x01, -1);
        assertThat(run(e, ldx, stmt(0x00, -1), jump(0x1d, 0, 0, 1), yes, no)).isEqualTo(1);
        assertThat(run(e, ldx, stmt(0x00, 1), jump(0x2d, 0, 0, 1), yes, no)).isEqualTo(2);
        assertThat(run(e, ldx, stmt(0x00, -1), jump(0x3d, 0, 0, 1), yes, no)).isEqualTo(1);
        assertThat(run(e, ldx, stmt(0x00, 0), jump(0x4d, 0, 0, 1), yes, no)).isEqualTo(2);
        // jt and jf both non-zero, both equal, and ja over two instructions.
        assertThat(run(e, stmt(0x00, 3), jump(0x15, 3, 2, 1), no, no, yes)).isEqualTo(1);
        assertThat(run(e, stmt(0x00, 3), jump(0x15, 4, 2, 1), no, yes, no)).isEqualTo(1);
        assertThat(run(e, stmt(0x00, 3), jump(0x15, 4, 1, 1), no, yes)).isEqualTo(1);
        assertThat(run(e, stmt(0x05, 2), no, no, yes)).isEqualTo(1);
        assertThat(run(e, stmt(0x05, 0), yes)).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: ret #k returns k as unsigned 32 bits; ret a returns A")
    void returns(Engine e) {
        assertThat(run(e, stmt(0x06, -1))).isEqualTo(-1);
        assertThat(run(e, stmt(0x06, 262144))).isEqualTo(262144);
        assertThat(run(e, stmt(0x00, 0xabcdef), RET_A)).isEqualTo(0xabcdef);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    @DisplayName("R-BPF-1: filters refuse a buflen outside the packet array")
    void badBuflen(Engine e) {
        BpfFilter f = e.make(BpfProgram.of(stmt(0x06, 1)));
        assertThatThrownBy(() -> f.filter(PKT, 100, PKT.length + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("buflen 9 outside 0..8");
        assertThatThrownBy(() -> f.filter(PKT, 100, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> f.filter(null, 100, 0)).isInstanceOf(NullPointerException.class);
    }
}
