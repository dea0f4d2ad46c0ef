package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.Vnet;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.Filedesc;
import org.smpnet.netinet.UdpStats;
import org.smpnet.socket.Msghdr;
import org.smpnet.socket.SocketApi;
import org.smpnet.socket.SocketConst;
import org.smpnet.socket.Ucred;

/** UDP's deferred appends inside an input batch, driven through the real input path of a Vnet. */
class InputBatchUdpTest {
    private static final int PORT_A = 7001;
    private static final int PORT_B = 7002;

    /** An Ethernet frame to {@code ifp} carrying a UDP datagram (no checksum) from 10.0.0.1:5000 to 10.0.0.2:{@code port}. */
    private static Mbuf frame(Ifnet ifp, int port, byte seq) {
        byte[] f = new byte[14 + 20 + 8 + 4];
        System.arraycopy(ifp.lladdr(), 0, f, 0, 6);
        System.arraycopy(MacAddr.local(99).bytes(), 0, f, 6, 6);
        f[12] = 0x08;
        f[14] = 0x45;
        int iplen = f.length - 14;
        f[16] = (byte) (iplen >> 8);
        f[17] = (byte) iplen;
        f[22] = 64;
        f[23] = 17;
        byte[] src = {10, 0, 0, 1};
        byte[] dst = {10, 0, 0, 2};
        System.arraycopy(src, 0, f, 26, 4);
        System.arraycopy(dst, 0, f, 30, 4);
        int sum = InCksum.cksum(f, 14, 20);
        f[24] = (byte) (sum >> 8);
        f[25] = (byte) sum;
        f[34] = (byte) (5000 >> 8);
        f[35] = (byte) 5000;
        f[36] = (byte) (port >> 8);
        f[37] = (byte) port;
        f[39] = 12; // UDP length 8 + 4, checksum 0 (none)
        f[42] = seq;
        Mbuf m = Mbuf.devget(f, 0, f.length, Mbuf.M_WAITOK);
        m.setRcvifIndex(ifp.index());
        return m;
    }

    /** Host B (10.0.0.2) on an epair from host A, quiesced, with a socket API on B; closes both Vnets. */
    private record HostB(Vnet a, Vnet b, Epair e, SocketApi api) implements AutoCloseable {
        static HostB create(String prefix) throws org.smpnet.kern.ErrnoException {
            Vnet a = new Vnet(prefix + "-a", 2);
            Vnet b = new Vnet(prefix + "-b", 2);
            Epair e = a.epair(b);
            b.addrs().add(e.b(), InAddr.parse("10.0.0.2"), 24);
            e.quiesce();
            return new HostB(a, b, e, new SocketApi(b.domains(), new Filedesc(), Ucred.of(1, 0, 0)));
        }

        @Override
        public void close() {
            b.close();
            a.close();
        }
    }

    /** Ends a batch as a drainer does: inside its net epoch section (deferred work may look PCBs up again). */
    private static void closeInEpoch(InputBatch batch) {
        int et = Epoch.NET.enter();
        try {
            batch.close();
        } finally {
            Epoch.NET.exit(et);
        }
    }

    private static void input(Ifnet ifp, Mbuf m) {
        int et = Epoch.NET.enter();
        try {
            ifp.inputInEpoch(m);
        } finally {
            Epoch.NET.exit(et);
        }
    }

    @Test
    @DisplayName("R-UDP-1: a socket shut for reading takes a deferred datagram as it takes one appended at once (only a closed socket drops it)")
    void shutForReadingIsNotClosed() throws Exception {
        try (HostB h = HostB.create("ibs")) {
            Epair e = h.e();
            Vnet b = h.b();
            SocketApi api = h.api();
            int s = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            api.bind(s, Sockaddr.In.of("10.0.0.2", PORT_A));
            api.connect(s, Sockaddr.In.of("10.0.0.1", 5000));
            api.shutdown(s, SocketConst.SHUT_RD);
            UdpStats st = b.ipSockets().udp().stats();
            long delivered0 = st.delivered.get();
            long fullsock0 = st.fullsock.get();
            input(e.b(), frame(e.b(), PORT_A, (byte) 1)); // no batch: appended at once
            assertThat(st.delivered.get() - delivered0).isEqualTo(1);
            InputBatch batch = InputBatch.open();
            try {
                input(e.b(), frame(e.b(), PORT_A, (byte) 2));
                assertThat(batch.pending()).isEqualTo(1);
            } finally {
                closeInEpoch(batch);
            }
            assertThat(st.delivered.get() - delivered0).as("the deferred one too").isEqualTo(2);
            assertThat(st.fullsock.get() - fullsock0).isZero();
            api.close(s);
        }
    }

    @Test
    @DisplayName("R-UDP-1: datagrams deferred in a batch reach each socket in order at the batch's end; one for a socket closed meanwhile is freed and counted (noport), not leaked")
    void deferredAppendsKeepOrderAndSurviveClose() throws Exception {
        try (HostB h = HostB.create("ibu")) {
            Epair e = h.e();
            Vnet b = h.b();
            SocketApi api = h.api();
            int sa = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            int sb = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            int sc = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            api.bind(sa, Sockaddr.In.of("10.0.0.2", PORT_A));
            api.bind(sb, Sockaddr.In.of("10.0.0.2", PORT_B));
            api.bind(sc, Sockaddr.In.of("10.0.0.2", 7003));
            UdpStats st = b.ipSockets().udp().stats();
            long delivered0 = st.delivered.get();
            long fullsock0 = st.fullsock.get();
            long noport0 = st.noport.get();

            InputBatch batch = InputBatch.open();
            assertThat(batch).isNotNull();
            Mbuf doomed;
            try {
                int[] ports = {PORT_A, PORT_A, PORT_B, PORT_A, PORT_B};
                for (int i = 0; i < ports.length; i++) {
                    input(e.b(), frame(e.b(), ports[i], (byte) i));
                }
                doomed = frame(e.b(), 7003, (byte) 9);
                input(e.b(), doomed);
                assertThat(batch.pending()).isEqualTo(6);
                if (org.smpnet.kern.UmaZone.INVARIANTS) { // the suite's mode: the zone tracks live items
                    assertThat(MbufZones.system().mbufZone().leaks()).as("deferred: still allocated")
                            .anyMatch(l -> l.item() == doomed);
                }
                assertThat(st.delivered.get()).as("nothing appended before the batch ends").isEqualTo(delivered0);
                api.close(sc); // closed after its datagram was looked up and deferred
            } finally {
                closeInEpoch(batch);
            }

            assertThat(st.delivered.get() - delivered0).isEqualTo(5);
            assertThat(st.noport.get() - noport0).as("the closed socket's datagram is counted").isEqualTo(1);
            assertThat(st.fullsock.get() - fullsock0).isZero();
            assertThat(MbufZones.system().mbufZone().leaks()).as("and freed (checked with -Dsmpnet.invariants=1)")
                    .noneMatch(l -> l.item() == doomed);
            Msghdr msg = new Msghdr(new byte[16]);
            StringBuilder got = new StringBuilder();
            for (int s : new int[] {sa, sa, sa, sb, sb}) {
                assertThat(api.recvmsg(s, msg, SocketConst.MSG_DONTWAIT)).isEqualTo(4);
                got.append(s == sa ? 'a' : 'b').append(msg.buf[0]);
            }
            assertThat(got.toString()).isEqualTo("a0a1a3b2b4");
            api.close(sa);
            api.close(sb);
        }
    }

    @Test
    @DisplayName("R-UDP-1: datagrams deferred for a PCB that changed before the batch's end (closed and the port rebound, or connected) go where a fresh lookup sends them")
    void changedPcbGetsAFreshLookup() throws Exception {
        try (HostB h = HostB.create("ibc")) {
            Epair e = h.e();
            Vnet b = h.b();
            SocketApi api = h.api();
            UdpStats st = b.ipSockets().udp().stats();
            int old = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            api.bind(old, Sockaddr.In.of("10.0.0.2", PORT_A));
            int peer = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            api.bind(peer, Sockaddr.In.of("10.0.0.2", PORT_B));
            long delivered0 = st.delivered.get();
            long noport0 = st.noport.get();
            int fresh;
            InputBatch batch = InputBatch.open();
            try {
                input(e.b(), frame(e.b(), PORT_A, (byte) 1));
                input(e.b(), frame(e.b(), PORT_A, (byte) 2));
                input(e.b(), frame(e.b(), PORT_B, (byte) 3));
                input(e.b(), frame(e.b(), PORT_B, (byte) 4));
                assertThat(batch.pending()).isEqualTo(4);
                api.close(old); // after the lookups: the port goes to a new socket
                fresh = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
                api.bind(fresh, Sockaddr.In.of("10.0.0.2", PORT_A));
                api.connect(peer, Sockaddr.In.of("10.0.0.1", 5000)); // moves to the exact table: still the match
            } finally {
                closeInEpoch(batch);
            }
            assertThat(st.delivered.get() - delivered0).isEqualTo(4);
            assertThat(st.noport.get() - noport0).isZero();
            Msghdr msg = new Msghdr(new byte[16]);
            for (int[] want : new int[][] {{fresh, 1}, {fresh, 2}, {peer, 3}, {peer, 4}}) {
                assertThat(api.recvmsg(want[0], msg, SocketConst.MSG_DONTWAIT)).isEqualTo(4);
                assertThat(msg.buf[0]).isEqualTo((byte) want[1]);
            }

            batch = InputBatch.open(); // connected elsewhere meanwhile: nothing matches any more
            try {
                input(e.b(), frame(e.b(), PORT_B, (byte) 5));
                api.connect(peer, Sockaddr.In.of("10.0.0.9", 5000));
            } finally {
                closeInEpoch(batch);
            }
            assertThat(st.noport.get() - noport0).isEqualTo(1);
            assertThat(st.delivered.get() - delivered0).isEqualTo(4);
            api.close(fresh);
            api.close(peer);
        }
    }

    @Test
    @DisplayName("R-UDP-1: a sender whose own receive work found a socket full backs off once, at its section's exit; input outside a section never does")
    void senderThatOverflowsASocketBacksOff() throws Exception {
        try (HostB h = HostB.create("ibo")) {
            Epair e = h.e();
            Vnet b = h.b();
            SocketApi api = h.api();
            int s = api.socket(Sockaddr.AF_INET, SocketConst.SOCK_DGRAM, 0);
            api.setsockopt(s, SocketConst.SOL_SOCKET, SocketConst.SO_RCVBUF, 512);
            api.bind(s, Sockaddr.In.of("10.0.0.2", PORT_A));
            UdpStats st = b.ipSockets().udp().stats();
            long fullsock0 = st.fullsock.get();
            long backoffs0 = DeferredInput.BACKOFFS.get();
            for (int i = 0; i < 40; i++) { // outside a section (as an ithread or a polling reader runs input)
                input(e.b(), frame(e.b(), PORT_A, (byte) i));
            }
            assertThat(st.fullsock.get() - fullsock0).as("the socket overflowed").isPositive();
            assertThat(DeferredInput.BACKOFFS.get() - backoffs0).as("no section: no back-off").isZero();

            long fullsock1 = st.fullsock.get();
            boolean in = DeferredInput.enter();
            try {
                input(e.b(), frame(e.b(), PORT_A, (byte) 50)); // appended at once: dropped, full
                InputBatch batch = InputBatch.open();
                try {
                    input(e.b(), frame(e.b(), PORT_A, (byte) 51)); // deferred to the batch's end: dropped too
                } finally {
                    closeInEpoch(batch);
                }
                assertThat(st.fullsock.get() - fullsock1).isEqualTo(2);
                assertThat(DeferredInput.BACKOFFS.get() - backoffs0).as("not before the exit").isZero();
            } finally {
                DeferredInput.exit(in);
            }
            assertThat(DeferredInput.BACKOFFS.get() - backoffs0).as("one back-off for the section").isEqualTo(1);

            in = DeferredInput.enter(); // the next section sees no full socket: no back-off carried over
            DeferredInput.exit(in);
            assertThat(DeferredInput.BACKOFFS.get() - backoffs0).isEqualTo(1);
            api.close(s);
        }
    }
}
