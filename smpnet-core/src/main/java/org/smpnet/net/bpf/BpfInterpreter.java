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

import java.util.Objects;

/**
 * The classic BPF interpreter ({@code bpf_filter(9)}), with FreeBSD's semantics:
 * <ul>
 *   <li>A, X and the scratch words are unsigned 32-bit; comparisons, division and modulo are
 *       unsigned. A and X start at 0; so do the scratch words (FreeBSD leaves them as stack
 *       garbage, Linux refuses programs that read them unset; zero is the deterministic choice).
 *   <li>A load whose bytes are not all below {@code buflen} ends the run with result 0. Offsets
 *       are unsigned and {@code X + k} is computed without wrap-around, as FreeBSD's checks do.
 *   <li>Division or modulo by X == 0 ends the run with result 0.
 *   <li>Shifts use the count modulo 32. FreeBSD writes {@code A <<= X} on a {@code u_int32_t},
 *       which C leaves undefined for counts of 32 or more; on amd64 both its interpreter and its
 *       JIT emit SHL/SHR, which use the count modulo 32, and so do Java's int shifts.
 *   <li>{@code ld #pktlen} reads {@code wirelen}; {@code ldxb 4*([k]&0xf)} loads the IPv4
 *       header length.
 * </ul>
 * Immutable and thread-safe: each run keeps its registers in locals.
 */
public final class BpfInterpreter implements BpfFilter {
    private final BpfProgram program;
    private final int[] codes;
    private final int[] jts;
    private final int[] jfs;
    private final int[] ks;
    private final boolean usesScratch;

    public BpfInterpreter(BpfProgram program) {
        this.program = Objects.requireNonNull(program, "program");
        int n = program.length();
        codes = new int[n];
        jts = new int[n];
        jfs = new int[n];
        ks = new int[n];
        for (int i = 0; i < n; i++) {
            BpfInsn insn = program.insn(i);
            codes[i] = insn.code();
            jts[i] = insn.jt();
            jfs[i] = insn.jf();
            ks[i] = insn.k();
        }
        usesScratch = program.scratchUsed() != 0;
    }

    public BpfProgram program() {
        return program;
    }

    @Override
    public int filter(byte[] pkt, int wirelen, int buflen) {
        checkPacket(pkt, buflen);
        int a = 0;
        int x = 0;
        int[] mem = usesScratch ? new int[BpfInsn.MEMWORDS] : null;
        int pc = 0;
        while (true) {
            int k = ks[pc];
            switch (codes[pc]) {
                case RET | K -> { return k; }
                case RET | A -> { return a; }
                // One case per load form, so the common ones (ldh [12], ldb [23]) are a bounds check and
                // a shift or two. Offsets are unsigned: k < 0 means beyond any packet.
                case LD | H | ABS -> {
                    if (k < 0 || k > buflen - 2) {
                        return 0;
                    }
                    a = (pkt[k] & 0xff) << 8 | (pkt[k + 1] & 0xff);
                }
                case LD | B | ABS -> {
                    if (k < 0 || k >= buflen) {
                        return 0;
                    }
                    a = pkt[k] & 0xff;
                }
                case LD | W | ABS -> {
                    if (k < 0 || k > buflen - 4) {
                        return 0;
                    }
                    a = word(pkt, k);
                }
                case LD | B | IND -> {
                    long off = Integer.toUnsignedLong(k) + Integer.toUnsignedLong(x);
                    if (off >= buflen) {
                        return 0;
                    }
                    a = pkt[(int) off] & 0xff;
                }
                case LD | H | IND -> {
                    long off = Integer.toUnsignedLong(k) + Integer.toUnsignedLong(x);
                    if (off + 2 > buflen) {
                        return 0;
                    }
                    a = (pkt[(int) off] & 0xff) << 8 | (pkt[(int) off + 1] & 0xff);
                }
                case LD | W | IND -> {
                    long off = Integer.toUnsignedLong(k) + Integer.toUnsignedLong(x);
                    if (off + 4 > buflen) {
                        return 0;
                    }
                    a = word(pkt, (int) off);
                }
                case LDX | B | MSH -> {
                    if (Integer.toUnsignedLong(k) >= buflen) {
                        return 0;
                    }
                    x = (pkt[k] & 0xf) << 2;
                }
                case LD | W | LEN -> a = wirelen;
                case LDX | W | LEN -> x = wirelen;
                case LD | IMM -> a = k;
                case LDX | IMM -> x = k;
                case LD | MEM -> a = mem[k];
                case LDX | MEM -> x = mem[k];
                case ST -> mem[k] = a;
                case STX -> mem[k] = x;
                case JMP | JA -> pc += k;
                case JMP | JEQ | K -> pc += a == k ? jts[pc] : jfs[pc];
                case JMP | JGT | K -> pc += Integer.compareUnsigned(a, k) > 0 ? jts[pc] : jfs[pc];
                case JMP | JGE | K -> pc += Integer.compareUnsigned(a, k) >= 0 ? jts[pc] : jfs[pc];
                case JMP | JSET | K -> pc += (a & k) != 0 ? jts[pc] : jfs[pc];
                case JMP | JEQ | X -> pc += a == x ? jts[pc] : jfs[pc];
                case JMP | JGT | X -> pc += Integer.compareUnsigned(a, x) > 0 ? jts[pc] : jfs[pc];
                case JMP | JGE | X -> pc += Integer.compareUnsigned(a, x) >= 0 ? jts[pc] : jfs[pc];
                case JMP | JSET | X -> pc += (a & x) != 0 ? jts[pc] : jfs[pc];
                case ALU | DIV | X, ALU | MOD | X -> {
                    if (x == 0) {
                        return 0;
                    }
                    a = alu(codes[pc] & 0xf0, a, x);
                }
                case ALU | ADD | X, ALU | SUB | X, ALU | MUL | X, ALU | OR | X, ALU | AND | X,
                     ALU | XOR | X, ALU | LSH | X, ALU | RSH | X -> a = alu(codes[pc] & 0xf0, a, x);
                case ALU | ADD | K, ALU | SUB | K, ALU | MUL | K, ALU | DIV | K, ALU | MOD | K,
                     ALU | OR | K, ALU | AND | K, ALU | XOR | K, ALU | LSH | K, ALU | RSH | K ->
                        a = alu(codes[pc] & 0xf0, a, k);
                case ALU | NEG -> a = -a;
                case MISC | TAX -> x = a;
                case MISC | TXA -> a = x;
                default -> throw new IllegalStateException("unvalidated opcode " + codes[pc] + " at " + pc);
            }
            pc++;
        }
    }

    /** Rejects a packet description the filters cannot index safely. */
    static void checkPacket(byte[] pkt, int buflen) {
        Objects.requireNonNull(pkt, "pkt");
        if (buflen < 0 || buflen > pkt.length) {
            throw new IllegalArgumentException("buflen " + buflen + " outside 0.." + pkt.length);
        }
    }

    private static int word(byte[] pkt, int off) {
        return (pkt[off] & 0xff) << 24 | (pkt[off + 1] & 0xff) << 16 | (pkt[off + 2] & 0xff) << 8 | (pkt[off + 3] & 0xff);
    }

    private static int alu(int op, int a, int v) {
        return switch (op) {
            case ADD -> a + v;
            case SUB -> a - v;
            case MUL -> a * v;
            case DIV -> Integer.divideUnsigned(a, v);
            case MOD -> Integer.remainderUnsigned(a, v);
            case OR -> a | v;
            case AND -> a & v;
            case XOR -> a ^ v;
            case LSH -> a << v;
            case RSH -> a >>> v;
            default -> throw new IllegalStateException("not an ALU op: " + op);
        };
    }
}
