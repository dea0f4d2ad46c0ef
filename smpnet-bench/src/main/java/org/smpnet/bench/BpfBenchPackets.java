package org.smpnet.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.smpnet.net.bpf.PcapClassicWriter;
import org.smpnet.net.bpf.PcapFiles;
import org.smpnet.net.bpf.PcapReader;
import org.smpnet.net.bpf.PcapRecord;

/**
 * The packets of the BPF benchmark: {@link #COUNT} Ethernet frames of {@link #SIZE} bytes in a fixed,
 * seeded mix that resembles edge traffic: TCP to ports 80, 443 and 22 and the replies, SYNs, DNS
 * queries and answers, other UDP, ICMP, ARP, IPv6, VLAN-tagged frames, non-first IPv4 fragments, and
 * sources inside and outside 192.168/16, a third of them to or from 10.0.0.1. Written once to a pcap
 * file that libpcap's harness and the JMH forks both read, so both sides filter the very same bytes.
 */
final class BpfBenchPackets {
    static final int COUNT = 1_000_000;
    static final int SIZE = 64;
    static final long SEED = 0x5EED_B9F0L;
    static final int DLT_EN10MB = 1;
    /** Bump when {@link #generate} changes, so a stale packet file is not reused. */
    static final int VERSION = 1;

    private static final int HOST = ip(10, 0, 0, 1);
    private static final int[] SYN_PORTS = {80, 443, 22, 25, 8080};
    private static final int[] UDP_PORTS = {123, 5353, 161, 514, 1900};

    private BpfBenchPackets() {}

    /** The benchmark's frames, the same for the same {@code seed}. */
    static byte[][] generate(int count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[][] out = new byte[count][];
        for (int i = 0; i < count; i++) {
            out[i] = frame(rnd);
        }
        return out;
    }

    private static byte[] frame(SplittableRandom rnd) {
        byte[] f = new byte[SIZE];
        int src = source(rnd);
        int dst = rnd.nextInt(100) < 30 ? HOST : ip(10, rnd.nextInt(256), rnd.nextInt(256), 1 + rnd.nextInt(254));
        int eph = 1024 + rnd.nextInt(64512);
        int kind = rnd.nextInt(100);
        if (kind < 22) {
            tcp4(f, 14, src, dst, eph, 80, 0x18, 0);
        } else if (kind < 36) {
            tcp4(f, 14, src, dst, eph, 443, 0x10, 0);
        } else if (kind < 40) {
            tcp4(f, 14, src, dst, eph, 22, 0x18, 0);
        } else if (kind < 50) {
            tcp4(f, 14, src, dst, eph, SYN_PORTS[rnd.nextInt(SYN_PORTS.length)], 0x02, 0);
        } else if (kind < 55) {
            tcp4(f, 14, src, dst, rnd.nextBoolean() ? 80 : 443, eph, 0x12, 0);           // replies, SYN-ACKs
        } else if (kind < 67) {
            udp4(f, src, dst, eph, 53);
        } else if (kind < 71) {
            udp4(f, src, dst, 53, eph);
        } else if (kind < 79) {
            udp4(f, src, dst, eph, UDP_PORTS[rnd.nextInt(UDP_PORTS.length)]);
        } else if (kind < 83) {
            ipv4(f, 14, 1, src, dst, 8, 0);
            f[34] = 8;                                                                    // echo request
        } else if (kind < 87) {
            arp(f, src, dst);
        } else if (kind < 92) {
            udp6(f, eph, rnd.nextBoolean() ? 53 : 443);
        } else if (kind < 94) {
            tcp4(f, 14, src, dst, eph, 80, 0x10, 1 + rnd.nextInt(100));                   // later fragment
        } else if (kind < 97) {
            put16(f, 12, 0x8100);
            put16(f, 14, 5);
            tcp4(f, 18, src, dst, eph, 80, 0x18, 0);
        } else {
            put16(f, 12, 0x88cc);                                                         // LLDP
        }
        mac(f, 0, 0x0b);
        mac(f, 6, 0x0a);
        return f;
    }

    private static int source(SplittableRandom rnd) {
        int r = rnd.nextInt(100);
        if (r < 35) {
            return ip(192, 168, rnd.nextInt(256), 1 + rnd.nextInt(254));
        }
        if (r < 45) {
            return HOST;
        }
        if (r < 70) {
            return ip(10, rnd.nextInt(256), rnd.nextInt(256), 1 + rnd.nextInt(254));
        }
        return ip(1 + rnd.nextInt(223), rnd.nextInt(256), rnd.nextInt(256), 1 + rnd.nextInt(254));
    }

    private static void tcp4(byte[] f, int at, int src, int dst, int sport, int dport, int flags, int fragOff) {
        if (at == 14) {
            put16(f, 12, 0x0800);
        } else {
            put16(f, at - 2, 0x0800);
        }
        ipv4(f, at, 6, src, dst, 20, fragOff);
        int t = at + 20;
        put16(f, t, sport);
        put16(f, t + 2, dport);
        put32(f, t + 4, 0x1000_0000);
        f[t + 12] = 0x50;
        f[t + 13] = (byte) flags;
        put16(f, t + 14, 65535);
    }

    private static void udp4(byte[] f, int src, int dst, int sport, int dport) {
        put16(f, 12, 0x0800);
        ipv4(f, 14, 17, src, dst, 8 + 22, 0);
        put16(f, 34, sport);
        put16(f, 36, dport);
        put16(f, 38, 8 + 22);
    }

    private static void ipv4(byte[] f, int at, int proto, int src, int dst, int payload, int fragOff) {
        f[at] = 0x45;
        put16(f, at + 2, 20 + payload);
        put16(f, at + 4, 0x1234);
        put16(f, at + 6, fragOff);
        f[at + 8] = 64;
        f[at + 9] = (byte) proto;
        put32(f, at + 12, src);
        put32(f, at + 16, dst);
    }

    private static void udp6(byte[] f, int sport, int dport) {
        put16(f, 12, 0x86dd);
        put32(f, 14, 0x6000_0000);
        put16(f, 18, 8);
        f[20] = 17;
        f[21] = 64;
        f[22] = (byte) 0xfe;
        f[23] = (byte) 0x80;
        f[37] = 1;
        f[38] = (byte) 0xfe;
        f[39] = (byte) 0x80;
        f[53] = 2;
        put16(f, 54, sport);
        put16(f, 56, dport);
        put16(f, 58, 8);
    }

    private static void arp(byte[] f, int spa, int tpa) {
        put16(f, 12, 0x0806);
        put16(f, 14, 1);
        put16(f, 16, 0x0800);
        f[18] = 6;
        f[19] = 4;
        put16(f, 20, 1);
        mac(f, 22, 0x0a);
        put32(f, 28, spa);
        put32(f, 38, tpa);
    }

    private static void mac(byte[] f, int at, int last) {
        f[at] = 0x02;
        f[at + 5] = (byte) last;
    }

    private static void put16(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }

    private static void put32(byte[] b, int at, int v) {
        put16(b, at, v >>> 16);
        put16(b, at + 2, v);
    }

    private static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    /** Writes {@code frames} as a microsecond pcap file for DLT_EN10MB, one frame per microsecond. */
    static void write(Path file, byte[][] frames) throws IOException {
        try (PcapClassicWriter w = PcapFiles.newPcapWriter(file, DLT_EN10MB, 65535, false)) {
            long t = 1_700_000_000_000_000_000L;
            for (byte[] f : frames) {
                w.write(PcapRecord.of(t, DLT_EN10MB, f));
                t += 1000;
            }
        }
    }

    /** Reads back the frames of a file {@link #write} made. */
    static byte[][] read(Path file) throws IOException {
        List<byte[]> frames = new ArrayList<>(COUNT);
        try (PcapReader r = PcapFiles.open(file)) {
            for (PcapRecord p = r.next(); p != null; p = r.next()) {
                frames.add(p.data());
            }
        }
        return frames.toArray(byte[][]::new);
    }

    /** The benchmark's packet file in {@code dir}, written if absent. */
    static Path ensureFile(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("packets-v" + VERSION + "-" + COUNT + "-" + Long.toHexString(SEED) + ".pcap");
        if (!Files.exists(file)) {
            Path tmp = dir.resolve(file.getFileName() + ".tmp");
            write(tmp, generate(COUNT, SEED));
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }
}
