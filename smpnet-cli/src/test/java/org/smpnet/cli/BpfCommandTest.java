package org.smpnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.net.bpf.BpfAsm;
import org.smpnet.net.bpf.FilterCompiler;
import org.smpnet.net.bpf.PcapClassicWriter;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapRecord;

class BpfCommandTest {
    @TempDir
    Path tmp;

    private Path write(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    @DisplayName("R-BPF-1: bpf asm turns -d text into -ddd numbers (-c: -dd), bpf dis turns them back")
    void asmDisRoundTrip() throws IOException {
        for (String expr : List.of("tcp port 80", "udp and dst port 53", "ip and (tcp[tcpflags] & tcp-syn != 0)",
                "vlan 5 and ip6")) {
            String listing = FilterCompiler.compile(expr).listing();
            Path text = write("prog.txt", listing);
            CliTest.Result asm = CliTest.run("bpf", "asm", text.toString());
            assertThat(asm.status()).as(asm.err()).isZero();
            assertThat(asm.out()).isEqualTo(BpfAsm.format(FilterCompiler.compile(expr).insns(), BpfAsm.Format.DECIMAL));
            CliTest.Result c = CliTest.run("bpf", "asm", "-c", text.toString());
            assertThat(c.out()).startsWith("{ 0x28, 0, 0, 0x0000000c },\n");
            Path numbers = write("prog.ddd", asm.out());
            CliTest.Result dis = CliTest.run("bpf", "dis", numbers.toString());
            assertThat(dis.status()).isZero();
            assertThat(dis.out()).as(expr).isEqualTo(listing);
            assertThat(CliTest.run("bpf", "dis", write("prog.dd", c.out()).toString()).out()).isEqualTo(listing);
        }
        // The one-line xt_bpf form, inline.
        CliTest.Result inline = CliTest.run("bpf", "dis", "-e", "4,40 0 0 12,21 0 1 2048,6 0 0 65535,6 0 0 0");
        assertThat(inline.out()).isEqualTo("""
                (000) ldh      [12]
                (001) jeq      #0x800           jt 2\tjf 3
                (002) ret      #65535
                (003) ret      #0
                """);
    }

    private Path capture() throws IOException {
        Path f = tmp.resolve("in.pcap");
        try (PcapClassicWriter w = PcapFiles.newPcapWriter(f, 1, 65535, false)) {
            for (String[] s : TcpdumpCommandTest.SAMPLES) {
                w.write(PcapRecord.of(0, 1, TcpdumpCommandTest.hex(s[0])));
            }
        }
        return f;
    }

    @Test
    @DisplayName("R-BPF-1: bpf run prints each packet's return value; --jit and --interp agree")
    void runJitAndInterpreterAgree() throws IOException {
        Path prog = write("tcp.txt", FilterCompiler.compile("tcp or arp").listing());
        Path cap = capture();
        CliTest.Result jit = CliTest.run("bpf", "run", "--jit", "-r", cap.toString(), prog.toString());
        CliTest.Result interp = CliTest.run("bpf", "run", "--interp", "-r", cap.toString(), prog.toString());
        assertThat(jit.status()).as(jit.err()).isZero();
        assertThat(jit.out()).isEqualTo(interp.out());
        List<String> lines = jit.out().lines().toList();
        assertThat(lines).hasSize(TcpdumpCommandTest.SAMPLES.size() + 1);
        assertThat(lines.getFirst()).isEqualTo("packet 1: caplen 54, ret 262144 (accept)");
        assertThat(lines.get(3)).endsWith("ret 0 (drop)"); // VLAN-tagged: "tcp" does not look inside the tag
        assertThat(lines.getLast()).isEqualTo("6 of 11 packets accepted");
    }

    @Test
    @DisplayName("R-BPF-1: bpf run on hex packets, with a numbered program given inline")
    void runHex() {
        String arpOnly = "4,40 0 0 12,21 0 1 2054,6 0 0 4294967295,6 0 0 0";
        CliTest.Result r = CliTest.run("bpf", "run", "--interp", "-e", arpOnly,
                "--hex", TcpdumpCommandTest.SAMPLES.get(4)[0], "--hex", "00 11 22");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("""
                packet 1: caplen 42, ret 4294967295 (accept)
                packet 2: caplen 3, ret 0 (drop)
                1 of 2 packets accepted
                """);
    }

    @Test
    @DisplayName("R-BPF-1: bpf check gives the validator's verdict and reason, status 0 or 1")
    void check() throws IOException {
        CliTest.Result ok = CliTest.run("bpf", "check", write("ok.txt", FilterCompiler.compile("ip").listing()).toString());
        assertThat(ok.status()).isZero();
        assertThat(ok.out()).isEqualTo("ok: 4 instructions\n");

        CliTest.Result noRet = CliTest.run("bpf", "check", "-e", "ldh [12]");
        assertThat(noRet.status()).isEqualTo(1);
        assertThat(noRet.out()).startsWith("invalid: insn 0: ");

        CliTest.Result jump = CliTest.run("bpf", "check", "-e", "2\n21 5 0 2048\n6 0 0 0");
        assertThat(jump.status()).isEqualTo(1);
        assertThat(jump.out()).startsWith("invalid: insn 0: ");

        CliTest.Result mem = CliTest.run("bpf", "check", "-e", "2\n96 0 0 16\n6 0 0 0");
        assertThat(mem.out()).startsWith("invalid: insn 0: scratch memory index");
    }

    @Test
    @DisplayName("R-BPF-1: bad program text, bad programs and bad captures give status 1 and one line")
    void errors() throws IOException {
        CliTest.Result text = CliTest.run("bpf", "asm", write("bad.txt", "ldh [12]\nfrob #3\nret #0\n").toString());
        assertThat(text.status()).isEqualTo(1);
        assertThat(text.err()).startsWith("smpnet bpf: ").contains("line 2").doesNotContain("\tat ");
        assertThat(text.err().lines()).hasSize(1);

        CliTest.Result invalid = CliTest.run("bpf", "asm", "-e", "ldh [12]");
        assertThat(invalid.status()).isEqualTo(1);
        assertThat(invalid.err()).startsWith("smpnet bpf: -e: invalid program: insn 0: ");

        CliTest.Result missing = CliTest.run("bpf", "dis", tmp.resolve("none").toString());
        assertThat(missing.err()).isEqualTo("smpnet bpf: " + tmp.resolve("none") + ": No such file or directory\n");

        Path junk = write("junk.pcap", "not a capture at all");
        CliTest.Result cap = CliTest.run("bpf", "run", "-r", junk.toString(), "-e", "ret #1");
        assertThat(cap.status()).isEqualTo(1);
        assertThat(cap.err()).startsWith("smpnet bpf: " + junk + ": ").doesNotContain("\tat ");

        assertThat(CliTest.run("bpf", "run", "-e", "ret #1").err()).contains("give either -r FILE or --hex BYTES");
        assertThat(CliTest.run("bpf", "run", "--hex", "abc", "-e", "ret #1").err()).contains("hex digits");
        assertThat(CliTest.run("bpf", "check").err()).contains("either a file");
    }
}
