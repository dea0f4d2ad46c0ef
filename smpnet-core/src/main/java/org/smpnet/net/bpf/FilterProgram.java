package org.smpnet.net.bpf;

import java.util.List;
import org.smpnet.net.bpf.FilterCode.Insn;

/**
 * A compiled filter: the instructions and a {@code tcpdump -d} style listing.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param expression the source expression
 * @param linkType the link type it was compiled for
 * @param insns the program, ending in {@code ret} instructions
 */
public record FilterProgram(String expression, int linkType, List<Insn> insns) {
    public FilterProgram {
        insns = List.copyOf(insns);
    }

    /** The program as {@code tcpdump -d} prints it, one instruction a line. */
    public String listing() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < insns.size(); i++) {
            b.append(line(i, insns.get(i))).append('\n');
        }
        return b.toString();
    }

    private static String line(int n, Insn p) {
        int c = p.code();
        String op;
        String arg;
        switch (c & 0x07) {
            case FilterCode.LD, FilterCode.LDX -> {
                boolean x = (c & 0x07) == FilterCode.LDX;
                String sz = switch (c & 0x18) {
                    case FilterCode.H -> "h";
                    case FilterCode.B -> "b";
                    default -> "";
                };
                op = (x ? "ldx" : "ld") + sz;
                arg = switch (c & 0xe0) {
                    case FilterCode.ABS -> "[" + p.k() + "]";
                    case FilterCode.IND -> "[x + " + p.k() + "]";
                    case FilterCode.MEM -> "M[" + p.k() + "]";
                    case FilterCode.LEN -> "#pktlen";
                    case FilterCode.MSH -> "4*([" + p.k() + "]&0xf)";
                    default -> "#0x" + Integer.toHexString(p.k());
                };
            }
            case FilterCode.ST -> {
                op = "st";
                arg = "M[" + p.k() + "]";
            }
            case FilterCode.STX -> {
                op = "stx";
                arg = "M[" + p.k() + "]";
            }
            case FilterCode.ALU -> {
                int a = c & 0xf0;
                op = switch (a) {
                    case FilterCode.ADD -> "add";
                    case FilterCode.SUB -> "sub";
                    case FilterCode.MUL -> "mul";
                    case FilterCode.DIV -> "div";
                    case FilterCode.OR -> "or";
                    case FilterCode.AND -> "and";
                    case FilterCode.LSH -> "lsh";
                    case FilterCode.RSH -> "rsh";
                    case FilterCode.NEG -> "neg";
                    case FilterCode.MOD -> "mod";
                    default -> "xor";
                };
                boolean hex = a == FilterCode.AND || a == FilterCode.OR || a == FilterCode.XOR;
                arg = a == FilterCode.NEG ? "" : (c & FilterCode.X) != 0 ? "x"
                        : hex ? "#0x" + Integer.toHexString(p.k()) : "#" + p.k();
            }
            case FilterCode.JMP -> {
                int j = c & 0xf0;
                if (j == FilterCode.JA) {
                    return String.format("(%03d) %-8s %d", n, "ja", n + 1 + p.k());
                }
                op = switch (j) {
                    case FilterCode.JEQ -> "jeq";
                    case FilterCode.JGT -> "jgt";
                    case FilterCode.JGE -> "jge";
                    default -> "jset";
                };
                arg = (c & FilterCode.X) != 0 ? "x" : "#0x" + Integer.toHexString(p.k());
                return String.format("(%03d) %-8s %-16s jt %d\tjf %d", n, op, arg, n + 1 + p.jt(), n + 1 + p.jf());
            }
            case FilterCode.RET -> {
                op = "ret";
                arg = (c & 0x18) == 0x10 ? "a" : "#" + p.k();
            }
            default -> {
                op = (c & 0xf8) == FilterCode.TXA ? "txa" : "tax";
                arg = "";
            }
        }
        return String.format("(%03d) %-8s %s", n, op, arg).stripTrailing();
    }
}
