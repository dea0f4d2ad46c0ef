package org.smpnet.net.bpf;

import static java.lang.constant.ConstantDescs.CD_Object;
import static java.lang.constant.ConstantDescs.CD_byte;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.INIT_NAME;
import static java.lang.constant.ConstantDescs.MTD_void;

import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.classfile.Opcode;
import java.lang.classfile.attribute.CodeAttribute;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.AccessFlag;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Compiles a validated program to JVM bytecode ({@code bpf_jit_compile(9)}): one hidden class per
 * program whose {@code filter} method is straight-line code, a label per BPF instruction, A, X and
 * each scratch word used in a local, and a bounds check before every packet load that returns 0
 * exactly where {@link BpfInterpreter} does. HotSpot then compiles that method like any other.
 *
 * <p>The hidden class is not strongly tied to its loader, so it is unloaded once the returned
 * filter is unreachable; nothing is cached. Programs whose method would exceed HotSpot's
 * {@code HugeMethodLimit} (8000 bytes of bytecode, past which the JVM never compiles a method) are
 * given the {@link BpfInterpreter} instead, which is faster than an interpreted huge method.
 *
 * <p>Stateless and thread-safe; compiling takes no lock and does not sleep.
 */
public final class BpfJit {
    /** HotSpot's default HugeMethodLimit: larger methods stay in the bytecode interpreter. */
    static final int HUGE_METHOD_LIMIT = 8000;

    private static final ClassDesc CD_THIS = ClassDesc.of(BpfJit.class.getPackageName() + ".BpfJitFilter");
    private static final ClassDesc CD_JIT = ClassDesc.of(BpfJit.class.getName());
    private static final ClassDesc CD_FILTER = ClassDesc.of(BpfFilter.class.getName());
    private static final ClassDesc CD_INTERP = ClassDesc.of(BpfInterpreter.class.getName());
    private static final ClassDesc CD_INTEGER = ClassDesc.of("java.lang.Integer");
    private static final MethodTypeDesc MTD_FILTER = MethodTypeDesc.of(CD_int, CD_byte.arrayType(), CD_int, CD_int);
    private static final MethodTypeDesc MTD_LOAD = MethodTypeDesc.of(CD_int, CD_byte.arrayType(), CD_int);
    private static final MethodTypeDesc MTD_CHECK = MethodTypeDesc.of(CD_void, CD_byte.arrayType(), CD_int);
    private static final MethodTypeDesc MTD_III = MethodTypeDesc.of(CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_UNSIGNED_LONG = MethodTypeDesc.of(CD_long, CD_int);

    private static final VarHandle BE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle BE_SHORT =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);

    private BpfJit() {}

    /**
     * Compiles {@code program}. The result is a hidden class instance, or the interpreter for
     * programs too large for HotSpot to compile (see the class comment).
     */
    public static BpfFilter compile(BpfProgram program) {
        Objects.requireNonNull(program, "program");
        byte[] bytes = generate(program);
        if (filterCodeLength(bytes) > HUGE_METHOD_LIMIT) {
            return new BpfInterpreter(program);
        }
        return define(bytes);
    }

    /** The class file for {@code program}, without defining it (for tests and inspection). */
    static byte[] generate(BpfProgram program) {
        return ClassFile.of().build(CD_THIS, cb -> {
            cb.withFlags(AccessFlag.FINAL, AccessFlag.SUPER, AccessFlag.SYNTHETIC);
            cb.withInterfaceSymbols(CD_FILTER);
            cb.withMethodBody(INIT_NAME, MTD_void, ClassFile.ACC_PUBLIC,
                    code -> code.aload(0).invokespecial(CD_Object, INIT_NAME, MTD_void).return_());
            cb.withMethodBody("filter", MTD_FILTER, ClassFile.ACC_PUBLIC | ClassFile.ACC_FINAL,
                    code -> new Emitter(code, program).emit());
        });
    }

    static int filterCodeLength(byte[] bytes) {
        for (MethodModel m : ClassFile.of().parse(bytes).methods()) {
            if (m.methodName().equalsString("filter")) {
                return m.findAttribute(Attributes.code())
                        .map(CodeAttribute::codeLength).orElseThrow();
            }
        }
        throw new IllegalStateException("generated class has no filter method");
    }

    /** Defines the hidden class in {@code bytes} and returns its instance. */
    static BpfFilter define(byte[] bytes) {
        try {
            MethodHandles.Lookup hidden = MethodHandles.lookup().defineHiddenClass(bytes, true);
            return (BpfFilter) hidden.findConstructor(hidden.lookupClass(), MethodType.methodType(void.class))
                    .invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cannot define the compiled filter", t);
        }
    }

    // Load helpers called by the generated code (same runtime package); bounds already checked.

    static int loadWord(byte[] pkt, int off) {
        return (int) BE_INT.get(pkt, off);
    }

    static int loadHalf(byte[] pkt, int off) {
        return (short) BE_SHORT.get(pkt, off) & 0xffff;
    }

    static int loadByte(byte[] pkt, int off) {
        return pkt[off] & 0xff;
    }

    /** Emits the body of {@code filter} for one program. */
    private static final class Emitter {
        private static final int PKT = 1;
        private static final int WIRELEN = 2;
        private static final int BUFLEN = 3;
        private static final int REG_A = 4;
        private static final int REG_X = 5;
        private static final int MEM0 = 6;

        private final CodeBuilder code;
        private final BpfProgram program;
        private final Label[] labels;
        private final Label retZero;

        Emitter(CodeBuilder code, BpfProgram program) {
            this.code = code;
            this.program = program;
            this.labels = new Label[program.length()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = code.newLabel();
            }
            this.retZero = code.newLabel();
        }

        void emit() {
            code.aload(PKT).iload(BUFLEN).invokestatic(CD_INTERP, "checkPacket", MTD_CHECK);
            code.iconst_0().istore(REG_A).iconst_0().istore(REG_X);
            int used = program.scratchUsed();
            for (int j = 0; j < BpfInsn.MEMWORDS; j++) {
                if ((used & (1 << j)) != 0) {
                    code.iconst_0().istore(MEM0 + j);
                }
            }
            for (int i = 0; i < labels.length; i++) {
                code.labelBinding(labels[i]);
                insn(i, program.insn(i));
            }
            code.labelBinding(retZero);
            code.iconst_0().ireturn();
        }

        private void insn(int i, BpfInsn insn) {
            int k = insn.k();
            switch (insn.cls()) {
                case BpfInsn.LD -> ld(insn);
                case BpfInsn.LDX -> ldx(insn);
                case BpfInsn.ST -> code.iload(REG_A).istore(MEM0 + k);
                case BpfInsn.STX -> code.iload(REG_X).istore(MEM0 + k);
                case BpfInsn.ALU -> alu(insn);
                case BpfInsn.JMP -> jmp(i, insn);
                case BpfInsn.RET -> {
                    if (insn.code() == (BpfInsn.RET | BpfInsn.A)) {
                        code.iload(REG_A);
                    } else {
                        code.loadConstant(k);
                    }
                    code.ireturn();
                }
                case BpfInsn.MISC -> {
                    if (insn.code() == (BpfInsn.MISC | BpfInsn.TAX)) {
                        code.iload(REG_A).istore(REG_X);
                    } else {
                        code.iload(REG_X).istore(REG_A);
                    }
                }
                default -> throw new IllegalStateException("unvalidated opcode " + insn.code());
            }
        }

        private void ld(BpfInsn insn) {
            switch (insn.mode()) {
                case BpfInsn.IMM -> code.loadConstant(insn.k()).istore(REG_A);
                case BpfInsn.LEN -> code.iload(WIRELEN).istore(REG_A);
                case BpfInsn.MEM -> code.iload(MEM0 + insn.k()).istore(REG_A);
                case BpfInsn.ABS -> loadAbs(insn);
                case BpfInsn.IND -> loadInd(insn);
                default -> throw new IllegalStateException("unvalidated opcode " + insn.code());
            }
        }

        private void ldx(BpfInsn insn) {
            switch (insn.mode()) {
                case BpfInsn.IMM -> code.loadConstant(insn.k()).istore(REG_X);
                case BpfInsn.LEN -> code.iload(WIRELEN).istore(REG_X);
                case BpfInsn.MEM -> code.iload(MEM0 + insn.k()).istore(REG_X);
                case BpfInsn.MSH -> {
                    if (insn.uk() >= Integer.MAX_VALUE) {
                        code.goto_(retZero); // buflen is an int: never past it
                        return;
                    }
                    code.iload(BUFLEN).loadConstant(insn.k()).if_icmple(retZero);
                    code.aload(PKT).loadConstant(insn.k()).baload().bipush(0xf).iand().iconst_2().ishl()
                            .istore(REG_X);
                }
                default -> throw new IllegalStateException("unvalidated opcode " + insn.code());
            }
        }

        /** {@code A = P[k:width]}, returning 0 unless k + width <= buflen. */
        private void loadAbs(BpfInsn insn) {
            long end = insn.uk() + width(insn);
            if (end > Integer.MAX_VALUE) {
                code.goto_(retZero);
                return;
            }
            code.iload(BUFLEN).loadConstant((int) end).if_icmplt(retZero);
            code.aload(PKT).loadConstant(insn.k());
            loadCall(insn);
        }

        /** {@code A = P[X + k:width]}, returning 0 unless X + k + width <= buflen (no wrap-around). */
        private void loadInd(BpfInsn insn) {
            code.iload(REG_X).invokestatic(CD_INTEGER, "toUnsignedLong", MTD_UNSIGNED_LONG)
                    .loadConstant(insn.uk() + width(insn)).ladd()
                    .iload(BUFLEN).i2l().lcmp().ifgt(retZero);
            code.aload(PKT).iload(REG_X).loadConstant(insn.k()).iadd();
            loadCall(insn);
        }

        private void loadCall(BpfInsn insn) {
            String helper = switch (insn.size()) {
                case BpfInsn.W -> "loadWord";
                case BpfInsn.H -> "loadHalf";
                default -> "loadByte";
            };
            code.invokestatic(CD_JIT, helper, MTD_LOAD).istore(REG_A);
        }

        private static int width(BpfInsn insn) {
            return switch (insn.size()) {
                case BpfInsn.W -> 4;
                case BpfInsn.H -> 2;
                default -> 1;
            };
        }

        private void alu(BpfInsn insn) {
            int op = insn.op();
            if (op == BpfInsn.NEG) {
                code.iload(REG_A).ineg().istore(REG_A);
                return;
            }
            boolean byX = insn.src() == BpfInsn.X;
            if (byX && (op == BpfInsn.DIV || op == BpfInsn.MOD)) {
                code.iload(REG_X).ifeq(retZero);
            }
            code.iload(REG_A);
            if (byX) {
                code.iload(REG_X);
            } else {
                code.loadConstant(insn.k());
            }
            switch (op) {
                case BpfInsn.ADD -> code.iadd();
                case BpfInsn.SUB -> code.isub();
                case BpfInsn.MUL -> code.imul();
                case BpfInsn.DIV -> code.invokestatic(CD_INTEGER, "divideUnsigned", MTD_III);
                case BpfInsn.MOD -> code.invokestatic(CD_INTEGER, "remainderUnsigned", MTD_III);
                case BpfInsn.OR -> code.ior();
                case BpfInsn.AND -> code.iand();
                case BpfInsn.XOR -> code.ixor();
                case BpfInsn.LSH -> code.ishl(); // count mod 32, as the interpreter
                case BpfInsn.RSH -> code.iushr();
                default -> throw new IllegalStateException("unvalidated opcode " + insn.code());
            }
            code.istore(REG_A);
        }

        private void jmp(int i, BpfInsn insn) {
            if (insn.op() == BpfInsn.JA) {
                if (insn.k() != 0) {
                    code.goto_(labels[i + 1 + insn.k()]);
                }
                return;
            }
            int jt = insn.jt();
            int jf = insn.jf();
            if (jt == jf) { // both ways lead to the same place; the test has no side effect
                if (jt != 0) {
                    code.goto_(labels[i + 1 + jt]);
                }
                return;
            }
            Opcode taken = pushCompare(insn);
            if (jf == 0) {
                code.branch(taken, labels[i + 1 + jt]);
            } else if (jt == 0) {
                code.branch(negate(taken), labels[i + 1 + jf]);
            } else {
                code.branch(taken, labels[i + 1 + jt]);
                code.goto_(labels[i + 1 + jf]);
            }
        }

        /**
         * Pushes the operands of a conditional jump and returns the branch opcode that is taken
         * when the condition holds. Unsigned order is signed order with the sign bits flipped.
         */
        private Opcode pushCompare(BpfInsn insn) {
            boolean byX = insn.src() == BpfInsn.X;
            int op = insn.op();
            boolean unsigned = op == BpfInsn.JGT || op == BpfInsn.JGE;
            code.iload(REG_A);
            if (unsigned) {
                code.loadConstant(Integer.MIN_VALUE).ixor();
            }
            if (byX) {
                code.iload(REG_X);
                if (unsigned) {
                    code.loadConstant(Integer.MIN_VALUE).ixor();
                }
            } else {
                code.loadConstant(unsigned ? insn.k() ^ Integer.MIN_VALUE : insn.k());
            }
            return switch (op) {
                case BpfInsn.JEQ -> Opcode.IF_ICMPEQ;
                case BpfInsn.JGT -> Opcode.IF_ICMPGT;
                case BpfInsn.JGE -> Opcode.IF_ICMPGE;
                case BpfInsn.JSET -> {
                    code.iand();
                    yield Opcode.IFNE;
                }
                default -> throw new IllegalStateException("unvalidated opcode " + insn.code());
            };
        }

        private static Opcode negate(Opcode op) {
            return switch (op) {
                case IF_ICMPEQ -> Opcode.IF_ICMPNE;
                case IF_ICMPGT -> Opcode.IF_ICMPLE;
                case IF_ICMPGE -> Opcode.IF_ICMPLT;
                case IFNE -> Opcode.IFEQ;
                default -> throw new IllegalStateException("no negation for " + op);
            };
        }
    }
}
