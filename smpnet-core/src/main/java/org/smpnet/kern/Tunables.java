package org.smpnet.kern;

/** Boot-time tunables read from system properties (FreeBSD's loader.conf / TUNABLE_INT). */
public final class Tunables {
    private Tunables() {}

    /**
     * Reads a boolean tunable: {@code 1/true/yes/on} or {@code 0/false/no/off}.
     *
     * @throws IllegalArgumentException naming the property when its value is none of those
     */
    public static boolean bool(String property, boolean dflt) {
        String v = System.getProperty(property);
        if (v == null) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("tunable " + property + "=" + v + ": expected 0 or 1");
        };
    }

    /**
     * Reads a non-negative integer tunable.
     *
     * @throws IllegalArgumentException naming the property when its value is not a non-negative integer
     */
    public static int integer(String property, int dflt) {
        String v = System.getProperty(property);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("tunable " + property + "=" + v + ": expected a non-negative integer");
    }
}
