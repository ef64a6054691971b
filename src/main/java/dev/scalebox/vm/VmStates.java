package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.VmStore;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;

import static dev.scalebox.vm.VmStatus.CREATING;
import static dev.scalebox.vm.VmStatus.ERROR;
import static dev.scalebox.vm.VmStatus.RUNNING;
import static dev.scalebox.vm.VmStatus.STARTING;
import static dev.scalebox.vm.VmStatus.STOPPED;
import static dev.scalebox.vm.VmStatus.STOPPING;
import static dev.scalebox.vm.VmStatus.SUSPENDED;

/**
 * The one owner of every VM's state. It holds the per-VM locks, and every change of status goes
 * through {@link #move}, which checks it against the table below, writes the record, and completes
 * what waits on it: a future from {@link #untilRunning} ends when the VM runs, or fails when its
 * start ends any other way. A move to the status a VM already has changes only its reason: that
 * is how a start steps from "queued: 2 ahead" to "booting".
 *
 * <pre>
 * creating  -> starting (its disk is made), suspended (a fork)
 * starting  -> running (SSH answered), stopping, stopped (QEMU exited), suspended, error
 * running   -> stopping, stopped (QEMU exited), suspended, starting (a restart)
 * stopping  -> stopped, starting (a restart)
 * stopped   -> starting
 * suspended -> starting, stopped (its saved memory forgotten)
 * error     -> starting, stopping, stopped
 * </pre>
 */
final class VmStates {

    private static final Map<VmStatus, Set<VmStatus>> NEXT = new EnumMap<>(VmStatus.class);

    static {
        NEXT.put(CREATING, EnumSet.of(STARTING, SUSPENDED));
        NEXT.put(STARTING, EnumSet.of(RUNNING, STOPPING, STOPPED, SUSPENDED, ERROR));
        NEXT.put(RUNNING, EnumSet.of(STOPPING, STOPPED, SUSPENDED, STARTING));
        NEXT.put(STOPPING, EnumSet.of(STOPPED, STARTING));
        NEXT.put(STOPPED, EnumSet.of(STARTING));
        NEXT.put(SUSPENDED, EnumSet.of(STARTING, STOPPED));
        NEXT.put(ERROR, EnumSet.of(STARTING, STOPPING, STOPPED));
    }

    /** Told of each record stored by a move or an insert, and of each removed, under the VM's lock: it must not block. */
    interface Watcher {
        void stored(VmStore.Row row);

        void removed(String id);
    }

    private final VmStore store;
    private volatile Watcher watcher = new Watcher() {
        @Override
        public void stored(VmStore.Row row) {
        }

        @Override
        public void removed(String id) {
        }
    };
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, List<CompletableFuture<VmStore.Row>>> waiting = new ConcurrentHashMap<>();

    VmStates(VmStore store) {
        this.store = store;
    }

    void watch(Watcher watcher) {
        this.watcher = watcher;
    }

    /** Whether a VM in {@code from} may move to {@code to}. */
    static boolean allowed(VmStatus from, VmStatus to) {
        return from == to || NEXT.get(from).contains(to);
    }

    private ReentrantLock lockOf(String id) {
        return locks.computeIfAbsent(id, k -> new ReentrantLock());
    }

    /** Runs {@code action} under VM {@code id}'s lock. */
    <T> T locked(String id, Supplier<T> action) {
        ReentrantLock lock = lockOf(id);
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    /** The VM's record as stored now. */
    Optional<VmStore.Row> current(String id) {
        return store.find(id);
    }

    /**
     * Moves the VM of {@code row} to {@code to} with {@code reason} and returns the new record. The
     * caller holds the VM's lock; a move the table does not allow is a bug, and throws.
     */
    VmStore.Row move(VmStore.Row row, VmStatus to, String reason) {
        VmStatus from = VmStatus.of(row.status());
        if (!allowed(from, to)) {
            throw new IllegalStateException("VM " + row.id() + " cannot go from " + from.label() + " to " + to.label());
        }
        VmStore.Row moved = row.withStatus(to.label(), reason);
        store.update(moved);
        settle(moved);
        watcher.stored(moved);
        return moved;
    }

    /**
     * Moves VM {@code id} from {@code from} to {@code to}, under its lock, when {@code still} holds
     * of its record (the watcher that asks is still the VM's own); returns the new record, or empty
     * when the VM had moved on.
     */
    Optional<VmStore.Row> moveIf(String id, VmStatus from, VmStatus to, String reason,
                                 Predicate<VmStore.Row> still) {
        return locked(id, () -> store.find(id)
                .filter(r -> VmStatus.of(r.status()) == from && still.test(r))
                .map(r -> move(r, to, reason)));
    }

    /** Inserts a new VM's record, in {@code creating}. */
    boolean insert(VmStore.Row row) {
        if (VmStatus.of(row.status()) != CREATING) {
            throw new IllegalStateException("a new VM starts in creating, not " + row.status());
        }
        if (!store.insert(row)) {
            return false;
        }
        watcher.stored(row);
        return true;
    }

    /** Removes the VM's record; whoever waits for it to run is told it is gone. */
    void remove(String id) {
        store.delete(id);
        fail(id, "it was deleted");
        locks.remove(id);
        watcher.removed(id);
    }

    /**
     * Completes when VM {@code id} runs, with its record; fails with the reason when its start ends
     * otherwise (stopped, error, suspended, deleted). Already complete when it runs now.
     */
    CompletableFuture<VmStore.Row> untilRunning(String id) {
        return locked(id, () -> {
            VmStore.Row row = store.find(id).orElse(null);
            if (row == null) {
                return CompletableFuture.failedFuture(new ScaleboxException.NotFound("VM not found"));
            }
            VmStatus status = VmStatus.of(row.status());
            if (status == RUNNING) {
                return CompletableFuture.completedFuture(row);
            }
            if (status != STARTING && status != CREATING) {
                return CompletableFuture.failedFuture(notStarted(row));
            }
            CompletableFuture<VmStore.Row> future = new CompletableFuture<>();
            waiting.computeIfAbsent(id, k -> new ArrayList<>()).add(future);
            return future;
        });
    }

    private void settle(VmStore.Row row) {
        VmStatus status = VmStatus.of(row.status());
        if (status == STARTING || status == CREATING) {
            return;
        }
        List<CompletableFuture<VmStore.Row>> futures = waiting.remove(row.id());
        if (futures == null) {
            return;
        }
        for (CompletableFuture<VmStore.Row> f : futures) {
            if (status == RUNNING) {
                f.complete(row);
            } else {
                f.completeExceptionally(notStarted(row));
            }
        }
    }

    private void fail(String id, String why) {
        List<CompletableFuture<VmStore.Row>> futures = waiting.remove(id);
        if (futures != null) {
            futures.forEach(f -> f.completeExceptionally(new ScaleboxException.HostFailure("the VM did not start: " + why)));
        }
    }

    private static ScaleboxException notStarted(VmStore.Row row) {
        return new ScaleboxException.HostFailure("the VM did not start: it is " + row.status()
                + (row.statusReason() == null ? "" : " (" + row.statusReason() + ")"));
    }
}
