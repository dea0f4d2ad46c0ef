package org.smpnet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import org.smpnet.net.bpf.BpfAsm;
import org.smpnet.net.bpf.BpfAsmException;
import org.smpnet.net.bpf.BpfFilter;
import org.smpnet.net.bpf.BpfInsn;
import org.smpnet.net.bpf.BpfInterpreter;
import org.smpnet.net.bpf.BpfJit;
import org.smpnet.net.bpf.BpfProgram;
import org.smpnet.net.bpf.BpfValidationException;
import org.smpnet.net.bpf.BpfValidator;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapReader;
import org.smpnet.net.bpf.PcapRecord;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code smpnet bpf asm|dis|run|check}, in the spirit of Linux's bpf_asm and bpf_dbg: move
 * classic BPF programs between the {@code tcpdump -d}, {@code -dd} and {@code -ddd} forms
 * ({@link BpfAsm}), run one over packets, and ask {@link BpfValidator} about one. Programs are
 * read from a file, {@code -} for standard input, or {@code -e TEXT}; any of the three forms is
 * accepted on input (commas may separate {@code -ddd} entries, as xt_bpf takes them).
 */
@Command(name = "bpf", description = "Assemble, disassemble, run and check classic BPF programs.",
        subcommands = {BpfCommand.Asm.class, BpfCommand.Dis.class, BpfCommand.Run.class, BpfCommand.Check.class})
final class BpfCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Where a program comes from: a file (or - for stdin) or inline text. */
    static final class Source {
        @Parameters(index = "0", arity = "0..1", paramLabel = "PROGRAM", description = "Program file, or - for standard input.")
        String file;

        @Option(names = "-e", paramLabel = "TEXT", description = "The program text itself.")
        String text;

        String name() {
            return text != null ? "-e" : "-".equals(file) ? "<stdin>" : file;
        }

        String read() throws TcpdumpCommand.Failure {
            if ((text == null) == (file == null)) {
                throw new TcpdumpCommand.Failure("give a program as either a file (- for stdin) or -e TEXT");
            }
            if (text != null) {
                return text;
            }
            try {
                return "-".equals(file) ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                        : Files.readString(Path.of(file));
            } catch (IOException e) {
                throw new TcpdumpCommand.Failure(file + ": " + TcpdumpCommand.reason(e));
            }
        }

        /** Parses the program in whichever form it is written. */
        List<BpfInsn> parse() throws TcpdumpCommand.Failure {
            String body = read();
            try {
                return BpfAsm.parse(body);
            } catch (BpfAsmException e) {
                throw new TcpdumpCommand.Failure(name() + ": " + e.getMessage());
            }
        }

        /** Parses and validates. */
        BpfProgram program() throws TcpdumpCommand.Failure {
            List<BpfInsn> insns = parse();
            try {
                return BpfValidator.validate(insns);
            } catch (BpfValidationException e) {
                throw new TcpdumpCommand.Failure(name() + ": invalid program: " + e.getMessage());
            }
        }
    }

    /** Runs {@code body}, turning a failure into one line on stderr and status 1. */
    static int guarded(Body body) {
        try {
            return body.call();
        } catch (TcpdumpCommand.Failure e) {
            System.out.flush();
            System.err.println("smpnet bpf: " + e.getMessage());
            return 1;
        }
    }

    @FunctionalInterface
    interface Body {
        int call() throws TcpdumpCommand.Failure;
    }

    @Command(name = "asm", description = "Assemble a program to tcpdump -ddd numbers (-c: the -dd C array).")
    static final class Asm implements Callable<Integer> {
        @Mixin
        Source src;

        @Option(names = "-c", description = "Print the C array form (tcpdump -dd).")
        boolean cArray;

        @Override
        public Integer call() {
            return guarded(() -> {
                BpfProgram p = src.program();
                System.out.print(BpfAsm.format(p.insns(), cArray ? BpfAsm.Format.C_ARRAY : BpfAsm.Format.DECIMAL));
                return 0;
            });
        }
    }

    @Command(name = "dis", description = "Disassemble a program to tcpdump -d text.")
    static final class Dis implements Callable<Integer> {
        @Mixin
        Source src;

        @Override
        public Integer call() {
            return guarded(() -> {
                System.out.print(BpfAsm.disassemble(src.parse()));
                return 0;
            });
        }
    }

    @Command(name = "check", description = "Validate a program: prints ok or the reason, status 0 or 1.")
    static final class Check implements Callable<Integer> {
        @Mixin
        Source src;

        @Override
        public Integer call() {
            return guarded(() -> {
                List<BpfInsn> insns = src.parse();
                try {
                    BpfProgram p = BpfValidator.validate(insns);
                    System.out.println("ok: " + p.length() + " instruction" + (p.length() == 1 ? "" : "s"));
                    return 0;
                } catch (BpfValidationException e) {
                    System.out.println("invalid: " + e.getMessage());
                    return 1;
                }
            });
        }
    }

    @Command(name = "run", description = "Run a program over a capture file or hex packets, printing each return value.")
    static final class Run implements Callable<Integer> {
        @Mixin
        Source src;

        @Option(names = "-r", paramLabel = "FILE", description = "Read packets from a pcap or pcapng file.")
        Path readFile;

        @Option(names = "--hex", paramLabel = "BYTES", description = "A packet as hex digits (spaces and colons allowed); repeatable.")
        List<String> hex = new ArrayList<>();

        @Option(names = "--jit", description = "Run as generated bytecode (default).")
        boolean jit;

        @Option(names = "--interp", description = "Run in the interpreter.")
        boolean interp;

        private long packets;
        private long accepted;

        @Override
        public Integer call() {
            return guarded(() -> {
                if (jit && interp) {
                    throw new TcpdumpCommand.Failure("--jit and --interp are exclusive");
                }
                if ((readFile == null) == hex.isEmpty()) {
                    throw new TcpdumpCommand.Failure("give either -r FILE or --hex BYTES");
                }
                BpfProgram p = src.program();
                BpfFilter f = interp ? new BpfInterpreter(p) : BpfJit.compile(p);
                PrintStream out = System.out;
                try {
                    if (readFile != null) {
                        runCapture(f, out);
                    } else {
                        for (String h : hex) {
                            byte[] pkt = parseHex(h);
                            report(out, f.filter(pkt, pkt.length, pkt.length), pkt.length);
                        }
                    }
                } finally {
                    out.println(accepted + " of " + packets + " packets accepted");
                }
                return 0;
            });
        }

        private void runCapture(BpfFilter f, PrintStream out) throws TcpdumpCommand.Failure {
            try (PcapReader r = PcapFiles.open(readFile)) {
                for (PcapRecord rec; (rec = r.next()) != null; ) {
                    int wirelen = (int) Math.min(rec.originalLength(), 0xffff_ffffL);
                    report(out, f.filter(rec.data(), wirelen, rec.data().length), rec.data().length);
                }
            } catch (IOException e) {
                throw new TcpdumpCommand.Failure(readFile + ": " + TcpdumpCommand.reason(e));
            }
        }

        private void report(PrintStream out, int ret, int caplen) {
            packets++;
            if (ret != 0) {
                accepted++;
            }
            out.println("packet " + packets + ": caplen " + caplen + ", ret " + Integer.toUnsignedString(ret)
                    + (ret == 0 ? " (drop)" : " (accept)"));
        }

        private static byte[] parseHex(String h) throws TcpdumpCommand.Failure {
            String digits = h.replaceAll("[\\s:]", "");
            if (digits.startsWith("0x") || digits.startsWith("0X")) {
                digits = digits.substring(2);
            }
            try {
                return HexFormat.of().parseHex(digits);
            } catch (IllegalArgumentException e) {
                throw new TcpdumpCommand.Failure("--hex " + h + ": not an even number of hex digits");
            }
        }
    }
}
