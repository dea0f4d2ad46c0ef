package org.smpnet.net.bpf;

import java.util.ArrayList;
import java.util.List;

/**
 * Opcode names (aliases of {@link BpfInsn}'s) and the filter compiler's code
 * representation: straight-line statements ({@link Stmt}) and a tree of tests joined by
 * and/or/not ({@link Pred}), which {@link #emit} lays out as short-circuit code with forward
 * jumps only, adding {@code ja} trampolines where a conditional jump would exceed 255.
 *
 * <p>Locking: none; values are immutable and {@link #emit} is a pure function.
 */
final class FilterCode {
    private FilterCode() {}

    // Instruction classes and fields.
    static final int LD = BpfInsn.LD;
    static final int LDX = BpfInsn.LDX;
    static final int ST = BpfInsn.ST;
    static final int STX = BpfInsn.STX;
    static final int ALU = BpfInsn.ALU;
    static final int JMP = BpfInsn.JMP;
    static final int RET = BpfInsn.RET;
    static final int MISC = BpfInsn.MISC;
    static final int W = BpfInsn.W;
    static final int H = BpfInsn.H;
    static final int B = BpfInsn.B;
    static final int IMM = BpfInsn.IMM;
    static final int ABS = BpfInsn.ABS;
    static final int IND = BpfInsn.IND;
    static final int MEM = BpfInsn.MEM;
    static final int LEN = BpfInsn.LEN;
    static final int MSH = BpfInsn.MSH;
    static final int ADD = BpfInsn.ADD;
    static final int SUB = BpfInsn.SUB;
    static final int MUL = BpfInsn.MUL;
    static final int DIV = BpfInsn.DIV;
    static final int OR = BpfInsn.OR;
    static final int AND = BpfInsn.AND;
    static final int LSH = BpfInsn.LSH;
    static final int RSH = BpfInsn.RSH;
    static final int NEG = BpfInsn.NEG;
    static final int MOD = BpfInsn.MOD;
    static final int XOR = BpfInsn.XOR;
    static final int JA = BpfInsn.JA;
    static final int JEQ = BpfInsn.JEQ;
    static final int JGT = BpfInsn.JGT;
    static final int JGE = BpfInsn.JGE;
    static final int JSET = BpfInsn.JSET;
    static final int K = BpfInsn.K;
    static final int X = BpfInsn.X;
    static final int TAX = BpfInsn.TAX;
    static final int TXA = BpfInsn.TXA;
    /** Scratch memory words (BPF_MEMWORDS). */
    static final int MEMWORDS = BpfInsn.MEMWORDS;

    /** A non-jump instruction. */
    record Stmt(int code, int k) {}

    static Stmt stmt(int code, int k) {
        return new Stmt(code, k);
    }

    static int sizeCode(int size) {
        return switch (size) {
            case 1 -> B;
            case 2 -> H;
            case 4 -> W;
            default -> throw new IllegalArgumentException("load size must be 1, 2 or 4: " + size);
        };
    }

    /** A boolean condition over the packet. */
    sealed interface Pred {}

    record Const(boolean value) implements Pred {}

    /** Runs {@code stmts}, then jumps on {@code A op k} (or {@code A op X} when {@code useX}). */
    record Test(List<Stmt> stmts, int op, boolean useX, int k) implements Pred {}

    record And(Pred left, Pred right) implements Pred {}

    record Or(Pred left, Pred right) implements Pred {}

    record Not(Pred operand) implements Pred {}

    /** {@code cond ? then : otherwise}, testing {@code cond} once. */
    record If(Pred cond, Pred then, Pred otherwise) implements Pred {}

    static Pred and(Pred a, Pred b) {
        return a == null ? b : b == null ? a : new And(a, b);
    }

    static Pred or(Pred a, Pred b) {
        return new Or(a, b);
    }

    static Pred not(Pred a) {
        return new Not(a);
    }

    /** Lays out {@code root} as a program returning {@code snaplen} on a match and 0 otherwise. */
    static List<BpfInsn> emit(Pred root, int snaplen) {
        if (root instanceof Const c) {
            return List.of(new BpfInsn(RET | K, 0, 0, c.value() ? snaplen : 0));
        }
        Emitter e = new Emitter();
        int t = e.label();
        int f = e.label();
        e.emit(root, t, f);
        e.bind(t);
        e.items.add(new Item(RET | K, snaplen, -1, -1));
        e.bind(f);
        e.items.add(new Item(RET | K, 0, -1, -1));
        e.dropRedundantLoads();
        return e.resolve();
    }

    /** A laid-out instruction whose jump targets are labels (-1: none). */
    private record Item(int code, int k, int jt, int jf) {}

    private static final class Emitter {
        final List<Item> items = new ArrayList<>();
        final List<Integer> labelAt = new ArrayList<>();

        int label() {
            labelAt.add(-1);
            return labelAt.size() - 1;
        }

        void bind(int l) {
            labelAt.set(l, items.size());
        }

        void emit(Pred p, int t, int f) {
            switch (p) {
                case Const c -> items.add(new Item(JMP | JA, 0, c.value() ? t : f, -1));
                case Test x -> {
                    for (Stmt s : x.stmts()) {
                        items.add(new Item(s.code(), s.k(), -1, -1));
                    }
                    items.add(new Item(JMP | x.op() | (x.useX() ? X : K), x.k(), t, f));
                }
                case Not n -> emit(n.operand(), f, t);
                case If c -> {
                    int a = label();
                    int b = label();
                    emit(c.cond(), a, b);
                    bind(a);
                    emit(c.then(), t, f);
                    bind(b);
                    emit(c.otherwise(), t, f);
                }
                case And a -> {
                    int m = label();
                    emit(a.left(), m, f);
                    bind(m);
                    emit(a.right(), t, f);
                }
                case Or o -> {
                    int m = label();
                    emit(o.left(), t, m);
                    bind(m);
                    emit(o.right(), t, f);
                }
            }
        }

        /**
         * Deletes a load whose value A (or X) already holds on every path into it: the same
         * load has already succeeded, so the packet is accepted and rejected exactly as before.
         */
        void dropRedundantLoads() {
            int n = items.size();
            List<List<Integer>> preds = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                preds.add(new ArrayList<>());
            }
            for (int i = 0; i < n; i++) {
                Item it = items.get(i);
                int cls = it.code & 0x07;
                if (cls == JMP) {
                    preds.get(labelAt.get(it.jt)).add(i);
                    if ((it.code & 0xf0) != JA) {
                        preds.get(labelAt.get(it.jf)).add(i);
                    }
                } else if (cls != RET && i + 1 < n) {
                    preds.get(i + 1).add(i);
                }
            }
            String[] outA = new String[n];
            String[] outX = new String[n];
            boolean[] drop = new boolean[n];
            for (int i = 0; i < n; i++) {
                String a = null;
                String x = null;
                List<Integer> ps = preds.get(i);
                for (int k = 0; k < ps.size(); k++) {
                    int q = ps.get(k);
                    a = k == 0 ? outA[q] : java.util.Objects.equals(a, outA[q]) ? a : null;
                    x = k == 0 ? outX[q] : java.util.Objects.equals(x, outX[q]) ? x : null;
                }
                Item it = items.get(i);
                int cls = it.code & 0x07;
                int mode = it.code & 0xe0;
                if (cls == LD) {
                    String v = switch (mode) {
                        case ABS, IMM, LEN -> it.code + ":" + it.k;
                        case IND -> x == null ? null : it.code + ":" + it.k + "@" + x;
                        default -> null;
                    };
                    drop[i] = v != null && v.equals(a);
                    a = v;
                } else if (cls == LDX) {
                    String v = mode == MSH || mode == IMM ? it.code + ":" + it.k : null;
                    drop[i] = v != null && v.equals(x);
                    x = v;
                } else if (cls == ALU) {
                    a = null;
                } else if (cls == MISC) {
                    if ((it.code & 0xf8) == TAX) {
                        x = a;
                    } else {
                        a = x;
                    }
                }
                outA[i] = a;
                outX[i] = x;
            }
            int[] newIndex = new int[n + 1];
            List<Item> kept = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                newIndex[i] = kept.size();
                if (!drop[i]) {
                    kept.add(items.get(i));
                }
            }
            newIndex[n] = kept.size();
            for (int l = 0; l < labelAt.size(); l++) {
                if (labelAt.get(l) >= 0) {
                    labelAt.set(l, newIndex[labelAt.get(l)]);
                }
            }
            items.clear();
            items.addAll(kept);
        }

        /** Turns labels into offsets; a jump beyond 255 gets a trampoline {@code ja}. */
        List<BpfInsn> resolve() {
            List<Item> cur = new ArrayList<>(items);
            List<Integer> at = new ArrayList<>(labelAt);
            while (true) {
                int bad = -1;
                boolean badTrue = false;
                for (int i = 0; i < cur.size() && bad < 0; i++) {
                    Item it = cur.get(i);
                    if ((it.code & 0x07) == JMP && (it.code & 0xf0) != JA) {
                        if (at.get(it.jt) - i - 1 > 255) {
                            bad = i;
                            badTrue = true;
                        } else if (at.get(it.jf) - i - 1 > 255) {
                            bad = i;
                        }
                    }
                }
                if (bad < 0) {
                    break;
                }
                Item it = cur.get(bad);
                at.add(bad + 1);
                int tramp = at.size() - 1;
                for (int l = 0; l < at.size() - 1; l++) {
                    if (at.get(l) > bad) {
                        at.set(l, at.get(l) + 1);
                    }
                }
                cur.add(bad + 1, new Item(JMP | JA, 0, badTrue ? it.jt : it.jf, -1));
                cur.set(bad, badTrue ? new Item(it.code, it.k, tramp, it.jf) : new Item(it.code, it.k, it.jt, tramp));
            }
            List<BpfInsn> out = new ArrayList<>(cur.size());
            for (int i = 0; i < cur.size(); i++) {
                Item it = cur.get(i);
                if ((it.code & 0x07) != JMP) {
                    out.add(new BpfInsn(it.code, 0, 0, it.k));
                } else if ((it.code & 0xf0) == JA) {
                    out.add(new BpfInsn(it.code, 0, 0, at.get(it.jt) - i - 1));
                } else {
                    out.add(new BpfInsn(it.code, at.get(it.jt) - i - 1, at.get(it.jf) - i - 1, it.k));
                }
            }
            return out;
        }
    }
}
