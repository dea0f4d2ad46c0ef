package org.smpnet.net.bpf;

import static org.smpnet.net.bpf.FilterCode.ABS;
import static org.smpnet.net.bpf.FilterCode.ALU;
import static org.smpnet.net.bpf.FilterCode.B;
import static org.smpnet.net.bpf.FilterCode.H;
import static org.smpnet.net.bpf.FilterCode.IMM;
import static org.smpnet.net.bpf.FilterCode.IND;
import static org.smpnet.net.bpf.FilterCode.JEQ;
import static org.smpnet.net.bpf.FilterCode.JGE;
import static org.smpnet.net.bpf.FilterCode.JGT;
import static org.smpnet.net.bpf.FilterCode.JSET;
import static org.smpnet.net.bpf.FilterCode.LD;
import static org.smpnet.net.bpf.FilterCode.LDX;
import static org.smpnet.net.bpf.FilterCode.MEM;
import static org.smpnet.net.bpf.FilterCode.MISC;
import static org.smpnet.net.bpf.FilterCode.MSH;
import static org.smpnet.net.bpf.FilterCode.ST;
import static org.smpnet.net.bpf.FilterCode.TAX;
import static org.smpnet.net.bpf.FilterCode.W;
import static org.smpnet.net.bpf.FilterCode.and;
import static org.smpnet.net.bpf.FilterCode.not;
import static org.smpnet.net.bpf.FilterCode.or;
import static org.smpnet.net.bpf.FilterCode.stmt;

import java.util.ArrayList;
import java.util.List;
import org.smpnet.net.bpf.FilterAst.Addr;
import org.smpnet.net.bpf.FilterAst.Arith;
import org.smpnet.net.bpf.FilterAst.Dir;
import org.smpnet.net.bpf.FilterAst.Proto;
import org.smpnet.net.bpf.FilterAst.Qual;
import org.smpnet.net.bpf.FilterCode.Pred;
import org.smpnet.net.bpf.FilterCode.Stmt;
import org.smpnet.net.bpf.FilterCode.Test;

/**
 * Compiles pcap-filter(7) expressions to classic BPF with libpcap's meaning (gencode.c):
 * the same packets are selected, including which tests run before which loads, so a load
 * past the captured bytes rejects the packet in the same cases. Link types: Ethernet
 * ({@link #DLT_EN10MB}), raw IPv4/IPv6 ({@link #DLT_RAW}, and {@link #LINKTYPE_RAW} as it
 * appears in capture files) and BSD loopback ({@link #DLT_NULL}, a 4-byte address family in
 * the byte order of the machine that wrote the capture).
 *
 * <p>Compilation is left to right, as libpcap's parser reduces: {@code vlan}, {@code mpls}
 * and {@code pppoes} shift the offsets of everything compiled after them.
 *
 * <p>Locking: none. A compiler instance holds the offset state of one compilation and is
 * confined to the calling thread; {@link #compile} is safe to call from any thread.
 */
public final class FilterCompiler {
    /** BSD loopback: 4-byte address family, host byte order. */
    public static final int DLT_NULL = 0;
    /** Ethernet. */
    public static final int DLT_EN10MB = 1;
    /** Raw IPv4/IPv6 (DLT_RAW on Linux/BSD). */
    public static final int DLT_RAW = 12;
    /** Raw IPv4/IPv6 as written in pcap files (LINKTYPE_RAW); same as {@link #DLT_RAW}. */
    public static final int LINKTYPE_RAW = 101;
    /** tcpdump's default snapshot length, returned for accepted packets. */
    public static final int DEFAULT_SNAPLEN = 262144;

    private static final int ETHERMTU = 1500;
    private static final int ET_IP = 0x0800;
    private static final int ET_ARP = 0x0806;
    private static final int ET_REVARP = 0x8035;
    private static final int ET_IPV6 = 0x86dd;
    private static final int ET_ATALK = 0x809b;
    private static final int ET_AARP = 0x80f3;
    private static final int ET_IPX = 0x8137;
    private static final int SAP_ISONS = 0xfe;
    private static final int SAP_IP = 0x06;
    private static final int SAP_NETBEUI = 0xf0;
    private static final int SAP_IPX = 0xe0;
    private static final int SAP_8021D = 0x42;
    private static final int IPPROTO_TCP = 6;
    private static final int IPPROTO_UDP = 17;
    private static final int IPPROTO_SCTP = 132;
    /** libpcap's PROTO_UNDEF: any of TCP, UDP and SCTP. */
    private static final int PROTO_UNDEF = -1;

    /**
     * Compilation options.
     *
     * @param linkType DLT_EN10MB, DLT_RAW/LINKTYPE_RAW or DLT_NULL
     * @param snaplen value returned for an accepted packet
     * @param nullLittleEndian for DLT_NULL: the family word is little-endian (written on an
     *     x86 host); false for big-endian
     * @param netmask the IPv4 netmask used by {@code ip broadcast} (tcpdump uses 0 when
     *     reading a file)
     * @param savefile the filter is for packets read from a capture file: for DLT_NULL,
     *     {@code ip6} then matches every BSD AF_INET6 value (24, 28, 30) as libpcap does for
     *     files, instead of the live host's value (Linux: 10)
     */
    public record Options(int linkType, int snaplen, boolean nullLittleEndian, int netmask, boolean savefile) {
        public Options {
            if (linkType != DLT_EN10MB && linkType != DLT_RAW && linkType != LINKTYPE_RAW && linkType != DLT_NULL) {
                throw new IllegalArgumentException("unsupported link type " + linkType
                        + " (supported: EN10MB=1, RAW=12/101, NULL=0)");
            }
            if (snaplen <= 0) {
                throw new IllegalArgumentException("snaplen must be positive: " + snaplen);
            }
        }

        /** Defaults as {@code tcpdump -d -y TYPE} (a live capture) on a little-endian Linux host. */
        public static Options of(int linkType) {
            return new Options(linkType, DEFAULT_SNAPLEN, true, 0, false);
        }

        /** Defaults as {@code tcpdump -r FILE} for a file of {@code linkType} written little-endian. */
        public static Options savefile(int linkType) {
            return new Options(linkType, DEFAULT_SNAPLEN, true, 0, true);
        }
    }

    private final Options opt;
    private final int link;
    private int offLinkhdr;
    private int offLinktype;
    private int offLinkpl;
    private int offNl;
    private int offNlNosnap;
    private int labelDepth;
    private boolean pppoes;
    private boolean geneve;
    private int scratch;

    private FilterCompiler(Options opt) {
        this.opt = opt;
        this.link = opt.linkType() == LINKTYPE_RAW ? DLT_RAW : opt.linkType();
        switch (link) {
            case DLT_EN10MB -> {
                offLinktype = 12;
                offLinkpl = 14;
                offNlNosnap = 3;
            }
            case DLT_NULL -> offLinkpl = 4;
            default -> offLinktype = -1;
        }
    }

    /** Compiles {@code expr} for Ethernet with tcpdump's defaults. */
    public static FilterProgram compile(String expr) {
        return compile(expr, Options.of(DLT_EN10MB));
    }

    /** Compiles {@code expr} for {@code linkType} with tcpdump's defaults. */
    public static FilterProgram compile(String expr, int linkType) {
        return compile(expr, Options.of(linkType));
    }

    /**
     * Compiles {@code expr}.
     *
     * @throws FilterSyntaxException if the expression is not valid for the link type, with
     *     the position and what was expected
     */
    public static FilterProgram compile(String expr, Options opt) {
        FilterAst ast = FilterParser.parse(expr);
        FilterCompiler c = new FilterCompiler(opt);
        Pred root = ast == null ? new FilterCode.Const(true) : FilterOptimizer.simplify(c.gen(ast));
        if ((root instanceof FilterCode.Const k && !k.value()) || FilterOptimizer.rejectsAll(root)) {
            throw FilterSyntaxException.semantic(0, "expression rejects all packets");
        }
        List<BpfInsn> insns = FilterCode.emit(root, opt.snaplen());
        if (insns.size() > BpfInsn.MAXINSNS) {
            throw FilterSyntaxException.semantic(0, "program too long (" + insns.size() + " instructions, limit 4096)");
        }
        return new FilterProgram(expr, opt.linkType(), insns);
    }

    // ---- boolean structure ----

    private Pred gen(FilterAst n) {
        if (geneve && !(n instanceof FilterAst.And || n instanceof FilterAst.Or || n instanceof FilterAst.Not
                || n instanceof FilterAst.Length)) {
            throw err(pos(n), "primitives after 'geneve' (which look inside the tunnel) are not supported by this compiler");
        }
        return switch (n) {
            case FilterAst.And a -> and(gen(a.left()), gen(a.right()));
            case FilterAst.Or o -> or(gen(o.left()), gen(o.right()));
            case FilterAst.Not x -> not(gen(x.operand()));
            case FilterAst.Primitive p -> primitive(p);
            case FilterAst.ProtoAbbrev p -> protoAbbrev(p.proto(), p.pos());
            case FilterAst.Cast c -> c.multicast() ? multicast(c.proto(), c.pos()) : broadcast(c.proto(), c.pos());
            case FilterAst.Length l -> l.greater()
                    ? test(List.of(stmt(LD | W | FilterCode.LEN, 0)), JGE, l.n())
                    : not(test(List.of(stmt(LD | W | FilterCode.LEN, 0)), JGT, l.n()));
            case FilterAst.Encap e -> encap(e);
            case FilterAst.Llc l -> llc(l);
            case FilterAst.Relation r -> relation(r);
        };
    }

    private static FilterSyntaxException err(int pos, String msg) {
        return FilterSyntaxException.semantic(pos, msg);
    }

    // ---- atoms ----

    private static Test test(List<Stmt> stmts, int op, long k) {
        return new Test(stmts, op, false, (int) k);
    }

    private static Stmt load(int off, int size) {
        return stmt(LD | FilterCode.sizeCode(size) | ABS, off);
    }

    private static Pred cmp(int off, int size, long v) {
        return test(List.of(load(off, size)), JEQ, v);
    }

    private static Pred mcmp(int off, int size, long v, long mask) {
        if ((mask & 0xffffffffL) == 0) {
            return new FilterCode.Const(v == 0); // libpcap's optimiser drops the load too
        }
        if ((mask & 0xffffffffL) == 0xffffffffL) {
            return cmp(off, size, v);
        }
        return test(List.of(load(off, size), stmt(ALU | FilterCode.AND | FilterCode.K, (int) mask)), JEQ, v);
    }

    private static Pred cmpGt(int off, int size, long v) {
        return test(List.of(load(off, size)), JGT, v);
    }

    private static Pred cmpGe(int off, int size, long v) {
        return test(List.of(load(off, size)), JGE, v);
    }

    private int nl() {
        return offLinkpl + offNl;
    }

    /** Compare a field of the IPv4 transport header: X = IP header length, load [X + off]. */
    private Pred tranCmp(int off, int size, long v) {
        return test(List.of(stmt(LDX | B | MSH, nl()), stmt(LD | FilterCode.sizeCode(size) | IND, nl() + off)), JEQ, v);
    }

    private Pred tranGe(int off, long v) {
        return test(List.of(stmt(LDX | B | MSH, nl()), stmt(LD | H | IND, nl() + off)), JGE, v);
    }

    private Pred tranGt(int off, long v) {
        return test(List.of(stmt(LDX | B | MSH, nl()), stmt(LD | H | IND, nl() + off)), JGT, v);
    }

    /** Not a fragment other than the first: ldh [nl+6] jset #0x1fff fails. */
    private Pred ipfrag() {
        return not(test(List.of(load(nl() + 6, 2)), JSET, 0x1fff));
    }

    private static Pred falsePred() {
        return new FilterCode.Const(false);
    }

    // ---- link-layer type ----

    private Pred linktype(int proto, int pos) {
        if (pppoes) {
            return cmp(offLinktype, 2, ethertypeToPpp(proto));
        }
        if (labelDepth > 0) {
            return switch (proto) {
                case ET_IP -> and(mcmp(nl() - 2, 1, 1, 1), mcmp(nl(), 1, 0x40, 0xf0));
                case ET_IPV6 -> and(mcmp(nl() - 2, 1, 1, 1), mcmp(nl(), 1, 0x60, 0xf0));
                default -> throw err(pos, "unsupported protocol over mpls");
            };
        }
        return switch (link) {
            case DLT_EN10MB -> etherLinktype(proto);
            case DLT_RAW -> proto == ET_IP ? mcmp(offLinkhdr, 1, 0x40, 0xf0)
                    : proto == ET_IPV6 ? mcmp(offLinkhdr, 1, 0x60, 0xf0) : falsePred();
            default -> proto == ET_IP ? cmp(offLinkhdr, 4, family(2)) : proto != ET_IPV6 ? falsePred()
                    : !opt.savefile() ? cmp(offLinkhdr, 4, family(10))
                    : or(cmp(offLinkhdr, 4, family(30)), or(cmp(offLinkhdr, 4, family(24)), cmp(offLinkhdr, 4, family(28))));
        };
    }

    /** The loopback family word as a big-endian load sees it (libpcap uses the host's AF_INET6 = 10). */
    private long family(int af) {
        return (opt.nullLittleEndian() ? Integer.reverseBytes(af) : af) & 0xffffffffL;
    }

    private static int ethertypeToPpp(int proto) {
        return switch (proto) {
            case ET_IP -> 0x0021;
            case ET_IPV6 -> 0x0057;
            case 0x6003 -> 0x0027;
            case ET_ATALK -> 0x0029;
            case 0x0600 -> 0x0025;
            case SAP_IPX -> 0x002b;
            case SAP_ISONS -> 0x0023;
            default -> proto;
        };
    }

    private Pred notLlcLength() {
        return not(cmpGt(offLinktype, 2, ETHERMTU));
    }

    private Pred etherLinktype(int proto) {
        switch (proto) {
            case SAP_ISONS, SAP_IP, SAP_NETBEUI:
                return and(notLlcLength(), cmp(offLinkpl, 2, (proto << 8) | proto));
            case SAP_IPX: {
                Pred b1 = or(cmp(offLinkpl, 1, SAP_IPX), snap(0x000000, ET_IPX));
                b1 = or(cmp(offLinkpl, 2, 0xffff), b1);
                b1 = and(notLlcLength(), b1);
                return or(cmp(offLinktype, 2, ET_IPX), b1);
            }
            case ET_ATALK, ET_AARP: {
                Pred b1 = and(notLlcLength(), proto == ET_ATALK ? snap(0x080007, ET_ATALK) : snap(0, ET_AARP));
                return or(cmp(offLinktype, 2, proto), b1);
            }
            default:
                if (proto <= ETHERMTU) {
                    return and(notLlcLength(), cmp(offLinktype + 2, 1, proto));
                }
                return cmp(offLinktype, 2, proto);
        }
    }

    /** 802.2 SNAP header AA AA 03 org(3) type(2), compared last word first as libpcap does. */
    private Pred snap(int org, int type) {
        long w1 = ((long) (org & 0xffff) << 16) | type;
        long w0 = 0xaaaa0300L | (org >>> 16);
        return and(cmp(offLinkpl + 4, 4, w1), cmp(offLinkpl, 4, w0));
    }

    // ---- primitives ----

    private Pred primitive(FilterAst.Primitive p) {
        Qual q = p.qual();
        if (q.addr() == Addr.UNDEF) {
            throw FilterSyntaxException.syntax(p.pos(), "a bare value here has no previous primitive whose qualifiers it could repeat");
        }
        return switch (p.value()) {
            case FilterAst.Num n -> ncode(null, n.n(), q, n.pos());
            case FilterAst.Ipv4 a -> {
                switch (q.addr()) {
                    case PORT, PORTRANGE, PROTO, PROTOCHAIN ->
                        throw err(a.pos(), "'" + q.addr().name().toLowerCase(java.util.Locale.ROOT) + "' modifier applied to ip host");
                    default -> { }
                }
                yield ncode(a.text(), 0, q, a.pos());
            }
            case FilterAst.Ipv4Masked m -> mcode(m, q);
            case FilterAst.Ipv6 a -> mcode6(a, q);
            case FilterAst.Mac m -> ecode(m, q);
            case FilterAst.Name n -> scode(n, q);
        };
    }

    /** libpcap's __pcap_atonet: decimal parts, returns {value, bit length}. */
    private static long[] atonet(String s) {
        long addr = 0;
        int len = 0;
        int i = 0;
        while (true) {
            long n = 0;
            char c = 0;
            while (i < s.length() && (c = s.charAt(i)) >= '0' && c <= '9') {
                n = n * 10 + c - '0';
                i++;
            }
            addr = ((addr << 8) | (n & 0xff)) & 0xffffffffL;
            len += 8;
            if (i >= s.length()) {
                return new long[] {addr, len};
            }
            i++;
        }
    }

    private Pred ncode(String s, long v, Qual q, int pos) {
        Proto proto = q.proto();
        Dir dir = q.dir();
        int vlen = 32;
        if (proto == Proto.DECNET) {
            if (s != null) {
                v = atodn(s, pos);
            }
            switch (q.addr()) {
                case DEFAULT, HOST, NET -> {
                    return dnhostop(v, dir, pos);
                }
                default -> { }
            }
        } else if (s != null) {
            long[] r = atonet(s);
            v = r[0];
            vlen = (int) r[1];
        }
        switch (q.addr()) {
            case DEFAULT, HOST, NET: {
                if (proto == Proto.LINK) {
                    throw err(pos, "illegal link layer address");
                }
                long mask = 0xffffffffL;
                if (s == null && q.addr() == Addr.NET) {
                    while (v != 0 && (v & 0xff000000L) == 0) {
                        v = (v << 8) & 0xffffffffL;
                        mask = (mask << 8) & 0xffffffffL;
                    }
                } else {
                    v = (v << (32 - vlen)) & 0xffffffffL;
                    mask = (mask << (32 - vlen)) & 0xffffffffL;
                }
                return host(v, mask, proto, dir, q.addr(), pos);
            }
            case PORT: {
                int ip = portProto(proto, "port", pos);
                if (v > 65535) {
                    throw err(pos, "illegal port number " + v + " > 65535");
                }
                return or(port6((int) v, (int) v, ip, dir, false), port((int) v, (int) v, ip, dir, false));
            }
            case PORTRANGE: {
                int ip = portProto(proto, "portrange", pos);
                if (v > 65535) {
                    throw err(pos, "illegal port number " + v + " > 65535");
                }
                return or(port6((int) v, (int) v, ip, dir, true), port((int) v, (int) v, ip, dir, true));
            }
            case GATEWAY:
                throw err(pos, "'gateway' requires a name");
            case PROTO:
                return proto((int) v, proto, dir, pos);
            case PROTOCHAIN:
                throw err(pos, "'protochain' is not supported by this compiler");
            default:
                throw FilterSyntaxException.syntax(pos, "no qualifier for the value");
        }
    }

    /** A DECnet address "area.node" as libpcap packs it: area in the top 6 bits of 16. */
    private static long atodn(String s, int pos) {
        String[] f = s.split("\\.");
        if (f.length != 2 || !f[0].matches("[0-9]+") || !f[1].matches("[0-9]+")) {
            throw err(pos, "malformed decnet address '" + s + "'");
        }
        long area = Long.parseLong(f[0]);
        long node = Long.parseLong(f[1]);
        if (area > 63 || node > 1023) {
            throw err(pos, "Illegal decnet address '" + s + "'");
        }
        return (area << 10) | node;
    }

    /**
     * DECnet source/destination: four header layouts (long/short, with/without padding).
     * libpcap writes the constants through ntohs, so they are byte-swapped as on a
     * little-endian host.
     */
    private Pred dnhostop(long addr, Dir dir, int pos) {
        int sh;
        int lh;
        switch (dir) {
            case DST -> {
                sh = 1;
                lh = 7;
            }
            case SRC -> {
                sh = 3;
                lh = 15;
            }
            case AND -> {
                return and(dnhostop(addr, Dir.SRC, pos), dnhostop(addr, Dir.DST, pos));
            }
            default -> {
                return or(dnhostop(addr, Dir.SRC, pos), dnhostop(addr, Dir.DST, pos));
            }
        }
        long a = Short.reverseBytes((short) addr) & 0xffffL;
        int pl = nl();
        Pred b1 = and(mcmp(pl + 2, 2, 0x8106, 0xff07), cmp(pl + 2 + 1 + lh, 2, a));
        b1 = or(and(mcmp(pl + 2, 1, 0x06, 0x07), cmp(pl + 2 + lh, 2, a)), b1);
        b1 = or(and(mcmp(pl + 2, 2, 0x8102, 0xff07), cmp(pl + 2 + 1 + sh, 2, a)), b1);
        b1 = or(and(mcmp(pl + 2, 1, 0x02, 0x07), cmp(pl + 2 + sh, 2, a)), b1);
        return and(linktype(0x6003, pos), b1);
    }

    private static int portProto(Proto proto, String what, int pos) {
        return switch (proto) {
            case UDP -> IPPROTO_UDP;
            case TCP -> IPPROTO_TCP;
            case SCTP -> IPPROTO_SCTP;
            case DEFAULT -> PROTO_UNDEF;
            default -> throw err(pos, "illegal qualifier of '" + what + "'");
        };
    }

    private Pred mcode(FilterAst.Ipv4Masked m, Qual q) {
        long[] a = atonet(m.addr());
        long n = (a[0] << (32 - a[1])) & 0xffffffffL;
        long mask;
        if (m.mask() != null) {
            long[] mm = atonet(m.mask());
            mask = (mm[0] << (32 - mm[1])) & 0xffffffffL;
            if ((n & ~mask & 0xffffffffL) != 0) {
                throw err(m.pos(), "non-network bits set in \"" + m.addr() + " mask " + m.mask() + "\"");
            }
        } else {
            if (m.len() > 32) {
                throw err(m.pos(), "mask length must be <= 32");
            }
            mask = m.len() == 0 ? 0 : (0xffffffffL << (32 - m.len())) & 0xffffffffL;
            if ((n & ~mask & 0xffffffffL) != 0) {
                throw err(m.pos(), "non-network bits set in \"" + m.addr() + "/" + m.len() + "\"");
            }
        }
        if (q.addr() != Addr.NET) {
            throw err(m.pos(), "Mask syntax for networks only");
        }
        return host(n, mask, q.proto(), q.dir(), Addr.NET, m.pos());
    }

    private Pred host(long addr, long mask, Proto proto, Dir dir, Addr type, int pos) {
        String typestr = type == Addr.NET ? "net" : "host";
        switch (proto) {
            case DEFAULT: {
                Pred b0 = host(addr, mask, Proto.IP, dir, type, pos);
                if (labelDepth == 0) {
                    Pred b1 = or(b0, host(addr, mask, Proto.ARP, dir, type, pos));
                    b0 = or(b1, host(addr, mask, Proto.RARP, dir, type, pos));
                }
                return b0;
            }
            case IP:
                return hostop(addr, mask, dir, ET_IP, 12, 16, pos);
            case ARP:
                return hostop(addr, mask, dir, ET_ARP, 14, 24, pos);
            case RARP:
                return hostop(addr, mask, dir, ET_REVARP, 14, 24, pos);
            case LINK:
                throw err(pos, "link-layer modifier applied to " + typestr);
            case IPV6:
                throw err(pos, "'ip6' modifier applied to ip " + typestr);
            default:
                throw err(pos, "'" + protoName(proto) + "' modifier applied to " + typestr);
        }
    }

    private static String protoName(Proto p) {
        return switch (p) {
            case IPV6 -> "ip6";
            case ICMPV6 -> "icmp6";
            default -> p.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private Pred hostop(long addr, long mask, Dir dir, int proto, int srcOff, int dstOff, int pos) {
        int off;
        switch (dir) {
            case SRC -> off = srcOff;
            case DST -> off = dstOff;
            case AND -> {
                return and(hostop(addr, mask, Dir.SRC, proto, srcOff, dstOff, pos),
                        hostop(addr, mask, Dir.DST, proto, srcOff, dstOff, pos));
            }
            default -> {
                return or(hostop(addr, mask, Dir.SRC, proto, srcOff, dstOff, pos),
                        hostop(addr, mask, Dir.DST, proto, srcOff, dstOff, pos));
            }
        }
        return and(linktype(proto, pos), mcmp(nl() + off, 4, addr, mask));
    }

    private Pred mcode6(FilterAst.Ipv6 a, Qual q) {
        if (a.len() > 128) {
            throw err(a.pos(), "mask length must be <= 128");
        }
        byte[] mask = new byte[16];
        for (int i = 0; i < a.len(); i++) {
            mask[i / 8] |= (byte) (0x80 >>> (i % 8));
        }
        for (int i = 0; i < 16; i++) {
            if ((a.addr()[i] & ~mask[i]) != 0) {
                throw err(a.pos(), "non-network bits set in \"" + a.text() + "/" + a.len() + "\"");
            }
        }
        switch (q.addr()) {
            case DEFAULT, HOST:
                if (a.len() != 128) {
                    throw err(a.pos(), "Mask syntax for networks only");
                }
                return host6(a.addr(), mask, q, a.pos());
            case NET:
                return host6(a.addr(), mask, q, a.pos());
            default:
                throw err(a.pos(), "invalid qualifier against IPv6 address");
        }
    }

    private Pred host6(byte[] addr, byte[] mask, Qual q, int pos) {
        String typestr = q.addr() == Addr.NET ? "net" : "host";
        switch (q.proto()) {
            case DEFAULT, IPV6:
                return hostop6(addr, mask, q.dir(), 8, 24, pos);
            case LINK:
                throw err(pos, "link-layer modifier applied to ip6 " + typestr);
            default:
                throw err(pos, "'" + protoName(q.proto()) + "' modifier applied to ip6 " + typestr);
        }
    }

    private Pred hostop6(byte[] addr, byte[] mask, Dir dir, int srcOff, int dstOff, int pos) {
        int off;
        switch (dir) {
            case SRC -> off = srcOff;
            case DST -> off = dstOff;
            case AND -> {
                return and(hostop6(addr, mask, Dir.SRC, srcOff, dstOff, pos), hostop6(addr, mask, Dir.DST, srcOff, dstOff, pos));
            }
            default -> {
                return or(hostop6(addr, mask, Dir.SRC, srcOff, dstOff, pos), hostop6(addr, mask, Dir.DST, srcOff, dstOff, pos));
            }
        }
        Pred b1 = null;
        for (int w = 3; w >= 0; w--) {
            Pred b0 = mcmp(nl() + off + 4 * w, 4, word(addr, w), word(mask, w));
            b1 = b1 == null ? b0 : and(b0, b1);
        }
        return and(linktype(ET_IPV6, pos), b1);
    }

    private static long word(byte[] b, int w) {
        return ((b[4 * w] & 0xffL) << 24) | ((b[4 * w + 1] & 0xffL) << 16) | ((b[4 * w + 2] & 0xffL) << 8) | (b[4 * w + 3] & 0xffL);
    }

    private Pred ecode(FilterAst.Mac m, Qual q) {
        if ((q.addr() == Addr.HOST || q.addr() == Addr.DEFAULT) && q.proto() == Proto.LINK) {
            if (link != DLT_EN10MB) {
                throw err(m.pos(), "ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel");
            }
            return ehostop(m.addr(), q.dir());
        }
        throw err(m.pos(), "ethernet address used in non-ether expression");
    }

    private Pred ehostop(byte[] mac, Dir dir) {
        return switch (dir) {
            case SRC -> bcmp6(offLinkhdr + 6, mac);
            case DST -> bcmp6(offLinkhdr, mac);
            case AND -> and(ehostop(mac, Dir.SRC), ehostop(mac, Dir.DST));
            default -> or(ehostop(mac, Dir.SRC), ehostop(mac, Dir.DST));
        };
    }

    private static Pred bcmp6(int off, byte[] mac) {
        long w = ((mac[2] & 0xffL) << 24) | ((mac[3] & 0xffL) << 16) | ((mac[4] & 0xffL) << 8) | (mac[5] & 0xffL);
        long h = ((mac[0] & 0xffL) << 8) | (mac[1] & 0xffL);
        return and(cmp(off + 2, 4, w), cmp(off, 2, h));
    }

    private Pred scode(FilterAst.Name n, Qual q) {
        String name = n.name();
        int pos = n.pos();
        switch (q.addr()) {
            case NET:
                throw err(pos, "network names are not supported: use a numeric network instead of '" + name + "'");
            case DEFAULT, HOST:
                if (q.proto() == Proto.LINK) {
                    throw err(pos, "Ethernet host names are not supported: use a MAC address instead of '" + name + "'");
                }
                throw err(pos, "host names are not supported: use a numeric address instead of '" + name + "'");
            case PORT: {
                int ip = portProto(q.proto(), "port", pos);
                int tcp = FilterNames.tcpPort(name);
                int udp = FilterNames.udpPort(name);
                int port;
                int real;
                if (tcp >= 0) {
                    port = tcp;
                    real = udp == tcp ? PROTO_UNDEF : IPPROTO_TCP;
                } else if (udp >= 0) {
                    port = udp;
                    real = IPPROTO_UDP;
                } else {
                    throw err(pos, "unknown port '" + name + "'");
                }
                real = restrictPort(ip, real, "port '" + name + "'", pos);
                return or(port6(port, port, real, q.dir(), false), port(port, port, real, q.dir(), false));
            }
            case PORTRANGE: {
                int ip = portProto(q.proto(), "portrange", pos);
                int[] r = portRange(name, pos);
                int real = restrictPort(ip, r[2], "port in range '" + name + "'", pos);
                return or(port6(r[0], r[1], real, q.dir(), true), port(r[0], r[1], real, q.dir(), true));
            }
            case GATEWAY:
                throw err(pos, "'gateway' is not supported by this compiler");
            case PROTO:
                return proto(lookupProto(name, q.proto(), pos), q.proto(), q.dir(), pos);
            case PROTOCHAIN:
                throw err(pos, "'protochain' is not supported by this compiler");
            default:
                throw FilterSyntaxException.syntax(pos, "no qualifier for '" + name + "'");
        }
    }

    private static int restrictPort(int wanted, int real, String what, int pos) {
        if (wanted == PROTO_UNDEF) {
            return real;
        }
        if (real != PROTO_UNDEF && real != wanted) {
            throw err(pos, what + " is " + (real == IPPROTO_TCP ? "tcp" : real == IPPROTO_UDP ? "udp" : "sctp"));
        }
        return wanted;
    }

    /** libpcap's stringtoportrange: {port1, port2, proto}. */
    private static int[] portRange(String s, int pos) {
        int hy = s.indexOf('-');
        if (hy < 0) {
            throw err(pos, "port range '" + s + "' contains no hyphen");
        }
        if (hy == 0 || hy == s.length() - 1) {
            throw err(pos, "port range '" + s + "' has an empty end");
        }
        int[] a = portOf(s.substring(0, hy), pos);
        int[] b = portOf(s.substring(hy + 1), pos);
        return new int[] {a[0], b[0], a[1] == b[1] ? a[1] : PROTO_UNDEF};
    }

    private static int[] portOf(String s, int pos) {
        if (s.matches("[0-9]+")) {
            long v = s.length() > 6 ? 70000 : Long.parseLong(s);
            if (v > 65535) {
                throw err(pos, "port number " + s + " is out of range");
            }
            return new int[] {(int) v, PROTO_UNDEF};
        }
        int tcp = FilterNames.tcpPort(s);
        int udp = FilterNames.udpPort(s);
        if (tcp < 0 && udp < 0) {
            throw err(pos, "'" + s + "' is not a valid port number or name");
        }
        if (tcp < 0) {
            return new int[] {udp, IPPROTO_UDP};
        }
        if (udp < 0) {
            return new int[] {tcp, IPPROTO_TCP};
        }
        if (tcp != udp) {
            throw err(pos, "'" + s + "' is a different port for TCP and UDP");
        }
        return new int[] {tcp, PROTO_UNDEF};
    }

    private static int lookupProto(String name, Proto proto, int pos) {
        switch (proto) {
            case DEFAULT, IP, IPV6: {
                int v = FilterNames.ipProto(name);
                if (v < 0) {
                    throw err(pos, "unknown ip proto '" + name + "'");
                }
                return v;
            }
            case LINK: {
                int v = FilterNames.etherProto(name);
                if (v < 0) {
                    v = FilterNames.llcSap(name);
                }
                if (v < 0) {
                    throw err(pos, "unknown ether proto '" + name + "'");
                }
                return v;
            }
            case ISO:
                return switch (name) {
                    case "esis" -> 0x82;
                    case "isis" -> 0x83;
                    case "clnp" -> 0x81;
                    default -> throw err(pos, "unknown osi proto '" + name + "'");
                };
            default:
                throw err(pos, "unknown protocol '" + name + "' for '" + protoName(proto) + " proto'");
        }
    }

    // ---- ports ----

    private Pred port(int p1, int p2, int ip, Dir dir, boolean range) {
        Pred b1;
        if (ip == PROTO_UNDEF) {
            b1 = or(portop(p1, p2, IPPROTO_TCP, dir, range), portop(p1, p2, IPPROTO_UDP, dir, range));
            b1 = or(portop(p1, p2, IPPROTO_SCTP, dir, range), b1);
        } else {
            b1 = portop(p1, p2, ip, dir, range);
        }
        return and(linktype(ET_IP, 0), b1);
    }

    private Pred portop(int p1, int p2, int ip, Dir dir, boolean range) {
        Pred b0 = and(cmp(nl() + 9, 1, ip), ipfrag());
        Pred b1 = switch (dir) {
            case SRC -> portatom(0, p1, p2, range);
            case DST -> portatom(2, p1, p2, range);
            case AND -> and(portatom(0, p1, p2, range), portatom(2, p1, p2, range));
            default -> or(portatom(0, p1, p2, range), portatom(2, p1, p2, range));
        };
        return and(b0, b1);
    }

    private Pred portatom(int off, int p1, int p2, boolean range) {
        if (!range) {
            return tranCmp(off, 2, p1);
        }
        int lo = Math.min(p1, p2);
        int hi = Math.max(p1, p2);
        return and(tranGe(off, lo), not(tranGt(off, hi)));
    }

    private Pred port6(int p1, int p2, int ip, Dir dir, boolean range) {
        Pred b1;
        if (ip == PROTO_UNDEF) {
            b1 = or(portop6(p1, p2, IPPROTO_TCP, dir, range), portop6(p1, p2, IPPROTO_UDP, dir, range));
            b1 = or(portop6(p1, p2, IPPROTO_SCTP, dir, range), b1);
        } else {
            b1 = portop6(p1, p2, ip, dir, range);
        }
        return and(linktype(ET_IPV6, 0), b1);
    }

    private Pred portop6(int p1, int p2, int ip, Dir dir, boolean range) {
        Pred b0 = cmp(nl() + 6, 1, ip);
        Pred b1 = switch (dir) {
            case SRC -> portatom6(0, p1, p2, range);
            case DST -> portatom6(2, p1, p2, range);
            case AND -> and(portatom6(0, p1, p2, range), portatom6(2, p1, p2, range));
            default -> or(portatom6(0, p1, p2, range), portatom6(2, p1, p2, range));
        };
        return and(b0, b1);
    }

    private Pred portatom6(int off, int p1, int p2, boolean range) {
        int o = nl() + 40 + off;
        if (!range) {
            return cmp(o, 2, p1);
        }
        return and(cmpGe(o, 2, Math.min(p1, p2)), not(cmpGt(o, 2, Math.max(p1, p2))));
    }

    // ---- protocols ----

    private Pred proto(int v, Proto proto, Dir dir, int pos) {
        if (dir != Dir.DEFAULT) {
            throw err(pos, "direction applied to 'proto'");
        }
        switch (proto) {
            case DEFAULT:
                return or(proto(v, Proto.IP, dir, pos), proto(v, Proto.IPV6, dir, pos));
            case LINK:
                return linktype(v, pos);
            case IP:
                return and(linktype(ET_IP, pos), cmp(nl() + 9, 1, v));
            case IPV6: {
                Pred b1 = and(cmp(nl() + 6, 1, 44), cmp(nl() + 40, 1, v));
                b1 = or(cmp(nl() + 6, 1, v), b1);
                return and(linktype(ET_IPV6, pos), b1);
            }
            case ISO:
                return and(linktype(SAP_ISONS, pos), cmp(offLinkpl + offNlNosnap, 1, v));
            case ISIS:
                return and(proto(0x83, Proto.ISO, Dir.DEFAULT, pos), cmp(offLinkpl + offNlNosnap + 4, 1, v));
            case ARP, RARP, ATALK, DECNET, LAT, SCA, MOPRC, MOPDL:
                throw err(pos, protoName(proto) + " does not encapsulate another protocol");
            default:
                throw err(pos, "'" + protoName(proto) + " proto' is bogus");
        }
    }

    private static final int[][] ISIS_SETS = {
        {15, 17, 18, 24, 26}, {16, 17, 20, 25, 27}, {15, 16, 17}, {18, 20}, {24, 25, 26, 27}, {24, 25}, {26, 27},
    };

    private Pred protoAbbrev(Proto p, int pos) {
        return switch (p) {
            case SCTP -> proto(IPPROTO_SCTP, Proto.DEFAULT, Dir.DEFAULT, pos);
            case TCP -> proto(IPPROTO_TCP, Proto.DEFAULT, Dir.DEFAULT, pos);
            case UDP -> proto(IPPROTO_UDP, Proto.DEFAULT, Dir.DEFAULT, pos);
            case ICMP -> proto(1, Proto.IP, Dir.DEFAULT, pos);
            case IGMP -> proto(2, Proto.IP, Dir.DEFAULT, pos);
            case IGRP -> proto(9, Proto.IP, Dir.DEFAULT, pos);
            case PIM -> proto(103, Proto.DEFAULT, Dir.DEFAULT, pos);
            case VRRP, CARP -> proto(112, Proto.IP, Dir.DEFAULT, pos);
            case IP -> linktype(ET_IP, pos);
            case ARP -> linktype(ET_ARP, pos);
            case RARP -> linktype(ET_REVARP, pos);
            case ATALK -> linktype(ET_ATALK, pos);
            case AARP -> linktype(ET_AARP, pos);
            case DECNET -> linktype(0x6003, pos);
            case SCA -> linktype(0x6007, pos);
            case LAT -> linktype(0x6004, pos);
            case MOPDL -> linktype(0x6001, pos);
            case MOPRC -> linktype(0x6002, pos);
            case IPV6 -> linktype(ET_IPV6, pos);
            case ICMPV6 -> proto(58, Proto.IPV6, Dir.DEFAULT, pos);
            case AH -> proto(51, Proto.DEFAULT, Dir.DEFAULT, pos);
            case ESP -> proto(50, Proto.DEFAULT, Dir.DEFAULT, pos);
            case ISO -> linktype(SAP_ISONS, pos);
            case ESIS -> proto(0x82, Proto.ISO, Dir.DEFAULT, pos);
            case ISIS -> proto(0x83, Proto.ISO, Dir.DEFAULT, pos);
            case CLNP -> proto(0x81, Proto.ISO, Dir.DEFAULT, pos);
            case STP -> linktype(SAP_8021D, pos);
            case IPX -> linktype(SAP_IPX, pos);
            case NETBEUI -> linktype(SAP_NETBEUI, pos);
            case L1, L2, IIH, LSP, SNP, CSNP, PSNP -> isisSet(ISIS_SETS[p.ordinal() - Proto.L1.ordinal()], pos);
            case LINK -> throw err(pos, "link layer applied in wrong context");
            default -> throw err(pos, "'" + protoName(p) + "' is not a valid protocol type");
        };
    }

    private Pred isisSet(int[] types, int pos) {
        Pred b1 = or(proto(types[0], Proto.ISIS, Dir.DEFAULT, pos), proto(types[1], Proto.ISIS, Dir.DEFAULT, pos));
        for (int i = 2; i < types.length; i++) {
            b1 = or(proto(types[i], Proto.ISIS, Dir.DEFAULT, pos), b1);
        }
        return b1;
    }

    // ---- broadcast / multicast ----

    private Pred broadcast(Proto p, int pos) {
        switch (p) {
            case DEFAULT, LINK:
                if (link != DLT_EN10MB) {
                    throw err(pos, "not a broadcast link");
                }
                return ehostop(new byte[] {-1, -1, -1, -1, -1, -1}, Dir.DST);
            case IP: {
                long hostmask = ~opt.netmask() & 0xffffffffL;
                Pred b1 = mcmp(nl() + 16, 4, 0, hostmask);
                Pred b2 = mcmp(nl() + 16, 4, hostmask, hostmask);
                return and(linktype(ET_IP, pos), or(b1, b2));
            }
            default:
                throw err(pos, "only link-layer/IP broadcast filters supported");
        }
    }

    private Pred multicast(Proto p, int pos) {
        switch (p) {
            case DEFAULT, LINK:
                if (link != DLT_EN10MB) {
                    throw err(pos, "link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel");
                }
                return test(List.of(load(offLinkhdr, 1)), JSET, 1);
            case IP:
                return and(linktype(ET_IP, pos), cmpGe(nl() + 16, 1, 224));
            case IPV6:
                return and(linktype(ET_IPV6, pos), cmp(nl() + 24, 1, 255));
            default:
                throw err(pos, "only link-layer/IP multicast filters supported");
        }
    }

    // ---- encapsulations ----

    private Pred encap(FilterAst.Encap e) {
        int pos = e.pos();
        Long id = e.id();
        switch (e.kind()) {
            case "vlan": {
                if (labelDepth > 0) {
                    throw err(pos, "no VLAN match after MPLS");
                }
                if (link != DLT_EN10MB) {
                    throw err(pos, "no VLAN support for data link type " + opt.linkType());
                }
                Pred b0 = or(or(cmp(offLinktype, 2, 0x8100), cmp(offLinktype, 2, 0x88a8)), cmp(offLinktype, 2, 0x9100));
                if (id != null) {
                    if (id > 0x0fff) {
                        throw err(pos, "VLAN tag " + id + " greater than maximum 4095");
                    }
                    b0 = and(b0, mcmp(offLinktype + 2, 2, id, 0x0fff));
                }
                offLinkpl += 4;
                offLinktype += 4;
                return b0;
            }
            case "mpls": {
                Pred b0;
                if (labelDepth > 0) {
                    b0 = mcmp(nl() - 4 + 2, 1, 0, 0x01);
                } else if (link == DLT_EN10MB) {
                    b0 = linktype(0x8847, pos);
                } else {
                    throw err(pos, "no MPLS support for data link type " + opt.linkType());
                }
                if (id != null) {
                    if (id > 0xfffff) {
                        throw err(pos, "MPLS label " + id + " greater than maximum 1048575");
                    }
                    b0 = and(b0, mcmp(nl(), 4, id << 12, 0xfffff000L));
                }
                offNlNosnap += 4;
                offNl += 4;
                labelDepth++;
                return b0;
            }
            case "geneve":
                return geneve(id, pos);
            case "pppoed":
                return linktype(0x8863, pos);
            case "pppoes": {
                Pred b0 = linktype(0x8864, pos);
                if (id != null) {
                    if (id > 0xffff) {
                        throw err(pos, "PPPoE session number " + id + " greater than maximum 65535");
                    }
                    b0 = and(b0, mcmp(nl(), 4, id, 0xffff));
                }
                pppoes = true;
                offLinkhdr = offLinkpl + offNl + 6;
                offLinktype = offLinkhdr;
                offLinkpl = offLinkhdr + 2;
                offNl = 0;
                offNlNosnap = 0;
                return b0;
            }
            default:
                throw err(pos, "'" + e.kind() + "' is not supported by this compiler");
        }
    }

    private static int pos(FilterAst n) {
        return switch (n) {
            case FilterAst.Primitive p -> p.pos();
            case FilterAst.ProtoAbbrev p -> p.pos();
            case FilterAst.Cast c -> c.pos();
            case FilterAst.Encap e -> e.pos();
            case FilterAst.Llc l -> l.pos();
            case FilterAst.Relation r -> r.pos();
            default -> 0;
        };
    }

    private static final int GENEVE_PORT = 6081;

    /**
     * {@code geneve [vni]}: UDP to port 6081 with a version-0 Geneve header (and the VNI). libpcap
     * then loads the option length and protocol type to find the inner frame, so those bytes
     * must be captured too. Primitives after it would use the inner offsets: not supported.
     */
    private Pred geneve(Long vni, int pos) {
        if (vni != null && vni > 0xffffff) {
            throw err(pos, "Geneve VNI " + vni + " greater than maximum 16777215");
        }
        Pred v4 = and(port(GENEVE_PORT, GENEVE_PORT, IPPROTO_UDP, Dir.DST, false), genevePort(true, vni));
        v4 = and(v4, test(List.of(stmt(LDX | B | MSH, nl()), stmt(LD | H | IND, nl() + 8 + 2)), JGE, 0));
        Pred v6 = and(port6(GENEVE_PORT, GENEVE_PORT, IPPROTO_UDP, Dir.DST, false), genevePort(false, vni));
        v6 = and(v6, test(List.of(load(nl() + 40 + 8 + 2, 2)), JGE, 0));
        geneve = true;
        return or(v4, v6);
    }

    private Pred genevePort(boolean v4, Long vni) {
        int base = v4 ? 8 : nl() + 40 + 8;
        Pred ver = v4 ? tranMcmp(8, 1, 0, 0xc0) : mcmp(base, 1, 0, 0xc0);
        if (vni == null) {
            return ver;
        }
        return and(ver, v4 ? tranMcmp(12, 4, vni << 8, 0xffffff00L) : mcmp(base + 4, 4, vni << 8, 0xffffff00L));
    }

    private Pred tranMcmp(int off, int size, long v, long mask) {
        return test(List.of(stmt(LDX | B | MSH, nl()), stmt(LD | FilterCode.sizeCode(size) | IND, nl() + off),
                stmt(ALU | FilterCode.AND | FilterCode.K, (int) mask)), JEQ, v);
    }

    private Pred llc(FilterAst.Llc l) {
        if (link != DLT_EN10MB) {
            throw err(l.pos(), "'llc' not supported for this link type");
        }
        Pred base = and(notLlcLength(), not(cmp(offLinkpl, 2, 0xffff)));
        String s = l.subtype();
        if (s == null) {
            return base;
        }
        int ctl = offLinkpl + 2;
        switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "i":
                return and(base, not(test(List.of(load(ctl, 1)), JSET, 1)));
            case "s":
                return and(base, mcmp(ctl, 1, 1, 3));
            case "u":
                return and(base, mcmp(ctl, 1, 3, 3));
            default:
                break;
        }
        Integer sv = switch (s) {
            case "rr" -> 0x01;
            case "rnr" -> 0x05;
            case "rej" -> 0x09;
            default -> null;
        };
        if (sv != null) {
            return and(base, mcmp(ctl, 1, sv, 0x0f));
        }
        Integer uv = switch (s) {
            case "ui" -> 0x03;
            case "ua" -> 0x63;
            case "disc" -> 0x43;
            case "dm" -> 0x0f;
            case "sabme" -> 0x6f;
            case "test" -> 0xe3;
            case "xid" -> 0xaf;
            case "frmr" -> 0x87;
            default -> null;
        };
        if (uv != null) {
            return and(base, mcmp(ctl, 1, uv, 0xef));
        }
        throw err(l.pos(), "unknown LLC type name \"" + s + "\"");
    }

    // ---- arithmetic ----

    /** Code that leaves a value in A, and the protocol checks that must pass first. */
    private record Val(List<Stmt> stmts, Pred checks, Long constant) {}

    private Pred relation(FilterAst.Relation r) {
        int base = scratch;
        Val a = arith(r.left());
        Val b = arith(r.right());
        Pred t;
        if (b.constant() != null) {
            t = test(a.stmts(), r.jmp(), b.constant());
        } else {
            List<Stmt> s = new ArrayList<>(a.stmts());
            int m = alloc(r.pos());
            s.add(stmt(ST, m));
            s.addAll(b.stmts());
            s.add(stmt(MISC | TAX, 0));
            s.add(stmt(LD | MEM, m));
            t = new Test(s, r.jmp(), true, 0);
        }
        scratch = base;
        if (r.reversed()) {
            t = not(t);
        }
        return and(and(a.checks(), b.checks()), t);
    }

    private int alloc(int pos) {
        if (scratch >= FilterCode.MEMWORDS) {
            throw err(pos, "expression too complex (more than " + FilterCode.MEMWORDS + " scratch words)");
        }
        return scratch++;
    }

    private Val arith(Arith a) {
        return switch (a) {
            case FilterAst.Const c -> new Val(List.of(stmt(LD | IMM, (int) c.value())), null, c.value());
            case FilterAst.PacketLen l -> new Val(List.of(stmt(LD | W | FilterCode.LEN, 0)), null, null);
            case FilterAst.Negate n -> {
                Val v = arith(n.operand());
                yield new Val(append(v.stmts(), stmt(ALU | FilterCode.NEG, 0)), v.checks(), null);
            }
            case FilterAst.Binary b -> binary(b);
            case FilterAst.Load l -> loadAt(l);
        };
    }

    private static List<Stmt> append(List<Stmt> s, Stmt... more) {
        List<Stmt> out = new ArrayList<>(s);
        out.addAll(List.of(more));
        return out;
    }

    private Val binary(FilterAst.Binary b) {
        if (b.right() instanceof FilterAst.Const c) {
            if ((b.op() == FilterCode.DIV) && c.value() == 0) {
                throw err(b.pos(), "division by zero");
            }
            if ((b.op() == FilterCode.MOD) && c.value() == 0) {
                throw err(b.pos(), "modulus by zero");
            }
            if ((b.op() == FilterCode.LSH || b.op() == FilterCode.RSH) && c.value() > 31) {
                throw err(b.pos(), "shift by more than 31 bits");
            }
        }
        int base = scratch;
        Val l = arith(b.left());
        Val r = arith(b.right());
        List<Stmt> s;
        if (r.constant() != null) {
            s = append(l.stmts(), stmt(ALU | b.op() | FilterCode.K, (int) (long) r.constant()));
        } else {
            int m = alloc(b.pos());
            s = new ArrayList<>(l.stmts());
            s.add(stmt(ST, m));
            s.addAll(r.stmts());
            s.add(stmt(MISC | TAX, 0));
            s.add(stmt(LD | MEM, m));
            s.add(stmt(ALU | b.op() | FilterCode.X, 0));
        }
        scratch = base;
        return new Val(s, and(l.checks(), r.checks()), null);
    }

    private Val loadAt(FilterAst.Load l) {
        Val ix = arith(l.index());
        int size = FilterCode.sizeCode(l.size());
        switch (l.proto()) {
            case LINK:
                return new Val(indexed(ix, offLinkhdr, size), ix.checks(), null);
            case IP, ARP, RARP, ATALK, DECNET, SCA, LAT, MOPRC, MOPDL, IPV6: {
                List<Stmt> s = indexed(ix, nl(), size);
                return new Val(s, and(ix.checks(), protoAbbrev(l.proto(), l.pos())), null);
            }
            case TCP, UDP, SCTP, ICMP, IGMP, IGRP, PIM, VRRP, CARP: {
                List<Stmt> s;
                if (ix.constant() != null && ix.constant() + nl() <= 0xffffffffL) {
                    s = List.of(stmt(LDX | B | MSH, nl()), stmt(LD | size | IND, (int) (ix.constant() + nl())));
                } else {
                    s = append(ix.stmts(), stmt(LDX | B | MSH, nl()), stmt(ALU | FilterCode.ADD | FilterCode.X, 0),
                            stmt(MISC | TAX, 0), stmt(LD | size | IND, nl()));
                }
                Pred chk = and(protoAbbrev(l.proto(), l.pos()), ipfrag());
                chk = and(ix.checks(), chk);
                chk = and(protoAbbrev(Proto.IP, l.pos()), chk);
                return new Val(s, chk, null);
            }
            case ICMPV6: {
                List<Stmt> s = indexed(ix, nl() + 40, size);
                Pred chk = and(ix.checks(), protoAbbrev(Proto.IPV6, l.pos()));
                chk = and(chk, cmp(nl() + 6, 1, 58));
                return new Val(s, chk, null);
            }
            default:
                throw err(l.pos(), "unsupported index operation on '" + protoName(l.proto()) + "'");
        }
    }

    /** Load {@code [index + off]}: an absolute load for a constant index, else via X. */
    private static List<Stmt> indexed(Val ix, int off, int size) {
        if (ix.constant() != null && ix.constant() + off <= 0xffffffffL) {
            return List.of(stmt(LD | size | ABS, (int) (ix.constant() + off)));
        }
        return append(ix.stmts(), stmt(MISC | TAX, 0), stmt(LD | size | IND, off));
    }
}
