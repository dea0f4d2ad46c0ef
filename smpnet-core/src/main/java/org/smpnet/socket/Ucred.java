package org.smpnet.socket;

import java.util.List;

/**
 * The credentials of a simulated "process" ({@code struct ucred} reduced to what {@code SCM_CREDS}
 * carries): process id, real and effective user id, group id and supplementary groups. Immutable.
 */
public record Ucred(int pid, int uid, int euid, int gid, List<Integer> groups) {
    /** At most {@code CMGROUP_MAX} supplementary groups travel in a {@code struct cmsgcred}. */
    public static final int CMGROUP_MAX = 16;

    public Ucred {
        if (pid < 0) {
            throw new IllegalArgumentException("pid " + pid + " is negative");
        }
        groups = List.copyOf(groups);
        if (groups.size() > CMGROUP_MAX) {
            throw new IllegalArgumentException(groups.size() + " groups, at most " + CMGROUP_MAX);
        }
    }

    /** Credentials with euid = uid and no supplementary groups. */
    public static Ucred of(int pid, int uid, int gid) {
        return new Ucred(pid, uid, uid, gid, List.of());
    }

    /** The credentials used when none are given: pid 0, root. */
    public static final Ucred KERNEL = of(0, 0, 0);
}
