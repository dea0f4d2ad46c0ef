package org.smpnet;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.net.bpf.BpfInsn;

/**
 * The wire format of a {@link VnetControl} endpoint, shared by the server and the {@code smpnet} command.
 *
 * <p>Every message is a frame: a 4-byte big-endian length of what follows, a version byte
 * ({@link #VERSION}), a type byte, then the body. Requests have types below 64, replies 64 and up. A
 * connection carries any number of request/reply exchanges; a {@link #CAPTURE} request turns it into a
 * stream of {@link #CAPTURE_DATA} frames (each the bytes of one BPF read: {@code bpf_hdr} records, see
 * {@link org.smpnet.net.bpf.BpfHeader}) ended by one {@link #CAPTURE_END}, after which requests may follow
 * again. Any request may be answered by {@link #ERROR}, carrying an {@link Errno} name and a message.
 *
 * <p>Bodies are sequences of big-endian integers and {@link DataOutputStream#writeUTF modified-UTF-8}
 * strings, described per message below; a body that is short, long or out of range is {@code EINVAL}.
 */
public final class ControlProtocol {
    public static final int VERSION = 1;
    /** Largest request body a server reads; a larger one is EMSGSIZE and ends the connection. */
    public static final int MAX_REQUEST = 64 * 1024;
    /** Largest reply body: one whole BPF buffer plus room. */
    public static final int MAX_REPLY = BpfDescriptor.MAX_BUFSIZE + 4096;

    /** Requests. */
    public static final int LIST = 1;
    public static final int CAPTURE = 2;
    public static final int STOP = 3;
    public static final int SYSCTL_GET = 4;
    public static final int SYSCTL_SET = 5;
    /** Run a network tool (ping, route, netstat, ifconfig) inside a vnet; see {@link ToolRequest}. */
    public static final int TOOL = 6;
    /** Replies. */
    public static final int LIST_REPLY = 65;
    public static final int CAPTURE_STARTED = 66;
    public static final int CAPTURE_DATA = 67;
    public static final int CAPTURE_END = 68;
    public static final int SYSCTL_REPLY = 69;
    /** Lines a running tool printed (UTF-8 text, each line ended by a newline); any number, then TOOL_END. */
    public static final int TOOL_OUTPUT = 70;
    /** The tool's exit status: one 32-bit integer. */
    public static final int TOOL_END = 71;
    public static final int ERROR = 127;

    /** The suffix of endpoint socket files. */
    public static final String SUFFIX = ".ctl";

    private ControlProtocol() {}

    /** One frame as read; the frame owns {@code body}. */
    @SuppressWarnings("ArrayRecordComponent") // a message in transit, never compared or hashed
    public record Frame(int version, int type, byte[] body) {}

    /**
     * The directory endpoints live in: the system property {@code smpnet.ctl.dir} if set, else
     * {@code ${XDG_RUNTIME_DIR:-/tmp}/smpnet-$USER}.
     */
    public static Path defaultDir() {
        String prop = System.getProperty("smpnet.ctl.dir");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        String base = runtime != null && !runtime.isBlank() ? runtime : "/tmp";
        return Path.of(base, "smpnet-" + System.getProperty("user.name", "nobody"));
    }

    /**
     * Reads one frame. Blocks; hold no lock.
     *
     * @return the frame, or null at end-of-stream before its first byte
     * @throws ErrnoException EMSGSIZE if the frame is longer than {@code maxBody}, EPROTO if the stream
     *     ends inside a frame or the length is impossible
     */
    public static Frame read(InputStream in, int maxBody) throws IOException {
        byte[] len = in.readNBytes(4);
        if (len.length == 0) {
            return null;
        }
        if (len.length < 4) {
            throw new ErrnoException(Errno.EPROTO, "connection closed inside a frame header");
        }
        int n = (len[0] & 0xff) << 24 | (len[1] & 0xff) << 16 | (len[2] & 0xff) << 8 | (len[3] & 0xff);
        if (n < 2) {
            throw new ErrnoException(Errno.EPROTO, "frame length " + Integer.toUnsignedString(n) + " is below the 2-byte minimum");
        }
        if (n - 2 > maxBody) {
            throw new ErrnoException(Errno.EMSGSIZE, "frame of " + Integer.toUnsignedString(n) + " bytes exceeds the limit of "
                    + (maxBody + 2));
        }
        byte[] rest = in.readNBytes(n);
        if (rest.length < n) {
            throw new ErrnoException(Errno.EPROTO, "connection closed inside a frame (" + rest.length + " of " + n + " bytes)");
        }
        byte[] body = new byte[n - 2];
        System.arraycopy(rest, 2, body, 0, body.length);
        return new Frame(rest[0] & 0xff, rest[1] & 0xff, body);
    }

    /** Writes one frame of {@code body[off, off+len)} and flushes. Blocks; hold no lock. */
    public static void write(OutputStream out, int type, byte[] body, int off, int len) throws IOException {
        int n = len + 2;
        out.write(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n, (byte) VERSION, (byte) type});
        out.write(body, off, len);
        out.flush();
    }

    public static void write(OutputStream out, int type, byte[] body) throws IOException {
        write(out, type, body, 0, body.length);
    }

    // ---- message bodies ----

    /** One interface as {@link #LIST_REPLY} describes it. */
    public record IfInfo(String name, int index, String type, int dlt, int flags, String flagsText, int mtu) {}

    /** One stack instance and its interfaces. */
    public record VnetInfo(String name, List<IfInfo> ifnets) {
        public VnetInfo {
            ifnets = List.copyOf(ifnets);
        }
    }

    /** {@link #LIST_REPLY}: u16 vnet count, per vnet its name, u16 interface count, per interface its fields. */
    public record ListReply(String endpoint, List<VnetInfo> vnets) {
        public ListReply {
            vnets = List.copyOf(vnets);
        }

        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(endpoint);
                o.writeShort(vnets.size());
                for (VnetInfo v : vnets) {
                    o.writeUTF(v.name());
                    o.writeShort(v.ifnets().size());
                    for (IfInfo i : v.ifnets()) {
                        o.writeUTF(i.name());
                        o.writeInt(i.index());
                        o.writeUTF(i.type());
                        o.writeInt(i.dlt());
                        o.writeInt(i.flags());
                        o.writeUTF(i.flagsText());
                        o.writeInt(i.mtu());
                    }
                }
            });
        }

        public static ListReply decode(byte[] b) throws ErrnoException {
            return Body.parse("list reply", b, in -> {
                String ep = in.readUTF();
                int nv = in.readUnsignedShort();
                List<VnetInfo> vs = new ArrayList<>();
                for (int i = 0; i < nv; i++) {
                    String name = in.readUTF();
                    int ni = in.readUnsignedShort();
                    List<IfInfo> is = new ArrayList<>();
                    for (int j = 0; j < ni; j++) {
                        is.add(new IfInfo(in.readUTF(), in.readInt(), in.readUTF(), in.readInt(), in.readInt(), in.readUTF(),
                                in.readInt()));
                    }
                    vs.add(new VnetInfo(name, is));
                }
                return new ListReply(ep, vs);
            });
        }
    }

    /**
     * {@link #CAPTURE}: open a BPF descriptor on an interface and stream what it captures.
     *
     * @param vnet       the stack instance ("" when the endpoint serves only one)
     * @param ifname     the interface
     * @param snaplen    bytes kept of each packet (0: what the program returns)
     * @param direction  which frames to see
     * @param promisc    put the interface in promiscuous mode for the capture
     * @param count      stop after this many packets (0: until stopped or the interface goes away)
     * @param immediate  deliver each packet at once instead of when a buffer fills or the timeout passes
     * @param bufsize    BPF buffer size (0: the server's default)
     * @param program    classic BPF compiled for the interface's link type (empty: accept everything)
     */
    public record CaptureRequest(String vnet, String ifname, int snaplen, BpfDescriptor.DirectionFilter direction,
                                 boolean promisc, long count, boolean immediate, int bufsize, List<BpfInsn> program) {
        public CaptureRequest {
            program = List.copyOf(program);
        }

        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(vnet);
                o.writeUTF(ifname);
                o.writeInt(snaplen);
                o.writeByte(switch (direction) {
                    case IN -> 0;
                    case OUT -> 1;
                    case INOUT -> 2;
                });
                o.writeBoolean(promisc);
                o.writeLong(count);
                o.writeBoolean(immediate);
                o.writeInt(bufsize);
                o.writeShort(program.size());
                for (BpfInsn insn : program) {
                    o.writeShort(insn.code());
                    o.writeByte(insn.jt());
                    o.writeByte(insn.jf());
                    o.writeInt(insn.k());
                }
            });
        }

        public static CaptureRequest decode(byte[] b) throws ErrnoException {
            return Body.parse("capture request", b, in -> {
                String vnet = in.readUTF();
                String ifname = in.readUTF();
                int snaplen = in.readInt();
                int dir = in.readUnsignedByte();
                BpfDescriptor.DirectionFilter direction = switch (dir) {
                    case 0 -> BpfDescriptor.DirectionFilter.IN;
                    case 1 -> BpfDescriptor.DirectionFilter.OUT;
                    case 2 -> BpfDescriptor.DirectionFilter.INOUT;
                    default -> throw new IllegalArgumentException("direction " + dir + " is not 0 (in), 1 (out) or 2 (inout)");
                };
                boolean promisc = in.readBoolean();
                long count = in.readLong();
                boolean immediate = in.readBoolean();
                int bufsize = in.readInt();
                if (snaplen < 0 || count < 0 || bufsize < 0) {
                    throw new IllegalArgumentException("negative snaplen, count or buffer size");
                }
                int n = in.readUnsignedShort();
                List<BpfInsn> prog = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    prog.add(new BpfInsn(in.readUnsignedShort(), in.readUnsignedByte(), in.readUnsignedByte(), in.readInt()));
                }
                return new CaptureRequest(vnet, ifname, snaplen, direction, promisc, count, immediate, bufsize, prog);
            });
        }
    }

    /** {@link #CAPTURE_STARTED}: where the capture runs and the link type of the records that will follow. */
    public record CaptureStarted(String vnet, String ifname, int dlt, int bufsize) {
        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(vnet);
                o.writeUTF(ifname);
                o.writeInt(dlt);
                o.writeInt(bufsize);
            });
        }

        public static CaptureStarted decode(byte[] b) throws ErrnoException {
            return Body.parse("capture start", b, in -> new CaptureStarted(in.readUTF(), in.readUTF(), in.readInt(), in.readInt()));
        }
    }

    /**
     * {@link #CAPTURE_END}: why the capture ended and the descriptor's final statistics.
     *
     * @param received packets the descriptor saw ({@code bs_recv}: "received by filter")
     * @param accepted packets the filter accepted
     * @param dropped  accepted packets lost for lack of buffer space ({@code bs_drop}: "dropped by kernel")
     * @param sent     records sent in {@link #CAPTURE_DATA} frames
     */
    public record CaptureEnd(String reason, long received, long accepted, long dropped, long sent) {
        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(reason);
                o.writeLong(received);
                o.writeLong(accepted);
                o.writeLong(dropped);
                o.writeLong(sent);
            });
        }

        public static CaptureEnd decode(byte[] b) throws ErrnoException {
            return Body.parse("capture end", b, in -> new CaptureEnd(in.readUTF(), in.readLong(), in.readLong(), in.readLong(),
                    in.readLong()));
        }
    }

    /** {@link #SYSCTL_GET} (value null: read {@code name} and everything below it) or {@link #SYSCTL_SET}. */
    public record SysctlRequest(String vnet, String name, String value) {
        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(vnet);
                o.writeUTF(name);
                if (value != null) {
                    o.writeUTF(value);
                }
            });
        }

        public static SysctlRequest decode(byte[] b, boolean set) throws ErrnoException {
            return Body.parse("sysctl request", b, in -> new SysctlRequest(in.readUTF(), in.readUTF(), set ? in.readUTF() : null));
        }
    }

    /** One node in a {@link #SYSCTL_REPLY}; {@code old} is the value before a set (else null). */
    public record SysctlEntry(String name, String type, String value, String old, String description) {}

    /** {@link #SYSCTL_REPLY}. */
    public record SysctlReply(List<SysctlEntry> entries) {
        public SysctlReply {
            entries = List.copyOf(entries);
        }

        public byte[] encode() {
            return Body.build(o -> {
                o.writeInt(entries.size());
                for (SysctlEntry e : entries) {
                    o.writeUTF(e.name());
                    o.writeUTF(e.type());
                    o.writeUTF(clip(e.value()));
                    o.writeBoolean(e.old() != null);
                    if (e.old() != null) {
                        o.writeUTF(clip(e.old()));
                    }
                    o.writeUTF(clip(e.description()));
                }
            });
        }

        public static SysctlReply decode(byte[] b) throws ErrnoException {
            return Body.parse("sysctl reply", b, in -> {
                int n = in.readInt();
                if (n < 0 || n > b.length) {
                    throw new IllegalArgumentException("entry count " + n);
                }
                List<SysctlEntry> es = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    String name = in.readUTF();
                    String type = in.readUTF();
                    String value = in.readUTF();
                    String old = in.readBoolean() ? in.readUTF() : null;
                    es.add(new SysctlEntry(name, type, value, old, in.readUTF()));
                }
                return new SysctlReply(es);
            });
        }
    }

    /**
     * {@link #TOOL}: the vnet ("" when the endpoint serves only one), then u16 argument count and the
     * arguments, the first naming the tool. Answered by {@link #TOOL_OUTPUT} frames and one
     * {@link #TOOL_END}, or by one {@link #ERROR} (after any output) when the tool fails with an errno.
     */
    public record ToolRequest(String vnet, List<String> argv) {
        public ToolRequest {
            argv = List.copyOf(argv);
            if (argv.isEmpty()) {
                throw new IllegalArgumentException("a tool request names the tool");
            }
        }

        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(vnet);
                o.writeShort(argv.size());
                for (String a : argv) {
                    o.writeUTF(a);
                }
            });
        }

        public static ToolRequest decode(byte[] b) throws ErrnoException {
            return Body.parse("tool request", b, in -> {
                String vnet = in.readUTF();
                int n = in.readUnsignedShort();
                List<String> argv = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    argv.add(in.readUTF());
                }
                return new ToolRequest(vnet, argv);
            });
        }
    }

    /** {@link #ERROR}: the {@link Errno} name and a message for a human. */
    public record ErrorReply(String errno, String message) {
        public byte[] encode() {
            return Body.build(o -> {
                o.writeUTF(errno);
                o.writeUTF(clip(message));
            });
        }

        public static ErrorReply decode(byte[] b) throws ErrnoException {
            return Body.parse("error reply", b, in -> new ErrorReply(in.readUTF(), in.readUTF()));
        }

        /** The error as an exception, with the server's errno when it is one this side knows. */
        public ErrnoException exception() {
            Errno e;
            try {
                e = Errno.valueOf(errno);
            } catch (IllegalArgumentException unknown) {
                e = Errno.EIO;
            }
            return new ErrnoException(e, message);
        }
    }

    /** Values longer than writeUTF can carry (64 KiB of UTF-8) are cut; sysctl reports can be long. */
    private static String clip(String s) {
        return s.length() > 16_000 ? s.substring(0, 16_000) + "..." : s;
    }

    /** Encoding and strict decoding of bodies. */
    private static final class Body {
        @FunctionalInterface
        interface Writer {
            void write(DataOutputStream o) throws IOException;
        }

        @FunctionalInterface
        interface Reader<T> {
            T read(DataInputStream in) throws IOException;
        }

        static byte[] build(Writer w) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (DataOutputStream o = new DataOutputStream(b)) {
                w.write(o);
            } catch (IOException e) {
                throw new UncheckedIOException("encoding to memory failed", e);
            }
            return b.toByteArray();
        }

        static <T> T parse(String what, byte[] b, Reader<T> r) throws ErrnoException {
            ByteArrayInputStream bin = new ByteArrayInputStream(b);
            try (DataInputStream in = new DataInputStream(bin)) {
                T t = r.read(in);
                if (bin.available() != 0) {
                    throw new ErrnoException(Errno.EINVAL, "malformed " + what + ": " + bin.available() + " bytes left over");
                }
                return t;
            } catch (EOFException e) {
                throw new ErrnoException(Errno.EINVAL, "malformed " + what + ": truncated");
            } catch (ErrnoException e) {
                throw e;
            } catch (IOException | IllegalArgumentException e) {
                throw new ErrnoException(Errno.EINVAL, "malformed " + what + ": " + e.getMessage());
            }
        }
    }
}
