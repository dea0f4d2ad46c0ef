package org.smpnet.net.bpf;

/**
 * One classic BPF instruction ({@code struct bpf_insn}): a 16-bit opcode, two 8-bit forward jump
 * offsets and a 32-bit constant. The numeric encoding is the one Linux and the BSDs share, so the
 * output of {@code tcpdump -ddd} loads unchanged.
 *
 * <p>{@code k} is an unsigned 32-bit quantity kept in a Java {@code int}; use
 * {@link Integer#toUnsignedLong} to read it as a number. An instance says nothing about whether the
 * opcode is meaningful: {@link BpfValidator} decides that. Immutable and thread-safe.
 *
 * @param code the opcode, 0..0xffff (only the low byte is ever valid)
 * @param jt the offset to add to the next pc when a conditional jump is taken, 0..255
 * @param jf the offset to add to the next pc when it is not taken, 0..255
 * @param k the constant operand (unsigned 32 bits)
 */
public record BpfInsn(int code, int jt, int jf, int k) {
    // Instruction classes, BPF_CLASS(code).
    public static final int LD = 0x00;
    public static final int LDX = 0x01;
    public static final int ST = 0x02;
    public static final int STX = 0x03;
    public static final int ALU = 0x04;
    public static final int JMP = 0x05;
    public static final int RET = 0x06;
    public static final int MISC = 0x07;

    // Load sizes, BPF_SIZE(code).
    public static final int W = 0x00;
    public static final int H = 0x08;
    public static final int B = 0x10;

    // Load modes, BPF_MODE(code).
    public static final int IMM = 0x00;
    public static final int ABS = 0x20;
    public static final int IND = 0x40;
    public static final int MEM = 0x60;
    public static final int LEN = 0x80;
    public static final int MSH = 0xa0;

    // ALU and jump operations, BPF_OP(code).
    public static final int ADD = 0x00;
    public static final int SUB = 0x10;
    public static final int MUL = 0x20;
    public static final int DIV = 0x30;
    public static final int OR = 0x40;
    public static final int AND = 0x50;
    public static final int LSH = 0x60;
    public static final int RSH = 0x70;
    public static final int NEG = 0x80;
    public static final int MOD = 0x90;
    public static final int XOR = 0xa0;
    public static final int JA = 0x00;
    public static final int JEQ = 0x10;
    public static final int JGT = 0x20;
    public static final int JGE = 0x30;
    public static final int JSET = 0x40;

    // Operand source, BPF_SRC(code); return value, BPF_RVAL(code); misc ops, BPF_MISCOP(code).
    public static final int K = 0x00;
    public static final int X = 0x08;
    public static final int A = 0x10;
    public static final int TAX = 0x00;
    public static final int TXA = 0x80;

    /** Longest accepted program (BPF_MAXINSNS). */
    public static final int MAXINSNS = 4096;
    /** Number of scratch memory words M[0..15] (BPF_MEMWORDS). */
    public static final int MEMWORDS = 16;

    public BpfInsn {
        if (code < 0 || code > 0xffff) {
            throw new IllegalArgumentException("opcode " + code + " does not fit in 16 bits");
        }
        if (jt < 0 || jt > 255 || jf < 0 || jf > 255) {
            throw new IllegalArgumentException("jump offsets jt " + jt + " jf " + jf + " must be 0..255");
        }
    }

    /** A non-jump instruction, BPF_STMT(code, k). */
    public static BpfInsn stmt(int code, int k) {
        return new BpfInsn(code, 0, 0, k);
    }

    /** A jump instruction, BPF_JUMP(code, k, jt, jf). */
    public static BpfInsn jump(int code, int k, int jt, int jf) {
        return new BpfInsn(code, jt, jf, k);
    }

    public int cls() {
        return code & 0x07;
    }

    public int size() {
        return code & 0x18;
    }

    public int mode() {
        return code & 0xe0;
    }

    public int op() {
        return code & 0xf0;
    }

    public int src() {
        return code & 0x08;
    }

    /** {@code k} as the unsigned number it stands for. */
    public long uk() {
        return Integer.toUnsignedLong(k);
    }

    /** Whether this is a conditional jump (JMP class, not JA): the only users of jt and jf. */
    public boolean isConditionalJump() {
        return cls() == JMP && op() != JA;
    }

    /** Whether this instruction reads or writes scratch memory word {@code k}. */
    public boolean usesScratch() {
        return code == ST || code == STX || code == (LD | MEM) || code == (LDX | MEM);
    }

    /** Whether the instruction reads {@code k} (tcpdump -d prints only those k). */
    public boolean usesK() {
        return switch (cls()) {
            case LD -> mode() != LEN;
            case LDX -> mode() != LEN;
            case ST, STX -> true;
            case ALU -> op() != NEG && src() == K;
            case JMP -> op() == JA || src() == K;
            case RET -> (code & 0x18) == K;
            default -> false;
        };
    }

    /**
     * This instruction with the fields it never reads set to 0: k where {@link #usesK} is false,
     * jt and jf unless it is a conditional jump. Runs exactly as the original; it is what the
     * {@code tcpdump -d} text of an instruction determines.
     */
    public BpfInsn normalized() {
        boolean cond = isConditionalJump();
        return new BpfInsn(code, cond ? jt : 0, cond ? jf : 0, usesK() ? k : 0);
    }

    /**
     * Whether {@code code} is one of the opcodes this implementation executes: FreeBSD's
     * {@code bpf_code_map} plus BPF_MOD and BPF_XOR (Linux, NetBSD, libpcap 1.6+). Linux's
     * ancillary loads (negative ABS offsets) are ordinary out-of-bounds loads here.
     */
    public static boolean isKnownOpcode(int code) {
        return switch (code) {
            case LD | W | ABS, LD | H | ABS, LD | B | ABS,
                 LD | W | IND, LD | H | IND, LD | B | IND,
                 LD | W | LEN, LD | IMM, LD | MEM,
                 LDX | IMM, LDX | MEM, LDX | W | LEN, LDX | B | MSH,
                 ST, STX,
                 ALU | ADD | K, ALU | SUB | K, ALU | MUL | K, ALU | DIV | K, ALU | MOD | K,
                 ALU | OR | K, ALU | AND | K, ALU | XOR | K, ALU | LSH | K, ALU | RSH | K,
                 ALU | ADD | X, ALU | SUB | X, ALU | MUL | X, ALU | DIV | X, ALU | MOD | X,
                 ALU | OR | X, ALU | AND | X, ALU | XOR | X, ALU | LSH | X, ALU | RSH | X,
                 ALU | NEG,
                 JMP | JA,
                 JMP | JEQ | K, JMP | JGT | K, JMP | JGE | K, JMP | JSET | K,
                 JMP | JEQ | X, JMP | JGT | X, JMP | JGE | X, JMP | JSET | X,
                 RET | K, RET | A,
                 MISC | TAX, MISC | TXA -> true;
            default -> false;
        };
    }

    @Override
    public String toString() {
        return String.format("{ 0x%x, %d, %d, 0x%08x }", code, jt, jf, k);
    }
}
