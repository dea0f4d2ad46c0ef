package org.smpnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code smpnet} command. */
@Command(name = "smpnet", mixinStandardHelpOptions = true, version = "smpnet 0.1",
        description = "A multiprocessor-safe, BSD-architecture TCP/IP stack in user space on the JVM.",
        subcommands = {DemoCommand.class, SysctlCommand.class, WitnessCommand.class,
                TcpdumpCommand.class,
                BpfCommand.class,
                NetToolCommands.PingCommand.class, NetToolCommands.RouteCommand.class,
                NetToolCommands.NetstatCommand.class, NetToolCommands.IfconfigCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status (for tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        // ifconfig's own words start with '-' (-alias, -txcsum): they are its arguments, not picocli options
        cl.getSubcommands().get("ifconfig").setUnmatchedOptionsArePositionalParams(true);
        cl.setExecutionExceptionHandler((ex, line, parse) -> {
            line.getErr().println("smpnet: " + ex.getMessage());
            return 1;
        });
        return cl.execute(args);
    }
}
