package org.smpnet.net.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

/**
 * Jazzer target for the capture readers (R-BPF-4): whatever the bytes, {@link PcapFiles#readAll}
 * returns records or throws {@link PcapFormatException}; any other throwable, an
 * {@link OutOfMemoryError} from a length field believed, or a hang is a finding. A second read
 * through the stream path must end exactly as the array read did.
 *
 * <p>By default the test replays its seeds ({@code PcapReaderFuzzTestInputs/readAll}: small
 * pcap and pcapng files of both byte orders and both timestamp precisions, and any crash a past
 * fuzzing run found). The seed captures are copies from {@code shared/corpus}: the {@code .pcap} files and
 * {@code resp_4_infiniteloop.pcapng} from tcpdump's tests (BSD), {@code le-}/{@code be-test*.pcapng} from
 * pcapng-test-generator (MIT). {@code scripts/fuzz pcap 5m} fuzzes for real.
 */
class PcapReaderFuzzTest {
    @DisplayName("R-BPF-4: arbitrary bytes read as records or PcapFormatException, and streams read as arrays do")
    @FuzzTest(maxDuration = "30s")
    void readAll(byte[] bytes) {
        String viaArray;
        try {
            List<PcapRecord> records = PcapFiles.readAll(bytes);
            for (PcapRecord r : records) {
                assertThat(r.data()).hasSize(r.capturedLength());
                assertThat(Integer.toUnsignedLong(r.capturedLength())).isLessThanOrEqualTo(bytes.length);
            }
            viaArray = PcapFuzzTest.outcome(PcapFiles::open, bytes);
        } catch (PcapFormatException e) {
            assertThat(e.getMessage()).isNotBlank();
            viaArray = PcapFuzzTest.outcome(PcapFiles::open, bytes);
            assertThat(viaArray).contains("error: ");
        }
        assertThat(PcapFuzzTest.outcome(b -> PcapFiles.open(new ByteArrayInputStream(b)), bytes))
                .as("stream read").isEqualTo(viaArray);
    }
}
