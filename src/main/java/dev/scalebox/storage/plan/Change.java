package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;
import dev.scalebox.config.ByteSize;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/** One step of a storage plan: what it says it will do, and doing it. */
public sealed interface Change {

    /** How far an apply may go with a device that already carries something. */
    enum Mode { safe, force_destructive }

    String describe();

    void apply(StorageHost host, Mode mode);

    record CreateImage(Path image, long sizeBytes) implements Change {
        public String describe() {
            return "create loop image " + image + " (" + ByteSize.format(sizeBytes) + ")";
        }

        public void apply(StorageHost host, Mode mode) {
            host.createImage(image, sizeBytes);
        }
    }

    record AttachImage(Path image) implements Change {
        public String describe() {
            return "attach " + image + " to a loop device";
        }

        public void apply(StorageHost host, Mode mode) {
            if (host.loopOf(image).isEmpty()) {
                host.attach(image);
            }
        }
    }

    /**
     * Makes the pool's filesystem. In {@code safe} mode a device with any partition table or
     * filesystem signature is refused, before anything is written to any of them.
     */
    record CreatePool(PlanFile.Pool pool) implements Change {
        public String describe() {
            return "create btrfs pool " + pool.name() + " (" + pool.profile() + ") on "
                    + pool.devices().stream().map(d -> d.path().toString()).toList();
        }

        public void apply(StorageHost host, Mode mode) {
            List<Path> devices = blockDevices(host, pool);
            Map<Path, List<String>> signatures = new LinkedHashMap<>();
            for (Path device : devices) {
                List<String> found = host.signatures(device);
                if (!found.isEmpty() && mode == Mode.safe) {
                    throw new ScaleboxException.Conflict(device + " carries " + String.join(", ", found)
                            + "; nothing was written to it. If its data can go, run apply with --mode force-destructive");
                }
                signatures.put(device, found);
            }
            signatures.forEach((device, found) -> {
                if (!found.isEmpty()) {
                    host.wipe(device);
                }
            });
            host.makeFilesystem(pool.name(), pool.profile(), devices);
        }
    }

    record MountPool(PlanFile.Pool pool) implements Change {
        public String describe() {
            return "mount pool " + pool.name() + " on " + pool.mount()
                    + (pool.options().isEmpty() ? "" : " with " + String.join(",", pool.options()));
        }

        public void apply(StorageHost host, Mode mode) {
            host.mount(blockDevices(host, pool), pool.mount(), pool.options());
        }
    }

    record EnableQuotas(PlanFile.Pool pool) implements Change {
        public String describe() {
            return "enable quotas on pool " + pool.name();
        }

        public void apply(StorageHost host, Mode mode) {
            host.enableQuotas(pool.mount());
        }
    }

    record CreateDataset(Path path) implements Change {
        public String describe() {
            return "create dataset " + path;
        }

        public void apply(StorageHost host, Mode mode) {
            host.createSubvolume(path);
        }
    }

    /** Undoes a {@link CreateDataset} whose dataset is still empty. */
    record DeleteEmptyDataset(Path path) implements Change {
        public String describe() {
            return "delete empty dataset " + path;
        }

        public void apply(StorageHost host, Mode mode) {
            host.deleteEmptySubvolume(path);
        }
    }

    /** A dataset the file does not declare, under {@code --prune}: one that holds data goes only when force-destructive. */
    record PruneDataset(Path path) implements Change {
        public String describe() {
            return "delete dataset " + path + ", which the file does not declare";
        }

        public void apply(StorageHost host, Mode mode) {
            if (mode == Mode.force_destructive) {
                host.deleteSubvolume(path);
            } else {
                host.deleteEmptySubvolume(path);
            }
        }
    }

    record SetCompression(Path path, PlanFile.Compression from, PlanFile.Compression to) implements Change {
        public String describe() {
            return path + ": compression " + from + " → " + to;
        }

        public void apply(StorageHost host, Mode mode) {
            host.setCompression(path, to);
        }
    }

    record SetNodatacow(Path path, boolean from, boolean to) implements Change {
        public String describe() {
            return path + ": nodatacow " + from + " → " + to + " (for files written from now on)";
        }

        public void apply(StorageHost host, Mode mode) {
            host.setNodatacow(path, to);
        }
    }

    record SetQuota(Path path, OptionalLong from, OptionalLong to) implements Change {
        public String describe() {
            return path + ": quota " + size(from) + " → " + size(to);
        }

        private static String size(OptionalLong bytes) {
            return bytes.isPresent() ? ByteSize.format(bytes.getAsLong()) : "none";
        }

        public void apply(StorageHost host, Mode mode) {
            host.setQuota(path, to);
        }
    }

    private static List<Path> blockDevices(StorageHost host, PlanFile.Pool pool) {
        List<Path> devices = new ArrayList<>();
        for (PlanFile.Device d : pool.devices()) {
            devices.add(d.image() ? host.loopOf(d.path()).orElseGet(() -> host.attach(d.path())) : d.path());
        }
        return devices;
    }
}
