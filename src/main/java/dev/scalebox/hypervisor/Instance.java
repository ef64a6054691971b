package dev.scalebox.hypervisor;

import java.util.concurrent.CompletableFuture;

/** A running QEMU process of ours: its pid and its QMP connection. */
public record Instance(String vmId, long pid, QmpClient qmp) {

    public boolean isAlive() {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Completes when the process has exited (it is not our child, so this is polled by the JDK). */
    public CompletableFuture<Void> onExit() {
        return ProcessHandle.of(pid).map(h -> h.onExit().thenAccept(x -> { }))
                .orElse(CompletableFuture.completedFuture(null));
    }
}
