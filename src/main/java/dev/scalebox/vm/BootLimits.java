package dev.scalebox.vm;

import java.time.Duration;

/**
 * When a start is given up on (see {@link BootProgress}): a guest idle with a silent console for
 * {@code stall}, or one that used {@code cpuBudgetSeconds} of CPU without its SSH answering. Never
 * a time on the clock: a guest that makes progress is waited for, however loaded the host.
 */
public record BootLimits(Duration stall, double cpuBudgetSeconds) {

    /**
     * A boot of debian-base takes 20 to 40 s of CPU under TCG, a few under KVM; 300 is many times
     * that. A minute with idle vCPUs and a silent console is far past any pause of a healthy boot.
     */
    public static final BootLimits DEFAULT = new BootLimits(Duration.ofSeconds(60), 300);
}
