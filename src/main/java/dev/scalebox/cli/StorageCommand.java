package dev.scalebox.cli;

import dev.scalebox.api.Json;
import dev.scalebox.config.Setting;
import dev.scalebox.config.Settings;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataDirLock;
import dev.scalebox.storage.StoragePool;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.plan.Change;
import dev.scalebox.storage.plan.ChangeLog;
import dev.scalebox.store.Database;
import dev.scalebox.store.StorageJournal;
import dev.scalebox.storage.plan.PlanFile;
import dev.scalebox.storage.plan.StorageHost;
import dev.scalebox.storage.plan.StoragePlanner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code scalebox storage init|grow|status}: the btrfs pool under the data directory, run in process as root. */
@Command(name = "storage", mixinStandardHelpOptions = true, description = "Manage the btrfs storage pool.")
final class StorageCommand {

    @Mixin
    CommonOptions common;

    private final ProgramRunner runner = new ProgramRunner();
    private final Filesystems filesystems = new Filesystems(runner);

    /** Where the pool is: each flag overrides the setting. */
    static final class PoolOptions {
        @Option(names = "--image", paramLabel = "PATH", description = "Pool image (STORAGE_IMAGE, default /var/lib/scalebox.img)")
        Path image;

        @Option(names = "--mount", paramLabel = "DIR", description = "Mount point (default the data directory)")
        Path mount;

        @Option(names = "--fstab", paramLabel = "FILE", defaultValue = "/etc/fstab", description = "fstab to record the mount in (default ${DEFAULT-VALUE})")
        Path fstab;

        @Option(names = "--size", paramLabel = "SIZE", description = "Image size, e.g. 100G (STORAGE_SIZE; default 80%% of the free space, at most 4096G)")
        String size;

        StoragePool.Location location(Settings settings) {
            return new StoragePool.Location(image != null ? image : settings.storageImage(),
                    mount != null ? mount : settings.dataDir(), fstab);
        }

        Map<Setting, String> flags() {
            return size == null ? Map.of() : Map.of(Setting.STORAGE_SIZE, size);
        }
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Create and mount the btrfs pool on a loop image (idempotent).")
    int init(@Mixin PoolOptions pool) {
        HostPrograms.requireAll(List.of("mkfs.btrfs", "mount"));
        Settings settings = common.settings(pool.flags());
        StoragePool.Location location = pool.location(settings);
        if (Files.isDirectory(location.mount())) {
            // A pool mounted over a data directory in use would hide every disk from the server using it.
            DataDirLock.owner(new DataLayout(location.mount()), "scalebox storage init").close();
        }
        StoragePool.InitResult result = new StoragePool(runner, filesystems).init(location, settings.storageSize());
        System.out.println(result.message());
        return 0;
    }

    @Command(name = "grow", mixinStandardHelpOptions = true,
            description = "Grow the pool image and its mounted filesystem online.")
    int grow(@Mixin PoolOptions pool) {
        HostPrograms.requireAll(List.of("losetup", "btrfs"));
        Settings settings = common.settings(pool.flags());
        System.out.println(new StoragePool(runner, filesystems).grow(pool.location(settings), settings.storageSize())
                .message());
        return 0;
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the pool's size, use and reflink capability.")
    int status(@Option(names = "--mount", paramLabel = "DIR", description = "Mount point (default the data directory)") Path mount,
               @Option(names = "--json", description = "Print JSON") boolean json) {
        Settings settings = common.settings();
        StoragePool.Status s = new StoragePool(runner, filesystems).status(mount != null ? mount : settings.dataDir());
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("mount", s.mount().toString());
        fields.put("mounted", s.mounted());
        fields.put("type", s.type());
        fields.put("source", s.source());
        fields.put("size_bytes", s.totalBytes());
        fields.put("used_bytes", s.usedBytes());
        fields.put("free_bytes", s.freeBytes());
        fields.put("reflink", s.reflink());
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(fields));
        } else {
            Table.keyValue(List.of(
                    List.of("Mount", s.mount().toString()),
                    List.of("Mounted", s.mounted() ? "yes (" + s.type() + " on " + s.source() + ")" : "no (" + s.type() + ")"),
                    List.of("Size", Table.gib(s.totalBytes())),
                    List.of("Used", Table.gib(s.usedBytes())),
                    List.of("Free", Table.gib(s.freeBytes())),
                    List.of("Reflink", s.reflink() ? "yes" : "no")));
        }
        return 0;
    }

    /** Where the exports and shares are written: each flag overrides the Debian default. */
    static final class ShareFileOptions {
        @Option(names = "--exports-file", paramLabel = "FILE", defaultValue = "/etc/exports.d/scalebox.exports",
                description = "Scalebox's NFS exports (default ${DEFAULT-VALUE})")
        Path exports;

        @Option(names = "--smb-conf", paramLabel = "FILE", defaultValue = "/etc/samba/smb.conf",
                description = "smb.conf, which includes the shares (default ${DEFAULT-VALUE})")
        Path smbConf;

        @Option(names = "--shares-file", paramLabel = "FILE", defaultValue = "/etc/samba/scalebox-shares.conf",
                description = "Scalebox's Samba shares (default ${DEFAULT-VALUE})")
        Path shares;
    }

    @Command(name = "plan", mixinStandardHelpOptions = true,
            description = "Show what 'storage apply FILE' would change; changes nothing.")
    int plan(@Parameters(paramLabel = "FILE", description = "The storage file (YAML)") Path file,
             @Option(names = "--prune", description = "Also remove the datasets, exports and shares the file does not declare") boolean prune,
             @Option(names = "--json", description = "Print JSON") boolean json,
             @Mixin ShareFileOptions files) {
        HostPrograms.requireAll(PLAN_PROGRAMS);
        print(planner(new StorageHost(runner), files).plan(PlanFile.read(file), prune), json, "would make");
        return 0;
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Make the host's storage match FILE; a second apply changes nothing.")
    int apply(@Parameters(paramLabel = "FILE", description = "The storage file (YAML)") Path file,
              @Option(names = "--mode", paramLabel = "MODE", defaultValue = "safe",
                      description = "safe (default: never touch a device that carries a partition table or filesystem),"
                              + " interactive (show what such a device carries and ask, per device)"
                              + " or force-destructive (wipe such devices; with --prune, delete datasets that hold data)")
              String mode,
              @Option(names = "--prune", description = "Also remove the datasets, exports and shares the file does not"
                      + " declare (datasets with data only with --mode force-destructive)") boolean prune,
              @Option(names = "--json", description = "Print JSON") boolean json,
              @Mixin ShareFileOptions files) {
        Change.Mode chosen = switch (mode) {
            case "safe" -> Change.Mode.safe;
            case "force-destructive" -> Change.Mode.force_destructive;
            case "interactive" -> Change.Mode.interactive;
            default -> throw new CliException("--mode must be safe, interactive or force-destructive, not '" + mode + "'");
        };
        HostPrograms.requireAll(PLAN_PROGRAMS);
        PlanFile plan = PlanFile.read(file);
        try (StorageLock lock = StorageLock.take(); DataDirLock owner = roleOwner(plan)) {
            StorageJournal journal = journal();
            StoragePlanner planner = planner(new StorageHost(runner, StorageCommand::askToWipe), files);
            StoragePlanner.Plan planned;
            try {
                planned = planner.apply(plan, chosen, prune);
            } catch (StoragePlanner.Stopped e) {
                record(journal, file.toAbsolutePath().toString(), mode, "stopped: " + e.getMessage(), e.done);
                throw e;
            }
            record(journal, file.toAbsolutePath().toString(), mode, "applied " + planned.changes().size() + " change(s)",
                    planned.changes());
            print(planned, json, "made");
        }
        return 0;
    }

    @Command(name = "history", mixinStandardHelpOptions = true, description = "Every storage apply and rollback, oldest first.")
    int history(@Option(names = "--json", description = "Print JSON") boolean json) {
        List<StorageJournal.Entry> entries = journal().list();
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(entries));
            return 0;
        }
        Table.print(List.of("ID", "AT", "MODE", "OUTCOME", "FILE"), entries.stream().map(e -> List.of(
                Long.toString(e.id()), e.appliedAt().toString(), e.mode(), e.outcome(), e.file())).toList());
        return 0;
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Revert the last apply's properties, quotas, exports, shares, role links and still-empty datasets;"
                    + " say what cannot be.")
    int rollback() {
        HostPrograms.requireAll(PLAN_PROGRAMS);
        try (StorageLock lock = StorageLock.take()) {
            StorageJournal journal = journal();
            List<StorageJournal.Entry> entries = journal.list();
            java.util.Set<String> rolledBack = entries.stream().map(StorageJournal.Entry::mode)
                    .filter(m -> m.startsWith("rollback of ")).map(m -> m.substring("rollback of ".length()))
                    .collect(java.util.stream.Collectors.toSet());
            // the last apply that changed something and is not rolled back yet; a no-change apply has nothing to undo
            StorageJournal.Entry last = entries.reversed().stream()
                    .filter(e -> !e.mode().startsWith("rollback") && !rolledBack.contains(Long.toString(e.id()))
                            && !e.changes().equals("[]"))
                    .findFirst().orElseThrow(() -> new CliException("No storage apply with changes left to roll back"));
            StorageHost host = new StorageHost(runner);
            ChangeLog.Undo undo = ChangeLog.undo(last.changes(), host);
            String mode = "rollback of " + last.id();
            boolean relinks = undo.changes().stream().anyMatch(c -> c instanceof Change.UnlinkRole || c instanceof Change.LinkRole);
            try (DataDirLock owner = relinks
                    ? DataDirLock.owner(new DataLayout(common.settings().dataDir()), "scalebox storage rollback") : null) {
                StoragePlanner.execute(host, undo.changes(), Change.Mode.safe);
            } catch (StoragePlanner.Stopped e) {
                record(journal, last.file(), mode, "stopped: " + e.getMessage(), e.done);
                throw e;
            }
            record(journal, last.file(), mode, "reverted " + undo.changes().size() + " change(s)", undo.changes());
            System.out.println("Rollback of apply " + last.id() + " (" + last.appliedAt() + ", " + last.file() + "):");
            print(new StoragePlanner.Plan(undo.changes(), undo.cannot()), false, "reverted");
        }
        return 0;
    }

    /**
     * The data directory to this apply alone when the file gives datasets roles: relinking where
     * Scalebox keeps its disks under a running server would hide them from it. Null otherwise.
     */
    private DataDirLock roleOwner(PlanFile plan) {
        if (plan.datasets().stream().noneMatch(d -> d.role().isPresent())) {
            return null;
        }
        return DataDirLock.owner(new DataLayout(common.settings().dataDir()), "scalebox storage apply");
    }

    private StoragePlanner planner(StorageHost host, ShareFileOptions files) {
        return new StoragePlanner(host, new StoragePlanner.Targets(common.settings().dataDir(), files.exports,
                files.smbConf, files.shares));
    }

    private static final java.io.BufferedReader ANSWERS = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));

    /** Interactive mode's question: what the device carries, and a typed "wipe" to go on. */
    private static boolean askToWipe(Path device, String signatures) {
        System.err.println(device + " carries:");
        signatures.lines().forEach(l -> System.err.println("  " + l));
        System.err.print("Wipe " + device + " and everything on it? Type 'wipe' to go on, anything else keeps it: ");
        System.err.flush();
        try {
            String answer = ANSWERS.readLine();
            return answer != null && answer.strip().equals("wipe");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private StorageJournal journal() {
        Path dataDir = common.settings().dataDir();
        try {
            java.nio.file.Files.createDirectories(dataDir);
        } catch (java.io.IOException e) {
            throw new CliException("cannot create " + dataDir + ": " + e.getMessage());
        }
        // the journal is the data directory's, whatever the host is called (HOST_NAME is not needed here)
        return Database.openSqlite(new DataLayout(dataDir).database(), "storage").storageJournal();
    }

    private static void record(StorageJournal journal, String file, String mode, String outcome, List<Change> changes) {
        journal.add(file, mode, outcome, ChangeLog.toJson(changes), java.time.Instant.now());
    }

    private static final List<String> PLAN_PROGRAMS = List.of("btrfs", "mkfs.btrfs", "losetup", "blkid", "wipefs",
            "mount", "lsattr", "chattr");

    private static void print(StoragePlanner.Plan plan, boolean json, String verb) {
        if (json) {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("changes", plan.changes().stream().map(c -> Map.of("kind", c.getClass().getSimpleName(),
                    "description", c.describe())).toList());
            fields.put("notes", plan.notes());
            System.out.println(Json.MAPPER.writeValueAsString(fields));
            return;
        }
        if (plan.changes().isEmpty()) {
            System.out.println(verb.equals("reverted") ? "Nothing could be reverted." : "No changes: the host matches the file.");
        } else {
            System.out.println("Scalebox " + verb + " " + plan.changes().size() + " change(s):");
            plan.changes().forEach(c -> System.out.println("  + " + c.describe()));
        }
        plan.notes().forEach(n -> System.out.println("  ! " + n));
    }
}
