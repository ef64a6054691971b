package dev.scalebox.host;

import dev.scalebox.ScaleboxException;

import java.util.Objects;

/**
 * Named points inside long operations where a test can make the service fail on purpose, in a
 * process of its own:
 * <ul>
 *   <li>{@code SCALEBOX_CRASH_AT=POINT} halts the JVM there as a {@code kill -9} would: no
 *       shutdown hook, no {@code finally}. The recovery tests stop the service at an exact step
 *       (a memory state half written, a warm instance half joined) this way, instead of hoping a
 *       signal from outside lands there.</li>
 *   <li>{@code SCALEBOX_FAIL_AT=POINT} makes the step fail there as a host failure would.</li>
 * </ul>
 * Unset, a point costs two comparisons.
 */
public final class FaultPoint {

    /** The exit status of a process halted here, as a shell reports a SIGKILL. */
    public static final int CRASH_STATUS = 137;
    private static final String CRASH_AT = System.getenv("SCALEBOX_CRASH_AT");
    private static final String FAIL_AT = System.getenv("SCALEBOX_FAIL_AT");

    private FaultPoint() {
    }

    public static void reach(String point) {
        if (Objects.equals(CRASH_AT, point)) {
            System.err.println("SCALEBOX_CRASH_AT=" + point + ": halting here");
            Runtime.getRuntime().halt(CRASH_STATUS);
        }
        if (Objects.equals(FAIL_AT, point)) {
            throw new ScaleboxException.HostFailure("failing at " + point + " as SCALEBOX_FAIL_AT asks");
        }
    }
}
