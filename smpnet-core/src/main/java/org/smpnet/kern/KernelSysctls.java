package org.smpnet.kern;

import java.util.stream.Collectors;

/** The JVM-wide nodes: WITNESS, Giant and the kernel's identity. */
final class KernelSysctls {
    private KernelSysctls() {}

    static void register(Sysctl s) {
        s.addString("kern.ostype", "Operating system type", "smpnet", false);
        s.addString("kern.osrelease", "Operating system release", "0.1", false);
        s.addInt("hw.ncpu", "Number of CPUs the JVM sees", Runtime.getRuntime().availableProcessors(), 1, 1 << 16, false);
        s.addBool("debug.witness.enable", "WITNESS lock-order checking", Witness.isEnabled(), true, Witness::setEnabled);
        s.addProc("debug.witness.reversals", "Lock-order reversals seen, each with both stacks",
                () -> Witness.reversals().stream().map(Witness.Reversal::report).collect(Collectors.joining("\n")));
        s.addProc("debug.witness.violations", "Sleeps and sleepable locks taken under non-sleepable locks",
                () -> Witness.violations().stream().map(Witness.Violation::report).collect(Collectors.joining("\n")));
        s.addProc("debug.witness.reversal_count", "Number of lock-order reversals seen", () -> Witness.reversals().size());
        s.addProc("debug.witness.order", "The lock order learned so far (class -> class)",
                () -> String.join("\n", Witness.order()));
        s.addProc("debug.giant.inventory", "Classes that need Giant, written at build time",
                () -> String.join("\n", Giant.inventory()));
        Giant.registerSysctl(s);
        Sysctl.IntOid maxfiles = s.addInt("kern.maxfiles", "Maximum number of open files", File.maxFiles(), 1,
                Integer.MAX_VALUE, true, File::setMaxFiles);
        File.setMaxFiles(maxfiles.get());
        s.addProc("kern.openfiles", "Files open now (not yet finally closed)", File::openFiles);
        s.addProc("kern.kqueue.knotes", "Knotes registered in all kqueues now", Kqueue::liveKnotes);
    }
}
