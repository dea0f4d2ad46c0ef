package org.smpnet.kern;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeSet;

/**
 * Giant, the one global lock, and {@code net.mpsafenet}.
 *
 * <p>With {@code net.mpsafenet=1} (the default) the stack's entry points take Giant only for
 * components marked {@link NeedsGiant}; with {@code 0} every entry point (driver input, netisr
 * dispatch, socket calls, callouts) runs under Giant, as the stack did before netperf. Entry points
 * use {@link #pickup(Class)} / {@link #drop(boolean)} (FreeBSD {@code NET_LOCK_GIANT}).
 *
 * <p>Giant is recursive and, unlike other mutexes, may be held across a sleep. A thread that
 * blocks on a sleepable ({@link Sx}) lock while holding Giant releases Giant until it has the sx
 * ({@link #save}/{@link #restore}, FreeBSD's {@code GIANT_SAVE}/{@code GIANT_RESTORE}), so Giant
 * may be taken after an sx without risk of deadlock; WITNESS does not order Giant against sx locks.
 */
public final class Giant {
    private Giant() {}

    /** Resource the build writes: one line per class, "binary-name TAB reason". */
    public static final String INVENTORY_RESOURCE = "META-INF/smpnet/giant-inventory.txt";

    public static final Mtx GIANT = new Mtx("Giant", LockClass.of("Giant", LockKind.GIANT, true));

    private static volatile boolean mpsafenet = Tunables.bool("net.mpsafenet", true);

    private static final ClassValue<Boolean> NEEDS_GIANT = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return type.isAnnotationPresent(NeedsGiant.class);
        }
    };

    static void registerSysctl(Sysctl s) {
        s.addBool("net.mpsafenet", "Run the network stack without Giant (0: everything under Giant)",
                mpsafenet, true, Giant::setMpsafenet);
    }

    public static boolean mpsafenet() {
        return mpsafenet;
    }

    /**
     * Switches the mode. Entry points entered afterwards follow the new mode; ones already running
     * finish in the mode they started in, since each pairs its own pickup and drop.
     */
    public static void setMpsafenet(boolean on) {
        mpsafenet = on;
    }

    /** Whether a component's entry points must run under Giant in the current mode. */
    public static boolean required(Class<?> component) {
        return !mpsafenet || NEEDS_GIANT.get(component);
    }

    /**
     * Whether {@code component} is marked {@link NeedsGiant}, in every mode. A hot entry point looks
     * this up once and passes it to {@link #pickup(boolean)}: the class lookup costs more than the rest
     * of a per-packet pickup.
     */
    public static boolean needs(Class<?> component) {
        return NEEDS_GIANT.get(component);
    }

    /**
     * {@link #pickup(Class)} for a component whose {@link #needs} was looked up once: takes Giant if
     * the mode or the component requires it. Returns whether it did; pass that to {@link #drop(boolean)}.
     */
    public static boolean pickup(boolean componentNeedsGiant) {
        if (!mpsafenet || componentNeedsGiant) {
            GIANT.lock();
            return true;
        }
        return false;
    }

    /**
     * Takes Giant if {@code component}'s entry point must run under it. Returns whether it did;
     * pass that to {@link #drop(boolean)}.
     */
    public static boolean pickup(Class<?> component) {
        if (required(component)) {
            GIANT.lock();
            return true;
        }
        return false;
    }

    public static void drop(boolean taken) {
        if (taken) {
            GIANT.unlock();
        }
    }

    /**
     * Releases every hold the current thread has on Giant ({@code GIANT_SAVE}, {@code DROP_GIANT})
     * before it blocks on a sleepable lock or otherwise sleeps (a condition, a thread it joins): a
     * sleeper must not stop the Giant-locked world, which may be what it waits for. Returns the number of
     * holds (0 if none) for {@link #restore}.
     */
    public static int save() {
        int holds = GIANT.getHoldCount();
        for (int i = 0; i < holds; i++) {
            GIANT.unlock();
        }
        return holds;
    }

    /** Takes Giant back {@code holds} times after a {@link #save} ({@code GIANT_RESTORE}). May block. */
    public static void restore(int holds) {
        for (int i = 0; i < holds; i++) {
            GIANT.lock();
        }
    }

    /**
     * Waits until each of {@code threads} has terminated, with every hold of Giant released meanwhile (a
     * sleep releases Giant: a stack thread finishing its last work may need it). Interrupts do not end the
     * wait; the caller's interrupt status is set again after, if one came. Everything the threads did
     * happens-before the return.
     */
    public static void joinUninterruptibly(Iterable<Thread> threads) {
        boolean interrupted = false;
        int giant = save();
        try {
            for (Thread t : threads) {
                while (true) {
                    try {
                        t.join();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
        } finally {
            restore(giant);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code body} under Giant when the component needs it. */
    public static void run(Class<?> component, Runnable body) {
        boolean taken = pickup(component);
        try {
            body.run();
        } finally {
            drop(taken);
        }
    }

    /**
     * The build-time inventory of classes that need Giant, from every jar on the class path:
     * lines "class-name: reason", sorted.
     */
    public static List<String> inventory() {
        TreeSet<String> out = new TreeSet<>();
        try {
            Enumeration<URL> urls = Giant.class.getClassLoader().getResources(INVENTORY_RESOURCE);
            for (URL url : Collections.list(urls)) {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(url.openStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.isBlank() || line.startsWith("#")) {
                            continue;
                        }
                        int tab = line.indexOf('\t');
                        out.add(tab < 0 ? line : line.substring(0, tab) + ": " + line.substring(tab + 1));
                    }
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + INVENTORY_RESOURCE, e);
        }
        return new ArrayList<>(out);
    }
}
