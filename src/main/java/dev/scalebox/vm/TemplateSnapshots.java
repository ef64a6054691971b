package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.GuestAgent;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.network.HostNetwork;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.template.TemplateCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Memory snapshots of templates, one per VM shape (vCPUs and memory): the template booted once
 * in a QEMU of that shape, left to finish its boot, and suspended, disk and memory, into
 * {@code templates/NAME.snapshots/VCPUSxMEM/}. A VM created in that shape is a reflink of both,
 * resumed and then personalized through the guest agent, instead of a boot.
 *
 * <p>Snapshots are made in the background, one at a time, as background work in the host's line
 * of starts: the default shape after a template is built or imported (or found without one at
 * start-up), any other shape after a create of that shape had to boot. At most {@code max} per
 * template; the least recently used goes first. A template rebuilt or removed drops its
 * snapshots; one made from the template as it was before is thrown away, not published. The
 * booting guest is cut off (see {@link VmSpecs#isolated}): nothing reaches it and it reaches nothing. A template without the guest agent gets no snapshot: its
 * VMs boot. A failure is kept, with its reason, until the template changes.
 */
public final class TemplateSnapshots implements AutoCloseable {

    /** A snapshot's files, ready to be cloned; its memory is in the state for a snapshot made before memory files. */
    record Ready(Path disk, Path state, Optional<Path> memory) {
    }

    /** A snapshot as {@code GET /templates} shows it: {@code ready}, {@code making}, or {@code failed} with why. */
    public record Info(int vcpuCount, int memSizeMib, String state, String reason, Instant lastUsed) {
    }

    private record Key(String template, WarmInstances.Shape shape) {
    }

    static final String DISK = "disk.ext4";
    static final String STATE = "memory.state";
    static final String MEMORY = "memory.ram";
    private static final String PARTIAL = ".partial-";
    private static final Pattern SHAPE = Pattern.compile("(\\d+)x(\\d+)");
    private static final String AGENT = "/usr/sbin/qemu-ga";
    private static final Duration AGENT_DEADLINE = Duration.ofMinutes(15);
    private static final Duration SETTLE_TIMEOUT = Duration.ofMinutes(10);
    private static final Logger log = LoggerFactory.getLogger(TemplateSnapshots.class);

    private final DataLayout layout;
    private final StorageService storage;
    private final Hypervisor hypervisor;
    private final Admission admission;
    private final VmSpecs specs;
    private final TemplateCatalog templates;
    private final HostNetwork network;
    private final int max;
    private final WarmInstances.Shape defaultShape;
    private final Map<Key, String> making = new ConcurrentHashMap<>();
    private final Map<Key, String> failed = new ConcurrentHashMap<>();
    private final Map<String, Instance> makers = new ConcurrentHashMap<>();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("template-snapshots").daemon(true).factory());
    private volatile Listener listener = new Listener() { };
    private volatile boolean started;
    private volatile boolean closed;

    TemplateSnapshots(DataLayout layout, StorageService storage, Hypervisor hypervisor, Admission admission,
                      VmSpecs specs, TemplateCatalog templates, HostNetwork network, int max,
                      WarmInstances.Shape defaultShape) {
        this.network = network;
        this.layout = layout;
        this.storage = storage;
        this.hypervisor = hypervisor;
        this.admission = admission;
        this.specs = specs;
        this.templates = templates;
        this.max = max;
        this.defaultShape = defaultShape;
    }

    /**
     * The snapshot of {@code template} in {@code shape}, marked as used; empty when there is none
     * yet, in which case one is made in the background for the next create.
     */
    Optional<Ready> take(String template, WarmInstances.Shape shape) {
        Optional<Ready> ready = ready(template, shape);
        if (ready.isEmpty()) {
            request(template, shape);
            return ready;
        }
        Path dir = ready.get().disk().getParent();
        try {
            Files.setLastModifiedTime(dir, FileTime.from(Instant.now()));
        } catch (IOException e) {
            log.debug("Cannot mark snapshot {} as used: {}", dir, e.getMessage());
        }
        return ready;
    }

    /** The snapshot of {@code template} in {@code shape}, when there is one. */
    Optional<Ready> ready(String template, WarmInstances.Shape shape) {
        Path dir = layout.templateSnapshot(template, shape.vcpus(), shape.memMib());
        Path memory = dir.resolve(MEMORY);
        Ready ready = new Ready(dir.resolve(DISK), dir.resolve(STATE),
                Files.isRegularFile(memory) ? Optional.of(memory) : Optional.empty());
        return Files.isRegularFile(ready.disk()) && Files.isRegularFile(ready.state()) && !predates(template, ready.disk())
                ? Optional.of(ready) : Optional.empty();
    }

    /** Told of each snapshot made, once it is ready, and of each dropped as the least recently used. */
    interface Listener {
        default void made(String template, WarmInstances.Shape shape) {
        }

        default void evicted(String template, WarmInstances.Shape shape) {
        }
    }

    void listen(Listener listener) {
        this.listener = listener;
    }

    /**
     * Whether the snapshot was made before the template was last built: another process (the
     * command line's {@code template build}) rebuilt it. Such a snapshot is dropped.
     */
    private boolean predates(String template, Path disk) {
        Optional<Instant> built = templates.builtAt(template);
        try {
            if (built.isPresent() && Files.getLastModifiedTime(disk).toInstant().isBefore(built.get())) {
                log.info("The snapshots of template {} predate its last build; dropping them", template);
                failed.keySet().removeIf(k -> k.template().equals(template));
                drop(template);
                return true;
            }
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Makes the snapshot of {@code template} in {@code shape} in the background, unless it is there, made or failed. */
    void request(String template, WarmInstances.Shape shape) {
        Key key = new Key(template, shape);
        if (!started || closed || max <= 0 || failed.containsKey(key)
                || Files.isDirectory(layout.templateSnapshot(template, shape.vcpus(), shape.memMib()))) {
            return;
        }
        if (making.putIfAbsent(key, "queued") == null) {
            worker.execute(() -> make(key));
        }
    }

    /** Template {@code name} was built, imported or removed: its snapshots go, and a new one of the default shape is made. */
    public void templateChanged(String name) {
        failed.keySet().removeIf(k -> k.template().equals(name));
        drop(name);
        if (templates.exists(name)) {
            request(name, defaultShape);
        }
    }

    /**
     * After a start of the service, once its sweep of orphans is done (a QEMU making a snapshot
     * before would be taken for an orphan): removes what an interrupted making left, makes the
     * default snapshot where it is missing, and from then on takes requests.
     */
    void recover(List<String> templateNames) {
        started = true;
        for (Path dir : list(layout.templates())) {
            if (dir.getFileName().toString().endsWith(".snapshots")) {
                list(dir).stream().filter(p -> p.getFileName().toString().startsWith(PARTIAL)).forEach(TemplateSnapshots::deleteTree);
            }
        }
        list(layout.vms()).stream().filter(p -> p.getFileName().toString().startsWith(WarmInstances.PREFIX)).forEach(TemplateSnapshots::deleteTree);
        templateNames.forEach(name -> request(name, defaultShape));
    }

    /** The template's snapshots, made and in the making. */
    public List<Info> list(String template) {
        List<Info> infos = new ArrayList<>();
        for (Path dir : list(layout.templateSnapshots(template))) {
            Matcher m = SHAPE.matcher(dir.getFileName().toString());
            if (m.matches()) {
                infos.add(new Info(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), "ready", null, lastUsed(dir)));
            }
        }
        making.keySet().stream().filter(k -> k.template().equals(template)).forEach(k ->
                infos.add(new Info(k.shape().vcpus(), k.shape().memMib(), "making", null, null)));
        failed.forEach((k, why) -> {
            if (k.template().equals(template)) {
                infos.add(new Info(k.shape().vcpus(), k.shape().memMib(), "failed", why, null));
            }
        });
        infos.sort(Comparator.comparingInt(Info::vcpuCount).thenComparingInt(Info::memSizeMib));
        return infos;
    }

    static boolean hasGuestAgent(StorageService storage, String template) {
        return storage.templateHas(template, AGENT);
    }

    private void make(Key key) {
        String id = WarmInstances.newName();
        try {
            Optional<Instant> built = templates.builtAt(key.template());
            if (closed || built.isEmpty()) {
                return;
            }
            if (!hasGuestAgent(storage, key.template())) {
                throw new ScaleboxException.BadRequest("the template has no guest agent (qemu-guest-agent); its VMs boot");
            }
            long started = System.nanoTime();
            Path saved = bootAndSave(key, id);
            if (!built.equals(templates.builtAt(key.template()))) {
                log.info("Template {} changed while its snapshot {} was made; throwing it away", key.template(), key.shape());
                return;
            }
            publish(key, layout.vmImage(id), saved, layout.memoryFile(id, false));
            log.info("Made the {} vCPU, {} MiB memory snapshot of template {} in {} s", key.shape().vcpus(),
                    key.shape().memMib(), key.template(), String.format("%.1f", (System.nanoTime() - started) / 1e9));
            evictBeyondMax(key.template());
            listener.made(key.template(), key.shape());
        } catch (RuntimeException e) {
            if (!closed) {
                log.warn("The {} vCPU, {} MiB memory snapshot of template {} could not be made: {}", key.shape().vcpus(),
                        key.shape().memMib(), key.template(), e.getMessage());
                failed.put(key, e.getMessage());
            }
        } finally {
            making.remove(key);
            network.unplug(id);
            deleteTree(layout.vmImage(id));
            Orphans.deleteRunDir(layout.runDir(id));
        }
    }

    /** Boots the template in its turn, waits until its boot is over, and saves it; returns the state file. */
    private Path bootAndSave(Key key, String id) {
        WarmInstances.Shape shape = key.shape();
        try (Admission.Ticket ticket = admission.request(Admission.Priority.BACKGROUND, "snapshot of " + key.template(),
                Admission.startCost(hypervisor.accelerator(), shape.vcpus()))) {
            ticket.admitted().join();
            making.put(key, "making");
            storage.copyRootfs(key.template(), id);
            Instance qemu = hypervisor.startWithMemoryFile(specs.isolated(id, shape, network.bridged()),
                    layout.memoryFile(id, false));
            makers.put(id, qemu);
            try {
                settle(id, qemu);
                Path state = layout.runDir(id).resolve(STATE);
                hypervisor.suspend(qemu, layout.runDir(id), state);
                return state;
            } finally {
                makers.remove(id);
                qemu.end();
            }
        }
    }

    /** Waits for the guest agent, then for the boot to be over, so that copies do not carry on booting. */
    private void settle(String id, Instance qemu) {
        settle(id, layout.runDir(id), () -> qemu.isAlive() && !closed);
    }

    /**
     * Waits for the guest agent of {@code id} while {@code alive} holds, then until systemd says the
     * boot is over, and flushes the guest's writes; fails when the agent never answers.
     */
    static void settle(String id, Path runDir, java.util.function.BooleanSupplier alive) {
        GuestAgent.awaitAnswer(id, runDir, AGENT_DEADLINE, alive);
        try (GuestAgent agent = GuestAgent.connect(id, runDir, SETTLE_TIMEOUT)) {
            agent.run(List.of("/usr/bin/systemctl", "is-system-running", "--wait"), new byte[0], SETTLE_TIMEOUT);
            agent.run(List.of("/usr/bin/sync"), new byte[0], SETTLE_TIMEOUT);
        }
    }

    /** Moves the disk, state and memory into the template's snapshots, replacing the shape's older one. */
    private void publish(Key key, Path disk, Path state, Path memory) {
        Path dir = layout.templateSnapshot(key.template(), key.shape().vcpus(), key.shape().memMib());
        Path partial = dir.resolveSibling(PARTIAL + dir.getFileName());
        try {
            deleteTree(partial);
            Files.createDirectories(partial);
            syncData(memory);  // written through QEMU's shared mapping, which nothing flushed
            for (Path file : List.of(disk, state, memory)) {  // QEMU's user was lent them
                Files.setAttribute(file, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(file, "unix:gid", 0, LinkOption.NOFOLLOW_LINKS);
            }
            moveOrCopy(disk, partial.resolve(DISK));
            moveOrCopy(state, partial.resolve(STATE));
            moveOrCopy(memory, partial.resolve(MEMORY));
            deleteTree(dir);
            Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteTree(partial);
            throw new ScaleboxException.HostFailure("cannot keep the snapshot in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void syncData(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /** A rename, or across datasets (btrfs subvolumes) a copy, which on btrfs shares the extents. */
    private static void moveOrCopy(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            Files.copy(from, to);
            Files.delete(from);
        }
    }

    private void evictBeyondMax(String template) {
        List<Path> ready = list(layout.templateSnapshots(template)).stream()
                .filter(p -> SHAPE.matcher(p.getFileName().toString()).matches())
                .sorted(Comparator.comparing(TemplateSnapshots::lastUsed)).toList();
        for (Path dir : ready.subList(0, Math.max(0, ready.size() - max))) {
            log.info("Dropping snapshot {} of template {}, the least recently used of more than {}", dir.getFileName(),
                    template, max);
            deleteTree(dir);
            Matcher m = SHAPE.matcher(dir.getFileName().toString());
            if (m.matches()) {
                listener.evicted(template, new WarmInstances.Shape(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))));
            }
        }
    }

    private void drop(String template) {
        deleteTree(layout.templateSnapshots(template));
    }

    private static Instant lastUsed(Path dir) {
        try {
            return Files.getLastModifiedTime(dir).toInstant();
        } catch (IOException e) {
            return Instant.EPOCH;
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            List<Path> all = new ArrayList<>();
            entries.forEach(all::add);
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("Cannot remove {}: {}", path, e.getMessage());
        }
    }

    /** Stops making snapshots: the one being made is ended, and nothing more starts. */
    @Override
    public void close() {
        closed = true;
        worker.shutdownNow();
        makers.values().forEach(Instance::end);
    }
}
