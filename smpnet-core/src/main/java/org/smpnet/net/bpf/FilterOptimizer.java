package org.smpnet.net.bpf;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.smpnet.net.bpf.FilterCode.And;
import org.smpnet.net.bpf.FilterCode.Const;
import org.smpnet.net.bpf.FilterCode.If;
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
            case If c -> {
                Pred g = simplify(c.cond(), f);
                if (g instanceof Const k) {
                    yield simplify(k.value() ? c.then() : c.otherwise(), f);
                }
                yield ifThenElse(g, simplify(c.then(), f.plus(whenTrue(g))), simplify(c.otherwise(), f.plus(whenFalse(g))));
            }
            case Or o -> {
                Pred split = splitOnGuard(o, f);
                if (split != null) {
                    yield split;
                }
                yield pullup(simpleOr(o, f));
            }
        };
    }

    /**
     * libpcap threads jumps: when the first alternative of an or-chain fails after its guard
     * (say {@code ether proto ip}) passed, control goes straight to the later alternatives that
     * share that guard. Splitting on the guard gives the same evaluation order.
     */
    private static Pred splitOnGuard(Or o, Facts f) {
        List<Pred> alts = new java.util.ArrayList<>();
        flattenOr(o, alts);
        Pred[] first = splitHead(alts.get(0));
        if (first == null || first[1] == null || decide((Test) first[0], f) != null) {
            return null;
        }
        boolean shared = false;
        for (Pred a : alts.subList(1, alts.size())) {
            Pred[] h = splitHead(a);
            shared |= h != null && h[0].equals(first[0]);
        }
        if (!shared) {
            return null;
        }
        Pred rest = orOf(alts.subList(1, alts.size()));
        Test g = (Test) first[0];
        Pred x = simplify(new Or(first[1], rest), f.plus(whenTrue(g)));
        Pred y = simplify(rest, f.plus(whenFalse(g)));
        return ifThenElse(g, x, y);
    }

    private static Pred ifThenElse(Pred g, Pred x, Pred y) {
        if (x instanceof Const a && y instanceof Const b) {
            return a.value() == b.value() ? a : a.value() ? g : new Not(g);
        }
        return new If(g, x, y);
    }

    private static void flattenOr(Pred p, List<Pred> out) {
        if (p instanceof Or o) {
            flattenOr(o.left(), out);
            flattenOr(o.right(), out);
        } else {
            out.add(p);
        }
    }

    private static Pred orOf(List<Pred> alts) {
        Pred r = alts.get(alts.size() - 1);
        for (int i = alts.size() - 2; i >= 0; i--) {
            r = new Or(alts.get(i), r);
        }
        return r;
    }

    /** {head test, rest of the and-chain or null} of an alternative, or null if it starts otherwise. */
    private static Pred[] splitHead(Pred p) {
        if (p instanceof Test t) {
            return new Pred[] {t, null};
        }
        if (p instanceof And a) {
            Pred[] l = splitHead(a.left());
            if (l == null) {
                return null;
            }
            return new Pred[] {l[0], l[1] == null ? a.right() : new And(l[1], a.right())};
        }
        return null;
    }

    /**
     * libpcap's or_pullup: in a run of plain tests of one or-chain, a later test of the same
     * value is moved up next to the first, so the loaded value is compared against all its
     * constants before the next load.
     */
    private static Pred pullup(Pred p) {
        if (!(p instanceof Or)) {
            return p;
        }
        List<Pred> alts = new java.util.ArrayList<>();
        flattenOr(p, alts);
        List<Pred> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < alts.size()) {
            if (!(alts.get(i) instanceof Test)) {
                out.add(alts.get(i++));
                continue;
            }
            int j = i;
            while (j < alts.size() && alts.get(j) instanceof Test) {
                j++;
            }
            List<Pred> run = new java.util.ArrayList<>(alts.subList(i, j));
            while (!run.isEmpty()) {
                Test head = (Test) run.remove(0);
                out.add(head);
                for (java.util.Iterator<Pred> it = run.iterator(); it.hasNext(); ) {
                    Test t = (Test) it.next();
                    if (t.stmts().equals(head.stmts()) && !t.useX() && !head.useX()) {
                        out.add(t);
                        it.remove();
                    }
                }
            }
            i = j;
        }
        return orOf(out);
    }

    private static Pred simpleOr(Or o, Facts f) {
        {
            {
                Pred l = simplify(o.left(), f);
                if (l instanceof Const c && c.value()) {
                    return l;
                }
                Pred r = simplify(o.right(), f.plus(whenFalse(l)));
                if (l instanceof Const) {
                    return r;
                }
                if (r instanceof Const c) {
                    return c.value() ? r : l;
                }
                return new Or(l, r);
            }
        }
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
            case If c -> {
                for (boolean side : new boolean[] {true, false}) {
                    List<Facts> cs = paths(c.cond(), f, side, budget);
                    if (cs == null) {
                        return null;
                    }
                    for (Facts x : cs) {
                        if (!addAll(out, paths(side ? c.then() : c.otherwise(), x, want, budget))) {
                            return null;
                        }
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
            case If c -> whenTrue(c.cond()).plus(whenTrue(c.then())).common(whenFalse(c.cond()).plus(whenTrue(c.otherwise())));
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
            case If c -> whenTrue(c.cond()).plus(whenFalse(c.then())).common(whenFalse(c.cond()).plus(whenFalse(c.otherwise())));
        };
    }
}
