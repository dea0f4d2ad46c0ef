package org.smpnet.netinet;

import java.util.Arrays;
import org.smpnet.net.InAddr;
import org.smpnet.net.MalformedPacketException;

/**
 * A validated IPv4 header. {@code options} holds the option bytes (a multiple of 4, at most 40; empty
 * when none), {@code fragOffset} is in bytes.
 */
public record Ipv4Repr(InAddr src, InAddr dst, int protocol, int ttl, int tos, int id, boolean df, boolean mf,
        int fragOffset, int totalLength, byte[] options) {

    /** Why a header is refused, each with the counter {@code ip_input} bumps ({@code ips_*}). */
    public enum Defect {
        /** Fewer bytes than a minimal header ({@code ips_toosmall}). */
        TOOSMALL,
        /** Version is not 4 ({@code ips_badvers}). */
        BADVERS,
        /** IHL below 5 or past the data ({@code ips_badhlen}). */
        BADHLEN,
        /** Checksum mismatch ({@code ips_badsum}). */
        BADSUM,
        /** Total length below the header length ({@code ips_badlen}). */
        BADLEN,
        /** Fewer bytes than the total length says ({@code ips_tooshort}). */
        TOOSHORT
    }

    public Ipv4Repr {
        if (src == null || dst == null) {
            throw new IllegalArgumentException("IPv4 header needs source and destination addresses");
        }
        if (protocol < 0 || protocol > 255 || ttl < 0 || ttl > 255 || tos < 0 || tos > 255 || id < 0 || id > 0xffff) {
            throw new IllegalArgumentException("IPv4 field out of range: proto " + protocol + " ttl " + ttl
                    + " tos " + tos + " id " + id);
        }
        if (fragOffset < 0 || fragOffset > (Ipv4View.IP_OFFMASK << 3) || (fragOffset & 7) != 0) {
            throw new IllegalArgumentException("fragment offset " + fragOffset + " is not a multiple of 8 in range");
        }
        options = options == null ? new byte[0] : options.clone();
        if (options.length % 4 != 0 || options.length > 40) {
            throw new IllegalArgumentException("IPv4 options must be a multiple of 4 bytes, at most 40, not " + options.length);
        }
        if (totalLength < Ipv4View.MIN_HEADER_LEN + options.length || totalLength > Ipv4View.MAXPACKET) {
            throw new IllegalArgumentException("total length " + totalLength + " does not fit the header");
        }
    }

    /** A header without options or fragmentation, for a payload of {@code payloadLen} bytes. */
    public static Ipv4Repr of(InAddr src, InAddr dst, int protocol, int ttl, int payloadLen) {
        return new Ipv4Repr(src, dst, protocol, ttl, 0, 0, false, false, 0, Ipv4View.MIN_HEADER_LEN + payloadLen, null);
    }

    public int hlen() {
        return Ipv4View.MIN_HEADER_LEN + options.length;
    }

    public int payloadLength() {
        return totalLength - hlen();
    }

    @Override
    public byte[] options() {
        return options.clone();
    }

    /**
     * The first defect of the header at {@code v} with {@code available} bytes from its start, in the
     * order {@code ip_input} checks, or null if it is sound. {@code verifySum} false skips the checksum
     * (hardware verified it).
     */
    public static Defect check(Ipv4View v, int available, boolean verifySum) {
        if (available < Ipv4View.MIN_HEADER_LEN) {
            return Defect.TOOSMALL;
        }
        if (v.version() != 4) {
            return Defect.BADVERS;
        }
        int hlen = v.hlen();
        if (hlen < Ipv4View.MIN_HEADER_LEN || hlen > available) {
            return Defect.BADHLEN;
        }
        if (verifySum && !v.checksumOk()) {
            return Defect.BADSUM;
        }
        if (v.totalLength() < hlen) {
            return Defect.BADLEN;
        }
        if (v.totalLength() > available) {
            return Defect.TOOSHORT;
        }
        return null;
    }

    /**
     * Parses and checks the header at {@code v}; {@code available} bytes follow its start.
     *
     * @throws MalformedPacketException naming the first {@link Defect}
     */
    public static Ipv4Repr parse(Ipv4View v, int available) throws MalformedPacketException {
        Defect d = check(v, available, true);
        if (d != null) {
            throw new MalformedPacketException("IPv4 header: " + d);
        }
        return parseUnchecked(v);
    }

    /** The fields of a header already checked by {@link #check} (checksum not needed). */
    static Ipv4Repr parseUnchecked(Ipv4View v) {
        int hlen = v.hlen();
        byte[] opts = Arrays.copyOfRange(v.buf(), v.off() + Ipv4View.MIN_HEADER_LEN, v.off() + hlen);
        return new Ipv4Repr(v.src(), v.dst(), v.protocol(), v.ttl(), v.tos(), v.id(), v.df(), v.mf(),
                v.fragOffset(), v.totalLength(), opts);
    }

    /** Writes the header, options and checksum at {@code v} ({@link #hlen()} bytes). */
    public void emit(Ipv4View v) {
        emitUnsummed(v, src, dst, protocol, ttl, tos, id, df, mf, fragOffset, totalLength, options);
        v.fillChecksum();
    }

    /**
     * Writes a header with these fields at {@code v}, its checksum field zero, without building a repr
     * (the output path, which fills the checksum once it has chosen the source). {@code options}: a
     * multiple of 4 bytes, at most 40, or null.
     */
    static void emitUnsummed(Ipv4View v, InAddr src, InAddr dst, int protocol, int ttl, int tos, int id, boolean df,
                             boolean mf, int fragOffset, int totalLength, byte[] options) {
        int olen = options == null ? 0 : options.length;
        v.setVersionHlen(4, Ipv4View.MIN_HEADER_LEN + olen);
        v.setTos(tos);
        v.setTotalLength(totalLength);
        v.setId(id);
        v.setOffWord((df ? Ipv4View.IP_DF : 0) | (mf ? Ipv4View.IP_MF : 0) | (fragOffset >>> 3));
        v.setTtl(ttl);
        v.setProtocol(protocol);
        v.setChecksum(0);
        v.setSrc(src);
        v.setDst(dst);
        if (olen != 0) {
            System.arraycopy(options, 0, v.buf(), v.off() + Ipv4View.MIN_HEADER_LEN, olen);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Ipv4Repr r && src.equals(r.src) && dst.equals(r.dst) && protocol == r.protocol
                && ttl == r.ttl && tos == r.tos && id == r.id && df == r.df && mf == r.mf
                && fragOffset == r.fragOffset && totalLength == r.totalLength && Arrays.equals(options, r.options);
    }

    @Override
    public int hashCode() {
        return ((src.hashCode() * 31 + dst.hashCode()) * 31 + id) * 31 + fragOffset;
    }

    @Override
    public String toString() {
        return "Ipv4Repr[" + src + " > " + dst + " proto " + protocol + " ttl " + ttl + " id " + id
                + (df ? " DF" : "") + (mf ? " MF" : "") + " off " + fragOffset + " len " + totalLength
                + (options.length > 0 ? " optlen " + options.length : "") + "]";
    }
}
