package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.net.bpf.FilterAst.Addr;
import org.smpnet.net.bpf.FilterAst.And;
import org.smpnet.net.bpf.FilterAst.Binary;
import org.smpnet.net.bpf.FilterAst.Dir;
import org.smpnet.net.bpf.FilterAst.Not;
import org.smpnet.net.bpf.FilterAst.Or;
import org.smpnet.net.bpf.FilterAst.Primitive;
import org.smpnet.net.bpf.FilterAst.Proto;
import org.smpnet.net.bpf.FilterAst.Qual;
import org.smpnet.net.bpf.FilterAst.Relation;
import org.smpnet.net.bpf.FilterLexer.Kind;

class FilterParserTest {

    private static Qual q(FilterAst n) {
        return ((Primitive) n).qual();
    }

    @Test
    @DisplayName("R-BPF-3: 'and' and 'or' have equal precedence and group left; 'not' binds tightest")
    void precedence() {
        FilterAst a = FilterParser.parse("tcp or udp and port 53");
        assertThat(a).isInstanceOf(And.class);
        assertThat(((And) a).left()).isInstanceOf(Or.class);
        FilterAst b = FilterParser.parse("not tcp and udp");
        assertThat(((And) b).left()).isInstanceOf(Not.class);
        FilterAst c = FilterParser.parse("tcp and (udp or icmp)");
        assertThat(((And) c).right()).isInstanceOf(Or.class);
        FilterAst d = FilterParser.parse("!tcp && !udp || icmp");
        assertThat(d).isInstanceOf(Or.class);
        assertThat(((Or) d).left()).isInstanceOf(And.class);
    }

    @Test
    @DisplayName("R-BPF-3: a bare id after and/or repeats the previous primitive's qualifiers")
    void qualifierInheritance() {
        Or a = (Or) FilterParser.parse("host 1.2.3.4 or 5.6.7.8");
        assertThat(q(a.right())).isEqualTo(new Qual(Proto.DEFAULT, Dir.DEFAULT, Addr.HOST));
        Or b = (Or) FilterParser.parse("tcp dst port 80 or 443");
        assertThat(q(b.right())).isEqualTo(new Qual(Proto.TCP, Dir.DST, Addr.PORT));
        And c = (And) FilterParser.parse("src 10.0.0.1 and not 10.0.0.2");
        assertThat(q(((Not) c.right()).operand())).isEqualTo(new Qual(Proto.DEFAULT, Dir.SRC, Addr.DEFAULT));
        FilterAst d = FilterParser.parse("host (1.2.3.4 or 5.6.7.8)");
        assertThat(q(((Or) d).left())).isEqualTo(q(((Or) d).right()));
        And e = (And) FilterParser.parse("ip src or dst host 10.0.0.1 and 10.0.0.2");
        assertThat(q(e.right())).isEqualTo(new Qual(Proto.IP, Dir.OR, Addr.HOST));
        // After a term that is not "head id" there is nothing to repeat: libpcap says syntax error.
        assertThatThrownBy(() -> FilterCompiler.compile("tcp and 80"))
                .isInstanceOf(FilterSyntaxException.class).hasMessageContaining("at 8");
    }

    @Test
    @DisplayName("R-BPF-3: arithmetic precedence, and '^' binding as libpcap's parser does")
    void arithmetic() {
        Relation r = (Relation) FilterParser.parse("ip[0] + 2 * 3 = 8");
        Binary add = (Binary) r.left();
        assertThat(add.op()).isEqualTo(FilterCode.ADD);
        assertThat(((Binary) add.right()).op()).isEqualTo(FilterCode.MUL);
        Relation x = (Relation) FilterParser.parse("ether[0] ^ 1 | 2 = 0");
        Binary xor = (Binary) x.left();
        assertThat(xor.op()).isEqualTo(FilterCode.XOR);
        assertThat(((Binary) xor.right()).op()).isEqualTo(FilterCode.OR);
        Relation ne = (Relation) FilterParser.parse("tcp[13] & 2 != 0");
        assertThat(ne.reversed()).isTrue();
        assertThat(ne.jmp()).isEqualTo(FilterCode.JEQ);
        Relation le = (Relation) FilterParser.parse("(len) <= 60");
        assertThat(le.jmp()).isEqualTo(FilterCode.JGT);
        assertThat(le.reversed()).isTrue();
    }

    @Test
    @DisplayName("R-BPF-3: the lexer takes the longest match like libpcap's (7-7 and len-1 are names)")
    void lexer() {
        List<FilterLexer.Tok> t = FilterLexer.lex("portrange 7-7 len-1 \\tcp icmp-echo 0x1f 017 ab:cd:ef:00:00:01 fe80::1 1.2.3.4 !=");
        assertThat(t).extracting(FilterLexer.Tok::kind).containsExactly(Kind.KW, Kind.ID, Kind.ID, Kind.ID,
                Kind.NUM, Kind.NUM, Kind.NUM, Kind.EID, Kind.HID6, Kind.HID, Kind.OP, Kind.EOF);
        assertThat(t.get(4).num()).isEqualTo(8);
        assertThat(t.get(5).num()).isEqualTo(31);
        assertThat(t.get(6).num()).isEqualTo(15);
        assertThat(t.get(3).text()).isEqualTo("tcp");
        assertThat(FilterLexer.lex("abcd.ef00.0003 abcdef000003 ab-cd-ef-00-00-02 ab.cd.ef.00.00.02"))
                .extracting(FilterLexer.Tok::kind).containsExactly(Kind.EID, Kind.EID, Kind.EID, Kind.EID, Kind.EOF);
        assertThat(FilterLexer.parseIpv6("2001:db8::ffff:1.2.3.4")).hasSize(16);
        assertThat(FilterLexer.parseIpv6("1:2:3")).isNull();
    }

    private static void error(String expr, String message) {
        assertThatThrownBy(() -> FilterCompiler.compile(expr)).isInstanceOf(FilterSyntaxException.class)
                .hasMessage(message);
    }

    @Test
    @DisplayName("R-BPF-3: syntax errors name the position and what was expected")
    void syntaxErrors() {
        error("tcp and port ", "syntax error at 13: expected a port number after 'port', found end of expression");
        error("host", "syntax error at 4: expected a host address after 'host', found end of expression");
        error("tcp port 80 and", "syntax error at 15: expression ends where a primitive was expected");
        error("(ip", "syntax error at 3: expected ')', found end of expression");
        error("ip)", "syntax error at 2: expected 'and', 'or' or end of expression, found ')'");
        error("ip[", "syntax error at 3: expected a number, 'len', 'proto[...]' or '(' in arithmetic, found end of expression");
        error("ip[0 = 1", "syntax error at 5: expected ']', found '='");
        error("ip[0]", "syntax error at 5: expected a relational operator (=, !=, <, <=, >, >=), found end of expression");
        error("tcp 80", "syntax error at 4: expected 'and', 'or' or end of expression, found '80'");
        error("port 80 #", "syntax error at 8: unexpected character '#'");
        error("ether host 1:2:3:", "syntax error at 11: bogus ethernet address '1:2:3:'");
        error("net 10.0.0.0 mask", "syntax error at 17: expected a dotted netmask after 'mask', found end of expression");
    }

    @Test
    @DisplayName("R-BPF-3: semantic errors as libpcap reports them, with the position")
    void semanticErrors() {
        error("ether[0:3] = 1", "error at 8: data size must be 1, 2, or 4");
        error("port 99999", "error at 5: illegal port number 99999 > 65535");
        error("ip port 80", "error at 8: illegal qualifier of 'port'");
        error("ip[2:2] / 0 = 1", "error at 8: division by zero");
        error("ip[0] << 32 = 0", "error at 6: shift by more than 31 bits");
        error("net 10.0.0.1/8", "error at 4: non-network bits set in \"10.0.0.1/8\"");
        error("host 10.0.0.0/8", "error at 5: Mask syntax for networks only");
        error("ip6 host 1.2.3.4", "error at 9: 'ip6' modifier applied to ip host");
        error("ether host 10.0.0.1", "error at 11: illegal link layer address");
        error("host 1:2:3:4:5:6", "error at 5: ethernet address used in non-ether expression");
        error("tcp port ssh-x", "error at 9: unknown port 'ssh-x'");
        error("udp port http", "error at 9: port 'http' is tcp");
        error("vlan 5000", "error at 0: VLAN tag 5000 greater than maximum 4095");
        error("tcp port 80 and ether proto 0x806", "error at 0: expression rejects all packets");
        error("host www.example.com", "error at 5: host names are not supported: use a numeric address instead of 'www.example.com'");
        assertThatThrownBy(() -> FilterCompiler.compile("ether host 1:2:3:4:5:6", FilterCompiler.DLT_RAW))
                .hasMessageContaining("ethernet addresses supported only on ethernet");
        assertThatThrownBy(() -> FilterCompiler.compile("vlan", FilterCompiler.DLT_NULL))
                .hasMessageContaining("no VLAN support");
    }

    @Test
    @DisplayName("R-BPF-3: code follows libpcap's layout: IPv4 header length via ldxb, vlan shifts later offsets by 4")
    void codeShape() {
        assertThat(FilterCompiler.compile("ip").listing()).isEqualTo("""
                (000) ldh      [12]
                (001) jeq      #0x800           jt 2	jf 3
                (002) ret      #262144
                (003) ret      #0
                """);
        String tcp = FilterCompiler.compile("tcp dst port 80").listing();
        assertThat(tcp).contains("ldxb     4*([14]&0xf)").contains("ldh      [x + 16]").contains("jset     #0x1fff");
        String vlan = FilterCompiler.compile("vlan 100 and ip").listing();
        assertThat(vlan).contains("jeq      #0x8100").contains("and      #0xfff").contains("ldh      [16]");
        assertThat(FilterCompiler.compile("ip", FilterCompiler.LINKTYPE_RAW).listing()).contains("ldb      [0]")
                .contains("and      #0xf0").contains("jeq      #0x40");
        assertThat(FilterCompiler.compile("ip", FilterCompiler.DLT_NULL).listing()).contains("jeq      #0x2000000");
        assertThat(FilterCompiler.compile("").listing()).isEqualTo("(000) ret      #262144\n");
    }

    @Test
    @DisplayName("R-BPF-3: jumps longer than 255 go through 'ja' trampolines and the program still validates")
    void longJumps() {
        StringBuilder e = new StringBuilder("port 1");
        for (int p = 2; p <= 40; p++) {
            e.append(" or port ").append(p);
        }
        FilterProgram prog = FilterCompiler.compile(e.toString());
        assertThat(prog.insns().size()).isGreaterThan(300);
        assertThat(prog.insns()).anyMatch(i -> i.code() == (BpfInsn.JMP | BpfInsn.JA));
        BpfInterpreter vm = new BpfInterpreter(prog.program());
        byte[] pkt = new byte[54];
        pkt[12] = 0x08;
        pkt[14] = 0x45;
        pkt[23] = 6;
        pkt[36] = 0;
        pkt[37] = 40;
        assertThat(vm.filter(pkt, pkt.length, pkt.length)).isEqualTo(FilterCompiler.DEFAULT_SNAPLEN);
        pkt[37] = 41;
        assertThat(vm.filter(pkt, pkt.length, pkt.length)).isZero();
    }
}
