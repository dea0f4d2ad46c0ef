#!/usr/bin/env python3
"""Records libpcap's answers for the filter compiler's differential test (R-BPF-3).

Builds three small captures (Ethernet, raw IP, BSD loopback) from a fixed subset of the
tcpdump test captures plus crafted packets, each packet stamped with its index as the
timestamp, then asks tcpdump which packets every expression selects. Output (test resources):
filter-oracle-{en10mb,raw,null}.pcap and filter-oracle.txt, one line per (link, expression):
LINK <tab> count|ERR <tab> index ranges <tab> expression.
Needs tcpdump (apt-get install tcpdump). Usage: filter-oracle.py CAPTURE_DIR OUT_DIR
"""
import os, struct, subprocess, sys, tempfile

CAPS = """802.1ad_QinQ.pcap 802.1D_spanning_tree.pcap DECnet_Phone.pcap DTP.pcap EIGRP_ipv6.pcap
HSRP_election.pcap IGMP_V2.pcap ISIS_level1_adjacency.pcap ISIS_level2_adjacency.pcap
ISIS_external_lsp.pcap LACP.pcap LLDP_and_CDP.pcap OSPFv3_with_AH.pcap PIM-DM_pruning.pcap
aarp-heapoverflow-1.pcap arp-too-long-tha.pcap ipx.pcap ipx-invalid-length.pcap dns_tcp.pcap
dns_udp.pcap dhcp-rfc5859.pcap dhcpv6-ia-na.pcap icmpv6.pcap icmp-rfc8335.pcap ip6_frag_asan.pcap
ipv6-routing-header.pcap ipv4_invalid_hdr_length.pcap mpls-label-heapoverflow.pcap pppoe.pcap
pppoes.pcap vrrp.pcap geneve.pcap vxlan.pcap tcp_eight_lowest_weight_flags_set.pcap print-flags.pcap
ssh.pcap tftp.pcap syslog_udp.pcap loopback.pcap msnlb.pcap macsec-snap.pcap slow-ossp.pcap
rpvstp-trunk-native-vid5.pcap mptcp-fclose.pcap dccp_partial_csum_v6_simple.pcap esp_truncated.pcap
isoclns-heapoverflow.pcap heapoverflow-tcp_print.pcap eapon1.pcap decnet-shorthdr-oobr.pcap
OSPFv2_Capture_FINAL.pcapng ripv1v2.pcap arp-oobr.pcap icmpv6-rfc7112.pcap ipv6_frag6_negative_len.pcap""".split()
PER_FILE = 40


def read_pcap(path):
    d = open(path, 'rb').read()
    magic = struct.unpack('<I', d[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    link = struct.unpack(e + 'I', d[20:24])[0]
    pkts, off = [], 24
    while off + 16 <= len(d):
        _, _, incl, orig = struct.unpack(e + 'IIII', d[off:off + 16])
        if off + 16 + incl > len(d):
            break
        pkts.append((d[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return link, pkts


def write_pcap(path, link, pkts):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, link))
        for i, (data, orig) in enumerate(pkts):
            f.write(struct.pack('<IIII', i, 0, len(data), orig))
            f.write(data)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(src, dst, proto, payload, frag=0, mf=0, opts=b'', ident=1):
    ihl = 5 + len(opts) // 4
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, ihl * 4 + len(payload), ident,
                    (mf << 13) | frag, 64, proto, 0, bytes(src), bytes(dst)) + opts
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload


def ip6(src, dst, nh, payload):
    return struct.pack('!IHBB16s16s', 0x60000000, len(payload), nh, 64, bytes(src), bytes(dst)) + payload


def tcp(sp, dp, flags=0x02):
    return struct.pack('!HHIIBBHHH', sp, dp, 1, 0, 0x50, flags, 8192, 0, 0)


def udp(sp, dp, data=b'hello'):
    return struct.pack('!HHHH', sp, dp, 8 + len(data), 0) + data


def sctp(sp, dp):
    return struct.pack('!HHII', sp, dp, 0, 0) + b'\x01\x00\x00\x10' + bytes(12)


def eth(dst, src, et, payload):
    return bytes(dst) + bytes(src) + struct.pack('!H', et) + payload


def a4(s):
    return [int(x) for x in s.split('.')]


def a6(last, pfx=(0x20, 0x01, 0x0d, 0xb8)):
    return list(pfx) + [0] * 11 + [last]


M1 = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]
M2 = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]
BC = [0xff] * 6
MC = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]
AB = [0xab, 0xcd, 0xef, 0x00, 0x00, 0x02]
AB3 = [0xab, 0xcd, 0xef, 0x00, 0x00, 0x03]


def synthetic():
    """Crafted frames for the cases the corpus captures do not cover well."""
    P = []
    A, B, C = a4('10.0.0.1'), a4('10.0.0.2'), a4('192.168.1.7')
    ipt = lambda *a, **k: eth(M2, M1, 0x0800, ip4(*a, **k))
    for sp, dp in [(80, 1234), (1234, 80), (25, 53), (53, 25), (7, 7), (1023, 1), (443, 8080), (22, 1024), (67, 68), (5672, 99)]:
        P.append(ipt(A, B, 6, tcp(sp, dp)))
        P.append(ipt(B, A, 17, udp(sp, dp)))
        P.append(ipt(C, B, 132, sctp(sp, dp)))
        P.append(eth(M2, M1, 0x86dd, ip6(a6(1), a6(2), 6, tcp(sp, dp))))
        P.append(eth(M2, M1, 0x86dd, ip6(a6(2), a6(1), 17, udp(sp, dp))))
        P.append(eth(M2, M1, 0x86dd, ip6(a6(3), a6(2), 132, sctp(sp, dp))))
    for flags in [0x01, 0x02, 0x12, 0x10, 0x04, 0x18, 0x29, 0xc2, 0xff]:
        P.append(ipt(A, B, 6, tcp(80, 5555, flags)))
    # fragments: first (MF), middle, last; a non-first fragment whose bytes look like port 80
    P.append(ipt(A, B, 6, tcp(80, 1), mf=1))
    P.append(ipt(A, B, 6, tcp(80, 1), frag=10, mf=1))
    P.append(ipt(A, B, 17, udp(53, 53), frag=185))
    P.append(ipt(A, B, 1, b'\x08\x00\x00\x00' + bytes(8), frag=3))
    # IPv4 with options (IHL 6 and 8)
    P.append(ipt(A, B, 6, tcp(80, 9), opts=b'\x01\x01\x01\x00'))
    P.append(ipt(A, B, 17, udp(9, 53), opts=b'\x94\x04\x00\x00' + bytes(8)))
    # IPv6 fragment header then TCP; hop-by-hop then UDP (libpcap does not walk it)
    P.append(eth(M2, M1, 0x86dd, ip6(a6(1), a6(2), 44, struct.pack('!BBHI', 6, 0, 0, 7) + tcp(80, 2))))
    P.append(eth(M2, M1, 0x86dd, ip6(a6(1), a6(2), 0, struct.pack('!BB6s', 17, 0, bytes(6)) + udp(53, 2))))
    # ICMP types and ICMPv6
    for t in [0, 3, 8, 11, 13, 17]:
        P.append(ipt(A, B, 1, struct.pack('!BBHI', t, 0, 0, 0) + bytes(8)))
    for t in [1, 128, 129, 135, 136]:
        P.append(eth(M2, M1, 0x86dd, ip6(a6(1), a6(2), 58, struct.pack('!BBHI', t, 0, 0, 0))))
    # broadcast / multicast, IP broadcast and multicast destinations
    P.append(eth(BC, M1, 0x0800, ip4(A, [255] * 4, 17, udp(68, 67))))
    P.append(eth(BC, M1, 0x0800, ip4(A, [0] * 4, 17, udp(68, 67))))
    P.append(eth(MC, M1, 0x0800, ip4(A, a4('224.0.0.1'), 2, bytes(8))))
    P.append(eth(MC, M1, 0x0800, ip4(A, a4('239.1.2.3'), 17, udp(5000, 5000))))
    P.append(eth([0x33, 0x33, 0, 0, 0, 1], M1, 0x86dd, ip6(a6(1), [0xff, 2] + [0] * 13 + [1], 58, bytes(8))))
    P.append(eth(AB3, AB, 0x0800, ip4(A, B, 6, tcp(1, 2))))
    P.append(eth(AB, AB3, 0x0800, ip4(B, A, 6, tcp(2, 1))))
    P.append(eth(AB, AB, 0x0800, ip4(B, B, 6, tcp(2, 2))))
    # ARP / RARP with 1.2.3.4
    arp = lambda op, spa, tpa: struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, op, bytes(M1), bytes(spa), bytes(6), bytes(tpa))
    P.append(eth(BC, M1, 0x0806, arp(1, a4('1.2.3.4'), a4('10.0.0.9'))))
    P.append(eth(BC, M1, 0x0806, arp(2, a4('10.0.0.9'), a4('1.2.3.4'))))
    P.append(eth(BC, M1, 0x8035, arp(3, a4('1.2.3.4'), a4('1.2.3.4'))))
    P.append(eth(BC, M1, 0x8035, arp(4, a4('9.9.9.9'), a4('1.2.3.4'))))
    # hosts and nets
    for s, d in [('1.2.3.4', '10.1.2.3'), ('10.200.0.1', '172.16.5.5'), ('192.168.1.1', '1.2.3.4'), ('0.0.0.10', '10.0.0.0')]:
        P.append(ipt(a4(s), a4(d), 17, udp(1000, 2000)))
    # VLAN: single tag (100, 4095), QinQ 88a8 + 8100, 9100, and IP behind them
    vl = lambda tpid, vid, et, pl: struct.pack('!HH', vid, et) + pl
    P.append(eth(M2, M1, 0x8100, vl(0, 100, 0x0800, ip4(A, B, 6, tcp(80, 3)))))
    P.append(eth(M2, M1, 0x8100, vl(0, 4095, 0x86dd, ip6(a6(1), a6(2), 17, udp(53, 3)))))
    P.append(eth(M2, M1, 0x88a8, vl(0, 200, 0x8100, vl(0, 100, 0x0800, ip4(a4('1.2.3.4'), B, 17, udp(53, 7))))))
    P.append(eth(M2, M1, 0x9100, vl(0, 0x2064, 0x0806, arp(1, a4('1.2.3.4'), B))))
    P.append(eth(M2, M1, 0x8100, vl(0, 0x3000 | 7, 0x8100, vl(0, 4095, 0x0800, ip4(A, B, 1, bytes(8))))))
    # MPLS: one label 100 (bottom) with IPv4, two labels with IPv6
    P.append(eth(M2, M1, 0x8847, struct.pack('!I', (100 << 12) | 0x100 | 64) + ip4(A, B, 6, tcp(80, 4))))
    P.append(eth(M2, M1, 0x8847, struct.pack('!II', (100 << 12) | 64, (1024 << 12) | 0x100 | 64) + ip6(a6(1), a6(2), 6, tcp(5, 80))))
    # PPPoE discovery and session (PPP IPv4)
    P.append(eth(BC, M1, 0x8863, struct.pack('!BBHH', 0x11, 0x09, 0, 0)))
    P.append(eth(M2, M1, 0x8864, struct.pack('!BBHHH', 0x11, 0, 0x1234, 22, 0x0021) + ip4(A, B, 6, tcp(80, 5))))
    # 802.3 / LLC frames: raw IPX, LLC IPX, SNAP IPX, SNAP AppleTalk and AARP, STP, ISO (IS-IS, ES-IS), NetBEUI
    l8023 = lambda pl: eth(M2, M1, len(pl), pl)
    P.append(l8023(b'\xff\xff' + bytes(28)))
    P.append(l8023(b'\xe0\xe0\x03' + bytes(30)))
    P.append(l8023(b'\xaa\xaa\x03\x00\x00\x00\x81\x37' + bytes(30)))
    P.append(l8023(b'\xaa\xaa\x03\x08\x00\x07\x80\x9b' + bytes(30)))
    P.append(l8023(b'\xaa\xaa\x03\x00\x00\x00\x80\xf3' + bytes(30)))
    P.append(l8023(b'\x42\x42\x03' + bytes(35)))
    for pdu in [0x0f, 0x10, 0x11, 0x12, 0x14, 0x18, 0x19, 0x1a, 0x1b]:
        P.append(l8023(b'\xfe\xfe\x03\x83\x1b\x01\x00' + bytes([pdu]) + bytes(30)))
    P.append(l8023(b'\xfe\xfe\x03\x82' + bytes(30)))
    P.append(l8023(b'\xfe\xfe\x03\x81' + bytes(30)))
    P.append(l8023(b'\xf0\xf0\x03' + bytes(30)))
    for ctl in [0x00, 0x01, 0x05, 0x09, 0x03, 0x13, 0x0f, 0x6f, 0xaf, 0xe3, 0x43, 0x63, 0x87]:
        P.append(l8023(b'\x06\x06' + bytes([ctl]) + bytes(30)))
    # odd ethertypes: 1501, 0xffff, loopback 0x9000, DECnet, LAT, MOP, 0x5dc (length 1500)
    for et in [0x05dd, 0xffff, 0x9000, 0x6003, 0x6004, 0x6002, 0x6001, 0x6007, 0x05dc]:
        P.append(eth(M2, M1, et, bytes(46)))
    # carp/vrrp, igmp, pim, ah, esp, igrp
    for proto in [112, 2, 103, 51, 50, 9, 4, 47]:
        P.append(ipt(A, B, proto, bytes(24)))
    P.append(eth(M2, M1, 0x86dd, ip6(a6(1), a6(2), 103, bytes(24))))
    # bytes at libpcap's test offsets: link[5]=0x12, link[10:4]=0x12345678, ip/ip6/tcp/sctp/arp [0xab]=0xcd
    P.append(eth([0, 0, 0, 0, 0, 0x12], [0, 0, 0, 0, 0x12, 0x34], 0x5678, bytes(46)))
    big = bytearray(ip4(A, B, 6, tcp(80, 81) + bytes(200)))
    big[0xab] = 0xcd
    big[20 + 0xab] = 0xcd
    P.append(eth(M2, M1, 0x0800, bytes(big)))
    big6 = bytearray(ip6(a6(1), a6(2), 132, sctp(1, 2) + bytes(200)))
    big6[0xab] = 0xcd
    P.append(eth(M2, M1, 0x86dd, bytes(big6)))
    big6 = bytearray(ip6(a6(1), a6(2), 58, bytes(220)))
    big6[40 + 0xab] = 0xcd
    P.append(eth(M2, M1, 0x86dd, bytes(big6)))
    bigs = bytearray(ip4(A, B, 132, sctp(1, 2) + bytes(200)))
    bigs[20 + 0xab] = 0xcd
    P.append(eth(M2, M1, 0x0800, bytes(bigs)))
    biga = bytearray(arp(1, A, B) + bytes(200))
    biga[0xab] = 0xcd
    P.append(eth(BC, M1, 0x0806, bytes(biga)))
    P.append(eth(M2, M1, 0x0800, ip4(A, B, 1, bytes([8, 0]) + bytes(202))))
    pkts = [(p, len(p)) for p in P]
    # truncated copies (caplen < wirelen) of a few: loads past the capture reject the packet
    for p in [P[0], P[3], P[7], P[-10], P[-20]]:
        for cut in (14, 20, 30, 40, 54):
            pkts.append((p[:cut], len(p)))
    # short runt frames
    pkts.append((bytes(M2 + M1) + b'\x08', 60))
    pkts.append((bytes(M2), 60))
    return pkts


def to_raw(pkts):
    out = []
    for d, orig in pkts:
        if len(d) >= 15 and d[12:14] in (b'\x08\x00', b'\x86\xdd'):
            out.append((d[14:], orig - 14))
    out.append((b'\x45', 20))
    out.append((b'\x70' + bytes(30), 31))
    return out


def to_null(raw):
    out = []
    for i, (d, orig) in enumerate(raw):
        v = d[0] >> 4 if d else 0
        fam = 2 if v == 4 else 10 if v == 6 else 7
        if i % 7 == 3:
            fam = {2: 2, 10: 24, 7: 30}[fam]
        hdr = struct.pack('<I', fam) if i % 11 != 5 else struct.pack('>I', fam)
        out.append((hdr + d, orig + 4))
    return out


def ranges(idx):
    out, i = [], 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(str(idx[i]) if i == j else '%d-%d' % (idx[i], idx[j]))
        i = j + 1
    return ','.join(out) or '-'


def select(cap, expr, tmp):
    out = os.path.join(tmp, 'sel.pcap')
    r = subprocess.run(['tcpdump', '-r', cap, '-w', out, '--', expr], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    _, pk = read_pcap_ts(out)
    return pk


def read_pcap_ts(path):
    d = open(path, 'rb').read()
    off, ts = 24, []
    while off + 16 <= len(d):
        sec, _, incl, _ = struct.unpack('<IIII', d[off:off + 16])
        ts.append(sec)
        off += 16 + incl
    return None, ts


def main():
    capdir, outdir = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp()
    eth_pkts, manifest = [], []
    for name in CAPS:
        conv = os.path.join(tmp, 'c.pcap')
        subprocess.run(['tcpdump', '-r', os.path.join(capdir, name), '-w', conv], capture_output=True)
        if not os.path.exists(conv):
            continue
        link, pk = read_pcap(conv)
        os.remove(conv)
        if link != 1 or not pk:
            continue
        manifest.append('%d-%d %s' % (len(eth_pkts), len(eth_pkts) + min(len(pk), PER_FILE) - 1, name))
        eth_pkts += pk[:PER_FILE]
    syn = synthetic()
    manifest.append('%d-%d synthetic' % (len(eth_pkts), len(eth_pkts) + len(syn) - 1))
    eth_pkts += syn
    raw = to_raw(eth_pkts)
    caps = {'EN10MB': (1, eth_pkts), 'RAW': (101, raw), 'NULL': (0, to_null(raw))}
    for tag, (link, pk) in caps.items():
        write_pcap(os.path.join(outdir, 'filter-oracle-%s.pcap' % tag.lower()), link, pk)
    here = os.path.dirname(os.path.abspath(__file__))
    res = os.path.join(outdir)
    exprs = []
    for f in ['filter-expressions-en10mb.txt', 'filter-expressions-extra.txt']:
        for line in open(os.path.join(res, f)):
            line = line.rstrip('\n')
            if line.strip() and not line.startswith('#'):
                exprs.append(line)
    with open(os.path.join(outdir, 'filter-oracle.txt'), 'w') as o:
        o.write('# Generated by scripts/filter-oracle.sh with %s\n' % subprocess.run(
            ['tcpdump', '--version'], capture_output=True, text=True).stdout.split('\n')[1])
        for m in manifest:
            o.write('# packets %s\n' % m)
        for tag, (link, pk) in caps.items():
            cap = os.path.join(outdir, 'filter-oracle-%s.pcap' % tag.lower())
            for e in exprs:
                sel = select(cap, e, tmp)
                if sel is None:
                    o.write('%s\tERR\t-\t%s\n' % (tag, e))
                else:
                    o.write('%s\t%d\t%s\t%s\n' % (tag, len(sel), ranges(sel), e))


main()
