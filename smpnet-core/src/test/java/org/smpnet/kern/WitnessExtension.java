package org.smpnet.kern;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs every test with WITNESS on and fails it on any lock-order reversal or sleep violation that
 * appears while it runs. Registered for the whole suite by service loading; a test that provokes
 * reports on purpose is annotated {@link ExpectWitnessReports} and reads them itself.
 */
public final class WitnessExtension implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(WitnessExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        Witness.setEnabled(true);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Witness.setEnabled(true);
        context.getStore(NS).put("reversals", Witness.reversals());
        context.getStore(NS).put("violations", Witness.violations());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        List<?> before = context.getStore(NS).get("reversals", List.class);
        List<?> beforeV = context.getStore(NS).get("violations", List.class);
        List<Witness.Reversal> newReversals = new ArrayList<>(Witness.reversals());
        newReversals.removeAll(before);
        List<Witness.Violation> newViolations = new ArrayList<>(Witness.violations());
        newViolations.removeAll(beforeV);
        boolean expected = context.getRequiredTestMethod().isAnnotationPresent(ExpectWitnessReports.class);
        if (expected) {
            Witness.forget(newReversals);
            Witness.forget(newViolations);
            return;
        }
        if (!newReversals.isEmpty() || !newViolations.isEmpty()) {
            StringBuilder sb = new StringBuilder("WITNESS reported during " + context.getDisplayName() + ":\n");
            newReversals.forEach(r -> sb.append(r.report()).append('\n'));
            newViolations.forEach(v -> sb.append(v.report()).append('\n'));
            throw new AssertionError(sb.toString());
        }
    }
}
