package org.smpnet.netinet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import org.smpnet.kern.Epoch;
import org.smpnet.kern.ErrnoException;
import org.smpnet.net.InAddr;
import org.smpnet.net.Sockaddr;

/**
 * R-UDP-1: the hashed PCB lookup against a naive model (a list of 4-tuples searched linearly), over
 * random binds, connects, disconnects and frees in a small address and port space, with a tiny hash
 * table so buckets collide.
 */
class InPcbLookupPropertyTest {
    private static final InAddr[] LOCALS = {InAddr.ANY, InPcbTestSupport.A1, InPcbTestSupport.A2};
    private static final InAddr[] FOREIGN = {InAddr.parse("10.0.0.7"), InAddr.parse("10.0.0.8")};
    private static final int[] PORTS = {1, 2, 3};

    /** What the model knows of one PCB: its addresses, or null while unbound. */
    private record Tuple(int laddr, int lport, int faddr, int fport) {}

    @Property(tries = 200)
    @Label("R-UDP-1: hashed exact/wildcard lookup matches a linear model after every operation")
    void lookupMatchesModel(@ForAll long seed) throws Exception {
        Random rnd = new Random(seed);
        InPcbInfo info = InPcbTestSupport.info("udbinfo", 2);
        Map<InPcb, Tuple> model = new HashMap<>();
        List<InPcb> pcbs = new ArrayList<>();
        for (int step = 0; step < 60; step++) {
            operate(rnd, info, model, pcbs);
            for (int q = 0; q < 8; q++) {
                InAddr f = FOREIGN[rnd.nextInt(FOREIGN.length)];
                int fp = PORTS[rnd.nextInt(PORTS.length)];
                InAddr l = LOCALS[1 + rnd.nextInt(2)];
                int lp = PORTS[rnd.nextInt(PORTS.length)];
                boolean wild = rnd.nextBoolean();
                int et = Epoch.NET.enter();
                InPcb got;
                try {
                    got = info.lookup(f, fp, l, lp, wild);
                } finally {
                    Epoch.NET.exit(et);
                }
                List<InPcb> ok = expected(model, f.bits(), fp, l.bits(), lp, wild);
                if (ok.isEmpty()) {
                    assertThat(got).as("lookup %s:%d -> %s:%d wild=%s", f, fp, l, lp, wild).isNull();
                } else {
                    assertThat(ok).as("lookup %s:%d -> %s:%d wild=%s", f, fp, l, lp, wild).contains(got);
                }
            }
        }
        assertThat(info.count()).isEqualTo(pcbs.size());
    }

    private static void operate(Random rnd, InPcbInfo info, Map<InPcb, Tuple> model, List<InPcb> pcbs) {
        int op = pcbs.isEmpty() ? 0 : rnd.nextInt(5);
        try {
            switch (op) {
                case 0 -> {
                    InPcb p = info.alloc("so", 17);
                    p.setSoOptions(rnd.nextInt(3) == 0 ? InPcb.SO_REUSEPORT : 0);
                    pcbs.add(p);
                }
                case 1 -> {
                    InPcb p = pcbs.get(rnd.nextInt(pcbs.size()));
                    info.bind(p, new Sockaddr.In(LOCALS[rnd.nextInt(3)], PORTS[rnd.nextInt(PORTS.length)]));
                }
                case 2 -> {
                    InPcb p = pcbs.get(rnd.nextInt(pcbs.size()));
                    info.connect(p, new Sockaddr.In(FOREIGN[rnd.nextInt(2)], PORTS[rnd.nextInt(PORTS.length)]));
                }
                case 3 -> info.disconnect(pcbs.get(rnd.nextInt(pcbs.size())), rnd.nextBoolean());
                default -> {
                    InPcb p = pcbs.remove(rnd.nextInt(pcbs.size()));
                    info.free(p);
                    model.remove(p);
                }
            }
        } catch (ErrnoException refused) {
            // a refused bind/connect changes nothing; the model is refreshed below either way
        }
        for (InPcb p : pcbs) {
            p.lock.lock();
            try {
                model.put(p, p.lport() == 0 ? null
                        : new Tuple(p.laddr().bits(), p.lport(), p.faddr().bits(), p.fport()));
            } finally {
                p.lock.unlock();
            }
        }
    }

    /** The linear-search answer: every PCB an implementation may correctly return. */
    private static List<InPcb> expected(Map<InPcb, Tuple> model, int f, int fp, int l, int lp, boolean wild) {
        List<InPcb> exact = new ArrayList<>();
        List<InPcb> specific = new ArrayList<>();
        List<InPcb> any = new ArrayList<>();
        model.forEach((p, t) -> {
            if (t == null || t.lport() != lp) {
                return;
            }
            if (t.faddr() != 0) {
                if (t.faddr() == f && t.fport() == fp && t.laddr() == l) {
                    exact.add(p);
                }
            } else if (t.laddr() == l) {
                specific.add(p);
            } else if (t.laddr() == 0) {
                any.add(p);
            }
        });
        if (!exact.isEmpty() || !wild) {
            return exact;
        }
        return specific.isEmpty() ? any : specific;
    }
}
