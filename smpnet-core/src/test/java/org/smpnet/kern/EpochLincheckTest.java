package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Method;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * Lincheck model checking of the epoch protocol. The checker runs each operation of a small
 * scenario in its own thread and explores interleavings of their shared-memory steps, including the
 * steps inside {@code enter}, {@code exit} and {@code synchronize}.
 *
 * <p>Sequential specification: {@link Model} run one operation at a time, where a reader can never
 * see a freed object. So a concurrent run is linearizable only if no reader, at any point of its
 * section, saw the object it loaded marked freed by a writer's "unlink; synchronize; free".
 *
 * <p>A negative control runs the same model over an epoch whose grace period has only one
 * flip-and-drain phase, which is wrong (see {@code Epoch.gracePeriod}); the checker must find the
 * interleaving that frees an object under a reader.
 */
class EpochLincheckTest {
    /** An epoch-protected object. */
    static final class Obj {
        volatile boolean freed;
    }

    /** The data structure under test: an epoch-protected pointer, with reader and writer operations. */
    public static class Model {
        private final Epoch epoch;
        private final AtomicReference<Obj> current = new AtomicReference<>(new Obj());

        public Model() {
            this(2);
        }

        Model(int phases) {
            epoch = new Epoch("t-lincheck", null, phases, 8) /* few slots: the model checker reads each */;
        }

        /** enter; load; check; check again; exit. True when the object was live throughout. */
        @Operation
        public boolean read() {
            int t = epoch.enter();
            try {
                Obj o = current.get();
                boolean live = !o.freed;
                return live & !o.freed;
            } finally {
                epoch.exit(t);
            }
        }

        /** A nested section around a read: the outer object must stay live too. */
        @Operation
        public boolean readNested() {
            int outer = epoch.enter();
            try {
                Obj o = current.get();
                boolean live = read();
                return live & !o.freed;
            } finally {
                epoch.exit(outer);
            }
        }

        /**
         * Unlink the object, wait a grace period, free it. One writer thread at a time, so the
         * epoch's mutex is never contended and its steps can be treated as atomic (see options()).
         */
        @Operation(nonParallelGroup = "writer")
        public void replace() {
            Obj old = current.getAndSet(new Obj());
            epoch.synchronize();
            old.freed = true;
        }
    }

    /** The same model over a one-phase (broken) grace period. */
    public static class OnePhaseModel extends Model {
        public OnePhaseModel() {
            super(1);
        }
    }

    /**
     * {@code -Dsmpnet.lincheck.full=1}: a bigger budget and the negative control. Off by default
     * because Lincheck's thread hand-offs make each invocation cost milliseconds on a small machine.
     */
    private static final boolean FULL = Boolean.getBoolean("smpnet.lincheck.full")
            || "1".equals(System.getProperty("smpnet.lincheck.full"));

    @Test
    @DisplayName("R-IF-1: Lincheck model checking: no reader ever sees an object freed by unlink+synchronize+free")
    void modelChecking() {
        withoutWitness(() -> options(Model.class, FULL ? 1000 : 120)
                .iterations(FULL ? 20 : 2)
                .threads(3)
                .actorsPerThread(2)
                .check(Model.class));
    }

    @Test
    @EnabledIf("full")
    @DisplayName("R-IF-1: Lincheck finds the use-after-free of a one-phase grace period (the test has teeth)")
    void onePhaseIsCaught() {
        assertThatThrownBy(() -> withoutWitness(() -> options(OnePhaseModel.class, 1500)
                .iterations(0)
                .check(OnePhaseModel.class)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("read(): false");
    }

    static boolean full() {
        return FULL;
    }

    /**
     * Options with the scenario that breaks a one-phase grace period: a reader against a writer
     * that replaces twice (the reader reads the parity before the first flip and counts late).
     */
    private static ModelCheckingOptions options(Class<? extends Model> model, int invocations) {
        Method read = method(model, "read");
        Method replace = method(model, "replace");
        ExecutionScenario slowReader = new ExecutionScenario(List.of(),
                List.of(List.of(actor(read)), List.of(actor(replace), actor(replace))), List.of(), null);
        return new ModelCheckingOptions()
                .invocationsPerIteration(invocations)
                .addCustomScenario(slowReader)
                // Bookkeeping beside the protocol: no switch points inside.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(Witness.class.getName(), Counter.class.getName(),
                        EpochSections.class.getName()).allMethods().ignore())
                // The writer's mutex-protected steps, uncontended with one writer: one step each.
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(Epoch.class.getName())
                        .methods("ticket", "becomeDriver", "gracePeriodEnded", "checkNotInSection").treatAsAtomic());
    }

    private static Actor actor(Method m) {
        return new Actor(m, List.of(), false, false, false, false, false);
    }

    private static Method method(Class<?> c, String name) {
        try {
            return c.getMethod(name);
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    /** WITNESS bookkeeping multiplies the steps the checker explores; WITNESS itself is tested elsewhere. */
    private static void withoutWitness(Runnable r) {
        boolean was = Witness.isEnabled();
        Witness.setEnabled(false);
        try {
            r.run();
        } finally {
            Witness.setEnabled(was);
        }
        assertThat(Witness.isEnabled()).isEqualTo(was);
    }
}
