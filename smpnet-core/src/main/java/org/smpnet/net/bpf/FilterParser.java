package org.smpnet.net.bpf;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.smpnet.net.bpf.FilterAst.Addr;
import org.smpnet.net.bpf.FilterAst.Arith;
import org.smpnet.net.bpf.FilterAst.Dir;
import org.smpnet.net.bpf.FilterAst.Proto;
import org.smpnet.net.bpf.FilterAst.Qual;
import org.smpnet.net.bpf.FilterLexer.Kind;
import org.smpnet.net.bpf.FilterLexer.Kw;
import org.smpnet.net.bpf.FilterLexer.Tok;

/**
 * Recursive-descent parser for pcap-filter(7), following libpcap's grammar.y: {@code and}
 * and {@code or} have equal precedence and group to the left; {@code not} binds tightest; a
 * bare id after {@code and}/{@code or} ({@code host a or b}, {@code tcp port 80 or 443})
 * repeats the qualifiers of the primitive before it; in arithmetic {@code ^} has no
 * precedence (as in libpcap, whose parser shifts on it) so {@code a + b ^ c} is
 * {@code a + (b ^ c)}.
 *
 * <p>Locking: none; one parser per call.
 */
final class FilterParser {
    private static final Map<Kw, Proto> PNAME = new EnumMap<>(Kw.class);

    static {
        PNAME.put(Kw.LINK, Proto.LINK);
        for (Kw k : new Kw[] {Kw.ARP, Kw.RARP, Kw.IP, Kw.SCTP, Kw.TCP, Kw.UDP, Kw.ICMP, Kw.IGMP,
            Kw.IGRP, Kw.PIM, Kw.VRRP, Kw.CARP, Kw.RADIO, Kw.IPV6, Kw.ICMPV6, Kw.AH, Kw.ESP,
            Kw.ATALK, Kw.AARP, Kw.DECNET, Kw.LAT, Kw.SCA, Kw.MOPRC, Kw.MOPDL, Kw.ISO, Kw.ESIS,
            Kw.ISIS, Kw.L1, Kw.L2, Kw.IIH, Kw.LSP, Kw.SNP, Kw.CSNP, Kw.PSNP, Kw.CLNP, Kw.STP,
            Kw.IPX, Kw.NETBEUI}) {
            PNAME.put(k, Proto.valueOf(k.name()));
        }
    }

    private final List<Tok> toks;
    private int p;

    private FilterParser(String expr) {
        this.toks = FilterLexer.lex(expr);
    }

    /** Parses {@code expr}; an empty expression yields null (accept every packet). */
    static FilterAst parse(String expr) {
        FilterParser ps = new FilterParser(expr);
        if (ps.peek().kind() == Kind.EOF) {
            return null;
        }
        Res r = ps.expr();
        if (ps.peek().kind() != Kind.EOF) {
            throw FilterSyntaxException.syntax(ps.peek().pos(),
                    "expected 'and', 'or' or end of expression, found " + ps.peek().describe());
        }
        return r.node;
    }

    /** A parsed piece and the qualifiers a following bare id would repeat. */
    private record Res(FilterAst node, Qual qual) {}

    private Tok peek() {
        return toks.get(p);
    }

    private Tok peek(int ahead) {
        return toks.get(Math.min(p + ahead, toks.size() - 1));
    }

    private Tok take() {
        Tok t = toks.get(p);
        if (t.kind() != Kind.EOF) {
            p++;
        }
        return t;
    }

    private boolean isNot(Tok t) {
        return t.is(Kw.NOT) || t.isOp("!");
    }

    private Res expr() {
        Res left = term();
        while (peek().is(Kw.AND) || peek().is(Kw.OR)) {
            boolean and = take().is(Kw.AND);
            FilterAst right;
            Qual q;
            FilterAst id = tryId(left.qual);
            if (id != null) {
                right = id;
                q = left.qual;
            } else {
                Res t = term();
                right = t.node;
                q = t.qual;
            }
            FilterAst n = and ? new FilterAst.And(left.node, right) : new FilterAst.Or(left.node, right);
            left = new Res(n, q);
        }
        return left;
    }

    /** Parses an id with inherited qualifiers if one follows, else returns null and moves nothing. */
    private FilterAst tryId(Qual q) {
        int k = 0;
        while (isNot(peek(k))) {
            k++;
        }
        Tok t = peek(k);
        boolean idStart = switch (t.kind()) {
            case HID, HID6, EID, ID -> true;
            case NUM -> !startsArithTail(peek(k + 1));
            case OP -> t.text().equals("(");
            default -> false;
        };
        if (!idStart) {
            return null;
        }
        int save = p;
        try {
            FilterAst id = id(q, "'" + toks.get(p - 1).text() + "'");
            if (t.kind() == Kind.OP && startsArithTail(peek())) {
                p = save;
                return null;
            }
            return id;
        } catch (FilterSyntaxException e) {
            if (t.kind() != Kind.OP) {
                throw e;
            }
            p = save;
            return null;
        }
    }

    private static boolean startsArithTail(Tok t) {
        if (t.kind() != Kind.OP) {
            return false;
        }
        return switch (t.text()) {
            case "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "=", "==", "!=", "<", "<=", ">",
                 ">=" -> true;
            default -> false;
        };
    }

    private Res term() {
        Tok t = peek();
        if (isNot(t)) {
            take();
            Res r = term();
            return new Res(new FilterAst.Not(r.node), r.qual);
        }
        if (t.isOp("(")) {
            int save = p;
            try {
                FilterAst rel = relation();
                if (rel != null) {
                    return new Res(rel, Qual.ERR);
                }
            } catch (FilterSyntaxException e) {
                // not arithmetic: a parenthesised expression
            }
            p = save;
            take();
            Res r = expr();
            expectOp(")", "expected ')'");
            return r;
        }
        if (t.kind() == Kind.NUM || t.isOp("-") || t.is(Kw.LEN)
                || (t.kind() == Kind.KW && PNAME.containsKey(t.kw()) && peek(1).isOp("["))) {
            FilterAst rel = relation();
            if (rel == null) {
                throw FilterSyntaxException.syntax(peek().pos(),
                        "expected a relational operator (=, !=, <, <=, >, >=), found " + peek().describe());
            }
            return new Res(rel, Qual.ERR);
        }
        if (t.kind() == Kind.KW) {
            return keywordTerm(t);
        }
        throw FilterSyntaxException.syntax(t.pos(), t.kind() == Kind.EOF
                ? "expression ends where a primitive was expected"
                : "expected a primitive (a qualifier such as 'host', 'port', 'tcp'), found " + t.describe());
    }

    private Res keywordTerm(Tok t) {
        Proto proto = Proto.DEFAULT;
        Tok first = t;
        if (PNAME.containsKey(t.kw())) {
            proto = PNAME.get(t.kw());
            take();
            t = peek();
            if (!startsHeadRest(t) && !t.is(Kw.BROADCAST) && !t.is(Kw.MULTICAST)) {
                return new Res(new FilterAst.ProtoAbbrev(proto, first.pos()), Qual.ERR);
            }
        }
        if (t.is(Kw.BROADCAST) || t.is(Kw.MULTICAST)) {
            take();
            return new Res(new FilterAst.Cast(proto, t.is(Kw.MULTICAST), first.pos()), Qual.ERR);
        }
        if (startsHeadRest(t)) {
            Qual q = head(proto);
            Tok last = toks.get(p - 1);
            FilterAst id = id(q, "'" + last.text() + "'", expectation(q, last));
            return new Res(id, q);
        }
        if (proto != Proto.DEFAULT) {
            throw new AssertionError("unreachable");
        }
        return other(t);
    }

    private static String expectation(Qual q, Tok last) {
        String what = switch (q.addr()) {
            case PORT -> "a port number";
            case PORTRANGE -> "a port range";
            case HOST -> "a host address";
            case NET -> "a network";
            case PROTO, PROTOCHAIN -> "a protocol";
            case GATEWAY -> "a gateway host";
            default -> "an address";
        };
        return "expected " + what + " after '" + last.text() + "'";
    }

    private boolean startsHeadRest(Tok t) {
        if (t.kind() != Kind.KW) {
            return false;
        }
        return switch (t.kw()) {
            case SRC, DST, ADDR1, ADDR2, ADDR3, ADDR4, RA, TA, HOST, NET, PORT, PORTRANGE, GATEWAY,
                 PROTO, PROTOCHAIN -> true;
            default -> false;
        };
    }

    private Qual head(Proto proto) {
        Tok t = take();
        Dir dir = Dir.DEFAULT;
        switch (t.kw()) {
            case PROTO:
                return new Qual(proto, Dir.DEFAULT, Addr.PROTO);
            case PROTOCHAIN:
                return new Qual(proto, Dir.DEFAULT, Addr.PROTOCHAIN);
            case SRC, DST: {
                dir = t.is(Kw.SRC) ? Dir.SRC : Dir.DST;
                Kw other = t.is(Kw.SRC) ? Kw.DST : Kw.SRC;
                if ((peek().is(Kw.OR) || peek().is(Kw.AND)) && peek(1).is(other)) {
                    dir = take().is(Kw.OR) ? Dir.OR : Dir.AND;
                    take();
                }
                break;
            }
            case ADDR1, ADDR2, ADDR3, ADDR4, RA, TA:
                throw FilterSyntaxException.semantic(t.pos(),
                        "802.11 address qualifier '" + t.text() + "' is not supported");
            default:
                p--;
        }
        Addr addr = Addr.DEFAULT;
        Tok a = peek();
        if (a.kind() == Kind.KW) {
            switch (a.kw()) {
                case HOST -> addr = Addr.HOST;
                case NET -> addr = Addr.NET;
                case PORT -> addr = Addr.PORT;
                case PORTRANGE -> addr = Addr.PORTRANGE;
                case GATEWAY -> addr = Addr.GATEWAY;
                default -> { }
            }
            if (addr != Addr.DEFAULT) {
                take();
            }
        }
        return new Qual(proto, dir, addr);
    }

    private FilterAst id(Qual q, String after) {
        return id(q, after, "expected an address, number or name after " + after);
    }

    /** id: nid | pnum | '(' pid ')'; every id gets the qualifiers {@code q}. */
    private FilterAst id(Qual q, String after, String expectation) {
        Tok t = peek();
        if (isNot(t)) {
            take();
            return new FilterAst.Not(id(q, "'" + t.text() + "'"));
        }
        if (t.isOp("(")) {
            take();
            FilterAst left = id(q, "'('");
            while (peek().is(Kw.AND) || peek().is(Kw.OR)) {
                Tok op = take();
                FilterAst right = id(q, "'" + op.text() + "'");
                left = op.is(Kw.AND) ? new FilterAst.And(left, right) : new FilterAst.Or(left, right);
            }
            expectOp(")", "expected ')'");
            return left;
        }
        FilterAst.Value v = switch (t.kind()) {
            case NUM -> new FilterAst.Num(take().num(), t.pos());
            case ID -> new FilterAst.Name(take().text(), t.pos());
            case EID -> new FilterAst.Mac(parseMac(take()), t.pos());
            case HID -> hid();
            case HID6 -> hid6();
            default -> throw FilterSyntaxException.syntax(t.pos(), expectation + ", found " + t.describe());
        };
        return new FilterAst.Primitive(q, v, t.pos());
    }

    private FilterAst.Value hid() {
        Tok t = take();
        if (peek().isOp("/")) {
            take();
            Tok n = expectNum("expected a prefix length after '/'");
            return new FilterAst.Ipv4Masked(t.text(), null, n.num(), t.pos());
        }
        if (peek().is(Kw.MASK)) {
            take();
            Tok m = peek();
            if (m.kind() != Kind.HID) {
                throw FilterSyntaxException.syntax(m.pos(), "expected a dotted netmask after 'mask', found " + m.describe());
            }
            take();
            return new FilterAst.Ipv4Masked(t.text(), m.text(), 0, t.pos());
        }
        return new FilterAst.Ipv4(t.text(), t.pos());
    }

    private FilterAst.Value hid6() {
        Tok t = take();
        byte[] a = FilterLexer.parseIpv6(t.text());
        long len = 128;
        if (peek().isOp("/")) {
            take();
            len = expectNum("expected a prefix length after '/'").num();
        }
        return new FilterAst.Ipv6(t.text(), a, len, t.pos());
    }

    /** An EID token in any of libpcap's forms: six 1-2 digit groups, three 4-digit groups, or 12 digits. */
    private static byte[] parseMac(Tok t) {
        String[] parts = t.text().split("[:.\\-]");
        StringBuilder hex = new StringBuilder();
        for (String x : parts) {
            hex.append(parts.length == 6 && x.length() == 1 ? "0" + x : x);
        }
        if (hex.length() != 12) {
            throw FilterSyntaxException.syntax(t.pos(), "bad Ethernet address '" + t.text() + "'");
        }
        byte[] out = new byte[6];
        for (int i = 0; i < 6; i++) {
            out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    private Res other(Tok t) {
        take();
        switch (t.kw()) {
            case LESS, GREATER: {
                Tok n = expectNum("expected a length after '" + t.text() + "'");
                return new Res(new FilterAst.Length(t.is(Kw.GREATER), n.num(), t.pos()), Qual.ERR);
            }
            case VLAN, MPLS, PPPOES, GENEVE: {
                Long id = null;
                if (peek().kind() == Kind.NUM || (peek().isOp("(") && peek(1).kind() == Kind.NUM)) {
                    id = pnum();
                }
                return new Res(new FilterAst.Encap(t.text(), id, t.pos()), Qual.ERR);
            }
            case PPPOED:
                return new Res(new FilterAst.Encap(t.text(), null, t.pos()), Qual.ERR);
            case LLC: {
                String sub = null;
                if (peek().kind() == Kind.ID) {
                    sub = take().text();
                } else if (peek().is(Kw.RNR)) {
                    take();
                    sub = "rnr";
                }
                return new Res(new FilterAst.Llc(sub, t.pos()), Qual.ERR);
            }
            case AND, OR:
                throw FilterSyntaxException.syntax(t.pos(), "expected a primitive before '" + t.text() + "'");
            default:
                throw FilterSyntaxException.semantic(t.pos(), "'" + t.text() + "' is not supported by this compiler");
        }
    }

    private long pnum() {
        if (peek().isOp("(")) {
            take();
            long v = pnum();
            expectOp(")", "expected ')'");
            return v;
        }
        return expectNum("expected a number").num();
    }

    /** arth relop arth, or null (position restored by the caller) if no relop follows the left side. */
    private FilterAst relation() {
        Tok start = peek();
        Arith left = arith();
        Tok op = peek();
        int jmp;
        boolean rev;
        switch (op.kind() == Kind.OP ? op.text() : "") {
            case ">" -> { jmp = FilterCode.JGT; rev = false; }
            case ">=" -> { jmp = FilterCode.JGE; rev = false; }
            case "=", "==" -> { jmp = FilterCode.JEQ; rev = false; }
            case "<=" -> { jmp = FilterCode.JGT; rev = true; }
            case "<" -> { jmp = FilterCode.JGE; rev = true; }
            case "!=" -> { jmp = FilterCode.JEQ; rev = true; }
            default -> { return null; }
        }
        take();
        Arith right = arith();
        return new FilterAst.Relation(jmp, rev, left, right, start.pos());
    }

    private static final String[][] LEVELS = {{"|"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"}};

    private Arith arith() {
        return level(0);
    }

    private Arith level(int l) {
        if (l == LEVELS.length) {
            return unary();
        }
        Arith left = level(l + 1);
        while (true) {
            Tok t = peek();
            String found = null;
            for (String op : LEVELS[l]) {
                if (t.isOp(op)) {
                    found = op;
                }
            }
            if (found == null) {
                return left;
            }
            take();
            Arith right = level(l + 1);
            left = new FilterAst.Binary(aluOp(found), left, right, t.pos());
        }
    }

    private static int aluOp(String op) {
        return switch (op) {
            case "+" -> FilterCode.ADD;
            case "-" -> FilterCode.SUB;
            case "*" -> FilterCode.MUL;
            case "/" -> FilterCode.DIV;
            case "%" -> FilterCode.MOD;
            case "&" -> FilterCode.AND;
            case "|" -> FilterCode.OR;
            case "^" -> FilterCode.XOR;
            case "<<" -> FilterCode.LSH;
            default -> FilterCode.RSH;
        };
    }

    private Arith unary() {
        if (peek().isOp("-")) {
            take();
            return new FilterAst.Negate(unary());
        }
        Arith a = primary();
        if (peek().isOp("^")) {
            Tok x = take();
            return new FilterAst.Binary(FilterCode.XOR, a, arith(), x.pos());
        }
        return a;
    }

    private Arith primary() {
        Tok t = peek();
        if (t.kind() == Kind.NUM) {
            take();
            return new FilterAst.Const(t.num());
        }
        if (t.is(Kw.LEN)) {
            take();
            return new FilterAst.PacketLen();
        }
        if (t.isOp("(")) {
            take();
            Arith a = arith();
            expectOp(")", "expected ')'");
            return a;
        }
        if (t.kind() == Kind.KW && PNAME.containsKey(t.kw()) && peek(1).isOp("[")) {
            take();
            take();
            Arith idx = arith();
            int size = 1;
            if (peek().isOp(":")) {
                take();
                Tok n = expectNum("expected a size (1, 2 or 4) after ':'");
                if (n.num() != 1 && n.num() != 2 && n.num() != 4) {
                    throw FilterSyntaxException.semantic(n.pos(), "data size must be 1, 2, or 4");
                }
                size = (int) n.num();
            }
            expectOp("]", "expected ']'");
            return new FilterAst.Load(PNAME.get(t.kw()), idx, size, t.pos());
        }
        throw FilterSyntaxException.syntax(t.pos(), "expected a number, 'len', 'proto[...]' or '(' in arithmetic, found " + t.describe());
    }

    private Tok expectNum(String msg) {
        Tok t = peek();
        if (t.kind() != Kind.NUM) {
            throw FilterSyntaxException.syntax(t.pos(), msg + ", found " + t.describe());
        }
        return take();
    }

    private void expectOp(String op, String msg) {
        Tok t = peek();
        if (!t.isOp(op)) {
            throw FilterSyntaxException.syntax(t.pos(), msg + ", found " + t.describe());
        }
        take();
    }
}
