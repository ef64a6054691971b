package dev.scalebox.testing;

import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;

import java.time.Duration;
import java.util.List;

/** Host programs for tests: argument lists, failing loudly. */
public final class Sh {

    private static final ProgramRunner RUNNER = new ProgramRunner();

    private Sh() {
    }

    public static String run(String... argv) {
        return RUNNER.check(List.of(argv), Duration.ofMinutes(5)).stdout();
    }

    public static ProgramResult tryRun(String... argv) {
        return RUNNER.run(List.of(argv), Duration.ofMinutes(5));
    }
}
