package org.smpnet.net.bpf;

/**
 * A pcap-filter(7) expression that does not compile: a syntax error or a semantic one (an
 * illegal qualifier, an out-of-range number, an unsupported primitive). The message names
 * the character position (0-based) and what was expected, e.g.
 * {@code syntax error at 14: expected a port number after 'port'}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class FilterSyntaxException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int position;
    private final String detail;

    FilterSyntaxException(int position, String detail, boolean syntax) {
        super((syntax ? "syntax error at " : "error at ") + position + ": " + detail);
        this.position = position;
        this.detail = detail;
    }

    static FilterSyntaxException syntax(int position, String detail) {
        return new FilterSyntaxException(position, detail, true);
    }

    static FilterSyntaxException semantic(int position, String detail) {
        return new FilterSyntaxException(position, detail, false);
    }

    /** Character position (0-based) in the expression where the problem was found. */
    public int position() {
        return position;
    }

    /** The message without the position prefix. */
    public String detail() {
        return detail;
    }
}
