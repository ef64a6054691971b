package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.ConsoleLog;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.network.HostNetwork;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The QEMU processes of the VMs, from the admission of their start to their end. A start takes a
 * place in the host's {@link Admission} line (the VM is {@code starting}, "queued: N ahead"); once
 * let in, QEMU boots the VM or resumes it from its saved memory, and a watcher follows the guest
 * until its SSH answers. The place is held until then, so at most the admission limit of guests
 * start at once. A guest is given up on only when it stops making progress ({@link BootProgress}),
 * never for taking long; a stuck guest is booted once more, and a second time it is killed and the
 * VM is {@code error}: no QEMU runs behind a status that says otherwise.
 *
 * <p>Each process also has an exit watcher: unless the exit was asked for (the instance was taken
 * out of {@link #instances} first), it records the VM as {@code stopped} with the reason. Watchers
 * change a record only through {@link VmStates}, under the VM's lock, and only while their
 * instance is still the VM's current one.
 */
final class VmRuntime implements StartWatch.Owner {

    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Logger log = LoggerFactory.getLogger(VmRuntime.class);

    private final DataLayout layout;
    private final Hypervisor hypervisor;
    private final VmStates states;
    private final VmLimits limits;
    private final Admission admission;
    private final StartWatch starts;
    private final VmSpecs specs;
    private final HostNetwork network;
    private final Reservations reservations;
    private final FirstStart firstStart;
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    /** Warm guests handed over to new VMs that wait in line to be made their own. */
    private final Map<String, Instance> joining = new ConcurrentHashMap<>();
    private final StartLine line;
    private final WarmInstances warm;
    private final List<VmService.Events> listeners = new CopyOnWriteArrayList<>();
    /** Tells every listener. */
    private final VmService.Events events = new VmService.Events() {
        @Override
        public void booted(String vmId, Map<String, Double> phases) {
            listeners.forEach(l -> l.booted(vmId, phases));
        }

        @Override
        public void stuck(String vmId, String reason, boolean again) {
            listeners.forEach(l -> l.stuck(vmId, reason, again));
        }

        @Override
        public void suspendFailed(String vmId, String reason) {
            listeners.forEach(l -> l.suspendFailed(vmId, reason));
        }

        @Override
        public void changed(Vm vm) {
            listeners.forEach(l -> l.changed(vm));
        }

        @Override
        public void deleted(String vmId) {
            listeners.forEach(l -> l.deleted(vmId));
        }
    };

    VmRuntime(DataLayout layout, Hypervisor hypervisor, VmStates states, VmLimits limits, Admission admission,
              BootLimits bootLimits, HostNetwork network, Reservations reservations, FirstStart firstStart) {
        this.firstStart = firstStart;
        this.layout = layout;
        this.network = network;
        this.reservations = reservations;
        this.hypervisor = hypervisor;
        this.states = states;
        this.limits = limits;
        this.admission = admission;
        this.starts = new StartWatch(this, bootLimits, probeHost(), layout.run());
        this.specs = new VmSpecs(layout, limits.bindAddress());
        this.warm = new WarmInstances(layout, hypervisor, admission, specs::blank);
        this.line = new StartLine(admission, states);
    }

    void onEvents(VmService.Events listener) {
        listeners.add(listener);
    }

    VmService.Events events() {
        return events;
    }

    Admission admission() {
        return admission;
    }

    Optional<Instance> instance(String id) {
        return Optional.ofNullable(instances.get(id));
    }

    /**
     * Puts the VM in line to start: it is {@code starting}, queued, and boots (or resumes from its
     * saved memory) once admitted. The caller holds the VM's lock; returns the record as it is now.
     */
    VmStore.Row start(VmStore.Row row, Admission.Priority priority) {
        return line.join(row, priority, cost(row), this::launch);
    }

    /**
     * What the VM's start costs in the line: a boot keeps its vCPUs busy; a resume loads memory
     * and wakes a guest that was idle when it was saved, a core at most; so does making a warm guest a VM's.
     */
    private int cost(VmStore.Row row) {
        return savedState(row).isPresent() || joining.containsKey(row.id()) ? 1
                : Admission.startCost(hypervisor.accelerator(), row.vcpuCount());
    }

    /** Where a VM waiting to start stands in line; empty when it does not wait. */
    OptionalInt ahead(String id) {
        return line.ahead(id);
    }

    /** Gives up the VM's place in line, if it has one, and the warm guest it waited with; the caller holds the VM's lock. */
    void leaveLine(String id) {
        line.leave(id);
        Optional.ofNullable(joining.remove(id)).ifPresent(Instance::end);
    }

    /**
     * Makes the warm guest {@code guest}, whose disk is now the new VM's, that VM's QEMU; it is
     * made the VM's own when the VM's start is let in. On a failure the guest is ended.
     */
    void handOver(VmStore.Row row, Instance guest) {
        joining.put(row.id(), hypervisor.handOver(guest, specs.of(row)));
    }

    /** Starts QEMU for a VM let in by admission; the place is held until the guest answers or fails. */
    private void launch(String id, Admission.Ticket ticket) {
        boolean watched = false;
        try {
            watched = states.locked(id, () -> {
                Optional<Instance> guest = Optional.ofNullable(joining.remove(id));
                Optional<VmStore.Row> row = states.current(id)
                        .filter(r -> VmStatus.of(r.status()) == VmStatus.STARTING && !instances.containsKey(id));
                if (!line.admitted(id, ticket) || row.isEmpty()) {
                    guest.ifPresent(Instance::end);
                    return false;  // it left the line meanwhile: stopped or deleted
                }
                Boot boot = new Boot(ticket.requestedAt(), System.nanoTime());
                VmStore.Row wired = wire(row.get());
                Optional<Path> state = savedState(wired);
                Optional<String> firstKey = firstStart.pending(wired);
                if (guest.isPresent() && firstKey.isPresent()
                        && connect(wired, guest.get(), firstStart.personalization(wired, firstKey.get()))) {
                    firstStart.forget(wired);
                    watch(states.move(wired, VmStatus.STARTING, "resuming"), guest.get(), ticket, boot.withResumed(), true);
                    return true;
                }
                guest.ifPresent(Instance::end);
                if (state.isPresent()) {
                    Optional<Instance> resumed = resume(wired, state.get(),
                            firstKey.map(key -> firstStart.personalization(wired, key)).orElse(instance -> { }));
                    if (resumed.isPresent()) {
                        firstStart.forget(wired);
                        firstStart.recordResume(wired);
                        watch(states.move(wired, VmStatus.STARTING, "resuming"), resumed.get(), ticket, boot.withResumed(), true);
                        return true;
                    }
                }
                if (firstKey.isPresent()) {
                    firstStart.prepareBoot(wired, firstKey.get());
                } else if (wired.startedFrom() == null) {
                    firstStart.giveHostKey(wired);  // its first boot: written here, not in the create the client waits for
                }
                boot(wired, ticket, boot, true, "booting");
                return true;
            });
        } catch (RuntimeException e) {
            unplugUnlessRunning(id);
            log.error("QEMU of {} did not start: {}", id, e.getMessage());
            states.moveIf(id, VmStatus.STARTING, VmStatus.ERROR, "QEMU did not start: " + e.getMessage(), r -> true);
        } finally {
            if (!watched) {
                ticket.close();
            }
        }
    }

    /** Removes the VM's TAP device, unless a new QEMU of it has taken it meanwhile. */
    private void unplugUnlessRunning(String id) {
        states.locked(id, () -> {
            if (!instances.containsKey(id)) {
                network.unplug(id);
            }
            return null;
        });
    }

    /**
     * The VM ready for its QEMU on the bridge: an address (a VM made under the user-mode network
     * gets one now, and its rules with it). Its TAP device is made by the hypervisor, for the user
     * its QEMU runs as.
     */
    private VmStore.Row wire(VmStore.Row row) {
        if (!network.bridged()) {
            return row;
        }
        VmStore.Row addressed = reservations.addressed(row);
        if (addressed.ip() != null && row.ip() == null) {
            network.put(VmSpecs.guest(addressed));
        }
        return addressed;
    }

    /** Boots the VM from its disk: any saved memory is forgotten, since a boot writes to the disk. */
    private void boot(VmStore.Row row, Admission.Ticket ticket, Boot boot, boolean mayRetry, String reason) {
        discardState(row);
        Instance instance = hypervisor.start(specs.of(row));
        firstStart.recordBoot(row);
        watch(states.move(row, VmStatus.STARTING, reason), instance, ticket, boot.withQemuUp(), mayRetry);
    }

    /**
     * The VM resumed from {@code state}, in a warm instance of its shape when one waits, else in a
     * QEMU started for it, with {@code alongside} done on its guest; empty, with the state set
     * aside, when the state cannot be loaded or {@code alongside} fails.
     */
    private Optional<Instance> resume(VmStore.Row row, Path state, Consumer<Instance> alongside) {
        Optional<Path> memory = memoryFile(row);
        // A warm instance was started with memory of its own; a state whose memory is a file needs a QEMU that maps it.
        Optional<Instance> blank = memory.isPresent() ? Optional.empty() : warm.take(shape(row));
        AtomicBoolean ran = new AtomicBoolean();
        Consumer<Instance> marked = instance -> {
            ran.set(true);
            alongside.accept(instance);
        };
        try {
            if (blank.isPresent()) {
                try {
                    return Optional.of(hypervisor.resumeIn(blank.get(), specs.of(row), state, marked));
                } catch (RuntimeException e) {
                    if (ran.get()) {
                        throw e;  // the guest ran on from the state and wrote to its disk: the state no longer fits it
                    }
                    log.warn("VM {} could not be resumed in warm instance {} ({}); starting a QEMU for it", row.id(),
                            blank.get().vmId(), e.getMessage());
                }
            }
            return Optional.of(hypervisor.resume(specs.of(row), state, memory, marked));
        } catch (RuntimeException e) {
            log.warn("VM {} could not be resumed ({}); booting it from its disk", row.id(), e.getMessage());
            return Optional.empty();
        } finally {
            // Resumed, the guest runs on from its memory and writes to its disk: the state no longer fits it.
            discardState(row);
        }
    }

    /** Plugs the network card into the VM's warm guest while {@code personalization} runs; false, the guest ended, on a failure. */
    private boolean connect(VmStore.Row row, Instance guest, Consumer<Instance> personalization) {
        try {
            hypervisor.connect(guest, specs.of(row), personalization);
            return true;
        } catch (RuntimeException e) {
            log.warn("VM {} could not be made its own in its warm guest ({}); booting it from its disk", row.id(),
                    e.getMessage());
            return false;
        }
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

    /**
     * Saves the VM's memory and ends its QEMU; the caller holds the VM's lock. When the saving
     * fails (the pool is full, say) the partial state is gone, the guest runs on as it was, and
     * the failure is counted and thrown.
     */
    void suspend(VmStore.Row row) {
        String id = row.id();
        Instance instance = instances.remove(id);
        if (instance == null) {
            return;
        }
        try {
            hypervisor.suspend(instance, layout.runDir(id), statePath(row));
            network.unplug(id);
        } catch (RuntimeException e) {
            instances.put(id, instance);
            try {
                instance.cont();
            } catch (RuntimeException ignored) {
                // the exit watcher records a QEMU that died meanwhile
            }
            log.error("Suspending VM {} failed; it runs on: {}", id, e.getMessage());
            events.suspendFailed(id, e.getMessage());
            throw e;
        }
    }

    Optional<Path> savedState(VmStore.Row row) {
        return Hypervisor.savedState(statePath(row));
    }

    Path statePath(VmStore.Row row) {
        return layout.memoryState(row.id(), row.box());
    }

    Path memoryFilePath(VmStore.Row row) {
        return layout.memoryFile(row.id(), row.box());
    }

    /** The memory saved beside the VM's state when the state holds only its devices. */
    private Optional<Path> memoryFile(VmStore.Row row) {
        Path file = memoryFilePath(row);
        return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
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
        Optional<Path> memory = memoryFile(from);
        if (memory.isPresent()) {  // first, so that a state is never without its memory
            storage.cloneMemoryState(memory.get(), memoryFilePath(to));
        }
        try {
            storage.cloneMemoryState(source, target);
        } catch (RuntimeException e) {
            if (memory.isPresent()) {
                try {
                    Files.deleteIfExists(memoryFilePath(to));
                } catch (IOException ignored) {
                    // the VM's run directory goes with it
                }
            }
            throw e;
        }
    }

    /** Forgets a saved memory state: the next start boots from the disk. */
    void discardState(VmStore.Row row) {
        try {
            Files.deleteIfExists(statePath(row));
            Files.deleteIfExists(memoryFilePath(row));  // a QEMU that maps it keeps it while it runs
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * After a start of the service: takes over the QEMU left running for the VM, if there is one,
     * and sets right what a crash interrupted (see {@link Recovery}); true when a QEMU was adopted.
     */
    boolean adopt(VmStore.Row row) {
        Optional<Instance> found = hypervisor.adopt(row.id(), layout.runDir(row.id()));
        if (found.isEmpty()) {
            return false;
        }
        Instance instance = found.get();
        VmStatus status = VmStatus.of(row.status());
        if (status == VmStatus.STARTING && firstStart.pending(row).isPresent()) {
            log.info("Ending QEMU {} of {}: its guest had not been made the VM's own; the VM boots", instance.pid(), row.id());
            instance.end();
            network.unplug(row.id());
            return false;
        }
        String runState;
        try {
            runState = instance.runState();
        } catch (RuntimeException e) {
            log.warn("QEMU {} of {} does not say how it runs ({}); ending it", instance.pid(), row.id(), e.getMessage());
            instance.end();
            return false;
        }
        switch (Recovery.of(status, runState, savedState(row).isPresent())) {
            case END_KEEP_STATE -> {
                log.info("Ending QEMU {} of {}: it had not resumed ({}); its saved memory stays", instance.pid(), row.id(),
                        runState);
                instance.end();
                network.unplug(row.id());
                if (status != VmStatus.SUSPENDED && VmStates.allowed(status, VmStatus.SUSPENDED)) {
                    states.move(row, VmStatus.SUSPENDED, "its resume was cut short by a restart of Scalebox");
                }
                return true;
            }
            case CONTINUE -> {
                log.info("VM {} was left paused ({}) by an interrupted operation; letting it run on", row.id(), runState);
                instance.cont();
                discardState(row);
            }
            case ADOPT -> discardState(row);  // a state left beside a guest that ran on from it no longer fits its disk
        }
        log.info("Adopted running VM {} (QEMU pid {})", row.id(), instance.pid());
        if (status == VmStatus.RUNNING) {
            watch(row, instance, null, null, false);
        } else {
            VmStore.Row starting = status == VmStatus.STARTING ? row : states.move(row, VmStatus.STARTING, "adopted");
            watch(starting, instance, admission.admitNow(row.id(), cost(row)), Boot.adopted(), false);
        }
        return true;
    }

    /** ACPI power-off, then a kill after the timeout; the caller holds the VM's lock. */
    void stop(String id) {
        leaveLine(id);
        Instance instance = instances.remove(id);
        if (instance != null) {
            hypervisor.stop(instance, STOP_TIMEOUT);
        }
        network.unplug(id);
    }

    /** Kills the VM's QEMU at once; the caller holds the VM's lock. */
    void kill(String id) {
        leaveLine(id);
        Instance instance = instances.remove(id);
        if (instance != null) {
            instance.end();
        }
        network.unplug(id);
    }

    /** Releases the QMP connections; the VMs keep running. Warm instances end: they hold nothing. */
    void detach() {
        warm.endAll();
        line.leaveAll();
        joining.values().forEach(Instance::release);  // a later start finds them not made their VMs' own: they end, the VMs boot
        joining.clear();
        instances.values().forEach(Instance::release);
        instances.clear();
    }

    /** Keeps every running VM's serial log under its bound. */
    void trimConsoles() {
        for (String id : instances.keySet()) {
            ConsoleLog.trim(layout.runDir(id));
        }
    }

    /**
     * Follows the instance: its exit, and unless it runs already ({@code ticket} null), the guest
     * until its SSH answers, holding {@code ticket} until then.
     */
    private void watch(VmStore.Row row, Instance instance, Admission.Ticket ticket, Boot boot, boolean mayRetry) {
        instances.put(row.id(), instance);
        instance.onExit().thenRun(() -> exited(row.id(), instance));
        if (ticket != null) {
            starts.follow(row, instance, ticket, boot, mayRetry);
        }
    }

    @Override
    public void answered(VmStore.Row row, Instance instance, Boot boot) {
        String id = row.id();
        if (states.moveIf(id, VmStatus.STARTING, VmStatus.RUNNING, null, r -> instances.get(id) == instance).isPresent()) {
            log.info("VM {} runs: {}", id, boot.describe());
            events.booted(id, boot.phases());
        }
    }

    /**
     * A guest that makes no progress: booted once more when it may be, keeping the place in line
     * (true), else killed and the VM in {@code error} (false).
     */
    @Override
    public boolean stuck(VmStore.Row row, Instance instance, Admission.Ticket ticket, String why, boolean mayRetry) {
        String id = row.id();
        return states.locked(id, () -> {
            Optional<VmStore.Row> current = states.current(id)
                    .filter(r -> VmStatus.of(r.status()) == VmStatus.STARTING && instances.get(id) == instance);
            if (current.isEmpty()) {
                return false;
            }
            instances.remove(id, instance);
            instance.end();
            events.stuck(id, why, mayRetry);
            String reason = why;
            if (mayRetry) {
                log.warn("VM {} is stuck: {}; booting it once more", id, why);
                try {
                    boot(current.get(), ticket, Boot.admittedNow(), false, "booting again: " + why);
                    return true;
                } catch (RuntimeException e) {
                    reason = why + "; booting it again failed: " + e.getMessage();
                }
            }
            log.error("VM {} is stuck: {}; giving up, its QEMU is ended", id, reason);
            states.move(current.get(), VmStatus.ERROR, "the guest made no progress: " + reason + "; see the console");
            network.unplug(id);
            return false;
        });
    }

    @Override
    public boolean isCurrent(String id, Instance instance) {
        return instance.isAlive() && instances.get(id) == instance;
    }

    private void exited(String id, Instance instance) {
        if (instances.remove(id, instance)) {
            instance.release();
            unplugUnlessRunning(id);
            states.locked(id, () -> states.current(id).map(r -> {
                VmStatus s = VmStatus.of(r.status());
                if (s == VmStatus.STARTING || s == VmStatus.RUNNING) {
                    log.warn("QEMU of {} exited unexpectedly", id);
                    return states.move(r, VmStatus.STOPPED, "QEMU exited unexpectedly");
                }
                return r;
            }));
        }
    }

    String probeHost() {
        String bind = limits.bindAddress();
        return bind.equals("0.0.0.0") || bind.equals("::") ? "127.0.0.1" : bind;
    }

}
