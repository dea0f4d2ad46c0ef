package org.smpnet.cli;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.smpnet.ControlProtocol;
import org.smpnet.ControlProtocol.Frame;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sx;

/**
 * The {@code smpnet} command's side of a {@link org.smpnet.VnetControl} endpoint: finds endpoints in the
 * control directory, lists their stacks and interfaces, reads and writes sysctls, and runs captures.
 * One connection, used by one thread, except {@link #stop}, which another thread (a Ctrl-C hook) may call
 * while the owner reads a capture.
 */
final class ControlClient implements AutoCloseable {
    private final Path path;
    private final SocketChannel ch;
    private final InputStream in;
    private final OutputStream out;
    private final Sx writeLock = new Sx("ctlclient_wr", "ctlclient");

    private ControlClient(Path path, SocketChannel ch) {
        this.path = path;
        this.ch = ch;
        this.in = new BufferedInputStream(Channels.newInputStream(ch), 64 * 1024);
        this.out = new BufferedOutputStream(Channels.newOutputStream(ch));
    }

    static ControlClient connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new ControlClient(socket, ch);
    }

    Path path() {
        return path;
    }

    /** The endpoint sockets in {@code dir}, by name; none if the directory does not exist. */
    static List<Path> endpoints(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + ControlProtocol.SUFFIX)) {
            ds.forEach(out::add);
        } catch (NoSuchFileException e) {
            return List.of();
        }
        out.sort(null);
        return out;
    }

    /** An interface found at an endpoint. */
    record Located(Path endpoint, String endpointName, String vnet, ControlProtocol.IfInfo ifinfo) {}

    /**
     * Every interface of every live endpoint in {@code dir}. Endpoints nobody listens on (left by a dead
     * process) are skipped.
     */
    static List<Located> interfaces(Path dir) throws IOException {
        List<Located> all = new ArrayList<>();
        for (Path ep : endpoints(dir)) {
            ControlProtocol.ListReply r;
            try (ControlClient c = connect(ep)) {
                r = c.list();
            } catch (ErrnoException e) {
                throw e;
            } catch (IOException deadOrGone) {
                continue;
            }
            for (ControlProtocol.VnetInfo v : r.vnets()) {
                for (ControlProtocol.IfInfo i : v.ifnets()) {
                    all.add(new Located(ep, r.endpoint(), v.name(), i));
                }
            }
        }
        return all;
    }

    ControlProtocol.ListReply list() throws IOException {
        send(ControlProtocol.LIST, new byte[0]);
        return ControlProtocol.ListReply.decode(expect(ControlProtocol.LIST_REPLY).body());
    }

    /** sysctl get ({@code value} null) or set. */
    ControlProtocol.SysctlReply sysctl(String vnet, String name, String value) throws IOException {
        send(value == null ? ControlProtocol.SYSCTL_GET : ControlProtocol.SYSCTL_SET,
                new ControlProtocol.SysctlRequest(vnet, name, value).encode());
        return ControlProtocol.SysctlReply.decode(expect(ControlProtocol.SYSCTL_REPLY).body());
    }

    /** Starts a capture; then read its frames with {@link #next} until {@link ControlProtocol#CAPTURE_END}. */
    ControlProtocol.CaptureStarted capture(ControlProtocol.CaptureRequest r) throws IOException {
        send(ControlProtocol.CAPTURE, r.encode());
        return ControlProtocol.CaptureStarted.decode(expect(ControlProtocol.CAPTURE_STARTED).body());
    }

    /**
     * Runs a tool in a vnet of the endpoint, handing each line it prints to {@code out} as it comes.
     *
     * @return the tool's exit status
     * @throws ErrnoException the tool's failure (after the lines printed before it)
     */
    int tool(ControlProtocol.ToolRequest r, java.util.function.Consumer<String> out) throws IOException {
        send(ControlProtocol.TOOL, r.encode());
        while (true) {
            Frame f = next();
            switch (f.type()) {
                case ControlProtocol.TOOL_OUTPUT -> new String(f.body(), java.nio.charset.StandardCharsets.UTF_8).lines().forEach(out);
                case ControlProtocol.TOOL_END -> {
                    if (f.body().length != 4) {
                        throw new ErrnoException(Errno.EPROTO, "tool end of " + f.body().length + " bytes");
                    }
                    return java.nio.ByteBuffer.wrap(f.body()).getInt();
                }
                default -> throw new ErrnoException(Errno.EPROTO, "unexpected reply type " + f.type() + " to a tool request");
            }
        }
    }

    /** Asks the server to end the running capture; it answers with CAPTURE_END. Any thread. */
    void stop() throws IOException {
        send(ControlProtocol.STOP, new byte[0]);
    }

    /**
     * The next frame; an {@link ControlProtocol#ERROR} is thrown as the server's errno.
     *
     * @throws ErrnoException EPIPE at end-of-stream
     */
    Frame next() throws IOException {
        Frame f = ControlProtocol.read(in, ControlProtocol.MAX_REPLY);
        if (f == null) {
            throw new ErrnoException(Errno.EPIPE, "the vnet closed the control connection");
        }
        if (f.version() != ControlProtocol.VERSION) {
            throw new ErrnoException(Errno.EPROTONOSUPPORT, "endpoint speaks protocol version " + f.version());
        }
        if (f.type() == ControlProtocol.ERROR) {
            throw ControlProtocol.ErrorReply.decode(f.body()).exception();
        }
        return f;
    }

    private Frame expect(int type) throws IOException {
        Frame f = next();
        if (f.type() != type) {
            throw new ErrnoException(Errno.EPROTO, "expected reply type " + type + ", got " + f.type());
        }
        return f;
    }

    void send(int type, byte[] body) throws IOException {
        writeLock.writeLock().lock(); // the main thread and a Ctrl-C hook may both send
        try {
            ControlProtocol.write(out, type, body);
        } finally {
            writeLock.writeLock().unlock();
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
