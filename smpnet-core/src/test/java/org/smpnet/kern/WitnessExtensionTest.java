package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

class WitnessExtensionTest {
    /** Run only through the test kit below: it provokes a reversal without saying so. */
    static class ProvokesReversal {
        @Test
        void reverses() {
            Mtx a = new Mtx("ext-a", "test.extension.a");
            Mtx b = new Mtx("ext-b", "test.extension.b");
            a.lock();
            b.lock();
            b.unlock();
            a.unlock();
            b.lock();
            a.lock();
            a.unlock();
            b.unlock();
        }
    }

    @Test
    @ExpectWitnessReports
    @DisplayName("R-LOCK-2: the suite's WITNESS extension fails a test that causes a lock-order reversal")
    void extensionFailsTestOnReversal() {
        Witness.setPrintReports(false);
        try {
            Events events = EngineTestKit.engine("junit-jupiter")
                    .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                    .selectors(selectClass(ProvokesReversal.class))
                    .execute()
                    .testEvents();
            assertThat(events.failed().count()).isEqualTo(1);
            Throwable cause = events.failed().stream().findFirst().orElseThrow()
                    .getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
                    .getThrowable().orElseThrow();
            assertThat(cause).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("WITNESS reported during")
                    .hasMessageContaining("lock order reversal: test.extension.a -> test.extension.b");
        } finally {
            Witness.setPrintReports(true);
        }
    }
}
