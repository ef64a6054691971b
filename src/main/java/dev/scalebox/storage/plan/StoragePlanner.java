package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Compares a storage file with the host and lists the changes that would make the host match it
 * ({@link #plan}, which changes nothing), or makes them ({@link #apply}). What the host has and
 * the file does not declare is left alone. A pool whose profile differs is reported, not
 * converted: that is a balance of all its data, for an operator to start.
 */
public final class StoragePlanner {

    /** The changes, and what the file asks that an apply will not do. */
    public record Plan(List<Change> changes, List<String> notes) {
    }

    /** An apply that stopped: what was done, the step that failed, and what was left. */
    public static final class Stopped extends ScaleboxException.HostFailure {
        public final List<Change> done;
        public final Change failed;

        Stopped(List<Change> done, Change failed, List<Change> left, RuntimeException cause) {
            super("stopped at '" + failed.describe() + "': " + cause.getMessage() + "; done: " + done.size()
                    + ", not done: " + left.size() + ". Run apply again to finish.", cause);
            this.done = done;
            this.failed = failed;
        }
    }

    private final StorageHost host;

    public StoragePlanner(StorageHost host) {
        this.host = host;
    }

    public Plan plan(PlanFile file) {
        return plan(file, false);
    }

    /**
     * With {@code prune}, datasets of the file's pools that the file does not declare are deleted
     * too (one that holds data only in force-destructive mode); without, they are only noted.
     */
    public Plan plan(PlanFile file, boolean prune) {
        List<Change> changes = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (PlanFile.Pool pool : file.pools()) {
            boolean mounted = planPool(pool, changes, notes);
            List<PlanFile.Dataset> datasets = file.datasets().stream().filter(d -> d.pool().equals(pool.name())).toList();
            PoolFacts facts = mounted ? PoolFacts.read(host, pool, datasets) : PoolFacts.NONE;
            if (datasets.stream().anyMatch(d -> d.quotaBytes().isPresent()) && facts.quotas().isEmpty()) {
                changes.add(new Change.EnableQuotas(pool));
            }
            for (PlanFile.Dataset dataset : datasets) {
                planDataset(dataset.path(pool), dataset, facts, changes);
            }
            Set<String> declared = datasets.stream().map(PlanFile.Dataset::name).collect(java.util.stream.Collectors.toSet());
            facts.subvolumes().keySet().stream().filter(name -> !declared.contains(name)).sorted().forEach(name -> {
                Path path = pool.mount().resolve(name);
                if (prune) {
                    changes.add(new Change.PruneDataset(path));
                } else {
                    notes.add("dataset " + path + " is not in the file; left alone (--prune deletes it)");
                }
            });
        }
        return new Plan(List.copyOf(changes), List.copyOf(notes));
    }

    /** Plans the pool's own changes; true when it is mounted now, so its datasets can be read. */
    private boolean planPool(PlanFile.Pool pool, List<Change> changes, List<String> notes) {
        Optional<String> type = host.mountedType(pool.mount());
        if (type.isPresent()) {
            if (!type.get().equals("btrfs")) {
                throw new ScaleboxException.Conflict(pool.mount() + " has a " + type.get() + " filesystem mounted, not"
                        + " pool " + pool.name() + "; unmount it or choose another mount point");
            }
            host.dataProfile(pool.mount()).filter(p -> !p.equals(pool.profile().name())).ifPresent(p ->
                    notes.add("pool " + pool.name() + " has data profile " + p + ", the file says " + pool.profile()
                            + "; convert it with 'btrfs balance start -dconvert=" + pool.profile() + " " + pool.mount() + "'"));
            return true;
        }
        boolean exists = true;
        for (PlanFile.Device device : pool.devices()) {
            if (device.image() && !Files.exists(device.path())) {
                changes.add(new Change.CreateImage(device.path(), device.sizeBytes()));
                changes.add(new Change.AttachImage(device.path()));
                exists = false;
                continue;
            }
            Optional<Path> loop = device.image() ? host.loopOf(device.path()) : Optional.of(device.path());
            if (device.image() && loop.isEmpty()) {
                changes.add(new Change.AttachImage(device.path()));
            }
            Optional<String> label = host.btrfsLabel(loop.orElse(device.path()));
            exists &= label.isPresent() && label.get().equals(pool.name());
        }
        if (!exists) {
            changes.add(new Change.CreatePool(pool));
        }
        changes.add(new Change.MountPool(pool));
        return false;
    }

    /** What a mounted pool's datasets are now, read with a few commands for the whole pool. */
    private record PoolFacts(Map<String, Long> subvolumes, Set<Path> nodatacow, Optional<Map<Long, OptionalLong>> quotas) {

        static final PoolFacts NONE = new PoolFacts(Map.of(), Set.of(), Optional.empty());

        static PoolFacts read(StorageHost host, PlanFile.Pool pool, List<PlanFile.Dataset> datasets) {
            Map<String, Long> subvolumes = host.subvolumes(pool.mount());
            List<Path> existing = datasets.stream().filter(d -> subvolumes.containsKey(d.name())).map(d -> d.path(pool))
                    .toList();
            return new PoolFacts(subvolumes, host.nodatacow(existing), host.quotas(pool.mount()));
        }
    }

    private void planDataset(Path path, PlanFile.Dataset dataset, PoolFacts facts, List<Change> changes) {
        Long id = facts.subvolumes().get(dataset.name());
        boolean exists = id != null;
        if (!exists && Files.exists(path)) {
            throw new ScaleboxException.Conflict(path + " exists and is not a btrfs subvolume; move it away first");
        }
        if (!exists) {
            changes.add(new Change.CreateDataset(path));
        }
        PlanFile.Compression compression = exists ? host.compression(path) : PlanFile.Compression.none;
        if (compression != dataset.compression()) {
            changes.add(new Change.SetCompression(path, compression, dataset.compression()));
        }
        boolean nodatacow = facts.nodatacow().contains(path);
        if (nodatacow != dataset.nodatacow()) {
            changes.add(new Change.SetNodatacow(path, nodatacow, dataset.nodatacow()));
        }
        OptionalLong quota = exists ? facts.quotas().map(q -> q.getOrDefault(id, OptionalLong.empty()))
                .orElse(OptionalLong.empty()) : OptionalLong.empty();
        if (!quota.equals(dataset.quotaBytes())) {
            changes.add(new Change.SetQuota(path, quota, dataset.quotaBytes()));
        }
    }

    /** Plans and carries the plan out, step by step; returns what was done. */
    public Plan apply(PlanFile file, Change.Mode mode) {
        return apply(file, mode, false);
    }

    public Plan apply(PlanFile file, Change.Mode mode, boolean prune) {
        Plan plan = plan(file, prune);
        execute(plan.changes(), mode);
        return plan;
    }

    /** Makes {@code changes} in order; the first that fails stops the rest ({@link Stopped}). */
    public void execute(List<Change> changes, Change.Mode mode) {
        List<Change> done = new ArrayList<>();
        for (Change change : changes) {
            try {
                change.apply(host, mode);
                done.add(change);
            } catch (RuntimeException e) {
                throw new Stopped(List.copyOf(done), change, changes.subList(done.size() + 1, changes.size()), e);
            }
        }
    }
}
