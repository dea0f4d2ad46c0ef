package org.smpnet.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.SysctlException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code smpnet sysctl [-a] [-d] [name[=value]] ...}, as sysctl(8). */
@Command(name = "sysctl", description = "Get or set kernel state, as sysctl(8).")
final class SysctlCommand implements Callable<Integer> {
    @Option(names = "-a", description = "List every node.")
    boolean all;

    @Option(names = "-d", description = "Print descriptions instead of values.")
    boolean descriptions;

    @Option(names = "-n", description = "Print values only, without names.")
    boolean valuesOnly;

    @Parameters(arity = "0..*", paramLabel = "name[=value]")
    List<String> names = List.of();

    @Override
    public Integer call() {
        Sysctl tree = Sysctl.kernel();
        if (all || names.isEmpty()) {
            tree.list("").forEach(this::print);
            return 0;
        }
        int status = 0;
        for (String arg : names) {
            try {
                int eq = arg.indexOf('=');
                if (eq >= 0) {
                    String name = arg.substring(0, eq);
                    String old = tree.get(name);
                    tree.set(name, arg.substring(eq + 1));
                    System.out.println(name + ": " + old + " -> " + tree.get(name));
                } else {
                    tree.list(arg).forEach(this::print);
                }
            } catch (SysctlException e) {
                System.err.println("sysctl: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    private void print(Sysctl.Oid oid) {
        String v = descriptions ? oid.description() : oid.valueString();
        System.out.println(valuesOnly ? v : oid.name() + ": " + v);
    }
}
