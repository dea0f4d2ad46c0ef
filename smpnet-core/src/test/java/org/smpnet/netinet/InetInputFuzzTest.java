package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.smpnet.net.InAddr;
import org.smpnet.net.Mbuf;

/**
 * Jazzer targets for the IPv4 input path (R-IP-1, R-ARP-1, R-UDP-1): whatever arrives, no exception
 * leaves the stack, every packet is delivered or lands in a counter, and no mbuf outlives the stack
 * (see {@link InetFuzzStack}: one fresh stack per input).
 *
 * <p>Input layout, the same for every target: up to {@value #MAX_PACKETS} packets, each a 2-byte
 * big-endian header and its bytes. The header's low 12 bits are the length (the last packet takes what
 * is left when the input ends early); its top 4 bits are per-target selectors, described on each
 * target. So several fragments of one datagram fit in one input and reach reassembly.
 *
 * <p>By default each target replays its seeds ({@code InetInputFuzzTestInputs/<method>/}, written by
 * {@link InetFuzzSeeds}: valid frames built with the reprs, and any input a past run found failing);
 * {@code scripts/fuzz ether|ip|arp|icmp|udp 5m} fuzzes one for real.
 */
class InetInputFuzzTest {
    static final int MAX_PACKETS = 8;

    /** One packet of an input: its top-4-bit selector and bytes. */
    record Packet(int sel, byte[] bytes) {}

    static Packet[] packets(byte[] in) {
        Packet[] out = new Packet[MAX_PACKETS];
        int n = 0;
        int at = 0;
        while (n < MAX_PACKETS && at + 2 <= in.length) {
            int h = ((in[at] & 0xff) << 8) | (in[at + 1] & 0xff);
            at += 2;
            int len = Math.min(h & 0xfff, in.length - at);
            out[n++] = new Packet(h >>> 12, Arrays.copyOfRange(in, at, at + len));
            at += len;
        }
        return Arrays.copyOf(out, n);
    }

    @DisplayName("R-IP-1/R-ARP-1: fuzzed Ethernet frames on an addressed interface are delivered or counted, never thrown")
    @FuzzTest(maxDuration = "30s")
    void etherFrames(byte[] input) {
        try (InetFuzzStack s = new InetFuzzStack()) {
            for (Packet p : packets(input)) {
                s.inject(InetFuzzStack.Layer.ETHER, p.bytes(), 0);
            }
        }
    }

    /** Selector bits 0-1: 1 marks the mbuf link broadcast, 2 link multicast. */
    @DisplayName("R-IP-1: fuzzed IPv4 packets (options, fragments, any protocol) are delivered or counted, never thrown")
    @FuzzTest(maxDuration = "30s")
    void ipPackets(byte[] input) {
        try (InetFuzzStack s = new InetFuzzStack()) {
            for (Packet p : packets(input)) {
                s.inject(InetFuzzStack.Layer.IP, p.bytes(), linkFlags(p.sel()));
            }
        }
    }

    @DisplayName("R-ARP-1: fuzzed ARP packets update the table, are answered or are counted, never thrown")
    @FuzzTest(maxDuration = "30s")
    void arpPackets(byte[] input) {
        try (InetFuzzStack s = new InetFuzzStack()) {
            for (Packet p : packets(input)) {
                s.inject(InetFuzzStack.Layer.ARP, p.bytes(), 0);
            }
        }
    }

    /**
     * Each packet is an ICMP message, sent in a valid IPv4 header from {@link InetFuzzStack#PEER} to us.
     * Selector bit 3: keep the fuzzed ICMP checksum (else it is made right); bit 2: from another host
     * than the peer; bits 0-1 as in {@link #ipPackets}.
     */
    @DisplayName("R-IP-1: fuzzed ICMP messages (echo, errors quoting a UDP socket's datagram) are handled or counted, never thrown")
    @FuzzTest(maxDuration = "30s")
    void icmpMessages(byte[] input) {
        try (InetFuzzStack s = new InetFuzzStack()) {
            assertThat(s.hasUdp()).as("UDP sockets bound (UDP registered in the protocol switch)").isTrue();
            for (Packet p : packets(input)) {
                byte[] icmp = p.bytes().clone();
                if ((p.sel() & 8) == 0 && icmp.length >= 4) {
                    icmp[2] = 0;
                    icmp[3] = 0;
                    int sum = cksum(icmp, 0, icmp.length, 0);
                    icmp[2] = (byte) (sum >>> 8);
                    icmp[3] = (byte) sum;
                }
                InAddr src = (p.sel() & 4) == 0 ? InetFuzzStack.PEER : InAddr.parse("10.0.0.3");
                s.inject(InetFuzzStack.Layer.IP, ip(src, InetFuzzStack.US, IpProtocols.IPPROTO_ICMP, icmp),
                        linkFlags(p.sel()));
            }
        }
    }

    /**
     * Each packet is a UDP datagram from {@link InetFuzzStack#PEER} in a valid IPv4 header. Selector
     * bits 2-3 pick the destination: us, the subnet broadcast, the limited broadcast or
     * {@link InetFuzzStack#GROUP} (the mbuf marked broadcast or multicast to match); bit 1: keep the
     * fuzzed UDP length field (else it is made right); bit 0: keep the fuzzed checksum (else it is
     * computed).
     */
    @DisplayName("R-UDP-1: fuzzed UDP datagrams to bound sockets (unicast, broadcast, multicast) are delivered or counted, never thrown")
    @FuzzTest(maxDuration = "30s")
    void udpDatagrams(byte[] input) {
        try (InetFuzzStack s = new InetFuzzStack()) {
            assertThat(s.hasUdp()).as("UDP sockets bound (UDP registered in the protocol switch)").isTrue();
            for (Packet p : packets(input)) {
                InAddr dst = switch (p.sel() >>> 2) {
                    case 0 -> InetFuzzStack.US;
                    case 1 -> InetFuzzStack.SUBNET_BCAST;
                    case 2 -> InAddr.BROADCAST;
                    default -> InetFuzzStack.GROUP;
                };
                int flags = switch (p.sel() >>> 2) {
                    case 0 -> 0;
                    case 3 -> Mbuf.M_MCAST;
                    default -> Mbuf.M_BCAST;
                };
                byte[] udp = p.bytes().clone();
                if ((p.sel() & 2) == 0 && udp.length >= 6) {
                    udp[4] = (byte) (udp.length >>> 8);
                    udp[5] = (byte) udp.length;
                }
                if ((p.sel() & 1) == 0 && udp.length >= 8) {
                    udp[6] = 0;
                    udp[7] = 0;
                    int sum = udpSum(InetFuzzStack.PEER, dst, udp);
                    udp[6] = (byte) (sum >>> 8);
                    udp[7] = (byte) sum;
                }
                s.inject(InetFuzzStack.Layer.IP, ip(InetFuzzStack.PEER, dst, IpProtocols.IPPROTO_UDP, udp), flags);
            }
        }
    }

    private static int linkFlags(int sel) {
        return switch (sel & 3) {
            case 1 -> Mbuf.M_BCAST;
            case 2 -> Mbuf.M_MCAST;
            default -> 0;
        };
    }

    /** A minimal IPv4 packet around {@code payload}, header checksum right. */
    static byte[] ip(InAddr src, InAddr dst, int proto, byte[] payload) {
        byte[] b = new byte[Ipv4View.MIN_HEADER_LEN + payload.length];
        Ipv4Repr.of(src, dst, proto, 64, payload.length).emit(new Ipv4View(b, 0));
        System.arraycopy(payload, 0, b, Ipv4View.MIN_HEADER_LEN, payload.length);
        return b;
    }

    /** The UDP checksum with the pseudo-header (0 is sent as 0xffff). */
    static int udpSum(InAddr src, InAddr dst, byte[] udp) {
        long acc = (src.bits() >>> 16) + (src.bits() & 0xffff) + (dst.bits() >>> 16) + (dst.bits() & 0xffff)
                + IpProtocols.IPPROTO_UDP + udp.length;
        int sum = cksum(udp, 0, udp.length, acc);
        return sum == 0 ? 0xffff : sum;
    }

    /** The Internet checksum of {@code len} bytes at {@code off}, with {@code acc} already summed in. */
    static int cksum(byte[] b, int off, int len, long acc) {
        for (int i = 0; i + 1 < len; i += 2) {
            acc += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        if ((len & 1) != 0) {
            acc += (b[off + len - 1] & 0xff) << 8;
        }
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xffff) + (acc >>> 16);
        }
        return (int) (~acc & 0xffff);
    }
}
