package org.smpnet.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;
import org.smpnet.kern.UmaZone;
import org.smpnet.net.Mbuf;
import org.smpnet.net.MbufZones;

/**
 * Where the time of {@code MbufAllocBench.smpnetCached1T} goes (suite {@code mbufparts}, not in
 * {@code micro}): the packet zone's cached alloc+free alone, without the mbuf's header reset and
 * free logic; and one {@link ThreadLocal} lookup, which the zone does twice per alloc+free.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
public class MbufPartsBench {

    @State(Scope.Benchmark)
    public static class Zones {
        MbufZones zones;
        UmaZone<Mbuf> packet;
        final ThreadLocal<Object> local = ThreadLocal.withInitial(Object::new);

        @Setup(Level.Trial)
        public void setUp() {
            zones = MbufZones.system();
            packet = zones.packetZone();
        }
    }

    /** The whole operation, as in MbufAllocBench.smpnetCached1T, for comparison in the same run. */
    @Benchmark
    public void getclFreem(Zones s, Blackhole bh) {
        Mbuf m = s.zones.getcl(Mbuf.M_NOWAIT, Mbuf.MT_DATA, Mbuf.M_PKTHDR);
        bh.consume(m);
        m.freem();
    }

    /** Only the packet zone: pop from and push to the thread's bucket, with its counters. */
    @Benchmark
    public void packetZoneAllocFree(Zones s, Blackhole bh) {
        Mbuf m = s.packet.alloc(Mbuf.M_NOWAIT);
        bh.consume(m);
        s.packet.free(m);
    }

    @Benchmark
    public Object threadLocalGet(Zones s) {
        return s.local.get();
    }

    @Benchmark
    public void blackholeOnly(Zones s, Blackhole bh) {
        bh.consume(s);
    }
}
