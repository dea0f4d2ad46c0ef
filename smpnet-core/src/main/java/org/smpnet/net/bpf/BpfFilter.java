package org.smpnet.net.bpf;

/**
 * A runnable packet filter: {@link BpfInterpreter} or a class made by {@link BpfJit}.
 *
 * <p>Implementations are immutable and may be called from any number of threads at once; a call
 * takes no lock, never sleeps and allocates at most the 16 scratch words.
 */
@FunctionalInterface
public interface BpfFilter {
    /**
     * Runs the filter over one packet ({@code bpf_filter(9)}).
     *
     * @param pkt the packet bytes, starting at the link-layer header at index 0
     * @param wirelen the length of the packet on the wire (unsigned; what {@code ld #pktlen} sees)
     * @param buflen how many bytes of {@code pkt} are present, 0..pkt.length; loads beyond it
     *     make the filter return 0
     * @return the filter's result as an unsigned 32-bit number: 0 rejects the packet, anything
     *     else is the number of bytes to keep ({@code -1} = 0xffffffff keeps all)
     * @throws IllegalArgumentException if {@code buflen} is negative or beyond {@code pkt.length}
     */
    int filter(byte[] pkt, int wirelen, int buflen);
}
