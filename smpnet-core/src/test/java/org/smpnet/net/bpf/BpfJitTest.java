package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.bpf.BpfInsn.jump;
import static org.smpnet.net.bpf.BpfInsn.stmt;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The JIT against the interpreter: they must agree on every program and packet. */
class BpfJitTest {
    /** Runs both engines over {@code packets} random packets; fails with the program on a mismatch. */
    private static void agree(BpfProgram p, Random r, int packets) {
        agree(p, BpfJit.compile(p), r, packets);
    }

    private static void agree(BpfProgram p, BpfFilter jit, Random r, int packets) {
        BpfFilter interp = new BpfInterpreter(p);
        for (int i = 0; i < packets; i++) {
            byte[] pkt = BpfTestSupport.randomPacket(r, 80);
            int buflen = r.nextInt(4) == 0 ? pkt.length : r.nextInt(pkt.length + 1);
            int wirelen = r.nextInt(8) == 0 ? r.nextInt() : buflen + r.nextInt(64);
            int expected = interp.filter(pkt, wirelen, buflen);
            int actual = jit.filter(pkt, wirelen, buflen);
            if (expected != actual) {
                throw new AssertionError(String.format("interpreter %d, JIT %d on packet %s (buflen %d, wirelen %d)"
                        + " for program%n%s", expected, actual, java.util.HexFormat.of().formatHex(pkt), buflen,
                        wirelen, BpfAsm.disassemble(p.insns())));
            }
        }
    }

    @Test
    @DisplayName("R-BPF-1: JIT output is a hidden class implementing BpfFilter")
    void hiddenClass() {
        BpfFilter f = BpfJit.compile(BpfProgram.of(stmt(0x06, 1)));
        assertThat(f.getClass().isHidden()).isTrue();
        assertThat(f).isNotInstanceOf(BpfInterpreter.class);
        assertThat(f.filter(new byte[0], 0, 0)).isEqualTo(1);
        // Each compile defines its own class: nothing shared or cached.
        assertThat(BpfJit.compile(BpfProgram.of(stmt(0x06, 1))).getClass()).isNotSameAs(f.getClass());
    }

    @Test
    @DisplayName("R-BPF-1: a compiled filter's class becomes unreachable once the filter is dropped (nothing cached)")
    void compiledClassIsCollectable() throws InterruptedException {
        WeakReference<Class<?>> cls = compileAndDrop();
        // Bounded: a full GC clears the reference at once unless something still holds the class.
        for (int i = 0; i < 50 && cls.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(cls.get()).as("hidden filter class still reachable").isNull();
    }

    private static WeakReference<Class<?>> compileAndDrop() {
        BpfFilter f = BpfJit.compile(BpfProgram.of(stmt(0x30, 0), stmt(0x16, 0)));
        assertThat(f.filter(new byte[] {9}, 1, 1)).isEqualTo(9);
        return new WeakReference<>(f.getClass());
    }

    @Test
    @DisplayName("R-BPF-1: JIT and interpreter agree on a program using every opcode")
    void everyOpcode() {
        List<BpfInsn> prog = new ArrayList<>();
        prog.add(stmt(0x00, 0x77));
        prog.add(stmt(0x01, 0x5a));
        // Loads of each size and mode, guarded so most packets get past them.
        prog.add(stmt(0xb1, 0));
        prog.add(stmt(0x30, 1));
        prog.add(stmt(0x02, 0));
        prog.add(stmt(0x28, 2));
        prog.add(stmt(0x03, 1));
        prog.add(stmt(0x20, 4));
        prog.add(stmt(0x50, 0));
        prog.add(stmt(0x48, 1));
        prog.add(stmt(0x40, 2));
        prog.add(stmt(0x80, 0));
        prog.add(stmt(0x81, 0));
        prog.add(stmt(0x61, 1));
        prog.add(stmt(0x60, 0));
        for (int op = 0; op <= 0xa0; op += 0x10) {
            if (op == BpfInsn.NEG) {
                prog.add(stmt(0x84, 0));
                continue;
            }
            prog.add(stmt(0x04 | op, op == BpfInsn.DIV || op == BpfInsn.MOD ? 3 : 0x1234 + op));
            prog.add(stmt(0x04 | op | 0x08, 0));
            prog.add(stmt(0x07, 0));
        }
        for (int code : new int[] {0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d}) {
            prog.add(jump(code, 0x80, 1, 0));
            prog.add(stmt(0x87, 0));
        }
        prog.add(stmt(0x05, 1));
        prog.add(stmt(0x06, 99));
        prog.add(jump(0x25, 1000, 0, 1));
        prog.add(stmt(0x16, 0));
        prog.add(stmt(0x06, 7));
        BpfProgram p = BpfValidator.validate(prog);
        for (int code : BpfTestSupport.OPCODES) {
            assertThat(prog).as("opcode 0x%02x covered", code).anyMatch(i -> i.code() == code);
        }
        agree(p, new Random(BpfTestSupport.seed()), 3000);
    }

    @Test
    @DisplayName("R-BPF-1: JIT and interpreter agree on thousands of random valid programs and packets")
    void randomPrograms() {
        long seed = BpfTestSupport.seed();
        Random r = new Random(seed);
        int accepted = 0;
        int attempts = 2000;
        for (int i = 0; i < attempts; i++) {
            List<BpfInsn> insns = BpfTestSupport.randomValidProgram(r, 1 + r.nextInt(60));
            if (r.nextInt(20) == 0) { // now and then break one instruction
                int j = r.nextInt(insns.size());
                insns.set(j, new BpfInsn(r.nextInt(256), r.nextInt(256), r.nextInt(256), r.nextInt()));
            }
            BpfProgram p;
            try {
                p = BpfValidator.validate(insns);
            } catch (BpfValidationException e) {
                continue;
            }
            accepted++;
            try {
                agree(p, r, 60);
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + ", program " + i + ": " + e.getMessage(), e);
            }
        }
        assertThat(accepted).as("generator mostly makes valid programs").isGreaterThan(attempts * 9 / 10);
    }

    @Test
    @DisplayName("R-BPF-1: random programs' returns are not all trivial (the differential test has teeth)")
    void randomProgramsReachVariedResults() {
        Random r = new Random(BpfTestSupport.seed() + 1);
        java.util.Set<Integer> results = new java.util.HashSet<>();
        int nonzero = 0;
        int runs = 0;
        for (int i = 0; i < 300; i++) {
            BpfFilter f = new BpfInterpreter(BpfValidator.validate(BpfTestSupport.randomValidProgram(r, 30)));
            for (int j = 0; j < 10; j++) {
                byte[] pkt = BpfTestSupport.randomPacket(r, 80);
                int v = f.filter(pkt, pkt.length, pkt.length);
                results.add(v);
                nonzero += v != 0 ? 1 : 0;
                runs++;
            }
        }
        assertThat(results.size()).isGreaterThan(200);
        assertThat(nonzero).isGreaterThan(runs / 4);
    }

    @Test
    @DisplayName("R-BPF-1: a long jumpy program is JIT-compiled; one past HotSpot's huge-method limit runs interpreted")
    void largePrograms() {
        Random r = new Random(BpfTestSupport.seed() + 2);
        List<BpfInsn> medium = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            medium.add(stmt(0x30, i % 64));
            medium.add(jump(0x25, 0x80, 0, Math.min(255, 600 - 2 * i - 2)));
        }
        medium.add(stmt(0x06, 5));
        BpfProgram mp = BpfValidator.validate(medium);
        assertThat(BpfJit.compile(mp).getClass().isHidden()).isTrue();
        agree(mp, r, 500);

        List<BpfInsn> huge = new ArrayList<>();
        for (int i = 0; i < BpfInsn.MAXINSNS - 1; i++) {
            huge.add(i % 2 == 0 ? stmt(0x20, i % 60) : jump(0x15, i, 0, Math.min(255, BpfInsn.MAXINSNS - i - 2)));
        }
        huge.add(stmt(0x16, 0));
        BpfProgram hp = BpfValidator.validate(huge);
        assertThat(BpfJit.filterCodeLength(BpfJit.generate(hp))).isGreaterThan(BpfJit.HUGE_METHOD_LIMIT);
        assertThat(BpfJit.compile(hp)).isInstanceOf(BpfInterpreter.class);
        // The generated class is still loadable and correct, though HotSpot would not compile it.
        BpfFilter hugeJit = BpfJit.define(BpfJit.generate(hp));
        assertThat(hugeJit.getClass().isHidden()).isTrue();
        agree(hp, hugeJit, r, 200);
    }
}
