package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.net.bpf.BpfInsn.jump;
import static org.smpnet.net.bpf.BpfInsn.stmt;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.net.bpf.BpfAsm.Format;

/** Text forms of programs against tcpdump 4.99.3 / libpcap 1.10.3 output, and round trips. */
class BpfAsmTest {
    // tcpdump -d / -ddd -y EN10MB 'tcp port 80'
    private static final String TCP80_D = """
            (000) ldh      [12]
            (001) jeq      #0x86dd          jt 2\tjf 8
            (002) ldb      [20]
            (003) jeq      #0x6             jt 4\tjf 19
            (004) ldh      [54]
            (005) jeq      #0x50            jt 18\tjf 6
            (006) ldh      [56]
            (007) jeq      #0x50            jt 18\tjf 19
            (008) jeq      #0x800           jt 9\tjf 19
            (009) ldb      [23]
            (010) jeq      #0x6             jt 11\tjf 19
            (011) ldh      [20]
            (012) jset     #0x1fff          jt 19\tjf 13
            (013) ldxb     4*([14]&0xf)
            (014) ldh      [x + 14]
            (015) jeq      #0x50            jt 18\tjf 16
            (016) ldh      [x + 16]
            (017) jeq      #0x50            jt 18\tjf 19
            (018) ret      #262144
            (019) ret      #0
            """;
    private static final String TCP80_DDD = """
            20
            40 0 0 12
            21 0 6 34525
            48 0 0 20
            21 0 15 6
            40 0 0 54
            21 12 0 80
            40 0 0 56
            21 10 11 80
            21 0 10 2048
            48 0 0 23
            21 0 8 6
            40 0 0 20
            69 6 0 8191
            177 0 0 14
            72 0 0 14
            21 2 0 80
            72 0 0 16
            21 0 1 80
            6 0 0 262144
            6 0 0 0
            """;
    // 'ip[0] & 0xf > 5 and ip[2:2] - ip[0] | 3 = 7 and ip[1] & 1 = 0': and, st, tax, ld M, sub x, or, jset.
    private static final String ARITH_D = """
            (000) ldh      [12]
            (001) jeq      #0x800           jt 2\tjf 16
            (002) ldb      [14]
            (003) and      #0xf
            (004) jgt      #0x5             jt 5\tjf 16
            (005) ldh      [16]
            (006) st       M[4]
            (007) ldb      [14]
            (008) tax     \s
            (009) ld       M[4]
            (010) sub      x
            (011) or       #0x3
            (012) jeq      #0x7             jt 13\tjf 16
            (013) ldb      [15]
            (014) jset     #0x1             jt 16\tjf 15
            (015) ret      #262144
            (016) ret      #0
            """;
    private static final String ARITH_DDD = """
            17
            40 0 0 12
            21 0 14 2048
            48 0 0 14
            84 0 0 15
            37 0 11 5
            40 0 0 16
            2 0 0 4
            48 0 0 14
            7 0 0 6
            96 0 0 4
            28 0 0 0
            68 0 0 3
            21 0 3 7
            48 0 0 15
            69 1 0 1
            6 0 0 262144
            6 0 0 0
            """;
    // tcpdump -dd -y EN10MB 'icmp or arp'
    private static final String ICMP_ARP_DD = """
            { 0x28, 0, 0, 0x0000000c },
            { 0x15, 0, 2, 0x00000800 },
            { 0x30, 0, 0, 0x00000017 },
            { 0x15, 1, 2, 0x00000001 },
            { 0x15, 0, 1, 0x00000806 },
            { 0x6, 0, 0, 0x00040000 },
            { 0x6, 0, 0, 0x00000000 },
            """;
    private static final String ICMP_ARP_DDD = """
            7
            40 0 0 12
            21 0 2 2048
            48 0 0 23
            21 1 2 1
            21 0 1 2054
            6 0 0 262144
            6 0 0 0
            """;

    private static List<BpfInsn> normalized(List<BpfInsn> p) {
        return p.stream().map(BpfInsn::normalized).toList();
    }

    @Test
    @DisplayName("R-BPF-1: normalizing clears only fields that no run reads")
    void normalizedRunsTheSame() {
        Random r = new Random(BpfTestSupport.seed() + 3);
        for (int n = 0; n < 300; n++) {
            List<BpfInsn> p = BpfTestSupport.randomValidProgram(r, 40);
            BpfFilter a = new BpfInterpreter(BpfValidator.validate(p));
            BpfFilter b = new BpfInterpreter(BpfValidator.validate(normalized(p)));
            for (int i = 0; i < 20; i++) {
                byte[] pkt = BpfTestSupport.randomPacket(r, 80);
                assertThat(b.filter(pkt, pkt.length, pkt.length)).isEqualTo(a.filter(pkt, pkt.length, pkt.length));
            }
        }
        assertThat(stmt(0x07, 6).normalized()).isEqualTo(stmt(0x07, 0));
        assertThat(new BpfInsn(0x28, 3, 4, 12).normalized()).isEqualTo(stmt(0x28, 12));
        assertThat(jump(0x1d, 9, 1, 2).normalized()).isEqualTo(jump(0x1d, 0, 1, 2));
        assertThat(jump(0x15, 9, 1, 2).normalized()).isEqualTo(jump(0x15, 9, 1, 2));
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump -ddd loads, and disassembles to exactly tcpdump -d's text")
    void disassemblesLikeTcpdump() {
        List<BpfInsn> tcp80 = BpfAsm.parse(TCP80_DDD);
        assertThat(tcp80).hasSize(20).startsWith(stmt(0x28, 12), jump(0x15, 0x86dd, 0, 6));
        assertThat(BpfAsm.disassemble(tcp80)).isEqualTo(TCP80_D);
        assertThat(BpfAsm.disassemble(BpfAsm.parse(ARITH_DDD))).isEqualTo(ARITH_D);
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump -d, -dd and -ddd text parse to the same program and print back byte for byte")
    void allFormatsAgree() {
        assertThat(BpfAsm.parse(TCP80_D)).isEqualTo(BpfAsm.parse(TCP80_DDD));
        // libpcap leaves k = 6 in its tax, which -d does not show.
        assertThat(BpfAsm.parse(ARITH_DDD).get(8)).isEqualTo(stmt(0x07, 6));
        assertThat(BpfAsm.parse(ARITH_D)).isEqualTo(normalized(BpfAsm.parse(ARITH_DDD)));
        assertThat(BpfAsm.parse(ICMP_ARP_DD)).isEqualTo(BpfAsm.parse(ICMP_ARP_DDD));
        assertThat(BpfAsm.format(BpfAsm.parse(ICMP_ARP_DD), Format.C_ARRAY)).isEqualTo(ICMP_ARP_DD);
        assertThat(BpfAsm.format(BpfAsm.parse(TCP80_D), Format.DECIMAL)).isEqualTo(TCP80_DDD);
        assertThat(BpfAsm.format(BpfAsm.parse(ARITH_DDD), Format.DECIMAL)).isEqualTo(ARITH_DDD);
    }

    @Test
    @DisplayName("R-BPF-1: format detection and the comma-separated one-line -ddd form")
    void detectAndCommas() {
        assertThat(BpfAsm.detect(TCP80_D)).isEqualTo(Format.ASM);
        assertThat(BpfAsm.detect("ldh [12]\nret #0")).isEqualTo(Format.ASM);
        assertThat(BpfAsm.detect("\n  " + ICMP_ARP_DD)).isEqualTo(Format.C_ARRAY);
        assertThat(BpfAsm.detect(TCP80_DDD)).isEqualTo(Format.DECIMAL);
        assertThat(BpfAsm.parse("7,40 0 0 12,21 0 2 2048,48 0 0 23,21 1 2 1,21 0 1 2054,6 0 0 262144,6 0 0 0,"))
                .isEqualTo(BpfAsm.parse(ICMP_ARP_DDD));
    }

    @Test
    @DisplayName("R-BPF-1: every opcode's -d form round-trips, including extreme constants")
    void everyOpcodeRoundTrips() {
        List<BpfInsn> prog = new ArrayList<>();
        int[] ks = {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 0x86dd};
        int i = 0;
        for (int code : BpfTestSupport.OPCODES) {
            BpfInsn shape = new BpfInsn(code, 0, 0, 0);
            int k = ks[i++ % ks.length];
            if (shape.usesScratch()) {
                k = 15;
            } else if (code == 0x05) {
                k = 2;
            } else if (!shape.usesK()) {
                k = 0; // these print no constant
            }
            prog.add(shape.isConditionalJump() ? jump(code, k, 1, 3) : stmt(code, k));
        }
        prog.add(stmt(0x06, 0));
        prog.add(stmt(0x06, 0));
        prog.add(stmt(0x06, 0));
        for (Format f : Format.values()) {
            assertThat(BpfAsm.parse(BpfAsm.format(prog, f), f)).as(f.name()).isEqualTo(prog);
        }
    }

    @Test
    @DisplayName("R-BPF-1: random programs round-trip through all three text forms")
    void randomRoundTrips() {
        Random r = new Random(BpfTestSupport.seed());
        for (int n = 0; n < 200; n++) {
            List<BpfInsn> p = BpfTestSupport.randomValidProgram(r, 80);
            for (Format f : Format.values()) {
                String text = BpfAsm.format(p, f);
                // -d shows only the fields an instruction reads; the numeric forms keep every bit.
                assertThat(BpfAsm.parse(text)).as(() -> f + "\n" + text).isEqualTo(f == Format.ASM ? normalized(p) : p);
            }
        }
    }

    @Test
    @DisplayName("R-BPF-1: hand-written assembly: no line numbers, comments, ret a, #pktlen, default jf")
    void handWritten() {
        String src = """
                ; IPv4 with a header longer than 20 bytes
                ldh [12]
                jeq #0x800 jt 2 jf 6
                ldxb 4*([14]&0xf)
                txa
                jgt #20 jt 5        ; jf defaults to the next instruction
                ret #0
                ret a
                ld #pktlen
                ldx len
                ja 11
                ret #1
                ret #-1
                """;
        List<BpfInsn> p = BpfAsm.parse(src);
        assertThat(p).containsExactly(stmt(0x28, 12), jump(0x15, 0x800, 0, 4), stmt(0xb1, 14), stmt(0x87, 0),
                jump(0x25, 20, 0, 0), stmt(0x06, 0), stmt(0x16, 0), stmt(0x80, 0), stmt(0x81, 0), stmt(0x05, 1),
                stmt(0x06, 1), stmt(0x06, -1));
        assertThat(BpfAsm.parse("(000) ret\n")).containsExactly(stmt(0x16, 0)); // old libpcap's ret A
        assertThat(BpfAsm.parse("ld [x]\nldb [ x + 0x10 ]\nret a")).containsExactly(stmt(0x40, 0), stmt(0x50, 16),
                stmt(0x16, 0));
    }

    @Test
    @DisplayName("R-BPF-1: unknown opcodes disassemble as unimp; the parser refuses them")
    void unknownOpcode() {
        assertThat(BpfAsm.image(stmt(0x0e, 0), 3)).isEqualTo("(003) unimp    0xe");
        assertThatThrownBy(() -> BpfAsm.parse("(000) unimp    0xe"))
                .isInstanceOf(BpfAsmException.class).hasMessage("line 1: unknown mnemonic 'unimp'");
    }

    @Test
    @DisplayName("R-BPF-1: bad text is refused with the line and the reason")
    void errors() {
        assertThatThrownBy(() -> BpfAsm.parse("ldh [12]\nfrob #1\n")).hasMessage("line 2: unknown mnemonic 'frob'");
        assertThatThrownBy(() -> BpfAsm.parse("ldh #12")).hasMessage("line 1: bad operand '#12' for ldh");
        assertThatThrownBy(() -> BpfAsm.parse("ld [99999999999]"))
                .hasMessage("line 1: number 99999999999 outside -2147483648..4294967295");
        assertThatThrownBy(() -> BpfAsm.parse("(000) ldh [12]\n(002) ret #0"))
                .hasMessage("line 2: instruction number (002) does not match its position 1");
        assertThatThrownBy(() -> BpfAsm.parse("ldh [12]\njeq #1 jt 1 jf 2"))
                .hasMessage("line 2: jump target 1 is not after instruction 1");
        assertThatThrownBy(() -> BpfAsm.parse("jeq #1 jt 300 jf 1"))
                .hasMessage("line 1: jump target 300 is more than 255 past 1");
        assertThatThrownBy(() -> BpfAsm.parse("add #1 jt 2 jf 3")).hasMessage("line 1: 'add' takes no jt/jf");
        assertThatThrownBy(() -> BpfAsm.parse("tax x")).hasMessage("line 1: unexpected operand 'x'");
        assertThatThrownBy(() -> BpfAsm.parse("st [3]")).hasMessage("line 1: expected M[n], got '[3]'");
        assertThatThrownBy(() -> BpfAsm.parse("3\n6 0 0 0\n6 0 0 1\n"))
                .hasMessage("line 4: count says 3 instructions, found 2");
        assertThatThrownBy(() -> BpfAsm.parse("1\n6 0 0\n")).hasMessage("line 2: expected 'code jt jf k', got '6 0 0'");
        assertThatThrownBy(() -> BpfAsm.parse("1\n6 0 256 0\n")).hasMessage("line 2: number 256 outside 0..255");
        assertThatThrownBy(() -> BpfAsm.parse("{ 0x6, 0, 0 },"))
                .hasMessage("line 1: expected '{ code, jt, jf, k },', got '{ 0x6, 0, 0 },'");
        assertThatThrownBy(() -> BpfAsm.parse("1\n6 0 0 zz\n")).hasMessage("line 2: bad number 'zz'");
    }
}
