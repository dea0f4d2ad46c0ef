package org.smpnet.net.bpf;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.smpnet.net.bpf.FilterCode.And;
import org.smpnet.net.bpf.FilterCode.Const;
import org.smpnet.net.bpf.FilterCode.Not;
import org.smpnet.net.bpf.FilterCode.Or;
import org.smpnet.net.bpf.FilterCode.Pred;
import org.smpnet.net.bpf.FilterCode.Stmt;
import org.smpnet.net.bpf.FilterCode.Test;

/**
 * Simplifies a test tree the way libpcap's optimiser does where that changes which packets
 * are selected: a test whose outcome is known on every path into it (the same loads compared
 * again, {@code ether proto} checked twice, {@code tcp and udp} on one protocol byte) is
 * replaced by its outcome, so its loads no longer run, and tests on constants are folded. A
 * tree that folds to "false" is what libpcap refuses as "expression rejects all packets".
 * Like libpcap, loads are treated as pure: a branch whose outcome does not matter is dropped
 * even though its load might have run past the captured bytes.
 *
 * <p>Locking: none; pure functions.
 */
final class FilterOptimizer {
    private FilterOptimizer() {}

    /** What is known about the value a statement list leaves in A. */
    private record Facts(Map<List<Stmt>, Long> eq, Map<List<Stmt>, Set<Long>> ne) {
        static final Facts NONE = new Facts(Map.of(), Map.of());

        Facts plus(Facts o) {
            if (o.eq.isEmpty() && o.ne.isEmpty()) {
                return this;
            }
            Map<List<Stmt>, Long> e = new HashMap<>(eq);
            e.putAll(o.eq);
            Map<List<Stmt>, Set<Long>> n = new HashMap<>(ne);
            o.ne.forEach((k, v) -> n.merge(k, v, (a, b) -> {
                Set<Long> s = new HashSet<>(a);
                s.addAll(b);
                return s;
            }));
            return new Facts(e, n);
        }

        /** Facts that hold whichever of {@code this} or {@code o} holds. */
        Facts common(Facts o) {
            Map<List<Stmt>, Long> e = new HashMap<>();
            eq.forEach((k, v) -> {
                if (v.equals(o.eq.get(k))) {
                    e.put(k, v);
                }
            });
            Map<List<Stmt>, Set<Long>> n = new HashMap<>();
            Set<List<Stmt>> keys = new HashSet<>(ne.keySet());
            keys.addAll(o.ne.keySet());
            for (List<Stmt> k : keys) {
                Set<Long> s = excluded(k, o);
                if (!s.isEmpty()) {
                    n.put(k, s);
                }
            }
            return new Facts(e, n);
        }

        /** Values of {@code k} excluded on both sides (a side with a known value excludes all others). */
        private Set<Long> excluded(List<Stmt> k, Facts o) {
            Set<Long> mine = ne.get(k);
            Set<Long> theirs = o.ne.get(k);
            Long myEq = eq.get(k);
            Long theirEq = o.eq.get(k);
            Set<Long> out = new HashSet<>();
            if (mine != null && theirs != null) {
                out.addAll(mine);
                out.retainAll(theirs);
            } else if (mine != null && theirEq != null) {
                out.addAll(mine);
                out.remove(theirEq);
            } else if (theirs != null && myEq != null) {
                out.addAll(theirs);
                out.remove(myEq);
            }
            return out;
        }
    }

    /** The simplified equivalent of {@code p}. */
    static Pred simplify(Pred p) {
        return simplify(p, Facts.NONE);
    }

    private static Pred simplify(Pred p, Facts f) {
        return switch (p) {
            case Const c -> c;
            case Test t -> test(t, f);
            case Not n -> {
                Pred s = simplify(n.operand(), f);
                yield s instanceof Const c ? new Const(!c.value()) : new Not(s);
            }
            case And a -> {
                Pred l = simplify(a.left(), f);
                if (l instanceof Const c && !c.value()) {
                    yield l;
                }
                Pred r = simplify(a.right(), f.plus(whenTrue(l)));
                if (l instanceof Const) {
                    yield r;
                }
                if (r instanceof Const c) {
                    yield c.value() ? l : r;
                }
                yield new And(l, r);
            }
            case Or o -> {
                Pred l = simplify(o.left(), f);
                if (l instanceof Const c && c.value()) {
                    yield l;
                }
                Pred r = simplify(o.right(), f.plus(whenFalse(l)));
                if (l instanceof Const) {
                    yield r;
                }
                if (r instanceof Const c) {
                    yield c.value() ? r : l;
                }
                yield new Or(l, r);
            }
        };
    }

    private static Pred test(Test t, Facts f) {
        Boolean d = decide(t, f);
        return d == null ? t : new Const(d);
    }

    /** The outcome of {@code t} given {@code f}, or null if it depends on the packet. */
    private static Boolean decide(Test t, Facts f) {
        if (t.useX()) {
            return null;
        }
        Long known = constant(t.stmts());
        if (known == null) {
            known = f.eq().get(t.stmts());
        }
        if (known != null) {
            return jump(t.op(), known, t.k() & 0xffffffffL);
        }
        if (t.op() == FilterCode.JEQ && f.ne().getOrDefault(t.stmts(), Set.of()).contains(t.k() & 0xffffffffL)) {
            return false;
        }
        return null;
    }

    /**
     * True if no path through {@code p} ends in "accept": every way to satisfy it contradicts
     * itself (libpcap's "expression rejects all packets"). Gives up (false) past a work bound.
     */
    static boolean rejectsAll(Pred p) {
        List<Facts> ways = paths(p, Facts.NONE, true, new int[] {PATH_BUDGET});
        return ways != null && ways.isEmpty();
    }

    private static final int PATH_BUDGET = 50_000;
    private static final int MAX_PATHS = 512;

    /** The fact sets of the feasible ways {@code p} comes out {@code want}; null past the budget. */
    private static List<Facts> paths(Pred p, Facts f, boolean want, int[] budget) {
        if (--budget[0] < 0) {
            return null;
        }
        List<Facts> out = new java.util.ArrayList<>();
        switch (p) {
            case Const c -> {
                if (c.value() == want) {
                    out.add(f);
                }
            }
            case Test t -> {
                Boolean d = decide(t, f);
                if (d == null) {
                    out.add(f.plus(want ? whenTrue(t) : whenFalse(t)));
                } else if (d == want) {
                    out.add(f);
                }
            }
            case Not n -> {
                return paths(n.operand(), f, !want, budget);
            }
            case And a -> {
                if (!want && !addAll(out, paths(a.left(), f, false, budget))) {
                    return null;
                }
                List<Facts> lt = paths(a.left(), f, true, budget);
                if (lt == null) {
                    return null;
                }
                for (Facts x : lt) {
                    if (!addAll(out, paths(a.right(), x, want, budget))) {
                        return null;
                    }
                }
            }
            case Or o -> {
                if (want && !addAll(out, paths(o.left(), f, true, budget))) {
                    return null;
                }
                List<Facts> lf = paths(o.left(), f, false, budget);
                if (lf == null) {
                    return null;
                }
                for (Facts x : lf) {
                    if (!addAll(out, paths(o.right(), x, want, budget))) {
                        return null;
                    }
                }
            }
        }
        return out.size() > MAX_PATHS ? null : out;
    }

    private static boolean addAll(List<Facts> out, List<Facts> more) {
        if (more == null) {
            return false;
        }
        out.addAll(more);
        return out.size() <= MAX_PATHS;
    }

    private static boolean jump(int op, long a, long k) {
        return switch (op) {
            case FilterCode.JEQ -> a == k;
            case FilterCode.JGT -> a > k;
            case FilterCode.JGE -> a >= k;
            default -> (a & k) != 0;
        };
    }

    /** The value of A after {@code stmts} if they read nothing from the packet, else null. */
    private static Long constant(List<Stmt> stmts) {
        if (stmts.isEmpty() || stmts.get(0).code() != (FilterCode.LD | FilterCode.IMM)) {
            return null;
        }
        long a = stmts.get(0).k() & 0xffffffffL;
        for (Stmt s : stmts.subList(1, stmts.size())) {
            if ((s.code() & 0x07) != FilterCode.ALU || (s.code() & FilterCode.X) != 0) {
                return null;
            }
            long k = s.k() & 0xffffffffL;
            a = switch (s.code() & 0xf0) {
                case FilterCode.ADD -> a + k;
                case FilterCode.SUB -> a - k;
                case FilterCode.MUL -> a * k;
                case FilterCode.DIV -> k == 0 ? -1 : a / k;
                case FilterCode.MOD -> k == 0 ? -1 : a % k;
                case FilterCode.AND -> a & k;
                case FilterCode.OR -> a | k;
                case FilterCode.XOR -> a ^ k;
                case FilterCode.LSH -> a << (k & 31);
                case FilterCode.RSH -> a >>> (k & 31);
                default -> -a;
            };
            if (a == -1 && ((s.code() & 0xf0) == FilterCode.DIV || (s.code() & 0xf0) == FilterCode.MOD) && k == 0) {
                return null;
            }
            a &= 0xffffffffL;
        }
        return a;
    }

    private static Facts whenTrue(Pred p) {
        return switch (p) {
            case Const c -> Facts.NONE;
            case Test t -> !t.useX() && t.op() == FilterCode.JEQ
                    ? new Facts(Map.of(t.stmts(), t.k() & 0xffffffffL), Map.of()) : Facts.NONE;
            case Not n -> whenFalse(n.operand());
            case And a -> whenTrue(a.left()).plus(whenTrue(a.right()));
            case Or o -> whenTrue(o.left()).common(whenTrue(o.right()));
        };
    }

    private static Facts whenFalse(Pred p) {
        return switch (p) {
            case Const c -> Facts.NONE;
            case Test t -> !t.useX() && t.op() == FilterCode.JEQ
                    ? new Facts(Map.of(), Map.of(t.stmts(), Set.of(t.k() & 0xffffffffL))) : Facts.NONE;
            case Not n -> whenTrue(n.operand());
            case And a -> whenFalse(a.left()).common(whenFalse(a.right()));
            case Or o -> whenFalse(o.left()).plus(whenFalse(o.right()));
        };
    }
}
