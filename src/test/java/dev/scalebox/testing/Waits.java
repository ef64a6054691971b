package dev.scalebox.testing;

import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * Every wait of the tests, in one place, with bounds for a loaded 2-core machine of the slow kind:
 * a start may wait in the host's line behind the boots of every other test class, so its bound
 * is generous; nothing in the product waits on the clock, only the tests do. A wait that runs out
 * says what it saw: the VM's console tail and the service's last log lines.
 */
public final class Waits {

    /** A start: queued behind other classes' boots, then a boot of 20-40 s on a slow machine, or a resume. */
    public static final Duration START = Duration.ofMinutes(15);
    /** A step of a VM that runs: an exit noticed, a suspend, a stop, a pool refilled. */
    public static final Duration STEP = Duration.ofMinutes(3);

    private Waits() {
    }

    /** Waits until VM {@code id} is {@code status}; on timeout fails with its console and the log. */
    public static Vm status(VmService vms, String id, VmStatus status, Duration bound) {
        Vm[] last = {vms.get(id)};
        until("VM " + id + " to be " + status.label(), bound, () -> {
            last[0] = vms.get(id);
            if (last[0].status() == VmStatus.ERROR && status != VmStatus.ERROR) {
                throw new AssertionError("VM " + id + " is in error (" + last[0].statusReason() + ") while waiting for "
                        + status.label() + "; log:\n" + RecentLog.tail(40, null));
            }
            return last[0].status() == status;
        }, () -> "it is " + last[0].status().label() + " (" + last[0].statusReason() + "); console tail:\n"
                + vms.console(id, 3000) + "\nlog:\n" + RecentLog.tail(40, null));
        return last[0];
    }

    /** Waits for {@code condition}, looking every 250 ms; on timeout fails saying what it waited for and {@code context}. */
    public static void until(String what, Duration bound, Callable<Boolean> condition, Supplier<String> context) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("waited " + bound.toSeconds() + " s for " + what + "; last: " + e
                            + "\n" + context.get(), e);
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + bound.toSeconds() + " s for " + what + "; " + context.get());
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Waits for {@code condition}, with the service's last log lines as context. */
    public static void until(String what, Duration bound, Callable<Boolean> condition) {
        until(what, bound, condition, () -> "log:\n" + RecentLog.tail(40, null));
    }
}
