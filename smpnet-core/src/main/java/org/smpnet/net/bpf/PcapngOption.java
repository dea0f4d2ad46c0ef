package org.smpnet.net.bpf;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One option of a pcapng block: its code and raw value (without padding). Codes mean different
 * things in different blocks, except {@link #OPT_COMMENT} and the custom ones.
 */
@SuppressWarnings("ArrayRecordComponent") // equals/hashCode compare the bytes; the array is copied in and out
public record PcapngOption(int code, byte[] value) {
    public static final int OPT_ENDOFOPT = 0;
    public static final int OPT_COMMENT = 1;

    public PcapngOption {
        value = value.clone();
    }

    @Override
    public byte[] value() {
        return value.clone();
    }

    /** The value as UTF-8 text (comments, names, descriptions). */
    public String text() {
        return new String(value, StandardCharsets.UTF_8);
    }

    int length() {
        return value.length;
    }

    byte byteAt(int i) {
        return value[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcapngOption p && p.code == code && Arrays.equals(p.value, value);
    }

    @Override
    public int hashCode() {
        return 31 * code + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return "PcapngOption[code=" + code + ", length=" + value.length + "]";
    }
}
