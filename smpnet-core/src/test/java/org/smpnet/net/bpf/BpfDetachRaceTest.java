package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.smpnet.kern.Giant;
import org.smpnet.net.Epair;
import org.smpnet.net.Ether;
import org.smpnet.net.EtherRepr;
import org.smpnet.net.IfCounter;
import org.smpnet.net.Ifnet;
import org.smpnet.net.IfnetGoneException;
import org.smpnet.net.IfnetList;
import org.smpnet.net.MacAddr;
import org.smpnet.net.Mbuf;
import org.smpnet.net.PipeConfig;

class BpfDetachRaceTest {
    private static final int DLT_EN10MB = 1;

    /** One sniffer: a descriptor and the thread reading it to end-of-file. */
    private static final class Sniffer {
        final BpfDescriptor d = new BpfDescriptor();
        final AtomicLong records = new AtomicLong();
        volatile boolean sawEof;
        Thread reader;

        void start(AtomicReference<Throwable> failure) {
            reader = Thread.ofPlatform().name("bpf reader").start(() -> {
                byte[] buf = new byte[d.bufferSize()];
                try {
                    while (true) {
                        int n = d.read(buf);
                        if (n < 0) {
                            sawEof = true;
                            return;
                        }
                        for (int off = 0; off < n; ) {
                            BpfHeader h = BpfHeader.read(buf, off, n);
                            assertThat(h.datalen()).isEqualTo(64);
                            assertThat(h.caplen()).isBetween(1, 64);
                            records.incrementAndGet();
                            off += BpfHeader.recordSize(h.caplen());
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            });
        }
    }

    private static Mbuf frame(MacAddr dst) {
        byte[] f = new byte[64];
        new EtherRepr(dst, MacAddr.local(7), EtherRepr.ETHERTYPE_IP).emit(new org.smpnet.net.EtherView(f, 0));
        return Mbuf.devget(f, 0, f.length, Mbuf.M_WAITOK);
    }

    @ParameterizedTest(name = "net.mpsafenet={0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("R-BPF-2: the interface detaches and is re-created while three descriptors sniff it under full "
            + "traffic from two threads: no exception, exact counters, readers see end-of-file")
    void detachWhileSniffing(boolean mpsafenet) throws Exception {
        boolean saved = Giant.mpsafenet();
        Giant.setMpsafenet(mpsafenet);
        try {
            run();
        } finally {
            Giant.setMpsafenet(saved);
        }
    }

    private void run() throws Exception {
        IfnetList listA = new IfnetList("bpfA");
        IfnetList listB = new IfnetList("bpfB");
        Ether etherA = new Ether();
        Ether etherB = new Ether();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<Epair> current = new AtomicReference<>();
        AtomicLong sent = new AtomicLong();
        long millis = Math.min(3000, Long.getLong("smpnet.stress.millis", 1500));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        List<Thread> senders = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            senders.add(Thread.ofPlatform().name("sender-" + s).start(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        Epair e = current.get();
                        if (e == null) {
                            Thread.onSpinWait();
                            continue;
                        }
                        Ifnet a = e.a();
                        a.transmit(frame(MacAddr.of(e.b().lladdr())));
                        sent.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        // a thread that keeps attaching and closing extra descriptors while the interface comes and goes
        AtomicLong lateAttaches = new AtomicLong();
        AtomicLong goneAttaches = new AtomicLong();
        Thread churn = Thread.ofPlatform().name("bpf churn").start(() -> {
            try {
                while (System.nanoTime() < deadline) {
                    Epair e = current.get();
                    if (e == null) {
                        continue;
                    }
                    try (BpfDescriptor d = new BpfDescriptor()) {
                        d.attach(e.b(), DLT_EN10MB, true);
                        lateAttaches.incrementAndGet();
                    } catch (IfnetGoneException gone) {
                        goneAttaches.incrementAndGet();
                    }
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        int rounds = 0;
        long totalRecords = 0;
        while (System.nanoTime() < deadline && failure.get() == null) {
            Epair e = Epair.create(0, listA, etherA, listB, etherB, PipeConfig.NONE, PipeConfig.NONE);
            List<Sniffer> sniffers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Sniffer s = new Sniffer();
                if (i == 1) {
                    s.d.setImmediate(true);
                }
                if (i == 2) {
                    s.d.setFilter(BpfProgram.of(new BpfInsn(0x06, 0, 0, 32)), true); // ret #32: snap 32 bytes, JIT
                }
                s.d.attach(e.b(), DLT_EN10MB, i == 0);
                s.start(failure);
                sniffers.add(s);
            }
            current.set(e);
            Thread.sleep(20 + rounds % 3 * 10);
            current.set(null);
            e.destroy(); // detach both sides while traffic is in flight
            for (Sniffer s : sniffers) {
                s.reader.join(10_000);
                assertThat(s.reader.isAlive()).as("reader stuck after detach").isFalse();
                assertThat(s.sawEof).as("reader saw end-of-file").isTrue();
                assertThat(s.d.state()).isEqualTo(BpfDescriptor.State.IF_GONE);
                long captured = s.d.captured.get();
                assertThat(s.d.received.get()).isEqualTo(captured); // every filter here accepts
                assertThat(s.records.get() + s.d.dropped.get())
                        .as("captured packets are read or counted as dropped, exactly").isEqualTo(captured);
                totalRecords += s.records.get();
                s.d.close();
            }
            assertThat(e.b().state()).isEqualTo(org.smpnet.net.IfnetState.DETACHED);
            rounds++;
        }
        for (Thread t : senders) {
            t.join();
        }
        churn.join();
        assertThat(failure.get()).isNull();
        assertThat(rounds).isGreaterThan(1);
        assertThat(totalRecords).isPositive();
        assertThat(sent.get()).isPositive();
        assertThat(listA.snapshot()).isEmpty();
        assertThat(listB.snapshot()).isEmpty();
    }
}
