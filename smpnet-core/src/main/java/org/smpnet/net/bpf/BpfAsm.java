package org.smpnet.net.bpf;

import static org.smpnet.net.bpf.BpfInsn.A;
import static org.smpnet.net.bpf.BpfInsn.ABS;
import static org.smpnet.net.bpf.BpfInsn.ADD;
import static org.smpnet.net.bpf.BpfInsn.ALU;
import static org.smpnet.net.bpf.BpfInsn.AND;
import static org.smpnet.net.bpf.BpfInsn.B;
import static org.smpnet.net.bpf.BpfInsn.DIV;
import static org.smpnet.net.bpf.BpfInsn.H;
import static org.smpnet.net.bpf.BpfInsn.IMM;
import static org.smpnet.net.bpf.BpfInsn.IND;
import static org.smpnet.net.bpf.BpfInsn.JA;
import static org.smpnet.net.bpf.BpfInsn.JEQ;
import static org.smpnet.net.bpf.BpfInsn.JGE;
import static org.smpnet.net.bpf.BpfInsn.JGT;
import static org.smpnet.net.bpf.BpfInsn.JMP;
import static org.smpnet.net.bpf.BpfInsn.JSET;
import static org.smpnet.net.bpf.BpfInsn.K;
import static org.smpnet.net.bpf.BpfInsn.LD;
import static org.smpnet.net.bpf.BpfInsn.LDX;
import static org.smpnet.net.bpf.BpfInsn.LEN;
import static org.smpnet.net.bpf.BpfInsn.LSH;
import static org.smpnet.net.bpf.BpfInsn.MEM;
import static org.smpnet.net.bpf.BpfInsn.MISC;
import static org.smpnet.net.bpf.BpfInsn.MOD;
import static org.smpnet.net.bpf.BpfInsn.MSH;
import static org.smpnet.net.bpf.BpfInsn.MUL;
import static org.smpnet.net.bpf.BpfInsn.NEG;
import static org.smpnet.net.bpf.BpfInsn.OR;
import static org.smpnet.net.bpf.BpfInsn.RET;
import static org.smpnet.net.bpf.BpfInsn.RSH;
import static org.smpnet.net.bpf.BpfInsn.ST;
import static org.smpnet.net.bpf.BpfInsn.STX;
import static org.smpnet.net.bpf.BpfInsn.SUB;
import static org.smpnet.net.bpf.BpfInsn.TAX;
import static org.smpnet.net.bpf.BpfInsn.TXA;
import static org.smpnet.net.bpf.BpfInsn.W;
import static org.smpnet.net.bpf.BpfInsn.X;
import static org.smpnet.net.bpf.BpfInsn.XOR;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes filter programs as text, in the three forms {@code tcpdump} prints:
 * <ul>
 *   <li>{@link Format#ASM} ({@code -d}): {@code (000) ldh      [12]}, one instruction a line, in
 *       libpcap's {@code bpf_image} layout; jump targets are absolute instruction numbers. On input
 *       the {@code (NNN)} prefix is optional (checked when present), spacing is free, a missing
 *       {@code jt}/{@code jf} means the next instruction, and {@code ;} starts a comment.
 *       {@code ret a} returns A (old libpcap printed a bare {@code ret}, also accepted).
 *   <li>{@link Format#C_ARRAY} ({@code -dd}): {@code { 0x28, 0, 0, 0x0000000c },} lines.
 *   <li>{@link Format#DECIMAL} ({@code -ddd}): a count line, then {@code code jt jf k} lines;
 *       on input commas may separate the entries (the one-line form xt_bpf takes).
 * </ul>
 * Parsing yields an unvalidated instruction list: pass it to {@link BpfValidator}. Linux's
 * ancillary-data names ({@code ld #proto} and the like) are not supported. Stateless, thread-safe.
 */
public final class BpfAsm {
    /** The three textual forms of a program. */
    public enum Format {
        /** {@code tcpdump -d}. */
        ASM,
        /** {@code tcpdump -dd}. */
        C_ARRAY,
        /** {@code tcpdump -ddd}. */
        DECIMAL
    }

    private static final long INT_MIN = Integer.MIN_VALUE;
    private static final long U32_MAX = 0xffffffffL;
    private static final String NUM = "(-?(?:0x[0-9a-f]+|[0-9]+))";
    private static final Pattern LINE = Pattern.compile(
            "(?:\\((\\d+)\\))?\\s*([A-Za-z]+)(?:\\s+(.*?))??(?:\\s+jt\\s+(\\d+))?(?:\\s+jf\\s+(\\d+))?\\s*");
    private static final Pattern IMM_OPND = Pattern.compile("#" + NUM);
    private static final Pattern ABS_OPND = Pattern.compile("\\[" + NUM + "\\]");
    private static final Pattern IND_OPND = Pattern.compile("\\[x(?:\\+" + NUM + ")?\\]");
    private static final Pattern MEM_OPND = Pattern.compile("m\\[" + NUM + "\\]");
    private static final Pattern MSH_OPND = Pattern.compile("4\\*\\(\\[" + NUM + "\\]&0xf\\)");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern COMMA = Pattern.compile(",");
    private static final Pattern C_LINE = Pattern.compile(
            "\\{\\s*" + NUM + "\\s*,\\s*" + NUM + "\\s*,\\s*" + NUM + "\\s*,\\s*" + NUM + "\\s*}\\s*,?",
            Pattern.CASE_INSENSITIVE);

    private static final Map<String, Integer> ALU_OPS = Map.ofEntries(
            Map.entry("add", ADD), Map.entry("sub", SUB), Map.entry("mul", MUL), Map.entry("div", DIV),
            Map.entry("mod", MOD), Map.entry("and", AND), Map.entry("or", OR), Map.entry("xor", XOR),
            Map.entry("lsh", LSH), Map.entry("rsh", RSH));
    private static final Map<String, Integer> JMP_OPS =
            Map.of("jeq", JEQ, "jgt", JGT, "jge", JGE, "jset", JSET);

    private BpfAsm() {}

    // ---- Output ----

    /** {@code program} in {@code format}, one line per instruction, each ending in a newline. */
    public static String format(List<BpfInsn> program, Format format) {
        Objects.requireNonNull(program, "program");
        StringBuilder sb = new StringBuilder();
        if (format == Format.DECIMAL) {
            sb.append(program.size()).append('\n');
        }
        for (int n = 0; n < program.size(); n++) {
            BpfInsn p = program.get(n);
            sb.append(switch (format) {
                case ASM -> image(p, n);
                case C_ARRAY -> String.format("{ 0x%x, %d, %d, 0x%08x },", p.code(), p.jt(), p.jf(), p.k());
                case DECIMAL -> p.code() + " " + p.jt() + " " + p.jf() + " " + p.uk();
            }).append('\n');
        }
        return sb.toString();
    }

    /** {@code tcpdump -d} text of {@code program}. */
    public static String disassemble(List<BpfInsn> program) {
        return format(program, Format.ASM);
    }

    /** One {@code tcpdump -d} line for instruction number {@code n}, as libpcap's bpf_image. */
    public static String image(BpfInsn p, int n) {
        String op;
        String operand;
        int k = p.k();
        int code = p.code();
        switch (code) {
            case RET | K -> { op = "ret"; operand = "#" + k; }
            case RET | A -> { op = "ret"; operand = "a"; }
            case LD | W | ABS -> { op = "ld"; operand = "[" + k + "]"; }
            case LD | H | ABS -> { op = "ldh"; operand = "[" + k + "]"; }
            case LD | B | ABS -> { op = "ldb"; operand = "[" + k + "]"; }
            case LD | W | LEN -> { op = "ld"; operand = "#pktlen"; }
            case LD | W | IND -> { op = "ld"; operand = "[x + " + k + "]"; }
            case LD | H | IND -> { op = "ldh"; operand = "[x + " + k + "]"; }
            case LD | B | IND -> { op = "ldb"; operand = "[x + " + k + "]"; }
            case LD | IMM -> { op = "ld"; operand = hex(k); }
            case LDX | IMM -> { op = "ldx"; operand = hex(k); }
            case LDX | W | LEN -> { op = "ldx"; operand = "#pktlen"; }
            case LDX | B | MSH -> { op = "ldxb"; operand = "4*([" + k + "]&0xf)"; }
            case LD | MEM -> { op = "ld"; operand = "M[" + k + "]"; }
            case LDX | MEM -> { op = "ldx"; operand = "M[" + k + "]"; }
            case ST -> { op = "st"; operand = "M[" + k + "]"; }
            case STX -> { op = "stx"; operand = "M[" + k + "]"; }
            case JMP | JA -> { op = "ja"; operand = Long.toString(n + 1 + p.uk()); }
            case ALU | NEG -> { op = "neg"; operand = ""; }
            case MISC | TAX -> { op = "tax"; operand = ""; }
            case MISC | TXA -> { op = "txa"; operand = ""; }
            default -> {
                if (!BpfInsn.isKnownOpcode(code)) {
                    op = "unimp";
                    operand = String.format("0x%x", code);
                } else {
                    op = mnemonic(code);
                    operand = p.src() == X ? "x" : aluOrJumpConstant(code, k);
                }
            }
        }
        if (p.isConditionalJump() && BpfInsn.isKnownOpcode(code)) {
            return String.format("(%03d) %-8s %-16s jt %d\tjf %d", n, op, operand, n + 1 + p.jt(), n + 1 + p.jf());
        }
        return String.format("(%03d) %-8s %s", n, op, operand);
    }

    private static String mnemonic(int code) {
        Map<String, Integer> ops = (code & 0x07) == JMP ? JMP_OPS : ALU_OPS;
        for (Map.Entry<String, Integer> e : ops.entrySet()) {
            if (e.getValue() == (code & 0xf0)) {
                return e.getKey();
            }
        }
        throw new IllegalStateException("no mnemonic for " + code);
    }

    /** libpcap prints jump constants and bit operations in hex, arithmetic in signed decimal. */
    private static String aluOrJumpConstant(int code, int k) {
        int op = code & 0xf0;
        boolean hex = (code & 0x07) == JMP || op == AND || op == OR || op == XOR;
        return hex ? hex(k) : "#" + k;
    }

    private static String hex(int k) {
        return "#0x" + Integer.toHexString(k);
    }

    // ---- Input ----

    /** The format {@code text} is in, judged by its first non-blank character. */
    public static Format detect(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{') {
                return Format.C_ARRAY;
            }
            if (Character.isDigit(c)) {
                return Format.DECIMAL;
            }
            if (!Character.isWhitespace(c)) {
                return Format.ASM;
            }
        }
        return Format.ASM;
    }

    /** Parses {@code text} in the format {@link #detect} finds. */
    public static List<BpfInsn> parse(String text) {
        return parse(text, detect(Objects.requireNonNull(text, "text")));
    }

    /**
     * Parses {@code text} in {@code format} to an unvalidated instruction list.
     *
     * @throws BpfAsmException naming the line that cannot be read
     */
    public static List<BpfInsn> parse(String text, Format format) {
        Objects.requireNonNull(text, "text");
        return switch (format) {
            case ASM -> parseAsm(text);
            case C_ARRAY -> parseC(text);
            case DECIMAL -> parseDecimal(text);
        };
    }

    private static List<BpfInsn> parseDecimal(String text) {
        List<BpfInsn> out = new ArrayList<>();
        long count = -1;
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            for (String entry : COMMA.split(line, -1)) {
                String e = entry.trim();
                if (e.isEmpty()) {
                    continue;
                }
                List<String> f = WHITESPACE.splitAsStream(e).toList();
                if (count < 0) {
                    if (f.size() != 1) {
                        throw new BpfAsmException(lineNo, "expected the instruction count, got '" + e + "'");
                    }
                    count = number(f.get(0), lineNo, 0, Integer.MAX_VALUE);
                    continue;
                }
                if (f.size() != 4) {
                    throw new BpfAsmException(lineNo, "expected 'code jt jf k', got '" + e + "'");
                }
                out.add(new BpfInsn((int) number(f.get(0), lineNo, 0, 0xffff), (int) number(f.get(1), lineNo, 0, 255),
                        (int) number(f.get(2), lineNo, 0, 255), (int) number(f.get(3), lineNo, 0, U32_MAX)));
            }
        }
        if (count < 0) {
            throw new BpfAsmException(lineNo, "no instruction count");
        }
        if (count != out.size()) {
            throw new BpfAsmException(lineNo, "count says " + count + " instructions, found " + out.size());
        }
        return out;
    }

    private static List<BpfInsn> parseC(String text) {
        List<BpfInsn> out = new ArrayList<>();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            String s = line.trim();
            if (s.isEmpty()) {
                continue;
            }
            Matcher m = C_LINE.matcher(s);
            if (!m.matches()) {
                throw new BpfAsmException(lineNo, "expected '{ code, jt, jf, k },', got '" + s + "'");
            }
            out.add(new BpfInsn((int) number(m.group(1), lineNo, 0, 0xffff), (int) number(m.group(2), lineNo, 0, 255),
                    (int) number(m.group(3), lineNo, 0, 255), (int) number(m.group(4), lineNo, INT_MIN, U32_MAX)));
        }
        return out;
    }

    private static List<BpfInsn> parseAsm(String text) {
        List<BpfInsn> out = new ArrayList<>();
        int lineNo = 0;
        for (String raw : text.split("\n", -1)) {
            lineNo++;
            int semi = raw.indexOf(';');
            String s = (semi >= 0 ? raw.substring(0, semi) : raw).strip();
            if (s.isEmpty()) {
                continue;
            }
            out.add(new AsmLine(lineNo, out.size(), s).parse());
        }
        return out;
    }

    /** Parses a decimal or 0x-hex number, optionally negative, that must lie in [min, max]. */
    static long number(String s, int line, long min, long max) {
        String t = s.toLowerCase(Locale.ROOT);
        boolean neg = t.startsWith("-");
        String digits = neg ? t.substring(1) : t;
        long v;
        try {
            v = digits.startsWith("0x") ? Long.parseLong(digits.substring(2), 16) : Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new BpfAsmException(line, "bad number '" + s + "'");
        }
        if (neg) {
            v = -v;
        }
        if (v < min || v > max) {
            throw new BpfAsmException(line, "number " + s + " outside " + min + ".." + max);
        }
        return v;
    }

    /** One line of {@code -d} text being read as instruction number {@code n}. */
    private record AsmLine(int line, int n, String text) {
        BpfInsn parse() {
            Matcher m = LINE.matcher(text);
            if (!m.matches()) {
                throw new BpfAsmException(line, "cannot read '" + text + "'");
            }
            if (m.group(1) != null && Integer.parseInt(m.group(1)) != n) {
                throw new BpfAsmException(line, "instruction number (" + m.group(1)
                        + ") does not match its position " + n);
            }
            String op = m.group(2).toLowerCase(Locale.ROOT);
            String opnd = m.group(3) == null ? "" : WHITESPACE.matcher(m.group(3)).replaceAll("").toLowerCase(Locale.ROOT);
            boolean hasJumps = m.group(4) != null || m.group(5) != null;
            if (hasJumps && !JMP_OPS.containsKey(op)) {
                throw new BpfAsmException(line, "'" + op + "' takes no jt/jf");
            }
            if (JMP_OPS.containsKey(op)) {
                return condJump(JMP_OPS.get(op), opnd, m.group(4), m.group(5));
            }
            if (ALU_OPS.containsKey(op)) {
                return aluOp(ALU_OPS.get(op), opnd);
            }
            return switch (op) {
                case "ld", "ldh", "ldb" -> load(op, opnd);
                case "ldx", "ldxb" -> loadX(op, opnd);
                case "st" -> BpfInsn.stmt(ST, scratch(opnd));
                case "stx" -> BpfInsn.stmt(STX, scratch(opnd));
                case "ja", "jmp" -> jumpAlways(opnd);
                case "ret" -> ret(opnd);
                case "neg" -> noOperand(ALU | NEG, opnd);
                case "tax" -> noOperand(MISC | TAX, opnd);
                case "txa" -> noOperand(MISC | TXA, opnd);
                default -> throw new BpfAsmException(line, "unknown mnemonic '" + op + "'");
            };
        }

        private BpfInsn load(String op, String opnd) {
            int size = switch (op) {
                case "ldh" -> H;
                case "ldb" -> B;
                default -> W;
            };
            Matcher abs = ABS_OPND.matcher(opnd);
            if (abs.matches()) {
                return BpfInsn.stmt(LD | size | ABS, k(abs.group(1)));
            }
            Matcher ind = IND_OPND.matcher(opnd);
            if (ind.matches()) {
                return BpfInsn.stmt(LD | size | IND, ind.group(1) == null ? 0 : k(ind.group(1)));
            }
            if (size == W) {
                return register(LD, op, opnd);
            }
            throw new BpfAsmException(line, "bad operand '" + opnd + "' for " + op);
        }

        private BpfInsn loadX(String op, String opnd) {
            Matcher m = MSH_OPND.matcher(opnd);
            if (m.matches()) {
                return BpfInsn.stmt(LDX | B | MSH, k(m.group(1)));
            }
            if (op.equals("ldx")) {
                return register(LDX, op, opnd);
            }
            throw new BpfAsmException(line, "bad operand '" + opnd + "' for " + op);
        }

        /** The loads A and X share: #pktlen, #k and M[k]. */
        private BpfInsn register(int cls, String op, String opnd) {
            if (isLen(opnd)) {
                return BpfInsn.stmt(cls | W | LEN, 0);
            }
            Matcher imm = IMM_OPND.matcher(opnd);
            if (imm.matches()) {
                return BpfInsn.stmt(cls | IMM, k(imm.group(1)));
            }
            if (MEM_OPND.matcher(opnd).matches()) {
                return BpfInsn.stmt(cls | MEM, scratch(opnd));
            }
            throw new BpfAsmException(line, "bad operand '" + opnd + "' for " + op);
        }

        private static boolean isLen(String opnd) {
            return opnd.equals("#pktlen") || opnd.equals("#len") || opnd.equals("len");
        }

        private int scratch(String opnd) {
            Matcher m = MEM_OPND.matcher(opnd);
            if (!m.matches()) {
                throw new BpfAsmException(line, "expected M[n], got '" + opnd + "'");
            }
            return k(m.group(1));
        }

        private BpfInsn aluOp(int op, String opnd) {
            if (opnd.equals("x")) {
                return BpfInsn.stmt(ALU | op | X, 0);
            }
            Matcher m = IMM_OPND.matcher(opnd);
            if (!m.matches()) {
                throw new BpfAsmException(line, "expected #k or x, got '" + opnd + "'");
            }
            return BpfInsn.stmt(ALU | op | K, k(m.group(1)));
        }

        private BpfInsn condJump(int op, String opnd, String jt, String jf) {
            int src;
            int k = 0;
            if (opnd.equals("x")) {
                src = X;
            } else {
                Matcher m = IMM_OPND.matcher(opnd);
                if (!m.matches()) {
                    throw new BpfAsmException(line, "expected #k or x, got '" + opnd + "'");
                }
                src = K;
                k = k(m.group(1));
            }
            return BpfInsn.jump(JMP | op | src, k, offset(jt, 255), offset(jf, 255));
        }

        private BpfInsn jumpAlways(String opnd) {
            if (!opnd.matches("[0-9]+")) {
                throw new BpfAsmException(line, "expected an instruction number, got '" + opnd + "'");
            }
            return BpfInsn.stmt(JMP | JA, offset(opnd, U32_MAX));
        }

        /** Turns the absolute target of a jump into the forward offset the encoding holds. */
        private int offset(String target, long max) {
            if (target == null) {
                return 0;
            }
            long t = number(target, line, 0, Long.MAX_VALUE / 2);
            long off = t - (n + 1);
            if (off < 0) {
                throw new BpfAsmException(line, "jump target " + t + " is not after instruction " + n);
            }
            if (off > max) {
                throw new BpfAsmException(line, "jump target " + t + " is more than " + max + " past " + (n + 1));
            }
            return (int) off;
        }

        private BpfInsn ret(String opnd) {
            if (opnd.isEmpty() || opnd.equals("a") || opnd.equals("%a")) {
                return BpfInsn.stmt(RET | A, 0);
            }
            Matcher m = IMM_OPND.matcher(opnd);
            if (!m.matches()) {
                throw new BpfAsmException(line, "expected #k or a, got '" + opnd + "'");
            }
            return BpfInsn.stmt(RET | K, k(m.group(1)));
        }

        private BpfInsn noOperand(int code, String opnd) {
            if (!opnd.isEmpty()) {
                throw new BpfAsmException(line, "unexpected operand '" + opnd + "'");
            }
            return BpfInsn.stmt(code, 0);
        }

        private int k(String s) {
            return (int) number(s, line, INT_MIN, U32_MAX);
        }
    }
}
