package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.FaultPoint;
import dev.scalebox.hypervisor.ConsoleLog;
import dev.scalebox.hypervisor.GuestAgent;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.hypervisor.SerialConsole;
import dev.scalebox.network.Egress;
import dev.scalebox.network.Guest;
import dev.scalebox.network.HostNetwork;
import dev.scalebox.network.HttpsConfig;
import dev.scalebox.network.Subnet;
import dev.scalebox.storage.Names;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.HostStore;
import dev.scalebox.store.VmStore;
import dev.scalebox.template.TemplateCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The VM lifecycle. Operations on one VM (start, stop, restart, snapshot, delete) hold that VM's
 * lock, which {@link VmStates} keeps with the VM's state; reads never wait; creates of different
 * VMs run in parallel, with only the choice of name and port made under a short shared lock. A
 * create that fails before its answer undoes every step before it. Starts (of a create too) are
 * answered at once and wait their turn in the host's {@link Admission} line as {@code starting};
 * a failure of QEMU then leaves the VM in {@code error} with the reason, its disk kept. A disk is
 * deleted only by {@link #delete}.
 */
public final class VmService {

    private static final Logger log = LoggerFactory.getLogger(VmService.class);
    /** For the guest agent to answer, and to freeze or thaw the guest's filesystems. */
    private static final java.time.Duration FREEZE_TIMEOUT = java.time.Duration.ofSeconds(20);

    private final StorageService storage;
    private final VmStore store;
    private final HostStore hosts;
    private final VmLimits limits;
    private final TemplateCatalog templates;
    private final VmStates states;
    private final VmRuntime runtime;
    private final VmStats stats;
    private final Reservations reservations;
    private final HostNetwork network;
    private final Hypervisor hypervisor;
    private final FirstStart firstStart;
    private final TemplateSnapshots snapshots;
    private final WarmGuests warmGuests;
    private final Consoles consoles;
    private volatile List<String> orphans = List.of();

    public VmService(StorageService storage, Hypervisor hypervisor, VmStore store, HostStore hosts, VmLimits limits,
                     TemplateCatalog templates, Admission admission, HostNetwork network) {
        this(storage, hypervisor, store, hosts, limits, templates, admission, BootLimits.DEFAULT, network);
    }

    public VmService(StorageService storage, Hypervisor hypervisor, VmStore store, HostStore hosts, VmLimits limits,
                     TemplateCatalog templates, Admission admission, BootLimits bootLimits, HostNetwork network) {
        this.storage = storage;
        this.store = store;
        this.hosts = hosts;
        this.limits = limits;
        this.templates = templates;
        this.network = network;
        this.hypervisor = hypervisor;
        this.states = new VmStates(store);
        this.reservations = new Reservations(store, states, limits, network.bridged() ? network.config().subnet() : null);
        this.firstStart = new FirstStart(storage.layout(), storage, hypervisor, store);
        this.runtime = new VmRuntime(storage.layout(), hypervisor, states, limits, admission, bootLimits, network,
                reservations, firstStart);
        this.snapshots = new TemplateSnapshots(storage.layout(), storage, hypervisor, admission,
                new VmSpecs(storage.layout(), limits.bindAddress()), templates, network, limits.templateSnapshotsMax(),
                new WarmInstances.Shape(limits.defaultVcpus(), limits.defaultMemMib()));
        this.warmGuests = new WarmGuests(storage.layout(), storage, hypervisor, admission,
                new VmSpecs(storage.layout(), limits.bindAddress()), templates, limits.warmGuests());
        snapshots.listen(new TemplateSnapshots.Listener() {
            @Override
            public void made(String template, WarmInstances.Shape shape) {
                if (shape.equals(defaultShape())) {
                    snapshots.ready(template, shape).ifPresent(ready -> warmGuests.fill(template, shape, ready));
                }
            }

            @Override
            public void evicted(String template, WarmInstances.Shape shape) {
                warmGuests.end(template, shape);
            }
        });
        templates.onChange(name -> {
            warmGuests.templateChanged(name);
            snapshots.templateChanged(name);
        });
        this.consoles = new Consoles(storage.layout());
        this.stats = new VmStats(storage.layout(), storage, id -> network.bridged()
                ? Optional.of(Path.of("/sys/class/net", Guest.tapOf(id))).filter(Files::isDirectory) : Optional.empty());
        states.watch(new VmStates.Watcher() {
            @Override
            public void stored(VmStore.Row row) {
                runtime.events().changed(toVm(row));
            }

            @Override
            public void removed(String id) {
                stats.forget(id);
                runtime.events().deleted(id);
            }
        });
    }

    /** Told of what happens to VMs, for the metrics. */
    public interface Events {
        /** A VM answered; {@code phases} are the seconds of each phase of its start (see {@link Boot#phases}). */
        default void booted(String vmId, Map<String, Double> phases) {
        }

        /** A starting guest made no progress; {@code again} when it is booted once more, else it is in error. */
        default void stuck(String vmId, String reason, boolean again) {
        }

        /** Saving a VM's memory failed; it runs on. */
        default void suspendFailed(String vmId, String reason) {
        }

        /** A VM was created or moved to another state; called under its lock, so it must not block. */
        default void changed(Vm vm) {
        }

        /** A VM was deleted. */
        default void deleted(String vmId) {
        }
    }

    public void onEvents(Events listener) {
        runtime.onEvents(listener);
    }

    /** The host's line of starts, as it stands. */
    public Admission.Status admission() {
        return runtime.admission().status();
    }

    /** Told how long each start waited in line. */
    public void onAdmitted(Admission.Listener listener) {
        runtime.admission().onAdmitted(listener);
    }

    /** The defaults and bounds of VM sizes here. */
    public VmLimits limits() {
        return limits;
    }

    /** This host's VMs. */
    public List<Vm> list() {
        return store.list().stream().map(this::toVm).toList();
    }

    /** The VMs of every host of the store. */
    public List<Vm> listAll() {
        Map<String, HostStore.Row> byName = hosts.list().stream().collect(Collectors.toMap(HostStore.Row::name, h -> h));
        return store.listAll().stream().map(r -> toVm(r, byName.get(r.host()))).toList();
    }

    /** The VM with this id or name on any host. */
    public Vm get(String idOrName) {
        return find(idOrName).orElseThrow(() -> new ScaleboxException.NotFound("VM not found"));
    }

    /** The VM with this id or name on any host, if there is one: one lookup, not a listing. */
    public Optional<Vm> find(String idOrName) {
        return store.find(idOrName).map(r -> local(r) ? toVm(r) : toVm(r, hosts.find(r.host()).orElse(null)));
    }

    /** The name of this host, whose VMs this service runs. */
    public String hostName() {
        return store.host();
    }

    /** Whether {@code vm} lives on this host. */
    public boolean isHere(Vm vm) {
        return store.host().equals(vm.host());
    }

    /** The address this host reaches VMs' forwarded SSH ports on (BIND_ADDRESS, loopback for a wildcard). */
    public String localSshHost() {
        return runtime.probeHost();
    }

    /** What the last {@link #recover} found that no record owns. */
    public List<String> orphans() {
        return orphans;
    }

    public Vm create(CreateVm request) {
        return create(request, false, Admission.Priority.PERSON);
    }

    /**
     * A VM of the API, or with {@code box} a box of the gateway, whose disk is a volume in
     * {@code volumes/}; it is answered {@code starting} and boots in its turn, at {@code priority}.
     */
    public Vm create(CreateVm request, boolean box, Admission.Priority priority) {
        Egress egress = request.egress() != null ? request.egress()
                : box ? network.config().boxDefault() : network.config().vmDefault();
        if (request.template() == null) {
            throw new ScaleboxException.BadRequest("template is required");
        }
        Validation.key(request.sshPublicKey());
        Path templateImage = storage.templateImage(request.template());
        String name = Validation.name(request.name());
        int vcpus = Validation.vcpus(request.vcpuCount(), limits);
        int mem = Validation.memMib(request.memSizeMib(), limits, 0);
        int disk = Validation.diskGib(request.diskSizeGib(), limits, templateImage.toFile().length());
        int httpPort = Validation.httpPort(request.httpPort());
        storage.checkAvailableSpace(disk);

        WarmInstances.Shape shape = new WarmInstances.Shape(vcpus, mem);
        Optional<TemplateSnapshots.Ready> snapshot = box ? Optional.empty() : snapshots.take(request.template(), shape);
        Optional<Instance> warm = snapshot.flatMap(s -> warmGuests.take(request.template(), shape));

        VmStore.Row row;
        try {
            row = reservations.reserve(request.template(), name, vcpus, mem, disk, box, egress, httpPort);
        } catch (RuntimeException e) {
            warm.ifPresent(Instance::end);
            throw e;
        }
        Vm vm = build(row, () -> {
            addToNetwork(row);
            if (!(warm.isPresent() && takeWarmGuest(row, warm.get(), request.sshPublicKey()))
                    && (snapshot.isEmpty() || !cloneSnapshot(row, snapshot.get(), request.sshPublicKey()))) {
                storage.createRootfs(request.template(), disk(row), disk, request.sshPublicKey());
            }
            FaultPoint.reach("create.disk-made");
            runtime.start(row, priority);
        });
        // Once the VM has its place in line, which the next warm guest's making then waits behind.
        snapshot.ifPresent(s -> warmGuests.fill(request.template(), shape, s));
        return vm;
    }

    /**
     * Makes the warm guest {@code guest} the new VM's: its disk becomes the VM's (a rename, under
     * the running QEMU), its QEMU the VM's, and the key is kept for when the VM's start is let in;
     * false, with the guest ended and nothing left, when it cannot be.
     */
    private boolean takeWarmGuest(VmStore.Row row, Instance guest, String key) {
        boolean moved = false;
        try {
            Files.move(warmGuests.disk(guest), disk(row), StandardCopyOption.ATOMIC_MOVE);
            moved = true;
            firstStart.plan(row, key);
            runtime.handOver(row, guest);
            return true;
        } catch (IOException | RuntimeException e) {
            log.warn("VM {} cannot take a warm guest ({}); it resumes its own", row.id(), e.getMessage());
            guest.end();
            firstStart.forget(row);
            if (moved) {
                storage.deleteRootfs(disk(row));
            }
            return false;
        }
    }

    /**
     * Gives the new VM the disk and memory of its template's snapshot, and keeps its key for its
     * guest; false, with nothing left, when they cannot be cloned (the template was rebuilt
     * meanwhile, say): the VM then boots.
     */
    private boolean cloneSnapshot(VmStore.Row row, TemplateSnapshots.Ready snapshot, String key) {
        try {
            storage.cloneSnapshot(snapshot.disk(), snapshot.state(), snapshot.memory(), disk(row), runtime.statePath(row),
                    runtime.memoryFilePath(row));
            firstStart.plan(row, key);
            return true;
        } catch (RuntimeException e) {
            log.warn("VM {} cannot be made from its template's snapshot ({}); it boots", row.id(), e.getMessage());
            storage.deleteRootfs(disk(row));
            runtime.discardState(row);
            firstStart.forget(row);
            return false;
        }
    }

    /**
     * Runs {@code setup} in the running VM's guest through its guest agent (and sets its clock);
     * fails when the agent does not answer (a guest without one) or the setup fails.
     */
    public void personalize(String idOrName, Personalization setup) {
        String id = row(idOrName).id();
        setup.applyTo(id, storage.layout().runDir(id));
    }

    /**
     * Waits, through its guest agent, until the running VM's boot is over (systemd says so) and its
     * writes are flushed, so that copies of it do not carry on booting; fails at once when its
     * guest has no agent channel, or its QEMU ends.
     */
    public void settle(String idOrName) {
        String id = row(idOrName).id();
        TemplateSnapshots.settle(id, storage.layout().runDir(id), () -> runtime.instance(id).map(Instance::isAlive).orElse(false));
    }

    /** Whether template {@code name} has the guest agent (qemu-guest-agent) installed. */
    public boolean hasGuestAgent(String template) {
        return TemplateSnapshots.hasGuestAgent(storage, template);
    }

    private WarmInstances.Shape defaultShape() {
        return new WarmInstances.Shape(limits.defaultVcpus(), limits.defaultMemMib());
    }

    /** How many warm guests of template {@code name} in that shape wait for a create. */
    public int warmGuests(String name, int vcpus, int memMib) {
        return warmGuests.count(name, new WarmInstances.Shape(vcpus, memMib));
    }

    /** The memory snapshots of template {@code name}, made and in the making. */
    public List<TemplateSnapshots.Info> templateSnapshots(String name) {
        return snapshots.list(name);
    }

    /** Makes a reserved VM's files under its lock; a failure undoes every step and the record. */
    private Vm build(VmStore.Row row, Runnable make) {
        return states.locked(row.id(), () -> {
            try {
                make.run();
                return get(row.id());
            } catch (RuntimeException e) {
                undoCreate(row);
                throw e;
            }
        });
    }

    /** Starts a stopped VM, or resumes a suspended one where it was, in its turn; for a person. */
    public Vm start(String idOrName) {
        return start(idOrName, Admission.Priority.PERSON);
    }

    /**
     * Puts the VM in line to start (to boot, or to resume from its saved memory) at
     * {@code priority}, and answers at once: the VM is {@code starting} until it runs. A VM that
     * is starting or running already is left as it is.
     */
    public Vm start(String idOrName, Admission.Priority priority) {
        return locked(idOrName, row -> {
            VmStatus status = VmStatus.of(row.status());
            if (runtime.instance(row.id()).isEmpty() && status != VmStatus.STARTING) {
                runtime.start(row, priority);
            }
            return get(row.id());
        });
    }

    /**
     * Completes with the VM once it runs (its SSH answered); fails, saying why, when its start
     * ends any other way. No clock: a start that makes progress is waited for.
     */
    public CompletableFuture<Vm> untilRunning(String idOrName) {
        return states.untilRunning(row(idOrName).id()).thenApply(this::toVm);
    }

    /** The pid of the VM's QEMU, when it has one: a new one each time it starts or resumes. */
    public OptionalLong processId(String idOrName) {
        return runtime.instance(row(idOrName).id()).map(i -> OptionalLong.of(i.pid()))
                .orElse(OptionalLong.empty());
    }

    /** How many starts go before this VM's; empty when it does not wait in line. */
    public OptionalInt ahead(String idOrName) {
        return runtime.ahead(row(idOrName).id());
    }

    /** Powers the VM off; a suspended VM forgets its saved memory, a queued one leaves the line. */
    public Vm stop(String idOrName) {
        return locked(idOrName, row -> {
            if (runtime.instance(row.id()).isPresent()) {
                VmStore.Row stopping = states.move(row, VmStatus.STOPPING, null);
                runtime.stop(row.id());
                states.move(stopping, VmStatus.STOPPED, "stopped on request");
            } else if (VmStatus.of(row.status()) != VmStatus.STOPPED) {
                runtime.leaveLine(row.id());
                runtime.discardState(row);
                states.move(row, VmStatus.STOPPED, "stopped on request");
            }
            return get(row.id());
        });
    }

    /**
     * Saves a running VM's memory beside its disk and ends its QEMU: the VM is {@code suspended}
     * and the next start resumes it where it was, programs included. 409 unless it is running.
     */
    public Vm suspend(String idOrName) {
        return locked(idOrName, row -> {
            if (VmStatus.of(row.status()) == VmStatus.SUSPENDED) {
                return toVm(row);
            }
            if (runtime.instance(row.id()).isEmpty() || VmStatus.of(row.status()) != VmStatus.RUNNING) {
                throw new ScaleboxException.Conflict("VM " + row.id() + " is " + row.status() + "; only a running VM"
                        + " can be suspended");
            }
            runtime.suspend(row);
            states.move(row, VmStatus.SUSPENDED, null);
            return get(row.id());
        });
    }

    /**
     * A new VM that is a copy of suspended VM {@code source}: its disk and its saved memory,
     * cloned by reflink, so the copy resumes where the source was suspended. The copy is
     * {@code suspended}; 409 unless the source is.
     */
    public Vm fork(String source, String name) {
        String newName = Names.require("name", name);
        return locked(source, src -> {
            if (VmStatus.of(src.status()) != VmStatus.SUSPENDED || runtime.savedState(src).isEmpty()) {
                throw new ScaleboxException.Conflict("VM " + src.id() + " is " + src.status() + "; only a suspended VM"
                        + " can be forked");
            }
            storage.checkAvailableSpace(0);
            VmStore.Row row = reservations.reserve(src.template(), newName, src.vcpuCount(), src.memSizeMib(), src.diskSizeGib(),
                    src.box(), Egress.ofStored(src.egress()), src.httpPort());
            return build(row, () -> {
                addToNetwork(row);
                Optional<String> origin = row.box() ? storage.volumes().origin(src.id()) : Optional.empty();
                // A copy of a golden state comes from its base, whose blocks it then shares for its moves.
                Path from = row.box() && origin.isEmpty() ? storage.volumes().baseDisk(src.id()).orElse(disk(src)) : disk(src);
                storage.cloneRootfs(from, disk(row));
                if (row.box()) {
                    storage.volumes().setOrigin(row.id(), origin.orElse(src.id()));
                }
                runtime.cloneState(src, row, storage);
                states.move(row, VmStatus.SUSPENDED, "forked from " + src.name());
            });
        });
    }

    /** Makes the base that copies of suspended box VM {@code idOrName} (a golden state) come from, now rather than on the first copy. */
    public void prepareCopies(String idOrName) {
        storage.volumes().baseDisk(row(idOrName).id());
    }

    /**
     * Hands suspended box {@code idOrName} over to host {@code host}: {@code send} carries its
     * volume there, then the store names that host as the box's own (its address on the bridge is
     * that host's to give), and this host lets go of it and removes its copy. A send that fails
     * changes nothing here.
     */
    public Vm handOver(String idOrName, String host, Consumer<VmStore.Row> send) {
        return locked(idOrName, row -> {
            if (!row.box() || VmStatus.of(row.status()) != VmStatus.SUSPENDED || runtime.savedState(row).isEmpty()) {
                throw new ScaleboxException.Conflict("VM " + row.name() + " is " + row.status()
                        + "; only a suspended box moves to another host");
            }
            send.accept(row);
            if (!store.handOver(row.id(), host)) {
                throw new IllegalStateException("VM " + row.id() + " is no longer this host's");
            }
            network.remove(row.id());
            removeFiles(row);
            return get(row.id());
        });
    }

    /**
     * Starts one more warm instance for VMs of {@code vcpus} and {@code memMib}: a blank QEMU in
     * which the next such VM to resume from its saved memory does so without waiting for QEMU's start.
     */
    public void warmUp(int vcpus, int memMib) {
        runtime.warmUp(vcpus, memMib);
    }

    /** Ends one warm instance of that shape; false when none waits. */
    public boolean coolDown(int vcpus, int memMib) {
        return runtime.coolDown(vcpus, memMib);
    }

    /** How many warm instances of that shape wait. */
    public int warmInstances(int vcpus, int memMib) {
        return runtime.warmInstances(vcpus, memMib);
    }

    /** The VMs' HTTPS addresses, when they have them. */
    public Optional<HttpsConfig> https() {
        return network.https();
    }

    /**
     * A request came to the HTTPS address of VM {@code name} and the VM did not answer it: a
     * suspended VM is resumed, for a person. Returns the VM as it is now; empty when no VM has
     * that name.
     */
    public Optional<Vm> wake(String name) {
        return store.find(name).filter(r -> r.name().equals(name)).map(r ->
                VmStatus.of(r.status()) == VmStatus.SUSPENDED ? start(r.id()) : toVm(r));
    }

    /** Gives the VM a new name, and so a new HTTPS address; 409 when another VM has it. */
    public Vm rename(String idOrName, String name) {
        String newName = Names.require("name", name);
        return locked(idOrName, row -> {
            reservations.rename(row.id(), newName);
            addToNetwork(row(row.id()));
            return get(row.id());
        });
    }

    /**
     * Stops the VM (if it runs) and starts it again, with the new sizes in {@code change}, and
     * {@code egress} when not null (the new egress holds from the moment of the call). Every new
     * value is checked before the VM is touched; when the disk then fails to grow, a VM that was
     * running is started again as it was.
     */
    public Vm restart(String idOrName, Resize change, Egress egress) {
        return locked(idOrName, row -> {
            boolean running = runtime.instance(row.id()).isPresent() || VmStatus.of(row.status()) == VmStatus.STARTING;
            int vcpus = change.vcpuCount() == null ? row.vcpuCount() : Validation.vcpus(change.vcpuCount(), limits);
            int mem = change.memSizeMib() == null ? row.memSizeMib()
                    : Validation.memMib(change.memSizeMib(), limits, running ? row.memSizeMib() : 0);
            int disk = change.diskSizeGib() == null ? row.diskSizeGib()
                    : Validation.grownDiskGib(change.diskSizeGib(), row.diskSizeGib(), limits);
            if (disk > row.diskSizeGib()) {
                storage.checkAvailableSpace(disk - row.diskSizeGib());
            }
            if (egress != null) {
                setEgress(row, egress);
            }
            VmStore.Row current = row;
            if (running) {
                current = states.move(row, VmStatus.STOPPING, "restarting");
                runtime.stop(row.id());
            }
            runtime.discardState(row);
            try {
                storage.resizeRootfs(disk(row), disk);
            } catch (RuntimeException e) {
                if (running) {
                    runtime.start(current, Admission.Priority.PERSON);
                }
                throw e;
            }
            VmStore.Row resized = current.withSizes(vcpus, mem, disk);
            store.update(resized);
            runtime.start(resized, Admission.Priority.PERSON);
            return get(row.id());
        });
    }

    /** Gives the VM a new egress, which holds at once, whether it runs or not. */
    public Vm setEgress(String idOrName, Egress egress) {
        return locked(idOrName, row -> {
            setEgress(row, egress);
            return get(row.id());
        });
    }

    private void setEgress(VmStore.Row row, Egress egress) {
        store.setNetwork(row.id(), row.ip(), egress.stored());
        addToNetwork(row.withNetwork(row.ip(), egress.stored()));
    }

    private void addToNetwork(VmStore.Row row) {
        Optional.ofNullable(VmSpecs.guest(row)).ifPresent(network::put);
    }

    /**
     * Sets up the guests' network for every VM on record: the bridge when it is missing, DHCP,
     * DNS and the rules. VMs that run keep their connections.
     */
    public void startNetwork() {
        network.start(store.list().stream().map(VmSpecs::guest).filter(java.util.Objects::nonNull).toList());
    }

    /** Starts the network's own processes (dnsmasq, Caddy) again when they are gone; call it now and then. */
    public void superviseNetwork() {
        network.supervise();
    }

    /**
     * Makes template {@code templateName} from the VM's disk. A running VM's filesystems are
     * frozen through its guest agent (flushed, writes held) and the VM paused for the clone only
     * (milliseconds on btrfs), so the copy is consistent, even of a database that writes; a guest
     * without the agent gives a crash-consistent copy. The copy is then repaired with e2fsck and
     * left with no authorized key, host keys or machine id. 409 when the template exists.
     */
    public Snapshot snapshot(String idOrName, String templateName) {
        if (templateName == null) {
            throw new ScaleboxException.BadRequest("template_name is required");
        }
        Names.require("template_name", templateName);
        String id = row(idOrName).id();
        if (templates.exists(templateName)) {
            throw new ScaleboxException.Conflict("Template '" + templateName + "' already exists");
        }
        // The copy's repair (e2fsck) takes a core for a while: it waits its turn among the starts,
        // before it takes the VM's lock, which a start let in before it may need.
        try (Admission.Ticket ticket = runtime.admission().request(Admission.Priority.PERSON, "snapshot " + id)) {
            ticket.admitted().join();
            return locked(id, row -> {
                if (templates.exists(templateName)) {
                    throw new ScaleboxException.Conflict("Template '" + templateName + "' already exists");
                }
                storage.checkAvailableSpace(0);
                Optional<Instance> running = runtime.instance(row.id());
                Supplier<Path> copy = () -> {
                    running.ifPresent(Instance::pause);
                    return storage.copyRootfsToTemplate(disk(row), templateName, () -> running.ifPresent(Instance::cont));
                };
                Path image = running.isEmpty() ? copy.get()
                        : GuestAgent.whileFrozen(row.id(), storage.layout().runDir(row.id()), FREEZE_TIMEOUT, copy);
                var template = templates.register(templateName, image, "snapshot");
                return new Snapshot(templateName, row.id(), template.sizeBytes(), template.createdAt());
            });
        }
    }

    /** Stops the VM and removes its disk, run directory and record; the port is free again. */
    public void delete(String idOrName) {
        String id = row(idOrName).id();
        locked(id, row -> {
            if (runtime.instance(id).isPresent()) {
                states.move(row, VmStatus.STOPPING, "being deleted");
            }
            runtime.kill(id);
            removeFiles(row);
            network.remove(id);
            states.remove(id);
            return null;
        });
    }

    /** The last {@code maxBytes} of the VM's serial console. */
    public String console(String idOrName, int maxBytes) {
        return ConsoleLog.tail(storage.layout().runDir(row(idOrName).id()), maxBytes);
    }

    /**
     * Joins {@code viewer} to the live serial console of the running VM {@code idOrName}: the
     * recent output first, then what the guest writes; keystrokes go through the attachment.
     */
    public SerialConsole.Attachment attachConsole(String idOrName, SerialConsole.Viewer viewer) {
        VmStore.Row row = row(idOrName);
        VmStatus status = VmStatus.of(row.status());
        if ((status != VmStatus.RUNNING && status != VmStatus.STARTING) || runtime.instance(row.id()).isEmpty()) {
            throw new ScaleboxException.Conflict("VM " + row.name() + " is " + status.label()
                    + (status == VmStatus.STARTING ? " and waits its turn to start" : "")
                    + "; its console is live only while it runs");
        }
        return consoles.attach(row.id(), viewer);
    }

    /** Keeps the running VMs' serial logs within their bound; call it now and then. */
    public void trimConsoles() {
        runtime.trimConsoles();
    }

    /**
     * After a start of the service: adopts live QEMU processes (and sets right those a crash left
     * mid-operation, see {@link Recovery}), puts VMs that were waiting to start back in line,
     * marks running VMs whose process is gone as stopped, undoes creates that a crash interrupted,
     * and sweeps what no record owns. Disks are never deleted here, except the disk of an
     * interrupted create, which no client was ever told about.
     */
    public void recover() {
        startNetwork();
        for (VmStore.Row row : store.list()) {
            states.locked(row.id(), () -> {
                recover(row);
                return null;
            });
        }
        // A VM let in to start meanwhile is starting: its fresh TAP device stays.
        network.sweepTaps(store.list().stream().filter(r -> VmStatus.of(r.status()) == VmStatus.STARTING
                || VmStatus.of(r.status()) == VmStatus.RUNNING).map(VmStore.Row::id).collect(Collectors.toSet()));
        orphans = Orphans.sweep(storage.layout(), store.list().stream().map(VmStore.Row::id).collect(Collectors.toSet()));
        hypervisor.reclaimIdleUsers();
        snapshots.recover(templates.names());
        for (String template : templates.names()) {
            snapshots.ready(template, defaultShape()).ifPresent(ready -> warmGuests.fill(template, defaultShape(), ready));
        }
    }

    private void recover(VmStore.Row row) {
        VmStatus status = VmStatus.of(row.status());
        Orphans.deletePartialState(storage.layout().runDir(row.id()));
        if (status == VmStatus.CREATING) {
            log.warn("VM {} was being created when Scalebox stopped; undoing the create", row.id());
            undoCreate(row);
        } else if (runtime.adopt(row)) {
            return;
        } else if (status == VmStatus.STARTING) {
            log.info("VM {} was starting when Scalebox stopped; it goes back in line", row.id());
            runtime.start(row, Admission.Priority.PERSON);
        } else if (status == VmStatus.RUNNING && runtime.savedState(row).isPresent()) {
            // its memory was saved whole, and its QEMU ended, just before a crash kept the record from saying so
            states.move(row, VmStatus.SUSPENDED, "suspended as Scalebox stopped");
        } else if (status == VmStatus.RUNNING || status == VmStatus.STOPPING) {
            states.move(row, VmStatus.STOPPED, "QEMU was not running when Scalebox started");
        }
    }

    /** Samples what each running VM uses from now on ({@link #stats}). */
    public void sampleStats() {
        stats.start(() -> {
            Map<String, VmStats.Running> running = new HashMap<>();
            for (VmStore.Row row : store.list()) {
                if (VmStatus.of(row.status()) == VmStatus.RUNNING) {
                    runtime.instance(row.id()).ifPresent(i -> running.put(row.id(), new VmStats.Running(i, row.box())));
                }
            }
            return running;
        });
    }

    /** What the VM used over the last hour, sampled every few seconds while it ran, oldest first. */
    public List<VmStats.Sample> stats(String idOrName) {
        return stats.of(row(idOrName).id());
    }

    /** The newest sample of each running VM, by id. */
    public Map<String, VmStats.Sample> latestStats() {
        return stats.latest();
    }

    /** Releases the QMP connections; the VMs keep running, warm instances and warm guests end. */
    public void detach() {
        stats.stop();
        snapshots.close();
        warmGuests.close();
        runtime.detach();
    }

    private void undoCreate(VmStore.Row row) {
        runtime.kill(row.id());
        removeFiles(row);
        network.remove(row.id());
        states.remove(row.id());
    }

    private void removeFiles(VmStore.Row row) {
        storage.deleteRootfs(disk(row));
        runtime.discardState(row);
        firstStart.forget(row);
        Orphans.deleteRunDir(storage.layout().runDir(row.id()));
    }

    private Path disk(VmStore.Row row) {
        return storage.layout().disk(row.id(), row.box());
    }

    private <T> T locked(String idOrName, Function<VmStore.Row, T> operation) {
        String id = row(idOrName).id();
        return states.locked(id, () -> {
            VmStore.Row row = row(id);
            VmStatus status = VmStatus.of(row.status());
            if (status == VmStatus.CREATING) {
                throw new ScaleboxException.Conflict("VM " + id + " is being created; wait for it to settle");
            }
            return operation.apply(row);
        });
    }

    /** This host's VM with this id or name; one of another host's is refused, since only its own host acts on it. */
    private VmStore.Row row(String idOrName) {
        VmStore.Row row = store.find(idOrName).orElseThrow(() -> new ScaleboxException.NotFound("VM not found"));
        if (!local(row)) {
            String url = hosts.find(row.host()).map(h -> " (" + h.url() + ")").orElse("");
            throw new ScaleboxException.Conflict("VM " + row.name() + " lives on host " + row.host() + url
                    + "; send this request to that host");
        }
        return row;
    }

    private boolean local(VmStore.Row row) {
        return store.host().equals(row.host());
    }

    private Vm toVm(VmStore.Row r) {
        return toVm(r, null);
    }

    /**
     * The VM as clients see it; {@code host} is its host's record when that is not this host. A VM
     * whose host is down reads {@code unknown}: its record says what it was, not what it is.
     */
    private Vm toVm(VmStore.Row r, HostStore.Row host) {
        boolean foreign = host != null && !local(r);
        boolean hostDown = foreign && host.state().equals("down");
        return new Vm(r.id(), r.name(), r.template(), hostDown ? VmStatus.UNKNOWN : VmStatus.of(r.status()),
                hostDown ? "host " + host.name() + " is down: " + host.stateReason() : r.statusReason(), r.vcpuCount(),
                r.memSizeMib(), r.diskSizeGib(), foreign ? host.sshHost() : limits.sshHost(), r.sshPort(), "root",
                r.createdAt(), r.ip(), r.ip() == null ? null : Subnet.macOf(r.ip()), Egress.ofStored(r.egress()),
                r.httpPort(), network.https().flatMap(h -> h.urlOf(r.name())).orElse(null), r.startedFrom(),
                r.sshHostKey(), r.host());
    }
}
