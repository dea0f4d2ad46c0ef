package org.smpnet.cli;

import java.util.concurrent.Callable;
import org.smpnet.kern.Witness;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code smpnet witness}: the learned lock order and every reversal, with stacks. */
@Command(name = "witness", description = "Show WITNESS state: the lock order learned and any reversals.")
final class WitnessCommand implements Callable<Integer> {
    @Option(names = "--order", description = "Print the learned lock order.")
    boolean order;

    @Option(names = "--reversals", description = "Print every reversal with both stacks.")
    boolean reversals;

    @Override
    public Integer call() {
        boolean both = !order && !reversals;
        System.out.println("witness: " + (Witness.isEnabled() ? "enabled" : "disabled"));
        if (order || both) {
            System.out.println("lock order (" + Witness.order().size() + " edges):");
            Witness.order().forEach(e -> System.out.println("  " + e));
        }
        if (reversals || both) {
            System.out.println("reversals: " + Witness.reversals().size());
            Witness.reversals().forEach(r -> System.out.println(r.report()));
            System.out.println("violations: " + Witness.violations().size());
            Witness.violations().forEach(v -> System.out.println(v.report()));
        }
        return 0;
    }
}
