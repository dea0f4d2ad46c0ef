package org.smpnet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.smpnet.ControlProtocol;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code smpnet ping}, {@code route}, {@code netstat} and {@code ifconfig}: each runs {@link NetTools} inside
 * a Vnet of a running process (exported with {@link org.smpnet.VnetControl}, e.g. {@code smpnet demo --serve})
 * and prints what it prints, as it comes. Errors print the errno name; the status is then 1.
 */
final class NetToolCommands {
    private NetToolCommands() {}

    /** Where the stack runs: the control directory, the endpoint and the vnet. */
    abstract static class Remote implements Callable<Integer> {
        @Option(names = "--vnet", paramLabel = "NAME", description = "The vnet (needed when the endpoint serves several).")
        String vnet = "";

        @Option(names = "--endpoint", paramLabel = "NAME", description = "The control endpoint (default: the only live one).")
        String endpoint;

        @Option(names = "--ctl-dir", paramLabel = "DIR", description = "Directory of control endpoints.")
        Path ctlDir;

        final PrintStream out = System.out;

        abstract List<String> argv();

        @Override
        public Integer call() throws IOException {
            Path dir = ctlDir != null ? ctlDir : ControlProtocol.defaultDir();
            try (ControlClient c = ControlClient.connect(endpoint(dir))) {
                int status = c.tool(new ControlProtocol.ToolRequest(vnet, argv()), out::println);
                out.flush();
                return status;
            } finally {
                out.flush();
            }
        }

        private Path endpoint(Path dir) throws IOException {
            if (endpoint != null) {
                return dir.resolve(endpoint + ControlProtocol.SUFFIX);
            }
            List<Path> live = new ArrayList<>();
            for (Path p : ControlClient.endpoints(dir)) {
                try (ControlClient c = ControlClient.connect(p)) {
                    live.add(p);
                } catch (IOException dead) {
                    // a socket left by a process that died
                }
            }
            if (live.size() == 1) {
                return live.getFirst();
            }
            if (live.isEmpty()) {
                throw new ErrnoException(Errno.ENOENT, "no running vnets in " + dir + " (start one with: smpnet demo --serve)");
            }
            throw new ErrnoException(Errno.EINVAL, live.size() + " endpoints in " + dir + ": name one with --endpoint");
        }
    }

    @Command(name = "ping", description = "Send ICMP echo requests from a running vnet (ping(8) output).")
    static final class PingCommand extends Remote {
        @Option(names = "-c", paramLabel = "COUNT", defaultValue = "5", description = "Requests to send (default ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "-i", paramLabel = "SECONDS", defaultValue = "1", description = "Seconds between requests (default ${DEFAULT-VALUE}).")
        double interval;

        @Option(names = "-s", paramLabel = "SIZE", defaultValue = "56", description = "Data bytes per request (default ${DEFAULT-VALUE}).")
        int size;

        @Parameters(paramLabel = "HOST")
        String host;

        @Override
        List<String> argv() {
            return List.of("ping", "-c", Integer.toString(count), "-i", Double.toString(interval), "-s", Integer.toString(size), host);
        }
    }

    @Command(name = "route", description = "Add, delete, change or look up a route in a running vnet, or monitor its routing messages.")
    static final class RouteCommand extends Remote {
        @Parameters(paramLabel = "ARGS", description = "add|delete|get|change DST[/LEN] [GATEWAY], or monitor")
        List<String> args = new ArrayList<>();

        @Option(names = "-c", paramLabel = "COUNT", description = "With monitor: stop after COUNT messages (default: until interrupted).")
        Long count;

        @Option(names = "-n", description = "Numeric (always).")
        boolean numeric;

        @Override
        List<String> argv() {
            List<String> a = new ArrayList<>(List.of("route"));
            a.addAll(args);
            if (count != null) {
                a.add("-c");
                a.add(Long.toString(count));
            }
            return a;
        }
    }

    @Command(name = "netstat", description = "Routing table (-r) or protocol statistics (-s [-p ip|icmp|udp|arp]) of a running vnet.")
    static final class NetstatCommand extends Remote {
        @Option(names = "-r", description = "Show the routing table.")
        boolean routes;

        @Option(names = "-s", description = "Show protocol statistics.")
        boolean stats;

        @Option(names = "-p", paramLabel = "PROTO", description = "With -s: only ip, icmp, udp or arp.")
        String proto;

        @Option(names = "-z", description = "With -s: show zero counters too.")
        boolean zero;

        @Option(names = "-n", description = "Numeric (always).")
        boolean numeric;

        @Override
        List<String> argv() {
            List<String> a = new ArrayList<>(List.of("netstat"));
            if (routes) {
                a.add("-r");
            }
            if (stats) {
                a.add("-s");
            }
            if (zero) {
                a.add("-z");
            }
            if (proto != null) {
                a.add("-p");
                a.add(proto);
            }
            return a;
        }
    }

    @Command(name = "ifconfig", description = "Show or configure interfaces of a running vnet.")
    static final class IfconfigCommand extends Remote {
        @Parameters(paramLabel = "ARGS", description = "[IFACE [inet ADDR/LEN] [-alias ADDR] [up|down] [mtu N] [txcsum|-txcsum]]")
        List<String> args = new ArrayList<>();

        @Override
        List<String> argv() {
            List<String> a = new ArrayList<>(List.of("ifconfig"));
            a.addAll(args);
            return a;
        }
    }
}
