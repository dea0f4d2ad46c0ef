package org.smpnet;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import org.smpnet.ControlProtocol.Frame;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Sysctl;
import org.smpnet.kern.SysctlException;
import org.smpnet.kern.Witness;
import org.smpnet.net.IfFlags;
import org.smpnet.net.Ifnet;

/**
 * One control connection: reads requests, answers each, and hands the connection to a
 * {@link ControlCapture} while a capture runs.
 *
 * <p>Threads: one thread runs {@link #run}. While a capture runs only its pump thread writes; this thread
 * only reads (a {@link ControlProtocol#STOP}, another request or end-of-stream stops the capture) and then
 * joins the pump before it writes again, so writes never interleave. No lock is held across I/O.
 */
final class ControlSession {
    private final VnetControl ctl;
    private final SocketChannel ch;
    private final Thread thread;
    private volatile ControlCapture capture;

    ControlSession(VnetControl ctl, SocketChannel ch) {
        this.ctl = ctl;
        this.ch = ch;
        this.thread = Thread.ofPlatform().daemon().name("vnetctl " + ctl.name() + " session").unstarted(this::run);
    }

    Thread thread() {
        return thread;
    }

    void start() {
        thread.start();
    }

    /** Answers a connection that is not admitted with one error, then closes it. */
    void refuse(Errno errno, String message) {
        try (ch) {
            ControlProtocol.write(Channels.newOutputStream(ch), ControlProtocol.ERROR,
                    new ControlProtocol.ErrorReply(errno.name(), message).encode());
        } catch (IOException gone) {
            // the client left first: nothing to tell it
        }
    }

    /** Ends the session from outside (the endpoint closes): stops a capture and closes the socket. */
    void shutdown() {
        ControlCapture c = capture;
        if (c != null) {
            c.abort();
        }
        closeChannel();
    }

    private void closeChannel() {
        try {
            ch.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    private void run() {
        try {
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
            Frame pending = null;
            while (true) {
                Frame f = pending != null ? pending : next(in, out);
                pending = null;
                if (f == null) {
                    return;
                }
                if (f.type() == ControlProtocol.CAPTURE && f.version() == ControlProtocol.VERSION) {
                    pending = captureAndWait(f, in, out);
                } else {
                    reply(f, out);
                }
            }
        } catch (IOException clientGone) {
            // the client closed or broke the connection: the session just ends
        } finally {
            ControlCapture c = capture;
            if (c != null) {
                c.stop();
                c.join();
            }
            closeChannel();
            ctl.ended(this);
        }
    }

    /** The next request; null at end-of-stream. A frame too long to skip ends the session after an error. */
    private Frame next(InputStream in, OutputStream out) throws IOException {
        Witness.checkSleep("vnetctl read", null);
        try {
            return ControlProtocol.read(in, ControlProtocol.MAX_REQUEST);
        } catch (ErrnoException e) {
            error(out, e.errno(), e.getMessage());
            return null;
        }
    }

    private void reply(Frame f, OutputStream out) throws IOException {
        if (f.version() != ControlProtocol.VERSION) {
            error(out, Errno.EPROTONOSUPPORT, "protocol version " + f.version() + " (this endpoint speaks " + ControlProtocol.VERSION + ")");
            return;
        }
        try {
            switch (f.type()) {
                case ControlProtocol.LIST -> {
                    if (f.body().length != 0) {
                        throw new ErrnoException(Errno.EINVAL, "malformed list request: it has no body");
                    }
                    ControlProtocol.write(out, ControlProtocol.LIST_REPLY, list().encode());
                }
                case ControlProtocol.SYSCTL_GET, ControlProtocol.SYSCTL_SET -> ControlProtocol.write(out,
                        ControlProtocol.SYSCTL_REPLY, sysctl(f).encode());
                case ControlProtocol.TOOL -> tool(ControlProtocol.ToolRequest.decode(f.body()), out);
                case ControlProtocol.STOP -> {
                    // a stop that crossed the end of its capture: nothing left to stop
                }
                default -> throw new ErrnoException(Errno.EOPNOTSUPP, "unknown request type " + f.type());
            }
        } catch (ErrnoException e) {
            error(out, e.errno(), detail(e));
        }
    }

    /**
     * Runs a capture until it ends by itself (count, interface gone) or the client stops it. Returns a
     * request that arrived during the capture and stopped it, to be answered next; null otherwise.
     */
    private Frame captureAndWait(Frame f, InputStream in, OutputStream out) throws IOException {
        ControlCapture c;
        try {
            c = ControlCapture.start(this, ControlProtocol.CaptureRequest.decode(f.body()), out);
        } catch (ErrnoException e) {
            error(out, e.errno(), detail(e));
            return null;
        }
        capture = c;
        Frame next = null;
        try {
            Witness.checkSleep("vnetctl read", null);
            next = ControlProtocol.read(in, ControlProtocol.MAX_REQUEST); // until the client speaks or leaves
        } catch (ErrnoException garbage) {
            // the pump owns the output now, so no error reply: a broken stream just ends the session
        } finally {
            c.stop();
            c.join();
            capture = null;
        }
        if (next == null) {
            throw new IOException("client left");
        }
        return next.type() == ControlProtocol.STOP ? null : next;
    }

    /** Runs a tool and streams its lines; its errno failure becomes an ERROR after the lines it printed. */
    private void tool(ControlProtocol.ToolRequest r, OutputStream out) throws IOException {
        VnetControl.Tools t = ctl.tools();
        if (t == null) {
            throw new ErrnoException(Errno.EOPNOTSUPP, "endpoint " + ctl.name() + " runs no tools");
        }
        Vnet v = vnet(r.vnet());
        if (v == null) {
            throw new ErrnoException(Errno.EINVAL, "endpoint " + ctl.name() + " serves vnets "
                    + String.join(", ", ctl.vnets().stream().map(Vnet::name).toList()) + ": name one with --vnet");
        }
        int status;
        try {
            status = t.run(v, r.argv(), new VnetControl.ToolOutput() {
                @Override
                public void accept(String line) {
                    send((line + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }

                @Override
                public void keepalive() {
                    send(new byte[0]);
                }

                private void send(byte[] body) {
                    try {
                        ControlProtocol.write(out, ControlProtocol.TOOL_OUTPUT, body);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        } catch (IllegalArgumentException e) {
            throw new ErrnoException(Errno.EINVAL, e.getMessage());
        }
        ControlProtocol.write(out, ControlProtocol.TOOL_END, new byte[] {(byte) (status >>> 24), (byte) (status >>> 16),
                (byte) (status >>> 8), (byte) status});
    }

    /** The stack instance named {@code name}; "" names the only one. */
    Vnet vnet(String name) throws ErrnoException {
        List<Vnet> vs = ctl.vnets();
        if (name.isEmpty()) {
            if (vs.size() == 1) {
                return vs.getFirst();
            }
            return null;
        }
        for (Vnet v : vs) {
            if (v.name().equals(name)) {
                return v;
            }
        }
        throw new ErrnoException(Errno.ENOENT, "no vnet " + name + " at endpoint " + ctl.name());
    }

    /** Finds an interface; with no vnet named, the only stack that has one of that name. */
    Found find(String vnetName, String ifname) throws ErrnoException {
        Vnet only = vnet(vnetName);
        List<Found> hits = new ArrayList<>();
        for (Vnet v : only != null ? List.of(only) : ctl.vnets()) {
            for (Ifnet ifp : v.ifnets().snapshot()) {
                if (ifp.name().equals(ifname)) {
                    hits.add(new Found(v, ifp));
                }
            }
        }
        if (hits.isEmpty()) {
            throw new ErrnoException(Errno.ENXIO, "no interface " + ifname
                    + (only != null ? " in vnet " + only.name() : " in any vnet at endpoint " + ctl.name()));
        }
        if (hits.size() > 1) {
            throw new ErrnoException(Errno.EINVAL, "interface " + ifname + " exists in vnets "
                    + String.join(", ", hits.stream().map(h -> h.vnet.name()).toList()) + ": name the vnet");
        }
        return hits.getFirst();
    }

    record Found(Vnet vnet, Ifnet ifp) {}

    private ControlProtocol.ListReply list() {
        List<ControlProtocol.VnetInfo> vs = new ArrayList<>();
        for (Vnet v : ctl.vnets()) {
            List<ControlProtocol.IfInfo> is = new ArrayList<>();
            for (Ifnet ifp : v.ifnets().snapshot()) {
                is.add(new ControlProtocol.IfInfo(ifp.name(), ifp.index(), VnetControl.typeName(ifp.type()),
                        VnetControl.dlt(ifp), ifp.flags(), IfFlags.describe(ifp.flags()), ifp.mtu()));
            }
            vs.add(new ControlProtocol.VnetInfo(v.name(), is));
        }
        return new ControlProtocol.ListReply(ctl.name(), vs);
    }

    /**
     * sysctl get/set: a vnet's own tree first, then the JVM-wide one ({@code kern.*}, {@code debug.*},
     * {@code net.mpsafenet}). With several vnets and none named, only the JVM-wide tree.
     */
    private ControlProtocol.SysctlReply sysctl(Frame f) throws ErrnoException {
        boolean set = f.type() == ControlProtocol.SYSCTL_SET;
        ControlProtocol.SysctlRequest r = ControlProtocol.SysctlRequest.decode(f.body(), set);
        Vnet v = vnet(r.vnet());
        List<Sysctl> trees = v != null ? List.of(v.sysctl(), Sysctl.kernel()) : List.of(Sysctl.kernel());
        try {
            if (set) {
                Sysctl tree = treeWith(trees, r.name());
                String old = tree.get(r.name());
                tree.set(r.name(), r.value());
                return new ControlProtocol.SysctlReply(List.of(entry(tree.oid(r.name()), old)));
            }
            List<ControlProtocol.SysctlEntry> es = new ArrayList<>();
            for (Sysctl t : trees) {
                try {
                    t.list(r.name()).forEach(o -> es.add(entry(o, null)));
                } catch (SysctlException e) {
                    if (e.errno() != SysctlException.Errno.ENOENT) {
                        throw e;
                    }
                }
            }
            if (es.isEmpty()) {
                throw new SysctlException(SysctlException.Errno.ENOENT, "unknown oid '" + r.name() + "'");
            }
            return new ControlProtocol.SysctlReply(es);
        } catch (SysctlException e) {
            throw new ErrnoException(Errno.valueOf(e.errno().name()), e.detail()); // the errno goes in front
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new ErrnoException(Errno.EINVAL, e.getMessage());
        }
    }

    private static Sysctl treeWith(List<Sysctl> trees, String name) {
        for (Sysctl t : trees) {
            try {
                t.oid(name);
                return t;
            } catch (SysctlException e) {
                if (e.errno() != SysctlException.Errno.ENOENT) {
                    throw e;
                }
            }
        }
        throw new SysctlException(SysctlException.Errno.ENOENT, "unknown oid '" + name + "'");
    }

    private static ControlProtocol.SysctlEntry entry(Sysctl.Oid o, String old) {
        return new ControlProtocol.SysctlEntry(o.name(), o.type().name().toLowerCase(java.util.Locale.ROOT), o.valueString(), old,
                o.description());
    }

    /** The detail of an ErrnoException without the "ENXIO: Device not configured (...)" wrapping. */
    private static String detail(ErrnoException e) {
        String m = e.getMessage();
        String prefix = e.errno().name() + ": " + e.errno().text();
        if (m.startsWith(prefix + " (") && m.endsWith(")")) {
            return m.substring(prefix.length() + 2, m.length() - 1);
        }
        return m.equals(prefix) ? e.errno().text() : m;
    }

    static void error(OutputStream out, Errno errno, String message) throws IOException {
        ControlProtocol.write(out, ControlProtocol.ERROR, new ControlProtocol.ErrorReply(errno.name(), message).encode());
    }
}
