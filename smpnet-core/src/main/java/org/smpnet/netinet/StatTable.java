package org.smpnet.netinet;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.smpnet.kern.Counter;
import org.smpnet.kern.Sysctl;

/**
 * An ordered set of protocol statistics: each a per-CPU {@link Counter}, a sysctl node
 * {@code prefix.name} and a {@code netstat -s} line. Lock-free; lines are rendered from sums read one by one.
 */
public final class StatTable {
    /** One statistic: its sysctl leaf name, its netstat line ({@code %d} is the value) and its counter. */
    public record Stat(String name, String line, Counter counter) {}

    private final String title;
    private final List<Stat> stats = new ArrayList<>();

    StatTable(String title) {
        this.title = title;
    }

    /** Adds a statistic and returns its counter. Only during construction of the owning protocol. */
    Counter add(String name, String line) {
        Counter c = new Counter();
        stats.add(new Stat(name, line, c));
        return c;
    }

    /** Publishes every counter as {@code prefix.name} in {@code tree}. */
    void register(Sysctl tree, String prefix) {
        for (Stat s : stats) {
            tree.addCounter(prefix + "." + s.name(), s.line().replace("%d ", "").replace("%d", "#"), s.counter());
        }
    }

    public List<Stat> stats() {
        return Collections.unmodifiableList(stats);
    }

    /** The value of statistic {@code name}. */
    public long get(String name) {
        for (Stat s : stats) {
            if (s.name().equals(name)) {
                return s.counter().get();
            }
        }
        throw new IllegalArgumentException("no statistic '" + name + "' in " + title);
    }

    /**
     * {@code netstat -s -p proto} text: the title line, then one tab-indented line per statistic;
     * with {@code skipZero} ({@code -z} inverted, as netstat by default) zero lines are left out.
     */
    public String render(boolean skipZero) {
        StringBuilder b = new StringBuilder(title).append(":\n");
        for (Stat s : stats) {
            long v = s.counter().get();
            if (v == 0 && skipZero) {
                continue;
            }
            b.append('\t').append(s.line().replace("%d", Long.toString(v))).append('\n');
        }
        return b.toString();
    }
}
