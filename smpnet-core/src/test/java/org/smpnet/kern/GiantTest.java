package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GiantTest {
    /** A component that is not MPSAFE: its entry points always run under Giant. */
    @NeedsGiant("test driver that keeps its softc unlocked")
    static final class LegacyDriver {}

    static final class MpsafeDriver {}

    private final boolean saved = Giant.mpsafenet();

    @AfterEach
    void restore() {
        Giant.setMpsafenet(saved);
    }

    @Test
    @DisplayName("R-LOCK-3: with net.mpsafenet=1 only @NeedsGiant components take Giant")
    void mpsafeMode() {
        Sysctl.kernel().set("net.mpsafenet", "1");
        assertThat(Giant.required(MpsafeDriver.class)).isFalse();
        assertThat(Giant.required(LegacyDriver.class)).isTrue();
        boolean[] underGiant = new boolean[2];
        Giant.run(MpsafeDriver.class, () -> underGiant[0] = Giant.GIANT.isHeldByCurrentThread());
        Giant.run(LegacyDriver.class, () -> underGiant[1] = Giant.GIANT.isHeldByCurrentThread());
        assertThat(underGiant).containsExactly(false, true);
        assertThat(Giant.GIANT.isHeldByCurrentThread()).isFalse();
    }

    @Test
    @DisplayName("R-LOCK-3: with net.mpsafenet=0 every entry point runs under Giant, recursively")
    void giantMode() {
        Sysctl.kernel().set("net.mpsafenet", "0");
        assertThat(Giant.mpsafenet()).isFalse();
        boolean taken = Giant.pickup(MpsafeDriver.class);
        try {
            assertThat(taken).isTrue();
            Giant.run(LegacyDriver.class, () -> assertThat(Giant.GIANT.getHoldCount()).isEqualTo(2));
        } finally {
            Giant.drop(taken);
        }
        assertThat(Giant.GIANT.isHeldByCurrentThread()).isFalse();
    }

    @Test
    @DisplayName("R-LOCK-3: the build writes the inventory of classes that need Giant, readable through sysctl")
    void inventoryWrittenByTheBuild() {
        String entry = LegacyDriver.class.getName() + ": test driver that keeps its softc unlocked";
        assertThat(Giant.inventory()).contains(entry).noneMatch(l -> l.startsWith(MpsafeDriver.class.getName()));
        assertThat(Sysctl.kernel().get("debug.giant.inventory")).contains(entry);
    }
}
