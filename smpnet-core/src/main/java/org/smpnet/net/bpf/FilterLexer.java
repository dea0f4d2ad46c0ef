package org.smpnet.net.bpf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a pcap-filter(7) expression into tokens the way libpcap's scanner does: the longest
 * match wins, and on a tie keywords beat numbers, numbers beat dotted hosts, then MAC
 * addresses, IPv6 addresses, named constants ({@code tcp-syn}) and finally plain names. So
 * {@code 7-7} and {@code len-1} are names (as in libpcap), {@code \tcp} is the name "tcp".
 *
 * <p>Locking: none; a lexer is a pure function of its input.
 */
final class FilterLexer {
    private FilterLexer() {}

    /** Token kinds. */
    enum Kind { NUM, HID, HID6, EID, ID, KW, OP, EOF }

    /** Keywords of the grammar (libpcap's scanner keywords, with synonyms folded). */
    enum Kw {
        DST, SRC, LINK, ARP, RARP, IP, SCTP, TCP, UDP, ICMP, IGMP, IGRP, PIM, VRRP, CARP, RADIO,
        IPV6, ICMPV6, AH, ESP, ATALK, AARP, DECNET, LAT, SCA, MOPRC, MOPDL, ISO, ESIS, ISIS, L1,
        L2, IIH, LSP, SNP, CSNP, PSNP, CLNP, STP, IPX, NETBEUI, HOST, NET, MASK, PORT, PORTRANGE,
        PROTO, PROTOCHAIN, GATEWAY, TYPE, SUBTYPE, DIR, ADDR1, ADDR2, ADDR3, ADDR4, RA, TA, LESS,
        GREATER, BYTE, BROADCAST, MULTICAST, AND, OR, NOT, LEN, INBOUND, OUTBOUND, IFINDEX, VLAN,
        MPLS, PPPOED, PPPOES, GENEVE, LANE, LLC, METAC, BCC, OAM, OAMF4, OAMF4EC, OAMF4SC, SC,
        ILMIC, VPI, VCI, CONNECTMSG, METACONNECT, ON, RNR, REASON, RSET, SRNR, ACTION, FISU, LSSU,
        LSU, MSU, HFISU, HLSSU, HMSU, SIO, OPC, DPC, SLS, HSIO, HOPC, HDPC, HSLS
    }

    /**
     * One token. {@code text} is the source text (for ID: without a leading backslash),
     * {@code num} the value of a NUM, {@code kw} the keyword of a KW.
     */
    record Tok(Kind kind, String text, int pos, long num, Kw kw) {
        boolean is(Kw k) {
            return kind == Kind.KW && kw == k;
        }

        boolean isOp(String op) {
            return kind == Kind.OP && text.equals(op);
        }

        String describe() {
            return kind == Kind.EOF ? "end of expression" : "'" + text + "'";
        }
    }

    private static final Map<String, Kw> KEYWORDS = new HashMap<>();
    private static final Map<String, Long> CONSTANTS = new HashMap<>();

    static {
        for (Kw k : Kw.values()) {
            KEYWORDS.put(k.name().toLowerCase(java.util.Locale.ROOT), k);
        }
        KEYWORDS.remove("ipv6");
        KEYWORDS.remove("icmpv6");
        String[][] syn = {
            {"ether", "LINK"}, {"ppp", "LINK"}, {"slip", "LINK"}, {"fddi", "LINK"}, {"tr", "LINK"},
            {"wlan", "LINK"}, {"ip6", "IPV6"}, {"icmp6", "ICMPV6"}, {"es-is", "ESIS"},
            {"is-is", "ISIS"}, {"direction", "DIR"}, {"address1", "ADDR1"}, {"address2", "ADDR2"},
            {"address3", "ADDR3"}, {"address4", "ADDR4"}, {"length", "LEN"}, {"ifname", "ON"},
            {"rulenum", "RNR"}, {"ruleset", "RSET"}, {"subrulenum", "SRNR"}, {"&&", "AND"},
            {"||", "OR"},
        };
        for (String[] s : syn) {
            KEYWORDS.put(s[0], Kw.valueOf(s[1]));
        }
        String[] icmp = {"echoreply", "0", "unreach", "3", "sourcequench", "4", "redirect", "5",
            "echo", "8", "routeradvert", "9", "routersolicit", "10", "timxceed", "11",
            "paramprob", "12", "tstamp", "13", "tstampreply", "14", "ireq", "15", "ireqreply", "16",
            "maskreq", "17", "maskreply", "18"};
        for (int i = 0; i < icmp.length; i += 2) {
            CONSTANTS.put("icmp-" + icmp[i], Long.parseLong(icmp[i + 1]));
        }
        String[] icmp6 = {"destinationunreach", "1", "packettoobig", "2", "timeexceeded", "3",
            "parameterproblem", "4", "echo", "128", "echoreply", "129",
            "multicastlistenerquery", "130", "multicastlistenerreportv1", "131",
            "multicastlistenerdone", "132", "routersolicit", "133", "routeradvert", "134",
            "neighborsolicit", "135", "neighboradvert", "136", "redirect", "137",
            "routerrenum", "138", "nodeinformationquery", "139", "nodeinformationresponse", "140",
            "ineighbordiscoverysolicit", "141", "ineighbordiscoveryadvert", "142",
            "multicastlistenerreportv2", "143", "homeagentdiscoveryrequest", "144",
            "homeagentdiscoveryreply", "145", "mobileprefixsolicit", "146",
            "mobileprefixadvert", "147", "certpathsolicit", "148", "certpathadvert", "149",
            "multicastrouteradvert", "151", "multicastroutersolicit", "152",
            "multicastrouterterm", "153"};
        for (int i = 0; i < icmp6.length; i += 2) {
            CONSTANTS.put("icmp6-" + icmp6[i], Long.parseLong(icmp6[i + 1]));
        }
        String[] tcp = {"fin", "1", "syn", "2", "rst", "4", "push", "8", "ack", "16", "urg", "32",
            "ece", "64", "cwr", "128"};
        for (int i = 0; i < tcp.length; i += 2) {
            CONSTANTS.put("tcp-" + tcp[i], Long.parseLong(tcp[i + 1]));
        }
        CONSTANTS.put("icmptype", 0L);
        CONSTANTS.put("icmpcode", 1L);
        CONSTANTS.put("icmp6type", 0L);
        CONSTANTS.put("icmp6code", 1L);
        CONSTANTS.put("tcpflags", 13L);
    }

    private static final String N = "(?:0[xX][0-9A-Fa-f]+|[0-9]+)";
    private static final String B = "[0-9A-Fa-f][0-9A-Fa-f]?";
    private static final String B2 = "[0-9A-Fa-f]{4}";
    private static final Pattern WORD = Pattern.compile("[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?");
    private static final Pattern NUM = Pattern.compile(N);
    private static final Pattern HID = Pattern.compile(N + "(?:\\." + N + "){1,3}");
    private static final Pattern[] MAC = {
        Pattern.compile(B + "(?::" + B + "){5}"), Pattern.compile(B + "(?:-" + B + "){5}"),
        Pattern.compile(B + "(?:\\." + B + "){5}"), Pattern.compile(B2 + "\\." + B2 + "\\." + B2),
        Pattern.compile("[0-9A-Fa-f]{12}"),
    };
    private static final Pattern BOGUS = Pattern.compile(B + ":+(?:" + B + ":+)+");
    private static final Pattern V6RUN = Pattern.compile("[0-9A-Fa-f:.]+");
    private static final String[] OPS2 = {">=", "<=", "!=", "==", "<<", ">>", "&&", "||"};
    private static final String OPS1 = "+-*/%:[]!<>()&|^=";

    /** Tokenises {@code s}; the list ends with an EOF token. */
    static List<Tok> lex(String s) {
        List<Tok> out = new ArrayList<>();
        int i = 0;
        while (true) {
            while (i < s.length() && " \r\n\t".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            if (i >= s.length()) {
                out.add(new Tok(Kind.EOF, "", i, 0, null));
                return out;
            }
            Tok t = next(s, i);
            out.add(t);
            i += t.kind == Kind.ID && s.charAt(i) == '\\' ? t.text.length() + 1 : t.text.length();
        }
    }

    private static Tok next(String s, int i) {
        for (String op : OPS2) {
            if (s.startsWith(op, i)) {
                Kw k = KEYWORDS.get(op);
                return k != null ? new Tok(Kind.KW, op, i, 0, k) : new Tok(Kind.OP, op, i, 0, null);
            }
        }
        char c = s.charAt(i);
        if (c == '\\') {
            int j = i + 1;
            while (j < s.length() && " !()\n\t".indexOf(s.charAt(j)) < 0) {
                j++;
            }
            if (j == i + 1) {
                throw FilterSyntaxException.syntax(i, "expected a name after '\\'");
            }
            return new Tok(Kind.ID, s.substring(i + 1, j), i, 0, null);
        }
        if (OPS1.indexOf(c) >= 0) {
            return new Tok(Kind.OP, String.valueOf(c), i, 0, null);
        }
        String word = match(WORD, s, i);
        int w = word.length();
        int n = match(NUM, s, i).length();
        int h = match(HID, s, i).length();
        int m = 0;
        for (Pattern p : MAC) {
            m = Math.max(m, match(p, s, i).length());
        }
        int v = v6Length(s, i);
        int b = match(BOGUS, s, i).length();
        boolean kw = w > 0 && KEYWORDS.containsKey(word);
        boolean cst = w > 0 && CONSTANTS.containsKey(word);
        int best = Math.max(Math.max(Math.max(w, n), Math.max(h, m)), Math.max(v, b));
        if (best == 0) {
            throw FilterSyntaxException.syntax(i, "unexpected character '" + c + "'");
        }
        if (kw && w == best) {
            return new Tok(Kind.KW, word, i, 0, KEYWORDS.get(word));
        }
        if (n == best) {
            String t = s.substring(i, i + n);
            return new Tok(Kind.NUM, t, i, parseNumber(t, i), null);
        }
        if (h == best) {
            return new Tok(Kind.HID, s.substring(i, i + h), i, 0, null);
        }
        if (m == best) {
            return new Tok(Kind.EID, s.substring(i, i + m), i, 0, null);
        }
        if (v == best) {
            return new Tok(Kind.HID6, s.substring(i, i + v), i, 0, null);
        }
        if (b == best) {
            throw FilterSyntaxException.syntax(i, "bogus ethernet address '" + s.substring(i, i + b) + "'");
        }
        if (cst) {
            return new Tok(Kind.NUM, word, i, CONSTANTS.get(word), null);
        }
        return new Tok(Kind.ID, word, i, 0, null);
    }

    private static String match(Pattern p, String s, int i) {
        Matcher mt = p.matcher(s);
        mt.region(i, s.length());
        return mt.lookingAt() ? mt.group() : "";
    }

    /** Length of the longest IPv6 literal starting at {@code i}, or 0. */
    private static int v6Length(String s, int i) {
        String run = match(V6RUN, s, i);
        for (int len = run.length(); len >= 2; len--) {
            String cand = run.substring(0, len);
            if (cand.indexOf(':') >= 0 && parseIpv6(cand) != null) {
                return len;
            }
        }
        return 0;
    }

    /** Parses an IPv4 number in C's unsigned 32-bit form: decimal, 0x hex or 0 octal. */
    static long parseNumber(String t, int pos) {
        long v = 0;
        int radix = 10;
        int start = 0;
        if (t.length() > 2 && (t.startsWith("0x") || t.startsWith("0X"))) {
            radix = 16;
            start = 2;
        } else if (t.length() > 1 && t.charAt(0) == '0') {
            radix = 8;
            start = 1;
        }
        for (int j = start; j < t.length(); j++) {
            int d = Character.digit(t.charAt(j), radix);
            if (d < 0) {
                throw FilterSyntaxException.syntax(pos, "number " + t + " contains non-octal digit");
            }
            v = v * radix + d;
            if (v > 0xffffffffL) {
                throw FilterSyntaxException.syntax(pos, "number " + t + " overflows 32 bits");
            }
        }
        return v;
    }

    /** Parses a numeric IPv6 address into 16 bytes, or returns null. */
    static byte[] parseIpv6(String a) {
        int dc = a.indexOf("::");
        if (dc >= 0 && a.indexOf("::", dc + 1) >= 0) {
            return null;
        }
        List<Integer> head = new ArrayList<>();
        List<Integer> tail = new ArrayList<>();
        if (dc >= 0) {
            if (!groups(a.substring(0, dc), head, false) || !groups(a.substring(dc + 2), tail, true)) {
                return null;
            }
            if (head.size() + tail.size() > 7) {
                return null;
            }
        } else {
            if (!groups(a, head, true) || head.size() != 8) {
                return null;
            }
        }
        byte[] out = new byte[16];
        for (int k = 0; k < head.size(); k++) {
            out[2 * k] = (byte) (head.get(k) >> 8);
            out[2 * k + 1] = head.get(k).byteValue();
        }
        for (int k = 0; k < tail.size(); k++) {
            int g = 8 - tail.size() + k;
            out[2 * g] = (byte) (tail.get(k) >> 8);
            out[2 * g + 1] = tail.get(k).byteValue();
        }
        return out;
    }

    private static boolean groups(String part, List<Integer> out, boolean v4Allowed) {
        if (part.isEmpty()) {
            return true;
        }
        String[] g = part.split(":", -1);
        for (int k = 0; k < g.length; k++) {
            String x = g[k];
            if (k == g.length - 1 && v4Allowed && x.indexOf('.') >= 0) {
                String[] q = x.split("\\.", -1);
                if (q.length != 4) {
                    return false;
                }
                int[] o = new int[4];
                for (int j = 0; j < 4; j++) {
                    if (!q[j].matches("[0-9]{1,3}") || Integer.parseInt(q[j]) > 255) {
                        return false;
                    }
                    o[j] = Integer.parseInt(q[j]);
                }
                out.add(o[0] << 8 | o[1]);
                out.add(o[2] << 8 | o[3]);
                continue;
            }
            if (!x.matches("[0-9A-Fa-f]{1,4}")) {
                return false;
            }
            out.add(Integer.parseInt(x, 16));
        }
        return true;
    }
}
