package dev.scalebox.hypervisor;

import java.util.concurrent.CompletableFuture;

/**
 * A running QEMU process of ours: the VM it serves, its {@code -name} (which tells it is ours),
 * its pid, its start time (which tells it from a later process given the same pid) and its QMP
 * connection. QEMU is not our child, so its exit is polled.
 */
public record Instance(String vmId, String processName, long pid, long startTime, QmpClient qmp,
                       CompletableFuture<Void> exit) {

    private static final long POLL_MILLIS = 250;

    /** Watches the process from now on; empty exit future already complete when it is gone. */
    static Instance watch(String vmId, String processName, long pid, QmpClient qmp) {
        long startTime = ProcessStatus.startTime(pid).orElse(-1);
        CompletableFuture<Void> exit = new CompletableFuture<>();
        Thread.ofVirtual().name("exit-" + vmId).start(() -> {
            try {
                while (ProcessStatus.isAlive(pid, startTime)) {
                    Thread.sleep(POLL_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exit.complete(null);
        });
        return new Instance(vmId, processName, pid, startTime, qmp, exit);
    }

    /** The same process, now serving VM {@code id}. */
    Instance servingVm(String id) {
        return new Instance(id, processName, pid, startTime, qmp, exit);
    }

    public boolean isAlive() {
        return ProcessStatus.isAlive(pid, startTime);
    }

    /** Completes when the process has exited or is a zombie. */
    public CompletableFuture<Void> onExit() {
        return exit;
    }
}
