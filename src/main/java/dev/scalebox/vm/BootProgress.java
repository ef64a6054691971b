package dev.scalebox.vm;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a guest on its way to SSH still makes progress, judged from what its QEMU shows rather
 * than from the clock: on a loaded host a healthy boot may take minutes, and a guest that makes no
 * progress should not be waited on for minutes. A guest is stuck when
 * <ul>
 *   <li>QEMU says it cannot run on (panicked, an internal or I/O error, shut down);</li>
 *   <li>its console shows a kernel panic;</li>
 *   <li>for a whole {@code stall} window its vCPUs were all but idle and its console silent
 *       (a booting guest keeps a vCPU busy; one that waits on nothing does not);</li>
 *   <li>it has used {@code cpuBudget} seconds of CPU without answering, many times what a boot
 *       takes, so it spins.</li>
 * </ul>
 * Feed it a sample every few seconds; it keeps only the stall window.
 */
final class BootProgress {

    /** What a look at the guest's QEMU found. */
    record Sample(long nanos, double cpuSeconds, long consoleBytes, String runState, boolean consolePanic) {
    }

    /** A vCPU busy for less than this share of the window is idle: a booting guest keeps one far busier. */
    private static final double IDLE_SHARE = 0.05;
    private static final Set<String> CANNOT_RUN = Set.of("guest-panicked", "internal-error", "io-error", "shutdown");

    private final BootLimits limits;
    private final Deque<Sample> window = new ArrayDeque<>();
    private Sample first;

    BootProgress(BootLimits limits) {
        this.limits = limits;
    }

    /** Why the guest is stuck, given the newest sample; empty while it makes progress. */
    Optional<String> judge(Sample now) {
        if (first == null) {
            first = now;
        }
        if (CANNOT_RUN.contains(now.runState())) {
            return Optional.of("QEMU reports the guest " + now.runState());
        }
        if (now.consolePanic()) {
            return Optional.of("its kernel panicked (see the console)");
        }
        double used = now.cpuSeconds() - first.cpuSeconds();
        if (used > limits.cpuBudgetSeconds()) {
            return Optional.of(String.format("it used %.0f s of CPU without its SSH answering", used));
        }
        window.addLast(now);
        long stallNanos = limits.stall().toNanos();
        while (window.size() > 1 && now.nanos() - second().nanos() >= stallNanos) {
            window.pollFirst();  // the next one is a whole window old already
        }
        Sample oldest = window.peekFirst();
        long span = now.nanos() - oldest.nanos();
        if (span >= stallNanos && now.consoleBytes() == oldest.consoleBytes()
                && now.cpuSeconds() - oldest.cpuSeconds() < IDLE_SHARE * span / 1e9) {
            return Optional.of(String.format("it made no progress for %d s (its vCPUs idle, its console silent)",
                    Duration.ofNanos(span).toSeconds()));
        }
        return Optional.empty();
    }

    private Sample second() {
        var samples = window.iterator();
        samples.next();
        return samples.next();
    }
}
