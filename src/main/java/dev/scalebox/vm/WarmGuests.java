package dev.scalebox.vm;

import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.template.TemplateCatalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * Guests resumed from a template's snapshot ahead of any create, idle and with no network card,
 * by template and shape: QEMU processes {@code instance-…} on disks {@code vms/instance-….ext4}
 * of their own. A create of that template and shape takes one: its disk is renamed to the VM's,
 * its QEMU handed over, and it is then made the VM's own ({@link FirstStart}) like any guest
 * resumed from the snapshot, while its card is plugged in. That saves the QEMU's start, the
 * state's load and, under TCG, the first translation of what the guest then runs: each warm guest
 * has been through the personalization once (its hostname only) and through a card plugged in,
 * configured and taken out ({@link Hypervisor#rehearseNetworkCard}).
 *
 * <p>Up to {@code count} wait for each template and shape that a create used since the service
 * started, and for the default shape as soon as a template's snapshot of it is there; one taken
 * is replaced in the background, as background work in the host's line of starts that costs what
 * a boot of its shape costs (it runs its vCPUs while it is warmed). They hold nothing of anyone:
 * a template changed or a snapshot dropped ends its own, the service's end ends all, and a start
 * of the service sweeps what a crash left (their QEMU and run directory as orphans, their disks
 * with the snapshots' makers).
 */
final class WarmGuests implements AutoCloseable {

    private record Key(String template, WarmInstances.Shape shape) {
    }

    private static final String TEMPLATE_HOSTNAME = "scalebox";
    private static final Logger log = LoggerFactory.getLogger(WarmGuests.class);

    private final DataLayout layout;
    private final StorageService storage;
    private final Hypervisor hypervisor;
    private final Admission admission;
    private final VmSpecs specs;
    private final TemplateCatalog templates;
    private final int count;
    private final Map<Key, ConcurrentLinkedDeque<Instance>> idle = new ConcurrentHashMap<>();
    private final Set<Key> filling = ConcurrentHashMap.newKeySet();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("warm-guests").daemon(true).factory());
    private volatile boolean closed;

    WarmGuests(DataLayout layout, StorageService storage, Hypervisor hypervisor, Admission admission, VmSpecs specs,
               TemplateCatalog templates, int count) {
        this.layout = layout;
        this.storage = storage;
        this.hypervisor = hypervisor;
        this.admission = admission;
        this.specs = specs;
        this.templates = templates;
        this.count = count;
    }

    /** A warm guest of {@code template} in {@code shape}, now the caller's; the caller has {@link #fill} make another. */
    Optional<Instance> take(String template, WarmInstances.Shape shape) {
        Key key = new Key(template, shape);
        Optional<Instance> taken = Optional.empty();
        for (Instance i; taken.isEmpty() && (i = queue(key).poll()) != null; ) {
            if (i.isAlive()) {
                taken = Optional.of(i);
            } else {
                discard(i);
            }
        }
        return taken;
    }

    /** The disk a warm guest runs on, which the VM that takes it renames to its own. */
    Path disk(Instance guest) {
        return layout.vmImage(guest.vmId());
    }

    /** Makes warm guests of {@code template} in {@code shape} from {@code snapshot} in the background, up to the count. */
    void fill(String template, WarmInstances.Shape shape, TemplateSnapshots.Ready snapshot) {
        Key key = new Key(template, shape);
        if (count <= 0 || closed || snapshot.memory().isEmpty() || !filling.add(key)) {
            return;
        }
        Runnable top = () -> {
            try {
                while (!closed && queue(key).size() < count && add(key, snapshot)) {
                    log.debug("A warm guest of template {} waits", template);
                }
            } catch (RuntimeException e) {
                if (!closed) {
                    log.warn("No warm guest of template {} ({} vCPUs, {} MiB) could be made: {}", template,
                            shape.vcpus(), shape.memMib(), e.getMessage());
                }
            } finally {
                filling.remove(key);
            }
        };
        try {
            worker.execute(top);
        } catch (RejectedExecutionException e) {
            filling.remove(key);  // closed meanwhile
        }
    }

    /** Ends the warm guests of template {@code name}, which was built, imported or removed. */
    void templateChanged(String name) {
        idle.keySet().stream().filter(key -> key.template().equals(name)).forEach(this::end);
    }

    /** Ends the warm guests of {@code template} in {@code shape}, whose snapshot was dropped. */
    void end(String template, WarmInstances.Shape shape) {
        end(new Key(template, shape));
    }

    private void end(Key key) {
        ConcurrentLinkedDeque<Instance> queue = queue(key);
        for (Instance i; (i = queue.poll()) != null; ) {
            discard(i);
        }
    }

    int count(String template, WarmInstances.Shape shape) {
        return queue(new Key(template, shape)).size();
    }

    /**
     * Resumes one more guest from {@code snapshot} and warms it; false when the template changed
     * or the snapshot was dropped meanwhile, and the guest was thrown away.
     */
    private boolean add(Key key, TemplateSnapshots.Ready snapshot) {
        String id = WarmInstances.newName();
        Optional<Instant> built = templates.builtAt(key.template());
        Instance guest = null;
        // Warming keeps its vCPUs busy, as a boot does: on a small host it waits for the create that took the last one.
        try (Admission.Ticket ticket = admission.request(Admission.Priority.BACKGROUND, "warm guest of " + key.template(),
                Admission.startCost(hypervisor.accelerator(), key.shape().vcpus()))) {
            ticket.admitted().join();
            Path state = layout.memoryState(id, false);
            Path memory = layout.memoryFile(id, false);
            storage.cloneSnapshot(snapshot.disk(), snapshot.state(), snapshot.memory(), layout.vmImage(id), state, memory);
            guest = hypervisor.resumeUnplugged(specs.isolated(id, key.shape(), false), state, memory);
            Files.delete(state);
            Files.delete(memory);  // QEMU maps it on
            Personalization.hostname(TEMPLATE_HOSTNAME).applyTo(id, layout.runDir(id));
            hypervisor.rehearseNetworkCard(guest, layout.runDir(id));
            if (closed || built.isEmpty() || !built.equals(templates.builtAt(key.template()))
                    || !Files.isRegularFile(snapshot.state())) {  // the template changed, or the snapshot was dropped
                discard(guest);
                return false;
            }
            ConcurrentLinkedDeque<Instance> queue = queue(key);
            queue.add(guest);
            Instance added = guest;
            guest.onExit().thenRun(() -> {
                if (queue.remove(added)) {
                    discard(added);
                }
            });
            return true;
        } catch (IOException e) {
            cleanUp(id, guest);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            cleanUp(id, guest);
            throw e;
        }
    }

    private void cleanUp(String id, Instance guest) {
        if (guest != null) {
            guest.end();
        }
        deleteFiles(id);
    }

    private void discard(Instance guest) {
        guest.end();
        deleteFiles(guest.vmId());
    }

    private void deleteFiles(String id) {
        Orphans.deleteRunDir(layout.runDir(id));
        try {
            Files.deleteIfExists(layout.vmImage(id));
        } catch (IOException e) {
            log.warn("Cannot remove the disk of warm guest {}: {}", id, e.getMessage());
        }
    }

    private ConcurrentLinkedDeque<Instance> queue(Key key) {
        return idle.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>());
    }

    /** Ends every warm guest, and makes no more. */
    @Override
    public void close() {
        closed = true;
        worker.shutdownNow();
        idle.keySet().forEach(this::end);
    }
}
