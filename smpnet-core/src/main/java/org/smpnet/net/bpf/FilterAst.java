package org.smpnet.net.bpf;

/**
 * Syntax tree of a pcap-filter(7) expression, after the parser has applied libpcap's
 * qualifier rules (a bare id after {@code and}/{@code or} repeats the previous primitive's
 * qualifiers). Nodes keep the source position of their first token for error messages.
 *
 * <p>Locking: immutable records; safe to share.
 */
sealed interface FilterAst {

    /** Protocol qualifier (libpcap's Q_* protocol values). */
    enum Proto {
        DEFAULT, LINK, IP, ARP, RARP, SCTP, TCP, UDP, ICMP, IGMP, IGRP, PIM, VRRP, CARP, IPV6,
        ICMPV6, AH, ESP, ATALK, AARP, DECNET, LAT, SCA, MOPRC, MOPDL, ISO, ESIS, ISIS, CLNP, STP,
        IPX, NETBEUI, RADIO, L1, L2, IIH, LSP, SNP, CSNP, PSNP, UNDEF
    }

    /** Direction qualifier. */
    enum Dir { DEFAULT, SRC, DST, OR, AND, UNDEF }

    /** Address-type qualifier. */
    enum Addr { DEFAULT, HOST, NET, PORT, PORTRANGE, PROTO, PROTOCHAIN, GATEWAY, UNDEF }

    /** The three qualifiers of a primitive. {@link #ERR} marks "no qualifiers to repeat". */
    record Qual(Proto proto, Dir dir, Addr addr) {
        static final Qual ERR = new Qual(Proto.UNDEF, Dir.UNDEF, Addr.UNDEF);
        static final Qual DEFAULT = new Qual(Proto.DEFAULT, Dir.DEFAULT, Addr.DEFAULT);
    }

    record And(FilterAst left, FilterAst right) implements FilterAst {}

    record Or(FilterAst left, FilterAst right) implements FilterAst {}

    record Not(FilterAst operand) implements FilterAst {}

    /** A qualified value: {@code tcp dst port 80}, {@code net 10.0.0.0/8}, {@code ether host M}. */
    record Primitive(Qual qual, Value value, int pos) implements FilterAst {}

    /** A protocol name used alone: {@code tcp}, {@code ip6}, {@code arp}. */
    record ProtoAbbrev(Proto proto, int pos) implements FilterAst {}

    /** {@code [proto] broadcast} or {@code [proto] multicast}. */
    record Cast(Proto proto, boolean multicast, int pos) implements FilterAst {}

    /** {@code less N} (packet length at most N) or {@code greater N} (at least N). */
    record Length(boolean greater, long n, int pos) implements FilterAst {}

    /** {@code vlan [id]}, {@code mpls [label]}, {@code pppoed}, {@code pppoes [session]}. */
    record Encap(String kind, Long id, int pos) implements FilterAst {}

    /** {@code llc [i|s|u|subtype]}; subtype null for bare {@code llc}. */
    record Llc(String subtype, int pos) implements FilterAst {}

    /**
     * A relation {@code left op right}; {@code jmp} is a BPF jump (JEQ, JGT, JGE) and
     * {@code reversed} negates it ({@code !=}, {@code <}, {@code <=}).
     */
    record Relation(int jmp, boolean reversed, Arith left, Arith right, int pos) implements FilterAst {}

    /** The value part of a primitive. */
    sealed interface Value {}

    /** A number; {@code text} is null for plain numbers. */
    record Num(long n, int pos) implements Value {}

    /** A dotted IPv4 address or network with 1 to 4 parts ({@code 10}, {@code 10.1.2.3}). */
    record Ipv4(String text, int pos) implements Value {}

    /** {@code a.b.c.d/len} or {@code a.b.c.d mask m.m.m.m}; mask text null for the /len form. */
    record Ipv4Masked(String addr, String mask, long len, int pos) implements Value {}

    /** An IPv6 address with a prefix length (128 for a plain address). */
    record Ipv6(String text, byte[] addr, long len, int pos) implements Value {}

    /** An Ethernet address. */
    record Mac(byte[] addr, int pos) implements Value {}

    /** A name (service, protocol, host name). */
    record Name(String name, int pos) implements Value {}

    /** Arithmetic expression (unsigned 32-bit). */
    sealed interface Arith {}

    record Const(long value) implements Arith {}

    record PacketLen() implements Arith {}

    /** {@code proto[index:size]}. */
    record Load(Proto proto, Arith index, int size, int pos) implements Arith {}

    /** Binary operation; {@code op} is the BPF ALU op code (ADD, SUB, ...). */
    record Binary(int op, Arith left, Arith right, int pos) implements Arith {}

    record Negate(Arith operand) implements Arith {}
}
