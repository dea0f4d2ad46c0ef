package org.smpnet;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Mtx;
import org.smpnet.kern.Witness;
import org.smpnet.net.IfType;
import org.smpnet.net.Ifnet;
import org.smpnet.net.bpf.FilterCompiler;

/**
 * A control endpoint for a set of {@link Vnet}s in this JVM: a host UNIX-domain socket
 * ({@code <dir>/<name>.ctl}, in a 0700 directory, see {@link ControlProtocol#defaultDir}) through which
 * {@code smpnet tcpdump -i}, {@code smpnet tcpdump -D} and {@code smpnet sysctl --vnet} reach stacks that
 * live in another process. Requests and replies are {@link ControlProtocol} frames.
 *
 * <p>Each connection gets a thread ({@link ControlSession}); at most {@link #MAX_SESSIONS} at a time, more
 * are refused with EMFILE. A capture reads a real {@link org.smpnet.net.bpf.BpfDescriptor}, so a client that
 * stops reading only fills the descriptor's buffers: the packet path never waits for it, and what does not
 * fit is counted in the descriptor's drops.
 *
 * <p>Locking key: {@code sessions} and {@code closed} are guarded by {@link #lock} ("vnetctl"), which is
 * never held across I/O. The Vnets and the socket are final.
 */
public final class VnetControl implements AutoCloseable {
    /** Connections served at once. */
    public static final int MAX_SESSIONS = 16;

    private final String name;
    private final List<Vnet> vnets;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final Mtx lock = new Mtx("vnetctl", "vnetctl");
    @GuardedBy("lock") private final Set<ControlSession> sessions = new HashSet<>();
    @GuardedBy("lock") private boolean closed;
    private volatile Tools tools;

    /**
     * Network tools a {@link ControlProtocol#TOOL} request runs ({@code smpnet ping/route/netstat/ifconfig}
     * live in the command-line module, which installs them with {@link #setTools}).
     */
    @FunctionalInterface
    public interface Tools {
        /**
         * Runs {@code argv} (its first element names the tool) in {@code vnet}, printing lines to {@code out}.
         * Runs on the session thread, holding no lock; may sleep.
         *
         * @return the exit status
         * @throws ErrnoException the tool's failure, sent to the client as an ERROR
         */
        int run(Vnet vnet, List<String> argv, java.util.function.Consumer<String> out) throws ErrnoException;
    }

    /**
     * The output a TOOL request's tool gets: lines for the client, and {@link #keepalive} for a tool that
     * waits long without printing ({@code route monitor}) to learn that the client left.
     */
    public interface ToolOutput extends java.util.function.Consumer<String> {
        /**
         * Sends the client an empty output frame, which it prints as nothing. Blocks like a line does; hold no lock.
         *
         * @throws java.io.UncheckedIOException if the client is gone: the tool should end
         */
        void keepalive();
    }

    private VnetControl(String name, List<Vnet> vnets, Path path, ServerSocketChannel server) {
        this.name = name;
        this.vnets = vnets;
        this.path = path;
        this.server = server;
        this.acceptor = Thread.ofPlatform().daemon().name("vnetctl accept " + name).unstarted(this::acceptLoop);
    }

    /** Exports {@code vnets} as {@code <defaultDir>/<name>.ctl}; see {@link #export(Path, String, List)}. */
    public static VnetControl export(String name, List<Vnet> vnets) throws IOException {
        return export(ControlProtocol.defaultDir(), name, vnets);
    }

    /**
     * Exports {@code vnets} as the socket {@code <dir>/<name>.ctl}. The directory is created with mode
     * 0700 if missing (and must belong to this user). A socket file left by a process that died is
     * replaced; one somebody still listens on is not.
     *
     * @throws ErrnoException EADDRINUSE if another process serves that name, EACCES if the directory is
     *     not this user's, EINVAL for a bad name or an empty set of stacks, ENAMETOOLONG if the path does
     *     not fit in a socket address
     */
    public static VnetControl export(Path dir, String name, List<Vnet> vnets) throws IOException {
        return export(dir, name, vnets, null);
    }

    /**
     * Exports {@code vnets} like {@link #export(Path, String, List)} with {@code tools} installed before the
     * first connection is accepted, so no client can see an endpoint without them.
     */
    public static VnetControl export(Path dir, String name, List<Vnet> vnets, Tools tools) throws IOException {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}") || name.startsWith(".")) {
            throw new ErrnoException(Errno.EINVAL, "endpoint name '" + name + "' must be 1..64 of [A-Za-z0-9_.-], not starting with '.'");
        }
        if (vnets.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "nothing to export: no vnets");
        }
        prepareDir(dir);
        Path path = dir.resolve(name + ControlProtocol.SUFFIX);
        removeStale(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path), MAX_SESSIONS);
        } catch (SocketException e) {
            server.close();
            if (path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 100) {
                throw new ErrnoException(Errno.ENAMETOOLONG, path + " is too long for a UNIX-domain socket", e);
            }
            throw new ErrnoException(Errno.EADDRINUSE, path + ": " + e.getMessage(), e);
        }
        VnetControl c = new VnetControl(name, List.copyOf(vnets), path, server);
        c.tools = tools;
        c.acceptor.start(); // Thread.start: everything written above happens-before the sessions' reads
        return c;
    }

    private static void prepareDir(Path dir) throws IOException {
        Set<PosixFilePermission> rwx = PosixFilePermissions.fromString("rwx------");
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(rwx));
        }
        String owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName();
        String me = System.getProperty("user.name");
        if (me != null && !owner.equals(me)) {
            throw new ErrnoException(Errno.EACCES, dir + " belongs to " + owner + ", not " + me);
        }
        if (!Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS).equals(rwx)) {
            Files.setPosixFilePermissions(dir, rwx); // others must not reach our stacks
        }
    }

    /** Deletes {@code path} if it is a socket nobody listens on (left by a process that died). */
    private static void removeStale(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(path)) {
            throw new ErrnoException(Errno.EEXIST, path + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            throw new ErrnoException(Errno.EADDRINUSE, path + " is served by another live process");
        } catch (ErrnoException e) {
            throw e;
        } catch (IOException refused) {
            Files.deleteIfExists(path); // ECONNREFUSED: a dead process's socket
        }
    }

    private static boolean isSocket(Path p) throws IOException {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0140000;
        } catch (UnsupportedOperationException | IllegalArgumentException noUnixView) {
            return !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        }
    }

    public String name() {
        return name;
    }

    /** The socket file. */
    public Path path() {
        return path;
    }

    public List<Vnet> vnets() {
        return vnets;
    }

    /** Installs the tools TOOL requests run; without them such requests fail with EOPNOTSUPP. */
    public void setTools(Tools t) {
        tools = t;
    }

    Tools tools() {
        return tools;
    }

    /** Connections being served now. */
    public int sessions() {
        lock.lock();
        try {
            return sessions.size();
        } finally {
            lock.unlock();
        }
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel ch;
            try {
                Witness.checkSleep("vnetctl accept", null);
                ch = server.accept();
            } catch (ClosedChannelException closing) {
                return;
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
                continue; // a connection that failed while being accepted: serve the next one
            }
            ControlSession s = new ControlSession(this, ch);
            if (!admit(s)) {
                s.refuse(Errno.EMFILE, "too many control connections (" + MAX_SESSIONS + ")");
                continue;
            }
            s.start();
        }
    }

    private boolean admit(ControlSession s) {
        lock.lock();
        try {
            if (closed || sessions.size() >= MAX_SESSIONS) {
                return false;
            }
            sessions.add(s);
            return true;
        } finally {
            lock.unlock();
        }
    }

    void ended(ControlSession s) {
        lock.lock();
        try {
            sessions.remove(s);
        } finally {
            lock.unlock();
        }
    }

    /** The data link type a capture on {@code ifp} delivers (what the client must compile its filter for). */
    public static int dlt(Ifnet ifp) {
        return switch (ifp.type()) {
            case ETHER, L2VLAN -> FilterCompiler.DLT_EN10MB;
            case LOOP -> FilterCompiler.DLT_NULL;
            case TUNNEL, OTHER -> FilterCompiler.DLT_RAW;
        };
    }

    static String typeName(IfType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Stops serving: refuses new connections, ends every session (captures close their descriptors), waits
     * for the threads, and removes the socket file. Idempotent. May sleep; hold no lock.
     */
    @Override
    public void close() {
        Witness.checkSleep("vnetctl close", null);
        List<ControlSession> ss;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            ss = new ArrayList<>(sessions);
        } finally {
            lock.unlock();
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a listening socket only fails if it is already gone
        }
        ss.forEach(ControlSession::shutdown);
        join(acceptor);
        ss.forEach(s -> join(s.thread()));
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // the directory went away or changed owner: nothing of ours is left to clean
        }
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "VnetControl[" + name + " " + path + " " + vnets + "]";
    }
}
