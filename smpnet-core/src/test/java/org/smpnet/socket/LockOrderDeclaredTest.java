package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.smpnet.socket.SocketConst.PF_INET;
import static org.smpnet.socket.SocketConst.PF_UNIX;
import static org.smpnet.socket.SocketConst.SOCK_DGRAM;
import static org.smpnet.socket.SocketConst.SOCK_STREAM;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.File;
import org.smpnet.kern.Filedesc;
import org.smpnet.kern.Giant;
import org.smpnet.kern.KEvent;
import org.smpnet.kern.Pipe;
import org.smpnet.kern.Poll;
import org.smpnet.kern.Witness;
import org.smpnet.net.Epair;
import org.smpnet.net.InAddr;
import org.smpnet.net.Prefix;
import org.smpnet.net.Rtentry;
import org.smpnet.net.Sockaddr;
import org.smpnet.net.bpf.BpfDescriptor;
import org.smpnet.netinet.IpCtlOutput;

/**
 * R-LOCK-2: every lock class the stack uses is in WITNESS's declared order
 * ({@link Witness#DECLARED_ORDER} or {@link Witness#DECLARED_LEAVES}), so a new class cannot slip in
 * with only a learned place. Checked two ways: in the sources (every class name given as a literal)
 * and at run time (every class locked while two stacks run UDP, multicast, fragments, UNIX sockets
 * with descriptor passing, kqueue, pipes, select, poll, BPF, vlans and route changes).
 */
class LockOrderDeclaredTest {
    /** Lock classes made by tests for tests are named like this; they are not the stack's. */
    private static final Pattern TEST_CLASS = Pattern.compile("^(test|t[-_.]).*");
    private static final Pattern CONSTRUCTOR = Pattern.compile("new (Mtx|Sx|RwLock)\\(");
    private static final Pattern CLASS_OF = Pattern.compile("LockClass\\.of\\(\\s*\"([^\"]+)\"");
    private static final Pattern LITERAL = Pattern.compile("\\s*\"([^\"]*)\"\\s*");

    @Test
    @DisplayName("R-LOCK-2: every lock class named in the main sources (smpnet-core, smpnet-cli) is declared")
    void sourcesDeclareEveryClass() throws IOException {
        Set<String> found = new TreeSet<>();
        int files = 0;
        for (Path root : List.of(Path.of("src/main/java"), Path.of("../smpnet-cli/src/main/java"))) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".java")).toList()) {
                    classesIn(Files.readString(p), found);
                    files++;
                }
            }
        }
        assertThat(files).as("sources scanned (run from the module directory)").isGreaterThan(50);
        assertThat(found).contains("Giant", "sbsx", "sockbuf", "inp", "unp_link", "kqueue");
        assertThat(found).as("lock classes in the sources but not in Witness.DECLARED_ORDER/DECLARED_LEAVES")
                .isSubsetOf(Witness.declaredClasses());
    }

    /** Class names given as literals: {@code new Mtx("n", "class")}, {@code new Sx("class")}, {@code LockClass.of("class", ...)}. */
    static void classesIn(String src, Set<String> out) {
        Matcher c = CLASS_OF.matcher(src);
        while (c.find()) {
            out.add(c.group(1));
        }
        Matcher m = CONSTRUCTOR.matcher(src);
        while (m.find()) {
            List<String> args = arguments(src, m.end());
            String cls = args.size() == 1 ? args.get(0) : args.size() == 2 ? args.get(1) : "";
            Matcher lit = LITERAL.matcher(cls);
            if (lit.matches()) {
                out.add(lit.group(1));
            }
        }
    }

    /** The top-level arguments of a call whose argument list starts at {@code from}. */
    private static List<String> arguments(String src, int from) {
        List<String> args = new ArrayList<>();
        int depth = 0;
        boolean inString = false;
        int start = from;
        for (int i = from; i < src.length(); i++) {
            char ch = src.charAt(i);
            if (inString) {
                if (ch == '\\') {
                    i++;
                } else if (ch == '"') {
                    inString = false;
                }
            } else if (ch == '"') {
                inString = true;
            } else if (ch == '(') {
                depth++;
            } else if (ch == ')' && depth-- == 0) {
                args.add(src.substring(start, i));
                return args;
            } else if (ch == ',' && depth == 0) {
                args.add(src.substring(start, i));
                start = i + 1;
            }
        }
        return args;
    }

    @Test
    @DisplayName("R-LOCK-2: the source scan finds literal classes in the three constructor forms")
    void scanFindsClasses() {
        Set<String> got = new TreeSet<>();
        classesIn("a = new Mtx(\"so_rcv\", \"sockbuf\"); b = new Sx(\"vlan_sx \" + owner, \"vlan_sx\");"
                + " c = new Mtx(\"lle\"); d = new Mtx(f(\"x\", y), LockClass.of(\"bpf_global\", LockKind.MUTEX, false));"
                + " e = new RwLock(name, CLASS);", got);
        assertThat(got).containsExactlyInAnyOrder("sockbuf", "vlan_sx", "lle", "bpf_global");
    }

    @ParameterizedTest(name = "mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-LOCK-2: two stacks running every kind of traffic lock only declared classes, in both net.mpsafenet modes")
    void trafficLocksOnlyDeclaredClasses(boolean mpsafe) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafe);
        long mark = Witness.markClasses();
        try (Vnet a = new Vnet("lcda", 2); Vnet b = new Vnet("lcdb", 2)) {
            Epair e = a.epair(b);
            a.addrs().add(e.a(), InAddr.parse("10.0.0.1"), 24);
            b.addrs().add(e.b(), InAddr.parse("10.0.0.2"), 24);
            e.quiesce();
            BpfDescriptor bpf = new BpfDescriptor();
            bpf.attach(e.b(), 1, false);
            try {
                inetTraffic(a, b);
                localTraffic(a);
                a.vlans().create("vlan7", 7, e.a());
                a.rtable().add(Prefix.parse("10.9.0.0/16"), new Sockaddr.In(InAddr.parse("10.0.0.2"), 0), Rtentry.RTF_GATEWAY);
                a.rtable().delete(Prefix.parse("10.9.0.0/16"));
            } finally {
                bpf.close();
            }
        } finally {
            Giant.setMpsafenet(saved);
        }
        List<String> used = Witness.classesAcquiredSince(mark);
        assertThat(used).contains("sbsx", "sockbuf", "inp", "pcbinfo", "unp_link", "kqueue", "pipe", "in_multi", "ipq",
                "bpfd", "lle");
        if (!mpsafe) {
            assertThat(used).contains("Giant");
        }
        List<String> undeclared = used.stream()
                .filter(c -> !Witness.declaredClasses().contains(c) && !TEST_CLASS.matcher(c).matches()).toList();
        assertThat(undeclared).as("lock classes taken but not declared in Witness").isEmpty();
    }

    /** UDP unicast (one datagram fragmented), multicast with IGMP, getsockname. */
    private static void inetTraffic(Vnet a, Vnet b) throws Exception {
        SocketApi sa = new SocketApi(a.domains(), new Filedesc(), Ucred.of(1, 1000, 1000));
        SocketApi sb = new SocketApi(b.domains(), new Filedesc(), Ucred.of(2, 1000, 1000));
        int rx = sb.socket(PF_INET, SOCK_DGRAM, 0);
        int tx = sa.socket(PF_INET, SOCK_DGRAM, 0);
        sb.bind(rx, Sockaddr.In.of("0.0.0.0", 7000));
        byte[] mreq = new byte[8];
        InAddr.parse("239.7.7.7").toBytes(mreq, 0);
        InAddr.parse("10.0.0.2").toBytes(mreq, 4);
        sb.setsockopt(rx, IpCtlOutput.IPPROTO_IP, IpCtlOutput.IP_ADD_MEMBERSHIP, mreq);
        byte[] big = new byte[4000];
        byte[] buf = new byte[8192];
        int[] revents = new int[1];
        for (int len : new int[] {10, big.length}) { // the first resolves ARP, the second is fragmented
            sa.sendto(tx, big, 0, len, 0, Sockaddr.In.of("10.0.0.2", 7000));
            assertThat(sb.poll(new int[] {rx}, new int[] {Poll.POLLIN}, revents, 20_000)).isEqualTo(1);
            assertThat(sb.recv(rx, buf, 0, buf.length, 0)).isEqualTo(len);
        }
        sa.getsockname(tx);
        sa.close(tx);
        sb.close(rx);
    }

    /** UNIX stream with a passed descriptor, kqueue on it, a pipe, select and poll. */
    private static void localTraffic(Vnet a) throws Exception {
        SocketApi api = new SocketApi(a.domains(), new Filedesc(), Ucred.of(3, 1000, 1000));
        int[] sv = api.socketpair(PF_UNIX, SOCK_STREAM, 0);
        int[] dg = api.socketpair(PF_UNIX, SOCK_DGRAM, 0);
        int kq = api.kqueue();
        KEvent[] evs = new KEvent[4];
        api.kevent(kq, List.of(KEvent.of(sv[1], KEvent.EVFILT_READ, KEvent.EV_ADD)), evs, Duration.ZERO);
        api.sendmsg(sv[0], Msghdr.send(new byte[] {1}, 0, 1, null, List.of(Cmsg.rights(dg[1]))), 0);
        assertThat(api.kevent(kq, List.of(), evs, Duration.ofSeconds(10))).isEqualTo(1);
        Msghdr r = Msghdr.recv(new byte[4], 0, 4, 256);
        assertThat(api.recvmsg(sv[1], r, 0)).isEqualTo(1);
        int passed = Cmsg.fdsOf((Cmsg.Data) r.control.getFirst())[0];
        api.send(dg[0], new byte[] {2}, 0, 1, 0);
        BitSet rd = new BitSet();
        rd.set(passed);
        assertThat(api.select(rd, null, null, 10_000)).isEqualTo(1);
        int[] revents = new int[1];
        assertThat(api.poll(new int[] {passed}, new int[] {Poll.POLLIN}, revents, 10_000)).isEqualTo(1);

        int[] p = Pipe.pipe(api.filedesc());
        api.kevent(kq, List.of(KEvent.of(p[0], KEvent.EVFILT_READ, KEvent.EV_ADD)), evs, Duration.ZERO);
        File w = api.filedesc().get(p[1]);
        try {
            w.write(ByteBuffer.wrap(new byte[] {3}), 0);
        } finally {
            w.drop();
        }
        assertThat(api.kevent(kq, List.of(), evs, Duration.ofSeconds(10))).isGreaterThanOrEqualTo(1);
        for (int fd : new int[] {sv[0], sv[1], dg[0], dg[1], passed, kq, p[0], p[1]}) {
            api.close(fd);
        }
    }
}
