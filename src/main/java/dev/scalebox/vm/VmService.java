package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.hypervisor.PortAllocator;
import dev.scalebox.hypervisor.SshProbe;
import dev.scalebox.hypervisor.VmSpec;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.VmStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

/**
 * The VM lifecycle. Operations on one VM (start, stop, delete) hold that VM's lock; reads never
 * wait; creates of different VMs run in parallel, with only the choice of name and port made
 * under a short shared lock. A create that fails before its answer undoes every step before it;
 * QEMU itself is started just after the answer, and a failure there leaves the VM in
 * {@code error} with the reason, its disk kept.
 *
 * <p>Each VM with a process has two watchers: one polls for the guest's SSH banner and moves
 * {@code starting} to {@code running}; the other waits for the process to exit and, unless the
 * exit was asked for, records the VM as {@code stopped} with the reason. A disk is deleted only
 * by {@link #delete}.
 */
public final class VmService {

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(5);
    private static final Logger log = LoggerFactory.getLogger(VmService.class);

    private final StorageService storage;
    private final Hypervisor hypervisor;
    private final VmStore store;
    private final VmLimits limits;
    private final PortAllocator ports;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final Object allocation = new Object();
    private final SecureRandom random = new SecureRandom();
    private volatile BootListener bootListener = (vm, seconds) -> { };

    public VmService(StorageService storage, Hypervisor hypervisor, VmStore store, VmLimits limits) {
        this.storage = storage;
        this.hypervisor = hypervisor;
        this.store = store;
        this.limits = limits;
        this.ports = new PortAllocator(limits.portMin(), limits.portMax(), limits.bindAddress());
    }

    /** Told how long each boot took from QEMU's start to the SSH banner. */
    public interface BootListener {
        void booted(String vmId, double seconds);
    }

    public void onBoot(BootListener listener) {
        this.bootListener = listener;
    }

    public List<Vm> list() {
        return store.list().stream().map(this::toVm).toList();
    }

    public Vm get(String idOrName) {
        return toVm(row(idOrName));
    }

    public Vm create(CreateVm request) {
        if (request.template() == null) {
            throw new ScaleboxException.BadRequest("template is required");
        }
        Validation.key(request.sshPublicKey());
        Path templateImage = storage.templateImage(request.template());
        String name = Validation.name(request.name());
        int vcpus = Validation.vcpus(request.vcpuCount(), limits);
        int mem = Validation.memMib(request.memSizeMib(), limits);
        int disk = Validation.diskGib(request.diskSizeGib(), limits, templateImage.toFile().length());
        storage.checkAvailableSpace(disk);

        VmStore.Row row = reserve(request.template(), name, vcpus, mem, disk);
        ReentrantLock lock = lockOf(row.id());
        lock.lock();
        try {
            storage.createRootfs(request.template(), row.id(), disk, request.sshPublicKey());
            store.update(row.withStatus(VmStatus.STARTING.label(), null));
            // QEMU's start (daemonize and the QMP handshake, ~0.4 s under TCG) happens after the
            // answer; it takes this VM's lock, so a stop or delete sent meanwhile waits for it.
            Thread.ofVirtual().name("launch-" + row.id()).start(() -> launchAfterCreate(row.id()));
            return get(row.id());
        } catch (RuntimeException e) {
            undoCreate(row);
            throw e;
        } finally {
            lock.unlock();
        }
    }

    /** Starts QEMU for a VM whose create has answered; a failure leaves the VM in error, disk kept. */
    private void launchAfterCreate(String id) {
        ReentrantLock lock = lockOf(id);
        lock.lock();
        try {
            store.find(id).filter(r -> r.status().equals(VmStatus.STARTING.label()) && !instances.containsKey(id))
                    .ifPresent(this::launch);
        } catch (RuntimeException e) {
            log.error("QEMU of {} did not start: {}", id, e.getMessage());
            store.find(id).ifPresent(r -> store.update(r.withStatus(VmStatus.ERROR.label(), e.getMessage())));
        } finally {
            lock.unlock();
        }
    }

    public Vm start(String idOrName) {
        return locked(idOrName, row -> {
            VmStatus status = VmStatus.of(row.status());
            if (status == VmStatus.RUNNING || status == VmStatus.STARTING) {
                return toVm(row);
            }
            if (status != VmStatus.STOPPED && status != VmStatus.ERROR) {
                throw new ScaleboxException.Conflict("VM " + row.id() + " is " + status.label() + "; wait for it to settle");
            }
            launch(row);
            return get(row.id());
        });
    }

    public Vm stop(String idOrName) {
        return locked(idOrName, row -> {
            Instance instance = instances.get(row.id());
            if (instance == null) {
                return toVm(row);
            }
            store.update(row.withStatus(VmStatus.STOPPING.label(), null));
            hypervisor.stop(instance, STOP_TIMEOUT);
            instances.remove(row.id());
            store.update(row.withStatus(VmStatus.STOPPED.label(), "stopped on request"));
            return get(row.id());
        });
    }

    public Vm restart(String idOrName) {
        stop(idOrName);
        return start(idOrName);
    }

    /** Stops the VM and removes its disk, run directory and record; the port is free again. */
    public void delete(String idOrName) {
        String id = row(idOrName).id();
        locked(id, row -> {
            Instance instance = instances.remove(row.id());
            if (instance != null) {
                store.update(row.withStatus(VmStatus.STOPPING.label(), "being deleted"));
                hypervisor.kill(instance.pid(), row.id());
                instance.qmp().close();
            }
            removeFiles(row.id());
            store.delete(row.id());
            return null;
        });
        locks.remove(id);
    }

    /** The last {@code maxBytes} of the VM's serial console. */
    public String console(String idOrName, int maxBytes) {
        Path log = storage.layout().runDir(row(idOrName).id()).resolve("serial.log");
        try {
            if (!Files.exists(log)) {
                return "";
            }
            byte[] all = Files.readAllBytes(log);
            int from = Math.max(0, all.length - maxBytes);
            return new String(all, from, all.length - from, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot read the console of " + idOrName + ": " + e.getMessage(), e);
        }
    }

    /**
     * After a start of the service: adopts live QEMU processes, marks VMs whose process is gone as
     * stopped, and undoes creates that a crash interrupted. Disks are never deleted here, except
     * the disk of an interrupted create, which no client was ever told about.
     */
    public void recover() {
        for (VmStore.Row row : store.list()) {
            VmStatus status = VmStatus.of(row.status());
            if (status == VmStatus.CREATING) {
                log.warn("VM {} was being created when Scalebox stopped; undoing the create", row.id());
                undoCreate(row);
                continue;
            }
            var adopted = hypervisor.adopt(row.id(), storage.layout().runDir(row.id()));
            if (adopted.isPresent()) {
                log.info("Adopted running VM {} (QEMU pid {})", row.id(), adopted.get().pid());
                watch(row, adopted.get(), System.nanoTime(), status == VmStatus.RUNNING);
            } else if (status != VmStatus.STOPPED && status != VmStatus.ERROR) {
                store.update(row.withStatus(VmStatus.STOPPED.label(), "QEMU was not running when Scalebox started"));
            }
        }
    }

    /** Releases the QMP connections; the VMs keep running. */
    public void detach() {
        instances.values().forEach(i -> i.qmp().close());
        instances.clear();
    }

    private VmStore.Row reserve(String template, String name, int vcpus, int mem, int disk) {
        synchronized (allocation) {
            List<VmStore.Row> existing = store.list();
            Set<Integer> taken = existing.stream().map(VmStore.Row::sshPort).collect(Collectors.toSet());
            Set<String> names = existing.stream().map(VmStore.Row::name).collect(Collectors.toSet());
            if (name != null && names.contains(name)) {
                throw new ScaleboxException.Conflict("A VM named '" + name + "' already exists");
            }
            int port = ports.allocate(taken).orElseThrow(() -> new ScaleboxException.InsufficientStorage(
                    "No free SSH port left in " + limits.portMin() + ".." + limits.portMax()));
            String id = "vm-" + HexFormat.of().formatHex(bytes(6));
            String chosen = name != null ? name : NameGenerator.unique(names, random);
            VmStore.Row row = new VmStore.Row(id, chosen, template, VmStatus.CREATING.label(), null, vcpus, mem, disk,
                    port, Instant.now());
            if (!store.insert(row)) {
                throw new ScaleboxException.Conflict("A VM named '" + chosen + "' already exists");
            }
            return row;
        }
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private void launch(VmStore.Row row) {
        VmStore.Row starting = row.withStatus(VmStatus.STARTING.label(), null);
        store.update(starting);
        long started = System.nanoTime();
        Instance instance = hypervisor.start(spec(row));
        watch(starting, instance, started, false);
    }

    private void watch(VmStore.Row row, Instance instance, long startedNanos, boolean alreadyRunning) {
        instances.put(row.id(), instance);
        instance.onExit().thenRun(() -> exited(row.id(), instance));
        if (alreadyRunning) {
            return;
        }
        Thread.ofVirtual().name("boot-" + row.id()).start(() -> awaitSsh(row.id(), instance, startedNanos));
    }

    private void awaitSsh(String id, Instance instance, long startedNanos) {
        long deadline = startedNanos + BOOT_TIMEOUT.toNanos();
        while (instance.isAlive() && instances.get(id) == instance && System.nanoTime() < deadline) {
            if (SshProbe.answers(probeHost(), row(id).sshPort(), 1000)) {
                double seconds = (System.nanoTime() - startedNanos) / 1e9;
                transition(id, instance, VmStatus.STARTING, VmStatus.RUNNING, null);
                bootListener.booted(id, seconds);
                return;
            }
            sleep(200);
        }
        if (instance.isAlive() && instances.get(id) == instance) {
            transition(id, instance, VmStatus.STARTING, VmStatus.ERROR, "SSH did not answer within "
                    + BOOT_TIMEOUT.toMinutes() + " minutes of the start; see the console");
        }
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

    private void transition(String id, Instance instance, VmStatus from, VmStatus to, String reason) {
        ReentrantLock lock = lockOf(id);
        lock.lock();
        try {
            store.find(id).filter(r -> r.status().equals(from.label()) && instances.get(id) == instance)
                    .ifPresent(r -> store.update(r.withStatus(to.label(), reason)));
        } finally {
            lock.unlock();
        }
    }

    private VmSpec spec(VmStore.Row row) {
        DataLayout layout = storage.layout();
        Path initrd = layout.kernel().resolve("initrd.img");
        return new VmSpec(row.id(), row.vcpuCount(), row.memSizeMib(), layout.vmImage(row.id()), layout.runDir(row.id()),
                limits.bindAddress(), row.sshPort(), layout.kernel().resolve("vmlinuz"),
                Files.exists(initrd) ? initrd : null, cmdline(layout));
    }

    private static String cmdline(DataLayout layout) {
        try {
            return Files.readString(layout.kernel().resolve("cmdline")).strip();
        } catch (IOException e) {
            return "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet";
        }
    }

    private void undoCreate(VmStore.Row row) {
        Instance instance = instances.remove(row.id());
        if (instance != null) {
            hypervisor.kill(instance.pid(), row.id());
            instance.qmp().close();
        }
        removeFiles(row.id());
        store.delete(row.id());
        locks.remove(row.id());
    }

    private void removeFiles(String id) {
        storage.deleteRootfs(storage.layout().vmImage(id));
        Path run = storage.layout().runDir(id);
        try (var files = Files.exists(run) ? Files.list(run) : java.util.stream.Stream.<Path>empty()) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(run);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot remove " + run + ": " + e.getMessage(), e);
        }
    }

    private <T> T locked(String idOrName, java.util.function.Function<VmStore.Row, T> operation) {
        String id = row(idOrName).id();
        ReentrantLock lock = lockOf(id);
        lock.lock();
        try {
            return operation.apply(row(id));
        } finally {
            lock.unlock();
        }
    }

    private ReentrantLock lockOf(String id) {
        return locks.computeIfAbsent(id, k -> new ReentrantLock());
    }

    private VmStore.Row row(String idOrName) {
        return store.find(idOrName).orElseThrow(() -> new ScaleboxException.NotFound("VM not found"));
    }

    private String probeHost() {
        String bind = limits.bindAddress();
        return bind.equals("0.0.0.0") || bind.equals("::") ? "127.0.0.1" : bind;
    }

    private Vm toVm(VmStore.Row r) {
        return new Vm(r.id(), r.name(), r.template(), VmStatus.of(r.status()), r.statusReason(), r.vcpuCount(),
                r.memSizeMib(), r.diskSizeGib(), limits.sshHost(), r.sshPort(), "root", r.createdAt());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
