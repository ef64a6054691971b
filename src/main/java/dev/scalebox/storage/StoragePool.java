package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The btrfs pool on a loop image that holds the data directory, so that VM disks are reflink
 * clones of their template. {@link #init} sizes the image to the host (80% of the free space of
 * the filesystem holding it, at most 4 TiB), formats it, mounts it and records it in fstab;
 * {@link #grow} extends it online.
 *
 * <p>Data safety rules: an existing image is never formatted again (it is mounted as it is), a
 * non-empty directory is never mounted over (its files would vanish from view), and a failed init
 * removes the image it created.
 */
public final class StoragePool {

    public static final long GIB = 1L << 30;
    static final long MIN_FREE = 25 * GIB;
    static final long MAX_SIZE = 4096 * GIB;
    static final long MIN_SIZE = GIB;
    private static final long BTRFS_MAGIC_OFFSET = 0x10040;
    private static final byte[] BTRFS_MAGIC = "_BHRfS_M".getBytes(StandardCharsets.US_ASCII);
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private final ProgramRunner runner;
    private final Filesystems filesystems;

    public StoragePool(ProgramRunner runner, Filesystems filesystems) {
        this.runner = runner;
        this.filesystems = filesystems;
    }

    /** Where the pool lives: its image file, its mount point, and the fstab that mounts it at boot. */
    public record Location(Path image, Path mount, Path fstab) {
        public Location {
            image = image.toAbsolutePath().normalize();
            mount = mount.toAbsolutePath().normalize();
            fstab = fstab.toAbsolutePath().normalize();
            for (Path p : List.of(image, mount)) {
                if (p.toString().chars().anyMatch(Character::isWhitespace)) {
                    throw new ScaleboxException.BadRequest("Path '" + p + "' contains whitespace, which fstab cannot hold");
                }
            }
        }
    }

    /** What init did, for the command to print. */
    public record InitResult(boolean changed, String message) {
    }

    public record Status(Path mount, boolean mounted, String type, String source, long totalBytes, long usedBytes,
                         long freeBytes, boolean reflink) {
    }

    public InitResult init(Location where, OptionalLong requestedSize) {
        Optional<Filesystems.Mount> mounted = filesystems.mountAt(where.mount());
        if (mounted.isPresent()) {
            Filesystems.Mount m = mounted.get();
            if (!m.type().equals("btrfs")) {
                throw new ScaleboxException.Conflict(where.mount() + " is already a mount point of a " + m.type()
                        + " filesystem (" + m.source() + "); storage init leaves it alone");
            }
            return new InitResult(false, where.mount() + " is already mounted (btrfs on " + m.source()
                    + "); nothing to do");
        }
        requireEmptyOrAbsent(where.mount());
        boolean created = false;
        if (Files.exists(where.image())) {
            if (!hasBtrfsSignature(where.image())) {
                throw new ScaleboxException.Conflict(where.image() + " exists and is not a btrfs image; move it away"
                        + " or pass --image");
            }
        } else {
            long size = chooseSize(where.image(), requestedSize);
            createImage(where.image(), size);
            created = true;
        }
        try {
            Files.createDirectories(where.mount());
            runner.check(List.of("mount", "-o", "loop", where.image().toString(), where.mount().toString()), TIMEOUT);
        } catch (IOException | RuntimeException e) {
            if (created) {
                deleteQuietly(where.image());
            }
            throw e instanceof RuntimeException re ? re
                    : new ScaleboxException.HostFailure("cannot mount " + where.image() + ": " + e.getMessage(), e);
        }
        new DataLayout(where.mount()).createDirectories();
        boolean fstabChanged = addFstabEntry(where);
        long size = filesystems.space(where.mount()).totalBytes();
        return new InitResult(true, (created ? "Created" : "Mounted existing") + " btrfs pool " + where.image() + " ("
                + size / GIB + " GiB) on " + where.mount() + (fstabChanged ? "; added it to " + where.fstab() : ""));
    }

    /** Grows the image and the mounted filesystem to {@code requestedSize}, or by 80% of the host's free space. */
    public InitResult grow(Location where, OptionalLong requestedSize) {
        Filesystems.Mount m = filesystems.mountAt(where.mount())
                .orElseThrow(() -> new ScaleboxException.Conflict(where.mount() + " is not mounted; run storage init"));
        String loop = m.source();
        Path backing = Path.of("/sys/block", Path.of(loop).getFileName().toString(), "loop", "backing_file");
        try {
            if (!loop.startsWith("/dev/loop") || !Files.exists(backing)
                    || !Path.of(Files.readString(backing).strip()).equals(where.image())) {
                throw new ScaleboxException.Conflict(where.mount() + " is not mounted from " + where.image());
            }
            long current = Files.size(where.image());
            long free = filesystems.space(where.image().getParent()).availableBytes();
            long target = requestedSize.isPresent() ? requestedSize.getAsLong()
                    : Math.min(MAX_SIZE, current + free * 8 / 10);
            if (target <= current) {
                throw new ScaleboxException.BadRequest("The pool is already " + current / GIB + " GiB; give a larger --size"
                        + " (it can only grow)");
            }
            if (target - current > free) {
                throw new ScaleboxException.InsufficientStorage("Insufficient disk space. Growing by "
                        + (target - current) / GIB + "GB needs that much free, found " + free / GIB + "GB");
            }
            try (RandomAccessFile file = new RandomAccessFile(where.image().toFile(), "rw")) {
                file.setLength(target);
            }
            runner.check(List.of("losetup", "-c", loop), TIMEOUT);
            runner.check(List.of("btrfs", "filesystem", "resize", "max", where.mount().toString()), TIMEOUT);
            return new InitResult(true, "Grew " + where.image() + " from " + current / GIB + " GiB to "
                    + target / GIB + " GiB");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Status status(Path mount) {
        Path dir = mount.toAbsolutePath().normalize();
        Optional<Filesystems.Mount> m = filesystems.mountAt(dir);
        Filesystems.Space space = filesystems.space(dir);
        boolean reflink = Files.isDirectory(dir) && filesystems.supportsReflink(dir);
        return new Status(dir, m.isPresent(), space.type(), m.map(Filesystems.Mount::source).orElse(""),
                space.totalBytes(), space.usedBytes(), space.availableBytes(), reflink);
    }

    /** 80% of the free space, at most 4 TiB; an explicit size must fit in the free space. */
    long chooseSize(Path image, OptionalLong requested) {
        long free = filesystems.space(image.getParent()).availableBytes();
        if (requested.isPresent()) {
            long size = requested.getAsLong();
            if (size < MIN_SIZE) {
                throw new ScaleboxException.BadRequest("Storage size must be at least 1G");
            }
            if (size > free) {
                throw new ScaleboxException.InsufficientStorage("Insufficient disk space. STORAGE_SIZE is "
                        + size / GIB + "GB, found " + free / GIB + "GB free");
            }
            return size;
        }
        return autoSize(free);
    }

    static long autoSize(long free) {
        if (free < MIN_FREE) {
            throw new ScaleboxException.InsufficientStorage("Insufficient disk space. Need at least "
                    + MIN_FREE / GIB + "GB free, found " + free / GIB + "GB");
        }
        return Math.min(MAX_SIZE, free * 8 / 10);
    }

    private void createImage(Path image, long size) {
        try {
            Files.createDirectories(image.getParent());
            try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
                file.setLength(size);
            }
            runner.check(List.of("mkfs.btrfs", "-q", "-L", "scalebox", image.toString()), TIMEOUT);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(image);
            throw e instanceof RuntimeException re ? re
                    : new ScaleboxException.HostFailure("cannot create " + image + ": " + e.getMessage(), e);
        }
    }

    private static void requireEmptyOrAbsent(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var entries = Files.list(dir)) {
            if (entries.findAny().isPresent()) {
                throw new ScaleboxException.Conflict(dir + " is not empty; mounting the pool over it would hide its"
                        + " files. Move them away, or choose another directory with --mount");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Appends {@code IMAGE MOUNT btrfs loop,nofail 0 0} unless a line for the image is already there. */
    private static boolean addFstabEntry(Location where) {
        try {
            List<String> lines = Files.exists(where.fstab()) ? Files.readAllLines(where.fstab()) : List.of();
            boolean present = lines.stream()
                    .map(String::strip)
                    .filter(l -> !l.startsWith("#"))
                    .map(l -> l.split("\\s+"))
                    .anyMatch(f -> f.length >= 2 && f[0].equals(where.image().toString()));
            if (present) {
                return false;
            }
            String content = Files.exists(where.fstab()) ? Files.readString(where.fstab()) : "";
            String separator = content.isEmpty() || content.endsWith("\n") ? "" : "\n";
            Files.writeString(where.fstab(), separator + where.image() + " " + where.mount() + " btrfs loop,nofail 0 0\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            return true;
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot update " + where.fstab() + ": " + e.getMessage(), e);
        }
    }

    static boolean hasBtrfsSignature(Path image) {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer magic = ByteBuffer.allocate(BTRFS_MAGIC.length);
            return ch.read(magic, BTRFS_MAGIC_OFFSET) == BTRFS_MAGIC.length
                    && java.util.Arrays.equals(magic.array(), BTRFS_MAGIC);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // nothing more to undo
        }
    }
}
