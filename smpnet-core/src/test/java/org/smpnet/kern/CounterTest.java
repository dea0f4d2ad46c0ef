package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CounterTest {
    @Test
    @DisplayName("R-LOCK-4: striped counters lose no update under concurrent increments")
    void exactUnderConcurrency() throws Exception {
        Counter c = new Counter();
        int threads = 4;
        int per = 200_000;
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < per; i++) {
                    c.inc();
                }
            }));
        }
        for (int t = 0; t < 2; t++) {
            ts.add(Thread.ofVirtual().start(() -> c.add(per)));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(c.get()).isEqualTo((long) threads * per + 2L * per);
    }
}
