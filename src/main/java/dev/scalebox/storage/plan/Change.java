package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;
import dev.scalebox.config.ByteSize;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/** One step of a storage plan: what it says it will do, and doing it. */
public sealed interface Change {

    /**
     * How far an apply may go with a device that already carries something: never ({@code safe}),
     * after the operator says so for that device ({@code interactive}), or always.
     */
    enum Mode { safe, interactive, force_destructive }

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
                            + "; nothing was written to it. If its data can go, run apply with --mode interactive"
                            + " or force-destructive");
                }
                if (!found.isEmpty() && mode == Mode.interactive && !host.confirmWipe(device)) {
                    throw new ScaleboxException.Conflict("kept " + device + " as it is (" + String.join(", ", found)
                            + "); nothing was written to any device of pool " + pool.name());
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

    /** The line of Scalebox's exports file for one exported path: added, changed, or removed (to empty). */
    record SetExport(Path file, String path, Optional<String> from, Optional<String> to) implements Change {
        public String describe() {
            return to.isEmpty() ? "remove NFS export " + from.orElseThrow()
                    : from.isEmpty() ? "add NFS export " + to.get() : "NFS export " + from.get() + " → " + to.get();
        }

        public void apply(StorageHost host, Mode mode) {
            host.writeEntry(EntryFile.EXPORTS, file, path, to);
            host.reloadExports();
        }
    }

    /** The section of Scalebox's Samba include for one share: added, changed, or removed (to empty). */
    record SetShare(Path smbConf, Path include, String name, Optional<String> from, Optional<String> to) implements Change {
        public String describe() {
            String what = to.map(s -> s.lines().skip(1).map(String::strip).collect(Collectors.joining("; "))).orElse("");
            return to.isEmpty() ? "remove Samba share [" + name + "]"
                    : (from.isEmpty() ? "add" : "change") + " Samba share [" + name + "]: " + what;
        }

        public void apply(StorageHost host, Mode mode) {
            host.writeEntry(EntryFile.SHARES, include, name, to);
            host.reloadSamba(smbConf);
        }
    }

    record IncludeShares(Path smbConf, Path include) implements Change {
        public String describe() {
            return "include " + include + " in " + smbConf;
        }

        public void apply(StorageHost host, Mode mode) {
            host.includeInSmbConf(smbConf, include);
        }
    }

    /** Sets a Samba user's password from its secret; {@code source} names where it came from, never the secret. */
    record SetSharePassword(Path smbConf, String user, Secret password, String source) implements Change {
        public String describe() {
            return "set the Samba password of " + user + " from " + source;
        }

        public void apply(StorageHost host, Mode mode) {
            host.setSambaPassword(smbConf, user, password);
        }
    }

    /**
     * Points Scalebox's directory for a role ({@code link}, in the data directory) at the dataset
     * that has the role. What was there before, an empty directory or another link, is in {@code from}.
     */
    record LinkRole(Path link, Path target, Optional<Path> from) implements Change {
        public String describe() {
            return "keep Scalebox's " + link.getFileName() + " in " + target + " (" + link + " links there)";
        }

        public void apply(StorageHost host, Mode mode) {
            host.link(link, target);
        }
    }

    /** Undoes a {@link LinkRole}: back to the earlier link, or to a directory of its own. */
    record UnlinkRole(Path link, Optional<Path> to) implements Change {
        public String describe() {
            return "keep Scalebox's " + link.getFileName() + " in " + to.map(Path::toString).orElse(link + " again");
        }

        public void apply(StorageHost host, Mode mode) {
            to.ifPresentOrElse(t -> host.link(link, t), () -> host.unlink(link));
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
