package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.net.bpf.BpfTestSupport.arp;
import static org.smpnet.net.bpf.BpfTestSupport.ether;
import static org.smpnet.net.bpf.BpfTestSupport.etherVlan;
import static org.smpnet.net.bpf.BpfTestSupport.icmpEcho;
import static org.smpnet.net.bpf.BpfTestSupport.ip;
import static org.smpnet.net.bpf.BpfTestSupport.ipv4;
import static org.smpnet.net.bpf.BpfTestSupport.ipv6;
import static org.smpnet.net.bpf.BpfTestSupport.ipv6Ext;
import static org.smpnet.net.bpf.BpfTestSupport.tcp;
import static org.smpnet.net.bpf.BpfTestSupport.udp;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Programs compiled by tcpdump 4.99.3 / libpcap 1.10.3 ({@code tcpdump -ddd -y EN10MB 'expr'}),
 * kept here as text so the test needs no tcpdump, run on hand-built frames on both engines.
 */
class BpfTcpdumpProgramsTest {
    private static final int ACCEPT = 262144;
    private static final int SYN = 0x02;
    private static final int ACK = 0x10;
    private static final int HOST = ip(10, 0, 0, 1);
    private static final int OTHER = ip(10, 0, 0, 2);
    private static final int FAR = ip(192, 168, 1, 9);

    @SuppressWarnings("ArrayRecordComponent") // test data, never compared or hashed
    private record Frame(String what, byte[] pkt, int buflen, int wirelen, boolean accept) {
        static Frame of(String what, byte[] pkt, boolean accept) {
            return new Frame(what, pkt, pkt.length, pkt.length, accept);
        }
    }

    private static void check(String ddd, List<Frame> frames) {
        BpfProgram p = BpfValidator.validate(BpfAsm.parse(ddd, BpfAsm.Format.DECIMAL));
        for (BpfFilter f : List.of(new BpfInterpreter(p), BpfJit.compile(p))) {
            for (Frame fr : frames) {
                assertThat(f.filter(fr.pkt(), fr.wirelen(), fr.buflen()))
                        .as("%s on %s", fr.what(), f.getClass().getSimpleName())
                        .isEqualTo(fr.accept() ? ACCEPT : 0);
            }
        }
    }

    private static byte[] tcp4(int src, int dst, int sport, int dport, int flags) {
        return ether(0x0800, ipv4(6, src, dst, 0, 0, tcp(sport, dport, flags)));
    }

    private static byte[] udp4(int sport, int dport) {
        return ether(0x0800, ipv4(17, HOST, OTHER, 0, 0, udp(sport, dport)));
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump 'tcp port 80' accepts HTTP over IPv4/IPv6 (with options, first fragments), rejects the rest")
    void tcpPort80() {
        byte[] syn80 = tcp4(HOST, OTHER, 40000, 80, SYN);
        check("""
                20
                40 0 0 12
                21 0 6 34525
                48 0 0 20
                21 0 15 6
                40 0 0 54
                21 12 0 80
                40 0 0 56
                21 10 11 80
                21 0 10 2048
                48 0 0 23
                21 0 8 6
                40 0 0 20
                69 6 0 8191
                177 0 0 14
                72 0 0 14
                21 2 0 80
                72 0 0 16
                21 0 1 80
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("IPv4 TCP to port 80", syn80, true),
                Frame.of("IPv4 TCP from port 80", tcp4(OTHER, HOST, 80, 40000, ACK), true),
                Frame.of("IPv4 TCP 443", tcp4(HOST, OTHER, 40000, 443, SYN), false),
                Frame.of("IPv4 with 12 bytes of options, TCP to 80",
                        ether(0x0800, ipv4(6, HOST, OTHER, 0, 3, tcp(40000, 80, SYN))), true),
                Frame.of("IPv4 with options, TCP 40000 to 443",
                        ether(0x0800, ipv4(6, HOST, OTHER, 0, 1, tcp(40000, 443, SYN))), false),
                Frame.of("IPv4 first fragment (MF, offset 0)",
                        ether(0x0800, ipv4(6, HOST, OTHER, 0x2000, 0, tcp(40000, 80, SYN))), true),
                Frame.of("IPv4 later fragment", ether(0x0800, ipv4(6, HOST, OTHER, 0x00b9, 0, tcp(40000, 80, SYN))),
                        false),
                Frame.of("IPv4 UDP port 80", udp4(80, 80), false),
                Frame.of("IPv6 TCP to 80", ether(0x86dd, ipv6(6, tcp(40000, 80, SYN))), true),
                Frame.of("IPv6 TCP from 80", ether(0x86dd, ipv6(6, tcp(80, 40000, SYN))), true),
                Frame.of("IPv6 TCP 22", ether(0x86dd, ipv6(6, tcp(40000, 22, SYN))), false),
                Frame.of("ARP", ether(0x0806, arp(HOST, OTHER)), false),
                new Frame("IPv4 TCP 80 truncated before the ports", syn80, 36, syn80.length, false),
                new Frame("IPv4 TCP 80 captured up to the ports", syn80, 38, syn80.length, true)));
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump 'udp dst port 53' and 'ip6 and udp' (IPv6 fragment header) on UDP frames")
    void udpPrograms() {
        check("""
                16
                40 0 0 12
                21 0 4 34525
                48 0 0 20
                21 0 11 17
                40 0 0 56
                21 8 9 53
                21 0 8 2048
                48 0 0 23
                21 0 6 17
                40 0 0 20
                69 4 0 8191
                177 0 0 14
                72 0 0 16
                21 0 1 53
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("IPv4 UDP to 53", udp4(5353, 53), true),
                Frame.of("IPv4 UDP from 53", udp4(53, 5353), false),
                Frame.of("IPv6 UDP to 53", ether(0x86dd, ipv6(17, udp(5353, 53))), true),
                Frame.of("IPv6 TCP to 53", ether(0x86dd, ipv6(6, tcp(5353, 53, SYN))), false),
                Frame.of("IPv4 TCP to 53", tcp4(HOST, OTHER, 5353, 53, SYN), false)));
        check("""
                9
                40 0 0 12
                21 0 6 34525
                48 0 0 20
                21 3 0 17
                21 0 3 44
                48 0 0 54
                21 0 1 17
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("IPv6 UDP", ether(0x86dd, ipv6(17, udp(1, 2))), true),
                Frame.of("IPv6 fragment header then UDP", ether(0x86dd, ipv6(44, ipv6Ext(17, udp(1, 2)))), true),
                Frame.of("IPv6 hop-by-hop then UDP (not followed by tcpdump)",
                        ether(0x86dd, ipv6(0, ipv6Ext(17, udp(1, 2)))), false),
                Frame.of("IPv6 TCP", ether(0x86dd, ipv6(6, tcp(1, 2, SYN))), false),
                Frame.of("IPv4 UDP", udp4(1, 2), false)));
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump 'host 10.0.0.1' matches IPv4 source/destination and ARP/RARP addresses")
    void host() {
        check("""
                14
                40 0 0 12
                21 0 4 2048
                32 0 0 26
                21 8 0 167772161
                32 0 0 30
                21 6 7 167772161
                21 1 0 2054
                21 0 5 32821
                32 0 0 28
                21 2 0 167772161
                32 0 0 38
                21 0 1 167772161
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("IPv4 from the host", tcp4(HOST, FAR, 1, 2, SYN), true),
                Frame.of("IPv4 to the host", tcp4(FAR, HOST, 1, 2, SYN), true),
                Frame.of("IPv4 elsewhere", tcp4(FAR, OTHER, 1, 2, SYN), false),
                Frame.of("ARP from the host", ether(0x0806, arp(HOST, FAR)), true),
                Frame.of("ARP for the host", ether(0x0806, arp(FAR, HOST)), true),
                Frame.of("ARP elsewhere", ether(0x0806, arp(FAR, OTHER)), false),
                Frame.of("IPv6", ether(0x86dd, ipv6(6, tcp(1, 2, SYN))), false)));
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump 'tcp[tcpflags] & tcp-syn != 0', 'icmp or arp' and 'vlan and ip'")
    void flagsIcmpVlan() {
        check("""
                11
                40 0 0 12
                21 0 8 2048
                48 0 0 23
                21 0 6 6
                40 0 0 20
                69 4 0 8191
                177 0 0 14
                80 0 0 27
                69 0 1 2
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("SYN", tcp4(HOST, OTHER, 1, 2, SYN), true),
                Frame.of("SYN|ACK", tcp4(HOST, OTHER, 1, 2, SYN | ACK), true),
                Frame.of("ACK", tcp4(HOST, OTHER, 1, 2, ACK), false),
                Frame.of("SYN behind 8 bytes of IP options",
                        ether(0x0800, ipv4(6, HOST, OTHER, 0, 2, tcp(1, 2, SYN))), true),
                Frame.of("UDP", udp4(1, 2), false)));
        check("""
                7
                40 0 0 12
                21 0 2 2048
                48 0 0 23
                21 1 2 1
                21 0 1 2054
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("ICMP echo", ether(0x0800, ipv4(1, HOST, OTHER, 0, 0, icmpEcho())), true),
                Frame.of("ARP", ether(0x0806, arp(HOST, OTHER)), true),
                Frame.of("TCP", tcp4(HOST, OTHER, 1, 2, SYN), false),
                Frame.of("ICMPv6 over IPv6", ether(0x86dd, ipv6(58, icmpEcho())), false),
                Frame.of("runt frame", new byte[] {1, 2, 3}, false)));
        check("""
                8
                40 0 0 12
                21 2 0 33024
                21 1 0 34984
                21 0 3 37120
                40 0 0 16
                21 0 1 2048
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("802.1Q tagged IPv4", etherVlan(42, 0x0800, ipv4(1, HOST, OTHER, 0, 0, icmpEcho())), true),
                Frame.of("802.1Q tagged IPv6", etherVlan(42, 0x86dd, ipv6(58, icmpEcho())), false),
                Frame.of("untagged IPv4", ether(0x0800, ipv4(1, HOST, OTHER, 0, 0, icmpEcho())), false)));
    }

    @Test
    @DisplayName("R-BPF-1: tcpdump arithmetic filters (mod, xor, mul/div, scratch memory, unsigned wrap of len)")
    void arithmetic() {
        // 'ip[2:2] % 7 = 3 and ip[0] ^ 5 = 1'
        byte[] odd = new byte[] {4, 0, 0, 10, 0, 0, 0, 0};
        byte[] oddLen11 = new byte[] {4, 0, 0, 11, 0, 0, 0, 0};
        check("""
                10
                40 0 0 12
                21 0 7 2048
                40 0 0 16
                148 0 0 7
                21 0 4 3
                48 0 0 14
                164 0 0 5
                21 0 1 1
                6 0 0 262144
                6 0 0 0
                """, List.of(
                Frame.of("ip[0] = 4, ip[2:2] = 10", ether(0x0800, odd), true),
                Frame.of("ip[2:2] = 11", ether(0x0800, oddLen11), false),
                Frame.of("a normal IPv4 header", udp4(1, 2), false)));
        // 'len > 100 and ip[1]*2/3 - 1 + len = 4 or ip[1] << 2 >> 1 = 5': only true when
        // 255*2/3 - 1 + len wraps around to 4, i.e. len = 2^32 - 165.
        byte[] tos255 = ether(0x0800, ipv4(255, 17, HOST, OTHER, 0, 0, udp(1, 2)));
        check("""
                22
                128 0 0 0
                37 0 12 100
                40 0 0 12
                21 0 17 2048
                48 0 0 15
                36 0 0 2
                52 0 0 3
                20 0 0 1
                2 0 0 5
                128 0 0 0
                7 0 0 6
                96 0 0 5
                12 0 0 0
                21 6 2 4
                40 0 0 12
                21 0 5 2048
                48 0 0 15
                100 0 0 2
                116 0 0 1
                21 0 1 5
                6 0 0 262144
                6 0 0 0
                """, List.of(
                new Frame("wirelen 2^32 - 165", tos255, tos255.length, -165, true),
                new Frame("wirelen 2^32 - 164", tos255, tos255.length, -164, false),
                Frame.of("ordinary length", tos255, false)));
    }
}
