package dev.scalebox.host;

import java.util.Objects;

/**
 * Named points inside long operations where a test can make the service die as a {@code kill -9}
 * would: when the variable {@code SCALEBOX_CRASH_AT} names the point, reaching it halts the JVM
 * at once, with no shutdown hook and no {@code finally} run. The tests of recovery use it to stop
 * the service at an exact step (a memory state half written, a warm instance half joined) instead
 * of hoping a signal from outside lands there. Unset, it costs one comparison.
 */
public final class CrashPoint {

    /** The exit status of a process halted here, as a shell reports a SIGKILL. */
    public static final int STATUS = 137;
    private static final String AT = System.getenv("SCALEBOX_CRASH_AT");

    private CrashPoint() {
    }

    public static void reach(String point) {
        if (Objects.equals(AT, point)) {
            System.err.println("SCALEBOX_CRASH_AT=" + point + ": halting here");
            Runtime.getRuntime().halt(STATUS);
        }
    }
}
