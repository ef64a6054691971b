package dev.scalebox.cli;

import dev.scalebox.api.Json;
import dev.scalebox.config.Setting;
import dev.scalebox.config.Settings;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.StoragePool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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
        StoragePool.InitResult result = new StoragePool(runner, filesystems).init(pool.location(settings),
                settings.storageSize());
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
}
