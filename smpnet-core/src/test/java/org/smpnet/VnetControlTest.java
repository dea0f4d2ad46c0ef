package org.smpnet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.smpnet.ControlProtocol.Frame;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.Epair;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.MacAddr;
import org.smpnet.net.NetTestSupport;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfHeader;
import org.smpnet.net.bpf.BpfInsn;
import org.smpnet.net.bpf.FilterCompiler;

class VnetControlTest {
    @TempDir
    Path dir;

    private final Vnet alpha = new Vnet("alpha", 1);
    private final Vnet beta = new Vnet("beta", 1);
    private final Epair epair = alpha.epair(beta);
    private final List<AutoCloseable> closeMe = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeMe.reversed()) {
            c.close();
        }
        alpha.close();
        beta.close();
    }

    private VnetControl export(String name) throws IOException {
        VnetControl c = VnetControl.export(dir, name, List.of(alpha, beta));
        closeMe.add(c);
        return c;
    }

    /** A raw protocol client. */
    private final class Conn implements AutoCloseable {
        final SocketChannel ch;
        final InputStream in;
        final OutputStream out;

        Conn(VnetControl c) throws IOException {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(c.path()));
            in = new BufferedInputStream(Channels.newInputStream(ch));
            out = Channels.newOutputStream(ch);
            closeMe.add(this);
        }

        void send(int type, byte[] body) throws IOException {
            ControlProtocol.write(out, type, body);
        }

        Frame next() throws IOException {
            return ControlProtocol.read(in, ControlProtocol.MAX_REPLY);
        }

        ControlProtocol.ErrorReply expectError() throws IOException {
            Frame f = next();
            assertThat(f).isNotNull();
            assertThat(f.type()).isEqualTo(ControlProtocol.ERROR);
            return ControlProtocol.ErrorReply.decode(f.body());
        }

        ControlProtocol.ListReply list() throws IOException {
            send(ControlProtocol.LIST, new byte[0]);
            Frame f = next();
            assertThat(f.type()).isEqualTo(ControlProtocol.LIST_REPLY);
            return ControlProtocol.ListReply.decode(f.body());
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    private static ControlProtocol.CaptureRequest capture(String vnet, String ifname, long count, int bufsize, List<BpfInsn> prog) {
        return new ControlProtocol.CaptureRequest(vnet, ifname, 0, BpfDescriptor.DirectionFilter.INOUT, false, count, true,
                bufsize, prog);
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out waiting for " + what).isLessThan(deadline);
            Thread.sleep(2);
        }
    }

    private void sendFromA(int type, int n) {
        MacAddr dst = MacAddr.read(epair.b().lladdr(), 0);
        MacAddr src = MacAddr.read(epair.a().lladdr(), 0);
        for (int i = 0; i < n; i++) {
            epair.a().transmit(NetTestSupport.mbuf(NetTestSupport.frame(dst, src, type, NetTestSupport.seqPayload(type, i, 46))));
        }
    }

    /** Reads a capture to its end; returns the records' frame types and the end message. */
    private record Captured(List<Integer> types, ControlProtocol.CaptureEnd end) {}

    private static Captured readCapture(Conn c) throws IOException {
        List<Integer> types = new ArrayList<>();
        while (true) {
            Frame f = c.next();
            assertThat(f).as("capture ended without CAPTURE_END").isNotNull();
            if (f.type() == ControlProtocol.CAPTURE_END) {
                return new Captured(types, ControlProtocol.CaptureEnd.decode(f.body()));
            }
            assertThat(f.type()).isEqualTo(ControlProtocol.CAPTURE_DATA);
            byte[] b = f.body();
            for (int off = 0; off < b.length; ) {
                BpfHeader h = BpfHeader.read(b, off, b.length);
                types.add(((b[off + h.hdrlen() + 12] & 0xff) << 8) | (b[off + h.hdrlen() + 13] & 0xff));
                off += BpfHeader.recordSize(h.caplen());
            }
        }
    }

    @Test
    @DisplayName("R-BPF-1: the endpoint lists its vnets and interfaces with link types; socket in a 0700 directory, removed on close")
    void listAndLifecycle() throws Exception {
        Path sub = dir.resolve("ctl");
        VnetControl c = VnetControl.export(sub, "lab", List.of(alpha, beta));
        assertThat(c.path()).isEqualTo(sub.resolve("lab.ctl"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sub))).isEqualTo("rwx------");
        try (Conn conn = new Conn(c)) {
            ControlProtocol.ListReply r = conn.list();
            assertThat(r.endpoint()).isEqualTo("lab");
            assertThat(r.vnets()).extracting(ControlProtocol.VnetInfo::name).containsExactly("alpha", "beta");
            ControlProtocol.VnetInfo a = r.vnets().getFirst();
            assertThat(a.ifnets()).extracting(ControlProtocol.IfInfo::name).containsExactly("lo0", epair.a().name());
            assertThat(a.ifnets()).extracting(ControlProtocol.IfInfo::dlt).containsExactly(FilterCompiler.DLT_NULL,
                    FilterCompiler.DLT_EN10MB);
        }
        c.close();
        assertThat(Files.exists(c.path(), LinkOption.NOFOLLOW_LINKS)).isFalse();
        c.close(); // idempotent
    }

    @Test
    @DisplayName("R-BPF-1: a capture request streams exactly the filtered packets, stops at its count, and reports statistics")
    void captureFilteredCount() throws Exception {
        VnetControl c = export("cap");
        Conn conn = new Conn(c);
        List<BpfInsn> prog = FilterCompiler.compile("ether proto 0x88b5").insns();
        conn.send(ControlProtocol.CAPTURE, capture("", epair.a().name(), 5, 0, prog).encode());
        Frame started = conn.next();
        assertThat(started.type()).isEqualTo(ControlProtocol.CAPTURE_STARTED);
        ControlProtocol.CaptureStarted s = ControlProtocol.CaptureStarted.decode(started.body());
        assertThat(s.vnet()).isEqualTo("alpha");
        assertThat(s.dlt()).isEqualTo(FilterCompiler.DLT_EN10MB);
        for (int i = 0; i < 4; i++) {
            sendFromA(EtherRepr.ETHERTYPE_IP, 2);       // filtered out
            sendFromA(NetTestSupport.ETHERTYPE_TEST, 2); // selected
        }
        Captured got = readCapture(conn);
        assertThat(got.types()).hasSize(5).containsOnly(NetTestSupport.ETHERTYPE_TEST);
        assertThat(got.end().reason()).isEqualTo("count reached");
        assertThat(got.end().sent()).isEqualTo(5);
        assertThat(got.end().received()).isGreaterThanOrEqualTo(9); // 5 selected and at least the 4 IP frames before the 5th
        assertThat(got.end().dropped()).isZero();
        // the connection serves further requests after a capture
        assertThat(conn.list().vnets()).hasSize(2);
    }

    @Test
    @DisplayName("R-BPF-2: the interface detaching mid-capture ends the stream with CAPTURE_END and the statistics")
    void detachEndsCapture() throws Exception {
        VnetControl c = export("det");
        Conn conn = new Conn(c);
        conn.send(ControlProtocol.CAPTURE, capture("beta", epair.b().name(), 0, 0, List.of()).encode());
        assertThat(conn.next().type()).isEqualTo(ControlProtocol.CAPTURE_STARTED);
        sendFromA(NetTestSupport.ETHERTYPE_TEST, 7);
        epair.quiesce();
        epair.destroy();
        Captured got = readCapture(conn);
        assertThat(got.end().reason()).isEqualTo("interface " + epair.b().name() + " detached");
        assertThat(got.types()).hasSize(7);
        assertThat(got.end().received()).isEqualTo(7);
        assertThat(got.end().sent()).isEqualTo(7);
    }

    @Test
    @DisplayName("R-BPF-1: STOP ends a capture with what was buffered and the statistics; leaving mid-capture frees the session")
    void stopAndLeave() throws Exception {
        VnetControl c = export("stop");
        Conn conn = new Conn(c);
        conn.send(ControlProtocol.CAPTURE, capture("alpha", epair.a().name(), 0, 0, List.of()).encode());
        assertThat(conn.next().type()).isEqualTo(ControlProtocol.CAPTURE_STARTED);
        sendFromA(NetTestSupport.ETHERTYPE_TEST, 3);
        conn.send(ControlProtocol.STOP, new byte[0]);
        Captured got = readCapture(conn);
        assertThat(got.end().reason()).isEqualTo("stopped by the client");
        assertThat(got.types()).hasSize(3);

        Conn leaver = new Conn(c);
        leaver.send(ControlProtocol.CAPTURE, capture("alpha", epair.a().name(), 0, 0, List.of()).encode());
        assertThat(leaver.next().type()).isEqualTo(ControlProtocol.CAPTURE_STARTED);
        leaver.close();
        await("the leaver's session ends", () -> c.sessions() == 1);
        sendFromA(NetTestSupport.ETHERTYPE_TEST, 1); // no descriptor left to see it; nothing breaks
    }

    @Test
    @DisplayName("R-BPF-1: bad requests get an errno reply (ENXIO, ENOENT, EINVAL, EOPNOTSUPP, EPROTONOSUPPORT) and the connection goes on")
    void badRequests() throws Exception {
        VnetControl c = export("bad");
        Conn conn = new Conn(c);
        conn.send(ControlProtocol.CAPTURE, capture("alpha", "nope0", 0, 0, List.of()).encode());
        ControlProtocol.ErrorReply e = conn.expectError();
        assertThat(e.errno()).isEqualTo("ENXIO");
        assertThat(e.message()).contains("no interface nope0 in vnet alpha");

        conn.send(ControlProtocol.CAPTURE, capture("gamma", "lo0", 0, 0, List.of()).encode());
        assertThat(conn.expectError().errno()).isEqualTo("ENOENT");

        conn.send(ControlProtocol.CAPTURE, capture("", "lo0", 0, 0, List.of()).encode());
        assertThat(conn.expectError().message()).contains("exists in vnets alpha, beta");

        List<BpfInsn> bad = List.of(new BpfInsn(0xff, 0, 0, 0));
        conn.send(ControlProtocol.CAPTURE, capture("alpha", epair.a().name(), 0, 0, bad).encode());
        e = conn.expectError();
        assertThat(e.errno()).isEqualTo("EINVAL");
        assertThat(e.message()).startsWith("bad filter program: insn 0");

        List<BpfInsn> noRet = List.of(new BpfInsn(BpfInsn.LD | BpfInsn.W | BpfInsn.ABS, 0, 0, 0));
        conn.send(ControlProtocol.CAPTURE, capture("alpha", epair.a().name(), 0, 0, noRet).encode());
        assertThat(conn.expectError().errno()).isEqualTo("EINVAL");

        byte[] req = capture("alpha", epair.a().name(), 0, 0, List.of()).encode();
        conn.send(ControlProtocol.CAPTURE, java.util.Arrays.copyOf(req, req.length - 3));
        assertThat(conn.expectError().message()).contains("malformed capture request: truncated");
        conn.send(ControlProtocol.CAPTURE, java.util.Arrays.copyOf(req, req.length + 1));
        assertThat(conn.expectError().message()).contains("1 bytes left over");
        conn.send(42, new byte[3]);
        assertThat(conn.expectError().errno()).isEqualTo("EOPNOTSUPP");
        conn.out.write(new byte[] {0, 0, 0, 2, 9, ControlProtocol.LIST});
        assertThat(conn.expectError().errno()).isEqualTo("EPROTONOSUPPORT");
        conn.send(ControlProtocol.LIST, new byte[1]);
        assertThat(conn.expectError().errno()).isEqualTo("EINVAL");

        assertThat(conn.list().vnets()).hasSize(2); // still serving

        Conn huge = new Conn(c);
        huge.out.write(new byte[] {0x7f, 0, 0, 0, 1, ControlProtocol.LIST});
        assertThat(huge.expectError().errno()).isEqualTo("EMSGSIZE");
        assertThat(huge.next()).as("an unreadable frame ends that connection").isNull();
        assertThat(new Conn(c).list().vnets()).hasSize(2);
    }

    @Test
    @DisplayName("R-BPF-2: a client that never reads cannot block the packet path: the descriptor drops and counts")
    void stalledClientDropsCounted() throws Exception {
        VnetControl c = export("stall");
        Conn conn = new Conn(c);
        conn.send(ControlProtocol.CAPTURE, capture("alpha", epair.a().name(), 0, BpfDescriptor.MIN_BUFSIZE * 64, List.of()).encode());
        assertThat(conn.next().type()).isEqualTo(ControlProtocol.CAPTURE_STARTED);
        int n = 20_000; // ~1.3 MB of records: more than the socket buffers and the 2 KiB BPF buffers hold
        sendFromA(NetTestSupport.ETHERTYPE_TEST, n); // returns: transmit never waits for the reader
        conn.send(ControlProtocol.STOP, new byte[0]);
        Captured got = readCapture(conn);
        assertThat(got.end().received()).isEqualTo(n);
        assertThat(got.end().dropped()).isPositive();
        assertThat(got.types().size() + got.end().dropped()).isEqualTo(n);
    }

    @Test
    @DisplayName("R-BPF-1: a stale socket file from a dead process is replaced; a live endpoint of the same name is EADDRINUSE")
    void staleSocket() throws Exception {
        Path stale = dir.resolve("old.ctl");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale)); // closing leaves the file behind, as a crash would
        }
        assertThat(Files.exists(stale, LinkOption.NOFOLLOW_LINKS)).isTrue();
        VnetControl c = export("old");
        assertThat(new Conn(c).list().endpoint()).isEqualTo("old");
        assertThatThrownBy(() -> VnetControl.export(dir, "old", List.of(alpha)))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE))
                .hasMessageContaining("served by another live process");
        assertThat(new Conn(c).list().endpoint()).as("the live endpoint is untouched").isEqualTo("old");
        Files.writeString(dir.resolve("file.ctl"), "not a socket");
        assertThatThrownBy(() -> VnetControl.export(dir, "file", List.of(alpha)))
                .hasMessageContaining("is not a socket");
        assertThatThrownBy(() -> VnetControl.export(dir, "../x", List.of(alpha))).hasMessageContaining("endpoint name");
    }

    @Test
    @DisplayName("R-BPF-1: at most MAX_SESSIONS connections; more are refused with EMFILE; closing the endpoint ends them all")
    void sessionLimitAndClose() throws Exception {
        VnetControl c = export("many");
        List<Conn> conns = new ArrayList<>();
        for (int i = 0; i < VnetControl.MAX_SESSIONS; i++) {
            Conn k = new Conn(c);
            k.list();
            conns.add(k);
        }
        Conn extra = new Conn(c);
        assertThat(extra.expectError().errno()).isEqualTo("EMFILE");
        Conn capturing = conns.getFirst();
        capturing.send(ControlProtocol.CAPTURE, capture("alpha", epair.a().name(), 0, 0, List.of()).encode());
        assertThat(capturing.next().type()).isEqualTo(ControlProtocol.CAPTURE_STARTED);
        c.close();
        assertThat(c.sessions()).isZero();
        for (Conn k : conns) {
            Frame f;
            do {
                f = k.next(); // the capturing session may still get its CAPTURE_END out before the socket closes
            } while (f != null && (f.type() == ControlProtocol.CAPTURE_DATA || f.type() == ControlProtocol.CAPTURE_END));
            assertThat(f).isNull();
        }
    }

    @Test
    @DisplayName("sysctl over the endpoint: a vnet's tree, then the JVM-wide one; errors keep their errno")
    void sysctl() throws Exception {
        VnetControl c = export("sys");
        Conn conn = new Conn(c);
        conn.send(ControlProtocol.SYSCTL_SET, new ControlProtocol.SysctlRequest("beta", "net.isr.dispatch", "deferred").encode());
        Frame f = conn.next();
        assertThat(f.type()).isEqualTo(ControlProtocol.SYSCTL_REPLY);
        ControlProtocol.SysctlEntry e = ControlProtocol.SysctlReply.decode(f.body()).entries().getFirst();
        assertThat(e.old()).isEqualTo("default");
        assertThat(e.value()).isEqualTo("deferred");
        assertThat(beta.sysctl().get("net.isr.dispatch")).isEqualTo("deferred");
        assertThat(alpha.sysctl().get("net.isr.dispatch")).isEqualTo("default");

        conn.send(ControlProtocol.SYSCTL_GET, new ControlProtocol.SysctlRequest("alpha", "kern.ostype", null).encode());
        assertThat(ControlProtocol.SysctlReply.decode(conn.next().body()).entries().getFirst().value()).isEqualTo("smpnet");
        conn.send(ControlProtocol.SYSCTL_GET, new ControlProtocol.SysctlRequest("alpha", "net.isr", null).encode());
        assertThat(ControlProtocol.SysctlReply.decode(conn.next().body()).entries())
                .extracting(ControlProtocol.SysctlEntry::name).contains("net.isr.dispatch", "net.isr.numthreads");

        conn.send(ControlProtocol.SYSCTL_SET, new ControlProtocol.SysctlRequest("beta", "net.isr.dispatch", "fast").encode());
        ControlProtocol.ErrorReply invalid = conn.expectError();
        assertThat(invalid.errno()).isEqualTo("EINVAL");
        assertThat(invalid.message()).contains("fast").doesNotContain("(EINVAL)"); // the client puts the errno in front
        conn.send(ControlProtocol.SYSCTL_GET, new ControlProtocol.SysctlRequest("beta", "net.nothing", null).encode());
        assertThat(conn.expectError().errno()).isEqualTo("ENOENT");
        conn.send(ControlProtocol.SYSCTL_SET, new ControlProtocol.SysctlRequest("beta", "kern.ostype", "x").encode());
        assertThat(conn.expectError().errno()).isEqualTo("EPERM");
    }
}
