package dev.scalebox.vm;

import java.time.Duration;

/**
 * When a start is given up on (see {@link BootProgress}): a guest idle with no disk or console
 * activity for {@code stall}, or one that used {@code cpuBudgetSeconds} of CPU with none (it
 * spins). Never a time on the clock: a guest that makes progress is waited for, however loaded the
 * host.
 */
public record BootLimits(Duration stall, double cpuBudgetSeconds) {

    /**
     * A whole boot of debian-base takes 20 to 40 s of CPU under TCG (several times that when many
     * guests starve each other), with disk reads all along it; 300 s of CPU without one is a guest
     * that spins. A minute with idle vCPUs and no disk or console activity is far past any pause
     * of a healthy boot.
     */
    public static final BootLimits DEFAULT = new BootLimits(Duration.ofSeconds(60), 300);
}
