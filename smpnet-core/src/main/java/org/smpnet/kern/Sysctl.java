package org.smpnet.kern;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A sysctl tree (FreeBSD {@code sysctl(9)}): typed, named values such as {@code net.isr.maxthreads}.
 *
 * <p>Writable integer, long, boolean and string nodes are also <em>tunables</em>: a system property
 * with the node's exact name (for example {@code -Dnet.mpsafenet=0}) sets the value when the node is
 * added, and a bad value there fails the add with a message naming the property.
 *
 * <p>Locking: the map of nodes is guarded by {@link #lock}; node values are atomics, read and
 * written without it. Handlers of procedure nodes run without the tree lock held.
 */
public final class Sysctl {
    /** Node value types, as {@code sysctl -t} would show them. */
    public enum Type { INT, LONG, BOOL, STRING, COUNTER, PROC }

    /** One named value. */
    public abstract static sealed class Oid permits IntOid, LongOid, BoolOid, StringOid, CounterOid, ProcOid {
        private final String name;
        private final String description;
        private final boolean writable;

        Oid(String name, String description, boolean writable) {
            this.name = name;
            this.description = description;
            this.writable = writable;
        }

        public String name() {
            return name;
        }

        public String description() {
            return description;
        }

        public boolean writable() {
            return writable;
        }

        public abstract Type type();

        /** The value as sysctl(8) prints it. */
        public abstract String valueString();

        /** Parses and stores {@code text}; called only for writable nodes. */
        abstract void parseAndSet(String text);

        /** The value as a Java object (Integer, Long, Boolean, String). */
        public abstract Object value();

        final SysctlException invalid(String text, String expected) {
            return new SysctlException(SysctlException.Errno.EINVAL,
                    "invalid value '" + text + "' for " + name + ": expected " + expected);
        }
    }

    /** An integer node with an inclusive range. */
    public static final class IntOid extends Oid {
        private final AtomicInteger value;
        private final int min;
        private final int max;
        private final java.util.function.IntConsumer onChange;

        IntOid(String name, String description, boolean writable, int initial, int min, int max,
               java.util.function.IntConsumer onChange) {
            super(name, description, writable);
            this.value = new AtomicInteger(initial);
            this.min = min;
            this.max = max;
            this.onChange = onChange;
        }

        public int get() {
            return value.get();
        }

        /** Sets the value from code, with the same range check as a sysctl write. */
        public void set(int v) {
            if (v < min || v > max) {
                throw new SysctlException(SysctlException.Errno.EINVAL,
                        "value " + v + " out of range [" + min + ", " + max + "] for " + name());
            }
            value.set(v);
            if (onChange != null) {
                onChange.accept(v);
            }
        }

        @Override
        public Type type() {
            return Type.INT;
        }

        @Override
        public String valueString() {
            return Integer.toString(get());
        }

        @Override
        public Object value() {
            return get();
        }

        @Override
        void parseAndSet(String text) {
            int v;
            try {
                v = Integer.decode(text.trim());
            } catch (NumberFormatException e) {
                throw invalid(text, "an integer in [" + min + ", " + max + "]");
            }
            set(v);
        }
    }

    /** A long node with an inclusive range. */
    public static final class LongOid extends Oid {
        private final AtomicLong value;
        private final long min;
        private final long max;

        LongOid(String name, String description, boolean writable, long initial, long min, long max) {
            super(name, description, writable);
            this.value = new AtomicLong(initial);
            this.min = min;
            this.max = max;
        }

        public long get() {
            return value.get();
        }

        public void set(long v) {
            if (v < min || v > max) {
                throw new SysctlException(SysctlException.Errno.EINVAL,
                        "value " + v + " out of range [" + min + ", " + max + "] for " + name());
            }
            value.set(v);
        }

        @Override
        public Type type() {
            return Type.LONG;
        }

        @Override
        public String valueString() {
            return Long.toString(get());
        }

        @Override
        public Object value() {
            return get();
        }

        @Override
        void parseAndSet(String text) {
            long v;
            try {
                v = Long.decode(text.trim());
            } catch (NumberFormatException e) {
                throw invalid(text, "an integer in [" + min + ", " + max + "]");
            }
            set(v);
        }
    }

    /** A boolean node, printed as 0 or 1. */
    public static final class BoolOid extends Oid {
        private volatile boolean value;
        private final Consumer<Boolean> onChange;

        BoolOid(String name, String description, boolean writable, boolean initial, Consumer<Boolean> onChange) {
            super(name, description, writable);
            this.value = initial;
            this.onChange = onChange;
        }

        public boolean get() {
            return value;
        }

        public void set(boolean v) {
            value = v;
            if (onChange != null) {
                onChange.accept(v);
            }
        }

        @Override
        public Type type() {
            return Type.BOOL;
        }

        @Override
        public String valueString() {
            return value ? "1" : "0";
        }

        @Override
        public Object value() {
            return value;
        }

        @Override
        void parseAndSet(String text) {
            set(switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "1", "true", "yes", "on" -> true;
                case "0", "false", "no", "off" -> false;
                default -> throw invalid(text, "0 or 1");
            });
        }
    }

    /** A string node, free-form or restricted to a list of choices. */
    public static final class StringOid extends Oid {
        private final AtomicReference<String> value;
        private final int maxLength;
        private final List<String> choices;

        StringOid(String name, String description, boolean writable, String initial, int maxLength, List<String> choices) {
            super(name, description, writable);
            this.value = new AtomicReference<>(initial);
            this.maxLength = maxLength;
            this.choices = List.copyOf(choices);
            if (!this.choices.isEmpty() && !this.choices.contains(initial)) {
                throw new IllegalArgumentException("initial value '" + initial + "' of " + name + " is not one of " + choices);
            }
        }

        public String get() {
            return value.get();
        }

        /** The accepted values; empty when any string (up to the length limit) is. */
        public List<String> choices() {
            return choices;
        }

        public void set(String v) {
            if (v.length() > maxLength) {
                throw new SysctlException(SysctlException.Errno.EINVAL,
                        "value for " + name() + " longer than " + maxLength + " characters");
            }
            if (!choices.isEmpty() && !choices.contains(v)) {
                throw invalid(v, "one of " + String.join(", ", choices));
            }
            value.set(v);
        }

        @Override
        public Type type() {
            return Type.STRING;
        }

        @Override
        public String valueString() {
            return get();
        }

        @Override
        public Object value() {
            return get();
        }

        @Override
        void parseAndSet(String text) {
            set(text);
        }
    }

    /** A statistics counter; writing 0 resets it, any other write is refused. */
    public static final class CounterOid extends Oid {
        private final Counter counter;

        CounterOid(String name, String description, Counter counter) {
            super(name, description, true);
            this.counter = counter;
        }

        public Counter counter() {
            return counter;
        }

        @Override
        public Type type() {
            return Type.COUNTER;
        }

        @Override
        public String valueString() {
            return Long.toString(counter.get());
        }

        @Override
        public Object value() {
            return counter.get();
        }

        @Override
        void parseAndSet(String text) {
            if (!text.trim().equals("0")) {
                throw invalid(text, "0 (counters can only be reset)");
            }
            counter.reset();
        }
    }

    /** A read-only node whose value is computed on each read (a struct or a report). */
    public static final class ProcOid extends Oid {
        private final Supplier<?> reader;

        ProcOid(String name, String description, Supplier<?> reader) {
            super(name, description, false);
            this.reader = reader;
        }

        @Override
        public Type type() {
            return Type.PROC;
        }

        @Override
        public String valueString() {
            return String.valueOf(reader.get());
        }

        @Override
        public Object value() {
            return reader.get();
        }

        @Override
        void parseAndSet(String text) {
            throw new IllegalStateException("read-only");
        }
    }

    private static final Sysctl KERNEL = new Sysctl();

    static {
        KernelSysctls.register(KERNEL);
    }

    /** The JVM-wide tree (kern.*, debug.*, net.mpsafenet); stacks add their own subtrees. */
    public static Sysctl kernel() {
        return KERNEL;
    }

    private final Mtx lock = new Mtx("sysctl", "sysctl");
    @GuardedBy("lock")
    private final NavigableMap<String, Oid> oids = new TreeMap<>();

    public Sysctl() {}

    public IntOid addInt(String name, String description, int initial, int min, int max, boolean writable) {
        return addInt(name, description, initial, min, max, writable, null);
    }

    /** An int node; {@code onChange} (may be null) runs after each successful write. */
    public IntOid addInt(String name, String description, int initial, int min, int max, boolean writable,
                         java.util.function.IntConsumer onChange) {
        IntOid oid = new IntOid(name, description, writable, initial, min, max, onChange);
        applyTunable(oid);
        return add(oid);
    }

    public LongOid addLong(String name, String description, long initial, long min, long max, boolean writable) {
        LongOid oid = new LongOid(name, description, writable, initial, min, max);
        applyTunable(oid);
        return add(oid);
    }

    public BoolOid addBool(String name, String description, boolean initial, boolean writable) {
        return addBool(name, description, initial, writable, null);
    }

    public BoolOid addBool(String name, String description, boolean initial, boolean writable, Consumer<Boolean> onChange) {
        BoolOid oid = new BoolOid(name, description, writable, initial, onChange);
        applyTunable(oid);
        return add(oid);
    }

    public StringOid addString(String name, String description, String initial, boolean writable) {
        return addString(name, description, initial, writable, List.of());
    }

    /** A string node that accepts only {@code choices} (any string when empty); others are EINVAL. */
    public StringOid addString(String name, String description, String initial, boolean writable, List<String> choices) {
        StringOid oid = new StringOid(name, description, writable, initial, 4096, choices);
        applyTunable(oid);
        return add(oid);
    }

    public CounterOid addCounter(String name, String description, Counter counter) {
        return add(new CounterOid(name, description, counter));
    }

    public ProcOid addProc(String name, String description, Supplier<?> reader) {
        return add(new ProcOid(name, description, reader));
    }

    private static void applyTunable(Oid oid) {
        String v = System.getProperty(oid.name());
        if (v == null || !oid.writable()) {
            return;
        }
        try {
            oid.parseAndSet(v);
        } catch (SysctlException e) {
            throw new IllegalArgumentException("tunable " + oid.name() + "=" + v + ": " + e.getMessage(), e);
        }
    }

    private <T extends Oid> T add(T oid) {
        checkName(oid.name());
        lock.lock();
        try {
            if (oids.containsKey(oid.name())) {
                throw new SysctlException(SysctlException.Errno.EEXIST, "sysctl " + oid.name() + " already exists");
            }
            String prefix = oid.name() + ".";
            String above = oids.ceilingKey(prefix);
            if (above != null && above.startsWith(prefix)) {
                throw new SysctlException(SysctlException.Errno.ENOTDIR, "sysctl " + oid.name() + " is a node with children");
            }
            for (int dot = oid.name().indexOf('.'); dot > 0; dot = oid.name().indexOf('.', dot + 1)) {
                if (oids.containsKey(oid.name().substring(0, dot))) {
                    throw new SysctlException(SysctlException.Errno.ENOTDIR,
                            "sysctl " + oid.name().substring(0, dot) + " is a leaf, not a node");
                }
            }
            oids.put(oid.name(), oid);
        } finally {
            lock.unlock();
        }
        return oid;
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.startsWith(".") || name.endsWith(".") || name.contains("..")
                || !name.chars().allMatch(c -> c == '.' || c == '_' || c == '-' || Character.isLetterOrDigit(c))) {
            throw new IllegalArgumentException("bad sysctl name '" + name + "'");
        }
    }

    /** Removes one node or a whole subtree (an interface or a stack going away). Returns how many. */
    public int remove(String nameOrPrefix) {
        lock.lock();
        try {
            int n = oids.remove(nameOrPrefix) != null ? 1 : 0;
            NavigableMap<String, Oid> sub = oids.subMap(nameOrPrefix + ".", true, nameOrPrefix + "/", false);
            n += sub.size();
            sub.clear();
            return n;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Finds one node.
     *
     * @throws SysctlException ENOENT if there is no node of that name
     */
    public Oid oid(String name) {
        lock.lock();
        try {
            Oid oid = oids.get(name);
            if (oid == null) {
                throw new SysctlException(SysctlException.Errno.ENOENT, "unknown oid '" + name + "'");
            }
            return oid;
        } finally {
            lock.unlock();
        }
    }

    /** The value of a node as text. */
    public String get(String name) {
        return oid(name).valueString();
    }

    /**
     * Writes a node from text, as {@code sysctl name=value} does.
     *
     * @throws SysctlException ENOENT unknown name, EPERM read-only, EINVAL wrong type or out of range
     */
    public void set(String name, String value) {
        Oid oid = oid(name);
        if (!oid.writable()) {
            throw new SysctlException(SysctlException.Errno.EPERM, "oid '" + name + "' is read only");
        }
        oid.parseAndSet(value);
    }

    /**
     * Every node at or below {@code prefix} ("" for all), sorted by name.
     *
     * @throws SysctlException ENOENT if there is none
     */
    public List<Oid> list(String prefix) {
        lock.lock();
        try {
            if (prefix.isEmpty()) {
                return new ArrayList<>(oids.values());
            }
            List<Oid> out = new ArrayList<>();
            Oid exact = oids.get(prefix);
            if (exact != null) {
                out.add(exact);
            }
            out.addAll(oids.subMap(prefix + ".", true, prefix + "/", false).values());
            if (out.isEmpty()) {
                throw new SysctlException(SysctlException.Errno.ENOENT, "unknown oid '" + prefix + "'");
            }
            return out;
        } finally {
            lock.unlock();
        }
    }
}
