package org.smpnet.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.smpnet.ControlProtocol;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.SysctlException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code smpnet sysctl [-a] [-d] [-n] [--vnet NAME] [name[=value]] ...}, as sysctl(8): this JVM's tree, or
 * with {@code --vnet} a running Vnet's, through its control endpoint.
 */
@Command(name = "sysctl", description = "Get or set kernel state, as sysctl(8).")
final class SysctlCommand implements Callable<Integer> {
    @Option(names = "-a", description = "List every node.")
    boolean all;

    @Option(names = "-d", description = "Print descriptions instead of values.")
    boolean descriptions;

    @Option(names = "-n", description = "Print values only, without names.")
    boolean valuesOnly;

    @Option(names = "--vnet", paramLabel = "NAME",
            description = "Read or write the sysctls of a running Vnet (its net.* tree, then its JVM's kern.*, debug.*).")
    String vnet;

    @Option(names = "--ctl-dir", paramLabel = "DIR", hidden = true, description = "Directory of the Vnets' control sockets.")
    Path ctlDir;

    @Parameters(arity = "0..*", paramLabel = "name[=value]")
    List<String> names = List.of();

    @Override
    public Integer call() {
        if (vnet != null) {
            return remote();
        }
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

    /** The same through the control endpoint that serves {@link #vnet}. */
    private int remote() {
        Path dir = ctlDir != null ? ctlDir : ControlProtocol.defaultDir();
        Path endpoint;
        try {
            endpoint = endpointOf(dir);
        } catch (IOException e) {
            System.err.println("sysctl: " + dir + ": " + TcpdumpCommand.reason(e));
            return 1;
        }
        if (endpoint == null) {
            System.err.println("sysctl: no running vnet named " + vnet + " (ENOENT)");
            return 1;
        }
        int status = 0;
        try (ControlClient c = ControlClient.connect(endpoint)) {
            for (String arg : all || names.isEmpty() ? List.of("") : names) {
                int eq = arg.indexOf('=');
                try {
                    ControlProtocol.SysctlReply r = c.sysctl(vnet, eq >= 0 ? arg.substring(0, eq) : arg,
                            eq >= 0 ? arg.substring(eq + 1) : null);
                    for (ControlProtocol.SysctlEntry e : r.entries()) {
                        String v = descriptions ? e.description() : e.value();
                        if (e.old() != null) {
                            System.out.println(e.name() + ": " + e.old() + " -> " + e.value());
                        } else {
                            System.out.println(valuesOnly ? v : e.name() + ": " + v);
                        }
                    }
                } catch (ErrnoException e) {
                    System.err.println("sysctl: " + e.getMessage());
                    status = 1;
                }
            }
        } catch (IOException e) {
            System.err.println("sysctl: " + endpoint + ": " + TcpdumpCommand.reason(e));
            return 1;
        }
        return status;
    }

    private Path endpointOf(Path dir) throws IOException {
        for (ControlClient.Located l : ControlClient.interfaces(dir)) {
            if (l.vnet().equals(vnet)) {
                return l.endpoint();
            }
        }
        return null;
    }

    private void print(Sysctl.Oid oid) {
        String v = descriptions ? oid.description() : oid.valueString();
        System.out.println(valuesOnly ? v : oid.name() + ": " + v);
    }
}
