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
        private final Change failed;
        private final List<Change> left;

        Stopped(List<Change> done, Change failed, List<Change> left, RuntimeException cause) {
            super("stopped at '" + failed.describe() + "': " + cause.getMessage() + "; done: " + done.size()
                    + ", not done: " + left.size() + ". Run apply again to finish.", cause);
            this.done = done;
            this.failed = failed;
            this.left = left;
        }

        /** The same stop, with {@code earlier} done before what this one counts. */
        Stopped after(List<Change> earlier) {
            return new Stopped(concat(earlier, done), failed, left, (RuntimeException) getCause());
        }
    }

    /**
     * The files and directories outside the pools that a plan writes: Scalebox's data directory
     * (whose role directories become links to datasets), the exports file, smb.conf and the Samba
     * include that holds the shares.
     */
    public record Targets(Path dataDir, Path exportsFile, Path smbConf, Path sharesInclude) {
    }

    /** Export options when the file gives none: exportfs would warn without a subtree choice. */
    static final List<String> DEFAULT_EXPORT_OPTIONS = List.of("rw", "sync", "no_subtree_check");

    private final StorageHost host;
    private final Targets targets;
    private final java.util.function.UnaryOperator<String> environment;

    public StoragePlanner(StorageHost host, Targets targets) {
        this(host, targets, System::getenv);
    }

    StoragePlanner(StorageHost host, Targets targets, java.util.function.UnaryOperator<String> environment) {
        this.host = host;
        this.targets = targets;
        this.environment = environment;
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
            PoolState state = planPool(pool, changes, notes);
            if (state == PoolState.UNMOUNTED) {
                notes.add("pool " + pool.name() + " is not mounted: its datasets are compared once it is (apply mounts it"
                        + " first)");
                continue;
            }
            List<PlanFile.Dataset> datasets = file.datasets().stream().filter(d -> d.pool().equals(pool.name())).toList();
            PoolFacts facts = state == PoolState.MOUNTED ? PoolFacts.read(host, pool, datasets) : PoolFacts.NONE;
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
        planRoles(file, changes);
        planExports(file, prune, changes, notes);
        planShares(file, prune, changes, notes);
        return new Plan(List.copyOf(changes), List.copyOf(notes));
    }

    private void planRoles(PlanFile file, List<Change> changes) {
        for (PlanFile.Dataset dataset : file.datasets()) {
            if (dataset.role().isEmpty()) {
                continue;
            }
            Path link = targets.dataDir().resolve(dataset.role().get().name());
            Path target = file.path(dataset);
            Optional<Path> now = host.linkTarget(link);
            if (now.isPresent() && now.get().equals(target)) {
                continue;
            }
            // Scalebox finds its disks through the link: switching it away from files would hide them
            Path holding = now.map(link::resolveSibling).orElse(link);
            if (!host.isEmpty(holding)) {
                throw new ScaleboxException.Conflict(holding + " holds files, and the file gives role " + dataset.role().get()
                        + " to " + target + ". Stop Scalebox and move them there first (cp --reflink=always keeps them"
                        + " cheap within one filesystem), or drop the role");
            }
            changes.add(new Change.LinkRole(link, target, now));
        }
    }

    private void planExports(PlanFile file, boolean prune, List<Change> changes, List<String> notes) {
        Map<String, String> want = new java.util.TreeMap<>();
        for (PlanFile.Export export : file.exports()) {
            String path = file.path(file.dataset(export.dataset())).toString();
            String options = String.join(",", export.options().isEmpty() ? DEFAULT_EXPORT_OPTIONS : export.options());
            want.put(path, path + " " + export.clients().stream().map(c -> c + "(" + options + ")")
                    .collect(java.util.stream.Collectors.joining(" ")));
        }
        Map<String, String> have = EntryFile.EXPORTS.parse(host.read(targets.exportsFile()));
        diff(have, want, prune, "NFS export of", changes, notes, (key, from, to) ->
                new Change.SetExport(targets.exportsFile(), key, from, to));
        if (!want.isEmpty() && !host.installed("exportfs")) {
            notes.add("the NFS server is not installed, so " + targets.exportsFile() + " is written but not exported;"
                    + " install nfs-kernel-server and apply again");
        }
    }

    private void planShares(PlanFile file, boolean prune, List<Change> changes, List<String> notes) {
        Map<String, String> have = EntryFile.SHARES.parse(host.read(targets.sharesInclude()));
        if (file.shares().isEmpty() && file.shareUsers().isEmpty() && have.isEmpty()) {
            return;
        }
        dev.scalebox.host.HostPrograms.requireAll(List.of("testparm", "pdbedit", "smbpasswd", "smbcontrol"));
        Map<String, String> hashes = file.shareUsers().isEmpty() ? Map.of() : host.sambaUsers(targets.smbConf());
        for (PlanFile.ShareUser user : file.shareUsers()) {
            if (!host.unixUserExists(user.name())) {
                throw new ScaleboxException.Conflict("share user " + user.name() + " has no Unix account, which Samba"
                        + " needs; create one (useradd --no-create-home --shell /usr/sbin/nologin " + user.name() + ")");
            }
            Optional<Secret> password = password(user);
            if (password.isEmpty() && !hashes.containsKey(user.name())) {
                throw new ScaleboxException.Conflict("Samba has no user " + user.name() + " and the file names no"
                        + " password_file or password_env for it");
            }
            if (password.isPresent() && !NtHash.of(password.get()).equals(hashes.get(user.name()))) {
                changes.add(new Change.SetSharePassword(targets.smbConf(), user.name(), password.get(),
                        user.passwordFile().map(f -> "file " + f).orElseGet(() -> "$" + user.passwordEnv().orElseThrow())));
            }
        }
        Map<String, String> want = new java.util.TreeMap<>();
        for (PlanFile.Share share : file.shares()) {
            want.put(share.name(), "[" + share.name() + "]\n"
                    + "   path = " + file.path(file.dataset(share.dataset())) + "\n"
                    + "   valid users = " + String.join(" ", share.validUsers()) + "\n"
                    + "   read only = " + (share.readOnly() ? "yes" : "no") + "\n"
                    + "   browseable = yes");
        }
        if (!want.isEmpty() && !host.includes(targets.smbConf(), targets.sharesInclude())) {
            changes.add(new Change.IncludeShares(targets.smbConf(), targets.sharesInclude()));
        }
        diff(have, want, prune, "Samba share", changes, notes, (key, from, to) ->
                new Change.SetShare(targets.smbConf(), targets.sharesInclude(), key, from, to));
    }

    private interface EntryChange {
        Change make(String key, Optional<String> from, Optional<String> to);
    }

    /** Adds and changes the wanted entries; removes the others only with {@code prune}. */
    private static void diff(Map<String, String> have, Map<String, String> want, boolean prune, String what,
                             List<Change> changes, List<String> notes, EntryChange change) {
        want.forEach((key, entry) -> {
            if (!entry.equals(have.get(key))) {
                changes.add(change.make(key, Optional.ofNullable(have.get(key)), Optional.of(entry)));
            }
        });
        have.keySet().stream().filter(key -> !want.containsKey(key)).forEach(key -> {
            if (prune) {
                changes.add(change.make(key, Optional.of(have.get(key)), Optional.empty()));
            } else {
                notes.add(what + " " + key + " is not in the file; left alone (--prune removes it)");
            }
        });
    }

    /** The user's password from its secret file or variable; empty when the file names neither. */
    private Optional<Secret> password(PlanFile.ShareUser user) {
        String value;
        if (user.passwordFile().isPresent()) {
            Path secret = user.passwordFile().get();
            try {
                if (Files.getPosixFilePermissions(secret).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                    throw new ScaleboxException.Conflict(secret + " (the password of " + user.name() + ") can be read by"
                            + " every user of this host; chmod 600 it");
                }
                value = Files.readString(secret).lines().findFirst().orElse("");
            } catch (java.io.IOException e) {
                throw new ScaleboxException.BadRequest("cannot read the password of " + user.name() + " from " + secret
                        + ": " + e.getMessage());
            }
        } else if (user.passwordEnv().isPresent()) {
            value = Optional.ofNullable(environment.apply(user.passwordEnv().get())).orElse("");
            if (value.isEmpty()) {
                throw new ScaleboxException.BadRequest("the password of " + user.name() + " is to come from $"
                        + user.passwordEnv().get() + ", which is not set");
            }
        } else {
            return Optional.empty();
        }
        if (value.isEmpty()) {
            throw new ScaleboxException.BadRequest("the password file of " + user.name() + " is empty");
        }
        return Optional.of(new Secret(value));
    }

    /**
     * A pool as a plan finds it: mounted (its datasets can be read), to be made (it has none yet),
     * or made but not mounted (after a reboot), whose datasets only a mount shows.
     */
    private enum PoolState { MOUNTED, NEW, UNMOUNTED }

    /** Plans the pool's own changes, and says in which state they find it. */
    private PoolState planPool(PlanFile.Pool pool, List<Change> changes, List<String> notes) {
        Optional<String> type = host.mountedType(pool.mount());
        if (type.isPresent()) {
            if (!type.get().equals("btrfs")) {
                throw new ScaleboxException.Conflict(pool.mount() + " has a " + type.get() + " filesystem mounted, not"
                        + " pool " + pool.name() + "; unmount it or choose another mount point");
            }
            host.dataProfile(pool.mount()).filter(p -> !p.equals(pool.profile().name())).ifPresent(p ->
                    notes.add("pool " + pool.name() + " has data profile " + p + ", the file says " + pool.profile()
                            + "; convert it with 'btrfs balance start -dconvert=" + pool.profile() + " " + pool.mount() + "'"));
            return PoolState.MOUNTED;
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
        return exists ? PoolState.UNMOUNTED : PoolState.NEW;
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

    /**
     * As above; a pool that the first plan found made but not mounted is mounted by it, and its
     * datasets are then planned and made in a second round.
     */
    public Plan apply(PlanFile file, Change.Mode mode, boolean prune) {
        Plan first = plan(file, prune);
        execute(host, first.changes(), mode);
        if (first.changes().stream().noneMatch(c -> c instanceof Change.MountPool)) {
            return first;
        }
        Plan rest = plan(file, prune);
        try {
            execute(host, rest.changes(), mode);
        } catch (Stopped e) {
            throw e.after(first.changes());
        }
        return new Plan(concat(first.changes(), rest.changes()), rest.notes());
    }

    private static List<Change> concat(List<Change> a, List<Change> b) {
        List<Change> all = new ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }

    /**
     * Makes {@code changes} on {@code host} in order; the first that fails stops the rest
     * ({@link Stopped}). The changes name every file they write, so no targets are needed.
     */
    public static void execute(StorageHost host, List<Change> changes, Change.Mode mode) {
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
