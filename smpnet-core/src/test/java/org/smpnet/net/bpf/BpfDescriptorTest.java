package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.Ether;
import org.smpnet.net.IfFlags;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetList;
import org.smpnet.net.MacAddr;
import org.smpnet.net.NetTestSupport;

class BpfDescriptorTest {
    private static final int DLT_EN10MB = 1;
    private static final MacAddr US = MacAddr.parse("02:00:00:00:30:01");
    private static final MacAddr THEM = MacAddr.parse("02:00:00:00:30:02");

    private final IfnetList list = new IfnetList("bpftest");
    private final Ether ether = new Ether();
    private final Ifnet ifp = NetTestSupport.etherIfnet("em0", list, ether, US);
    private final List<BpfDescriptor> open = new ArrayList<>();

    @AfterEach
    void tearDown() {
        open.forEach(BpfDescriptor::close);
        list.detach(ifp);
    }

    private BpfDescriptor descriptor() {
        BpfDescriptor d = new BpfDescriptor();
        open.add(d);
        return d;
    }

    private static byte[] frame(int type, int len) {
        return NetTestSupport.frame(US, THEM, type, new byte[len - 14]);
    }

    private void receive(int type, int len) {
        ifp.input(NetTestSupport.mbuf(frame(type, len)));
    }

    private void send(int len) {
        ifp.transmit(NetTestSupport.mbuf(frame(EtherRepr.ETHERTYPE_IP, len)));
    }

    /** The records of a read buffer. */
    private static List<BpfHeader> records(byte[] buf, int n) {
        List<BpfHeader> out = new ArrayList<>();
        for (int off = 0; off < n; ) {
            BpfHeader h = BpfHeader.read(buf, off, n);
            out.add(h);
            off += BpfHeader.recordSize(h.caplen());
        }
        return out;
    }

    @Test
    @DisplayName("R-BPF-1: in immediate mode a blocked reader wakes with the first packet")
    void immediateWakesReader() throws Exception {
        BpfDescriptor d = descriptor();
        d.setImmediate(true);
        d.attach(ifp, DLT_EN10MB, false);
        AtomicInteger got = new AtomicInteger(-2);
        byte[] buf = new byte[d.bufferSize()];
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                got.set(d.read(buf));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        while (reader.getState() != Thread.State.WAITING && reader.isAlive()) {
            Thread.onSpinWait();
        }
        receive(EtherRepr.ETHERTYPE_IP, 60);
        reader.join(10_000);
        assertThat(got.get()).isEqualTo(BpfHeader.recordSize(60));
        List<BpfHeader> r = records(buf, got.get());
        assertThat(r).hasSize(1);
        assertThat(r.get(0).caplen()).isEqualTo(60);
        assertThat(r.get(0).datalen()).isEqualTo(60);
        assertThat(Arrays.copyOfRange(buf, BpfHeader.HDRLEN, BpfHeader.HDRLEN + 60)).isEqualTo(frame(EtherRepr.ETHERTYPE_IP, 60));
    }

    @Test
    @DisplayName("R-BPF-1: a read timeout with no data returns 0; with data in the store buffer it returns that")
    void readTimeout() throws Exception {
        BpfDescriptor d = descriptor();
        d.setReadTimeout(20, TimeUnit.MILLISECONDS);
        d.attach(ifp, DLT_EN10MB, false);
        byte[] buf = new byte[d.bufferSize()];
        assertThat(d.read(buf)).isZero();
        receive(EtherRepr.ETHERTYPE_IP, 64);
        receive(EtherRepr.ETHERTYPE_IP, 64);
        assertThat(d.available()).isEqualTo(2 * BpfHeader.recordSize(64));
        assertThat(d.read(buf)).isEqualTo(2 * BpfHeader.recordSize(64));
        assertThat(d.read(buf)).isZero();
    }

    @Test
    @DisplayName("R-BPF-1: a non-blocking read returns 0 at once with no data, else what is stored")
    void nonBlocking() throws Exception {
        BpfDescriptor d = descriptor();
        d.setNonBlocking(true);
        d.attach(ifp, DLT_EN10MB, false);
        byte[] buf = new byte[d.bufferSize()];
        assertThat(d.read(buf)).isZero();
        receive(EtherRepr.ETHERTYPE_IP, 100);
        assertThat(records(buf, d.read(buf))).hasSize(1);
        assertThat(d.read(buf)).isZero();
    }

    @Test
    @DisplayName("R-BPF-1: the direction filter keeps only received (IN) or only sent (OUT) frames")
    void directionFilter() throws Exception {
        BpfDescriptor in = descriptor();
        BpfDescriptor out = descriptor();
        BpfDescriptor both = descriptor();
        in.setDirection(BpfDescriptor.DirectionFilter.IN);
        out.setDirection(BpfDescriptor.DirectionFilter.OUT);
        for (BpfDescriptor d : List.of(in, out, both)) {
            d.setNonBlocking(true);
            d.attach(ifp, DLT_EN10MB, false);
        }
        receive(EtherRepr.ETHERTYPE_IP, 70);
        send(80);
        send(90);
        byte[] buf = new byte[in.bufferSize()];
        assertThat(records(buf, in.read(buf))).extracting(BpfHeader::datalen).containsExactly(70);
        assertThat(records(buf, out.read(buf))).extracting(BpfHeader::datalen).containsExactly(80, 90);
        assertThat(records(buf, both.read(buf))).extracting(BpfHeader::datalen).containsExactly(70, 80, 90);
        assertThat(in.received.get()).isEqualTo(1);
        assertThat(out.received.get()).isEqualTo(2);
        assertThat(both.received.get()).isEqualTo(3);
    }

    @Test
    @DisplayName("R-BPF-1: buffer sizes are clamped, fixed at attach, and a read buffer smaller than it is EINVAL")
    void bufferSize() {
        BpfDescriptor d = descriptor();
        assertThat(d.bufferSize()).isEqualTo(BpfDescriptor.DEFAULT_BUFSIZE);
        assertThat(d.setBufferSize(1)).isEqualTo(BpfDescriptor.MIN_BUFSIZE);
        assertThat(d.setBufferSize(1 << 30)).isEqualTo(BpfDescriptor.MAX_BUFSIZE);
        assertThat(d.setBufferSize(8192)).isEqualTo(8192);
        assertThatThrownBy(() -> d.read(new byte[8192])).hasMessageContaining("ENXIO"); // not attached
        d.attach(ifp, DLT_EN10MB, false);
        assertThatThrownBy(() -> d.setBufferSize(4096)).hasMessageContaining("after attach");
        assertThatThrownBy(() -> d.read(new byte[8191])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("EINVAL");
        assertThat(d.dlt()).isEqualTo(DLT_EN10MB);
        assertThatThrownBy(() -> d.attach(ifp, DLT_EN10MB, false)).hasMessageContaining("cannot attach");
    }

    @Test
    @DisplayName("R-BPF-1: promiscuous mode is reference counted on the interface")
    void promiscuousRefcount() {
        BpfDescriptor a = descriptor();
        BpfDescriptor b = descriptor();
        BpfDescriptor c = descriptor();
        a.attach(ifp, DLT_EN10MB, true);
        b.attach(ifp, DLT_EN10MB, true);
        c.attach(ifp, DLT_EN10MB, false);
        assertThat(ifp.flags() & IfFlags.PROMISC).isNotZero();
        a.close();
        c.close();
        assertThat(ifp.flags() & IfFlags.PROMISC).isNotZero();
        b.close();
        assertThat(ifp.flags() & IfFlags.PROMISC).isZero();
        b.close(); // idempotent: no second decrement
        ifp.setPromisc(true);
        ifp.setPromisc(false);
        assertThat(ifp.flags() & IfFlags.PROMISC).isZero();
    }

    @Test
    @DisplayName("R-BPF-1: a JIT-compiled and an interpreted filter select the same packets with the same snap length")
    void jitAndInterpreterAgree() throws Exception {
        // ldh [12]; jeq #0x800, L1, L2; L1: ret #40; L2: ret #0
        BpfProgram ipOnly = BpfProgram.of(
                BpfInsn.stmt(BpfInsn.LD | BpfInsn.H | BpfInsn.ABS, 12),
                BpfInsn.jump(BpfInsn.JMP | BpfInsn.JEQ | BpfInsn.K, 0x0800, 0, 1),
                BpfInsn.stmt(BpfInsn.RET | BpfInsn.K, 40),
                BpfInsn.stmt(BpfInsn.RET | BpfInsn.K, 0));
        BpfDescriptor jit = descriptor();
        BpfDescriptor interp = descriptor();
        jit.setFilter(ipOnly, true);
        interp.setFilter(ipOnly, false);
        for (BpfDescriptor d : List.of(jit, interp)) {
            d.setNonBlocking(true);
            d.attach(ifp, DLT_EN10MB, false);
        }
        int[] types = {0x0800, 0x0806, 0x0800, 0x86dd, 0x0800, 0x8100};
        for (int i = 0; i < 30; i++) {
            receive(types[i % types.length], 60 + i);
        }
        byte[] b1 = new byte[jit.bufferSize()];
        byte[] b2 = new byte[interp.bufferSize()];
        int n1 = jit.read(b1);
        int n2 = interp.read(b2);
        assertThat(n1).isEqualTo(n2);
        assertThat(Arrays.copyOf(b1, n1)).isEqualTo(Arrays.copyOf(b2, n2));
        List<BpfHeader> r = records(b1, n1);
        assertThat(r).hasSize(15).allMatch(h -> h.caplen() == 40);
        assertThat(jit.received.get()).isEqualTo(30);
        assertThat(jit.captured.get()).isEqualTo(15);
        assertThat(interp.captured.get()).isEqualTo(15);
    }

    @Test
    @DisplayName("R-BPF-1: with a tiny buffer the counters show received, captured and dropped exactly")
    void countersWithTinyBuffer() throws Exception {
        BpfDescriptor d = descriptor();
        assertThat(d.setBufferSize(64)).isEqualTo(64); // one record of a 64-byte frame (snapped to 44) fills it
        d.setNonBlocking(true);
        d.attach(ifp, DLT_EN10MB, false);
        for (int i = 0; i < 5; i++) {
            receive(EtherRepr.ETHERTYPE_IP, 64);
        }
        assertThat(d.received.get()).isEqualTo(5);
        assertThat(d.captured.get()).isEqualTo(5);
        assertThat(d.dropped.get()).isEqualTo(3); // store and hold are full after two
        byte[] buf = new byte[64];
        int records = 0;
        for (int n; (n = d.read(buf)) > 0; ) {
            List<BpfHeader> r = records(buf, n);
            assertThat(r).allMatch(h -> h.caplen() == 44 && h.datalen() == 64);
            records += r.size();
        }
        assertThat(records).isEqualTo(d.captured.get() - d.dropped.get());
    }
}
