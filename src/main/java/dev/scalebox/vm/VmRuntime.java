package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.ConsoleLog;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.hypervisor.SshProbe;
import dev.scalebox.hypervisor.VmSpec;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.VmStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The QEMU processes of the VMs and what watches them. Each VM with a process has two watchers:
 * one polls for the guest's SSH banner and moves {@code starting} to {@code running}; the other
 * waits for the process to exit and, unless the exit was asked for (the instance was taken out of
 * {@link #instances} first), records the VM as {@code stopped} with the reason. A watcher changes
 * a record only under the VM's lock and only while its instance is still the VM's current one.
 */
final class VmRuntime {

    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(5);
    private static final Duration BOOT_RETRY_AFTER = Duration.ofSeconds(100);
    private static final Logger log = LoggerFactory.getLogger(VmRuntime.class);

    private final DataLayout layout;
    private final Hypervisor hypervisor;
    private final VmStore store;
    private final VmLimits limits;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final WarmInstances warm;
    private volatile VmService.BootListener bootListener = (vm, seconds) -> { };

    VmRuntime(DataLayout layout, Hypervisor hypervisor, VmStore store, VmLimits limits) {
        this.layout = layout;
        this.hypervisor = hypervisor;
        this.store = store;
        this.limits = limits;
        this.warm = new WarmInstances(layout, hypervisor, (name, shape) -> VmSpec.blank(name, shape.vcpus(),
                shape.memMib(), layout.runDir(name), kernelFile("vmlinuz"), initrd(), cmdline()));
    }

    Hypervisor hypervisor() {
        return hypervisor;
    }

    void onBoot(VmService.BootListener listener) {
        this.bootListener = listener;
    }

    ReentrantLock lockOf(String id) {
        return locks.computeIfAbsent(id, k -> new ReentrantLock());
    }

    void forget(String id) {
        locks.remove(id);
    }

    Optional<Instance> instance(String id) {
        return Optional.ofNullable(instances.get(id));
    }

    /** Starts QEMU for the VM and records it as starting; the caller holds the VM's lock. */
    void launch(VmStore.Row row) {
        launch(row, true);
    }

    private void launch(VmStore.Row row, boolean mayRetry) {
        discardState(row);  // a boot writes to the disk: an older memory state no longer fits it
        VmStore.Row starting = row.withStatus(VmStatus.STARTING.label(), null);
        store.update(starting);
        long started = System.nanoTime();
        Instance instance = hypervisor.start(spec(row));
        watch(starting, instance, started, false, mayRetry);
    }

    /**
     * Starts the VM from its saved memory when it has one, else boots it; the caller holds the VM's
     * lock. A state that cannot be loaded is set aside and the VM boots from its disk instead.
     */
    void launchOrResume(VmStore.Row row) {
        Optional<Path> state = savedState(row);
        if (state.isEmpty()) {
            launch(row);
            return;
        }
        VmStore.Row starting = row.withStatus(VmStatus.STARTING.label(), "resuming");
        store.update(starting);
        long started = System.nanoTime();
        try {
            Instance instance = resumed(row, state.get());
            discardState(row);
            watch(starting, instance, started, false);
        } catch (RuntimeException e) {
            log.warn("VM {} could not be resumed ({}); booting it from its disk", row.id(), e.getMessage());
            discardState(row);
            launch(row);
        }
    }

    /** Resumes the VM in a warm instance of its shape when one waits, else in a QEMU started for it. */
    private Instance resumed(VmStore.Row row, Path state) {
        Optional<Instance> blank = warm.take(shape(row));
        if (blank.isPresent()) {
            try {
                return hypervisor.resumeIn(blank.get(), spec(row), state);
            } catch (RuntimeException e) {
                log.warn("VM {} could not be resumed in warm instance {} ({}); starting a QEMU for it", row.id(),
                        blank.get().vmId(), e.getMessage());
            }
        }
        return hypervisor.resume(spec(row), state);
    }

    /** Starts one more warm instance of that shape. */
    void warmUp(int vcpus, int memMib) {
        warm.add(new WarmInstances.Shape(vcpus, memMib));
    }

    /** Ends one warm instance of that shape; false when none waits. */
    boolean coolDown(int vcpus, int memMib) {
        return warm.end(new WarmInstances.Shape(vcpus, memMib));
    }

    int warmInstances(int vcpus, int memMib) {
        return warm.count(new WarmInstances.Shape(vcpus, memMib));
    }

    private static WarmInstances.Shape shape(VmStore.Row row) {
        return new WarmInstances.Shape(row.vcpuCount(), row.memSizeMib());
    }

    /** Saves the VM's memory and ends its QEMU; the caller holds the VM's lock. */
    void suspend(VmStore.Row row) {
        String id = row.id();
        Instance instance = instances.remove(id);
        if (instance != null) {
            try {
                hypervisor.suspend(instance, layout.runDir(id), statePath(row));
            } catch (RuntimeException e) {
                instances.put(id, instance);
                try {
                    instance.qmp().execute("cont", Map.of(), Duration.ofSeconds(10));
                } catch (RuntimeException ignored) {
                    // the exit watcher records a QEMU that died meanwhile
                }
                throw e;
            }
        }
    }

    Optional<Path> savedState(VmStore.Row row) {
        return Hypervisor.savedState(statePath(row));
    }

    private Path statePath(VmStore.Row row) {
        return layout.memoryState(row.id(), row.box());
    }

    /** Clones VM {@code from}'s saved memory to be VM {@code to}'s. */
    void cloneState(VmStore.Row from, VmStore.Row to, StorageService storage) {
        Path source = savedState(from).orElseThrow(() ->
                new ScaleboxException.Conflict("VM " + from.id() + " has no saved memory"));
        Path target = statePath(to);
        try {
            Files.createDirectories(target.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        storage.cloneMemoryState(source, target);
    }

    /** Forgets a saved memory state: the next start boots from the disk. */
    void discardState(VmStore.Row row) {
        savedState(row).ifPresent(p -> {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Takes over a QEMU left running by an earlier Scalebox, if there is one. */
    boolean adopt(VmStore.Row row) {
        Optional<Instance> adopted = hypervisor.adopt(row.id(), layout.runDir(row.id()));
        adopted.ifPresent(i -> {
            log.info("Adopted running VM {} (QEMU pid {})", row.id(), i.pid());
            watch(row, i, System.nanoTime(), VmStatus.of(row.status()) == VmStatus.RUNNING);
        });
        return adopted.isPresent();
    }

    /** ACPI power-off, then a kill after the timeout; the caller holds the VM's lock. */
    void stop(String id) {
        Instance instance = instances.remove(id);
        if (instance != null) {
            hypervisor.stop(instance, STOP_TIMEOUT);
        }
    }

    /** Kills the VM's QEMU at once; the caller holds the VM's lock. */
    void kill(String id) {
        Instance instance = instances.remove(id);
        if (instance != null) {
            hypervisor.kill(instance);
            instance.qmp().close();
        }
    }

    /** Releases the QMP connections; the VMs keep running. Warm instances end: they hold nothing. */
    void detach() {
        warm.endAll();
        instances.values().forEach(i -> i.qmp().close());
        instances.clear();
    }

    /** Kills a QEMU left for a VM that is suspended (one an earlier Scalebox loaded ahead); its saved memory stays. */
    void killStray(VmStore.Row row) {
        hypervisor.adopt(row.id(), layout.runDir(row.id())).ifPresent(i -> {
            log.info("Ending the paused QEMU {} of suspended VM {}", i.pid(), row.id());
            hypervisor.kill(i);
            i.qmp().close();
        });
    }

    /** Keeps every running VM's serial log under its bound. */
    void trimConsoles() {
        for (String id : instances.keySet()) {
            ConsoleLog.trim(layout.runDir(id));
        }
    }

    private void watch(VmStore.Row row, Instance instance, long startedNanos, boolean alreadyRunning) {
        watch(row, instance, startedNanos, alreadyRunning, false);
    }

    private void watch(VmStore.Row row, Instance instance, long startedNanos, boolean alreadyRunning, boolean mayRetry) {
        instances.put(row.id(), instance);
        instance.onExit().thenRun(() -> exited(row.id(), instance));
        if (!alreadyRunning) {
            Thread.ofVirtual().name("boot-" + row.id()).start(() -> awaitSsh(row, instance, startedNanos, mayRetry));
        }
    }

    private void awaitSsh(VmStore.Row row, Instance instance, long startedNanos, boolean mayRetry) {
        long deadline = startedNanos + BOOT_TIMEOUT.toNanos();
        while (isCurrent(row.id(), instance) && System.nanoTime() < deadline) {
            if (SshProbe.answers(probeHost(), row.sshPort(), 1000)) {
                double seconds = (System.nanoTime() - startedNanos) / 1e9;
                if (transition(row.id(), instance, VmStatus.STARTING, VmStatus.RUNNING, null)) {
                    bootListener.booted(row.id(), seconds);
                }
                return;
            }
            if (mayRetry && System.nanoTime() - startedNanos > BOOT_RETRY_AFTER.toNanos()) {
                mayRetry = false;
                if (bootAgain(row.id(), instance)) {
                    return;
                }
            }
            sleep(200);
        }
        if (isCurrent(row.id(), instance)) {
            transition(row.id(), instance, VmStatus.STARTING, VmStatus.ERROR, "SSH did not answer within "
                    + BOOT_TIMEOUT.toMinutes() + " minutes of the start; see the console");
        }
    }

    /**
     * Kills a boot that has not shown SSH long after a boot normally does, and boots once more.
     * Under TCG on a loaded host a guest was seen to spin at its start with an empty console for
     * minutes, where the next boot of the same disk came up at once.
     */
    private boolean bootAgain(String id, Instance stuck) {
        ReentrantLock lock = lockOf(id);
        lock.lock();
        try {
            Optional<VmStore.Row> row = store.find(id)
                    .filter(r -> r.status().equals(VmStatus.STARTING.label()) && instances.get(id) == stuck);
            if (row.isEmpty()) {
                return false;
            }
            log.warn("VM {} showed no SSH {} s after its boot started; booting it once more", id,
                    BOOT_RETRY_AFTER.toSeconds());
            instances.remove(id, stuck);
            hypervisor.kill(stuck);
            stuck.qmp().close();
            launch(row.get(), false);
            return true;
        } catch (RuntimeException e) {
            log.error("VM {} could not be booted again: {}", id, e.getMessage());
            store.find(id).ifPresent(r -> store.update(r.withStatus(VmStatus.ERROR.label(), e.getMessage())));
            return true;
        } finally {
            lock.unlock();
        }
    }

    private boolean isCurrent(String id, Instance instance) {
        return instance.isAlive() && instances.get(id) == instance;
    }

    private void exited(String id, Instance instance) {
        if (instances.remove(id, instance)) {
            instance.qmp().close();
            store.find(id).ifPresent(r -> {
                VmStatus s = VmStatus.of(r.status());
                if (s == VmStatus.STARTING || s == VmStatus.RUNNING) {
                    log.warn("QEMU of {} exited unexpectedly", id);
                    store.update(r.withStatus(VmStatus.STOPPED.label(), "QEMU exited unexpectedly"));
                }
            });
        }
    }

    private boolean transition(String id, Instance instance, VmStatus from, VmStatus to, String reason) {
        ReentrantLock lock = lockOf(id);
        lock.lock();
        try {
            Optional<VmStore.Row> row = store.find(id)
                    .filter(r -> r.status().equals(from.label()) && instances.get(id) == instance);
            row.ifPresent(r -> store.update(r.withStatus(to.label(), reason)));
            return row.isPresent();
        } finally {
            lock.unlock();
        }
    }

    private VmSpec spec(VmStore.Row row) {
        return new VmSpec(row.id(), row.vcpuCount(), row.memSizeMib(), layout.disk(row.id(), row.box()), layout.runDir(row.id()),
                limits.bindAddress(), row.sshPort(), kernelFile("vmlinuz"), initrd(), cmdline());
    }

    private Path kernelFile(String name) {
        return layout.kernel().resolve(name);
    }

    private Path initrd() {
        Path initrd = kernelFile("initrd.img");
        return Files.exists(initrd) ? initrd : null;
    }

    private String cmdline() {
        try {
            return Files.readString(layout.kernel().resolve("cmdline")).strip();
        } catch (IOException e) {
            return "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet";
        }
    }

    String probeHost() {
        String bind = limits.bindAddress();
        return bind.equals("0.0.0.0") || bind.equals("::") ? "127.0.0.1" : bind;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
