package dev.scalebox.vm;

import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.hypervisor.VmSpec;
import dev.scalebox.storage.DataLayout;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.BiFunction;

/**
 * Blank QEMU processes ({@code instance-…}) waiting, by shape, for a suspended VM of that shape to
 * resume in them, which saves that resume QEMU's own start. They hold nothing of any VM, so they
 * are ended freely, and none outlives the Scalebox that started it.
 */
final class WarmInstances {

    /** The vCPUs and memory a QEMU is started with, which a saved state must match. */
    record Shape(int vcpus, int memMib) {
    }

    private final DataLayout layout;
    private final Hypervisor hypervisor;
    private final Admission admission;
    private final BiFunction<String, Shape, VmSpec> specs;
    private final Map<Shape, ConcurrentLinkedDeque<Instance>> idle = new ConcurrentHashMap<>();
    /** What QEMU processes that serve no VM yet are named: Orphans knows them by it. */
    static final String PREFIX = "instance-";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** {@code specs} gives the blank spec of an instance name and shape. */
    WarmInstances(DataLayout layout, Hypervisor hypervisor, Admission admission,
                  BiFunction<String, Shape, VmSpec> specs) {
        this.layout = layout;
        this.hypervisor = hypervisor;
        this.admission = admission;
        this.specs = specs;
    }

    /** Starts one more blank instance of {@code shape}, in its turn among the host's starts. */
    void add(Shape shape) {
        String name = newName();
        Instance instance;
        try (Admission.Ticket ticket = admission.request(Admission.Priority.BACKGROUND, name)) {
            ticket.admitted().join();
            instance = hypervisor.startBlank(specs.apply(name, shape));
        } catch (RuntimeException e) {
            Orphans.deleteRunDir(layout.runDir(name));
            throw e;
        }
        ConcurrentLinkedDeque<Instance> queue = queue(shape);
        queue.add(instance);
        instance.onExit().thenRun(() -> {
            if (queue.remove(instance)) {
                discard(instance);
            }
        });
    }

    /** A new name for a QEMU that serves no VM yet: a warm instance, a warm guest, a snapshot's maker. */
    static String newName() {
        byte[] bytes = new byte[6];
        RANDOM.nextBytes(bytes);
        return PREFIX + HexFormat.of().formatHex(bytes);
    }

    /** A blank instance of {@code shape}, now the caller's; empty when none waits. */
    Optional<Instance> take(Shape shape) {
        for (Instance i; (i = queue(shape).poll()) != null; ) {
            if (i.isAlive()) {
                return Optional.of(i);
            }
            discard(i);
        }
        return Optional.empty();
    }

    /** Ends one blank instance of {@code shape}; false when there was none. */
    boolean end(Shape shape) {
        Optional<Instance> instance = Optional.ofNullable(queue(shape).pollLast());
        instance.ifPresent(this::discard);
        return instance.isPresent();
    }

    int count(Shape shape) {
        return queue(shape).size();
    }

    void endAll() {
        idle.values().forEach(q -> {
            for (Instance i; (i = q.poll()) != null; ) {
                discard(i);
            }
        });
    }

    private void discard(Instance instance) {
        instance.end();
        Orphans.deleteRunDir(layout.runDir(instance.vmId()));
    }

    private ConcurrentLinkedDeque<Instance> queue(Shape shape) {
        return idle.computeIfAbsent(shape, s -> new ConcurrentLinkedDeque<>());
    }
}
