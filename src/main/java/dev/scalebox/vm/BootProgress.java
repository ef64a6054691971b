package dev.scalebox.vm;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a guest on its way to SSH still makes progress, judged from what its QEMU shows rather
 * than from the clock: on a loaded host a healthy boot may take many minutes (starved guests also
 * spend far more CPU on the same boot), and a guest that makes no progress should not be waited on
 * at all. A booting guest reads and writes its disk, or prints to its console, all along; that is
 * its progress. It is stuck when
 * <ul>
 *   <li>QEMU says it cannot run on (panicked, an internal or I/O error, shut down);</li>
 *   <li>its console shows a kernel panic;</li>
 *   <li>it went a whole {@code stall} window with no progress and its vCPUs all but idle (it waits
 *       on something that never comes);</li>
 *   <li>it used {@code cpuBudget} seconds of CPU since its last progress (it spins).</li>
 * </ul>
 * Feed it a sample every few seconds.
 */
final class BootProgress {

    /** What a look at the guest's QEMU found. */
    record Sample(long nanos, double cpuSeconds, long consoleBytes, long diskOperations, String runState,
                  boolean consolePanic) {
    }

    /** A vCPU busy for less than this share of the window is idle: a booting guest keeps one far busier. */
    private static final double IDLE_SHARE = 0.05;
    private static final Set<String> CANNOT_RUN = Set.of("guest-panicked", "internal-error", "io-error", "shutdown");

    private final BootLimits limits;
    private Sample last;
    private Sample lastProgress;

    BootProgress(BootLimits limits) {
        this.limits = limits;
    }

    /** Why the guest is stuck, given the newest sample; empty while it makes progress. */
    Optional<String> judge(Sample now) {
        if (last == null || now.consoleBytes() != last.consoleBytes() || now.diskOperations() != last.diskOperations()) {
            lastProgress = now;
        }
        last = now;
        if (CANNOT_RUN.contains(now.runState())) {
            return Optional.of("QEMU reports the guest " + now.runState());
        }
        if (now.consolePanic()) {
            return Optional.of("its kernel panicked (see the console)");
        }
        double spent = now.cpuSeconds() - lastProgress.cpuSeconds();
        if (spent > limits.cpuBudgetSeconds()) {
            return Optional.of(String.format("it used %.0f s of CPU with no disk or console activity (it spins)", spent));
        }
        long quiet = now.nanos() - lastProgress.nanos();
        if (quiet >= limits.stall().toNanos() && spent < IDLE_SHARE * quiet / 1e9) {
            return Optional.of(String.format("it made no progress for %d s (idle vCPUs, no disk or console activity)",
                    Duration.ofNanos(quiet).toSeconds()));
        }
        return Optional.empty();
    }
}
