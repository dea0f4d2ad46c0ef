package org.smpnet.net.bpf;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The recorded tcpdump answers (scripts/filter-oracle.sh) and the captures they were made on.
 * Each capture's packet i carries timestamp i seconds, which is how the script knows which
 * packets tcpdump selected.
 */
final class FilterOracle {
    /** One recorded answer: null {@code selected} means tcpdump refused the expression. */
    record Answer(String link, String expr, BitSet selected) {}

    static final Map<String, Integer> LINKS = Map.of("EN10MB", FilterCompiler.DLT_EN10MB,
            "RAW", FilterCompiler.LINKTYPE_RAW, "NULL", FilterCompiler.DLT_NULL);

    private FilterOracle() {}

    static byte[] resource(String name) throws IOException {
        try (InputStream in = FilterOracle.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return in.readAllBytes();
        }
    }

    static List<Answer> answers() throws IOException {
        String text = new String(resource("filter-oracle.txt"), StandardCharsets.UTF_8);
        List<Answer> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", 4);
            out.add(new Answer(f[0], f[3], f[1].equals("ERR") ? null : parseRanges(f[2])));
        }
        return out;
    }

    /** Packets of the capture for {@code link} ("EN10MB", "RAW", "NULL"), in file order. */
    static List<PcapRecord> packets(String link) throws IOException {
        byte[] file = resource("filter-oracle-" + link.toLowerCase(java.util.Locale.ROOT) + ".pcap");
        return PcapFiles.readAll(file);
    }

    static Map<String, List<PcapRecord>> allPackets() throws IOException {
        Map<String, List<PcapRecord>> m = new LinkedHashMap<>();
        for (String l : List.of("EN10MB", "RAW", "NULL")) {
            m.put(l, packets(l));
        }
        return m;
    }

    static BitSet parseRanges(String s) {
        BitSet b = new BitSet();
        if (s.equals("-")) {
            return b;
        }
        for (String r : s.split(",")) {
            int dash = r.indexOf('-');
            if (dash < 0) {
                b.set(Integer.parseInt(r));
            } else {
                b.set(Integer.parseInt(r.substring(0, dash)), Integer.parseInt(r.substring(dash + 1)) + 1);
            }
        }
        return b;
    }

    /** Runs {@code prog} over {@code pkts} and returns the indices it accepts. */
    static BitSet select(BpfProgram prog, List<PcapRecord> pkts) {
        BpfInterpreter vm = new BpfInterpreter(prog);
        BitSet b = new BitSet();
        for (int i = 0; i < pkts.size(); i++) {
            PcapRecord r = pkts.get(i);
            if (vm.filter(r.data(), (int) r.originalLength(), r.capturedLength()) != 0) {
                b.set(i);
            }
        }
        return b;
    }
}
