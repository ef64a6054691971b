package dev.scalebox.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A real filesystem (btrfs or ext4) on a sparse loop image in a unique temporary directory,
 * mounted for one test class and removed in its teardown, or by the JVM's shutdown hook when a
 * test run dies first. Mounts left by an earlier run that was killed outright are removed when
 * the first pool of a run is made, so a failed run never poisons the next.
 */
public final class LoopFs implements AutoCloseable {

    public static final String PREFIX = "scalebox-test-";
    private static final Set<LoopFs> OPEN = ConcurrentHashMap.newKeySet();

    static {
        removeStaleMounts();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.forEach(LoopFs::close)));
    }

    private final Path dir;
    private final Path image;
    private final Path mount;

    private LoopFs(Path dir, String type, long sizeBytes) {
        this.dir = dir;
        this.image = dir.resolve("fs.img");
        this.mount = dir.resolve("mnt");
        try {
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(sizeBytes);
            }
            Files.createDirectories(mount);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (type.equals("btrfs")) {
            Sh.run("mkfs.btrfs", "-q", image.toString());
        } else {
            Sh.run("mkfs.ext4", "-q", "-F", image.toString());
        }
        Sh.run("mount", "-o", "loop", image.toString(), mount.toString());
        OPEN.add(this);
    }

    public static LoopFs btrfs(long sizeBytes) {
        return new LoopFs(tempDir(), "btrfs", sizeBytes);
    }

    public static LoopFs ext4(long sizeBytes) {
        return new LoopFs(tempDir(), "ext4", sizeBytes);
    }

    /**
     * A unique temporary directory with the test prefix, on the host's root filesystem; others
     * may pass through it (not list it), as QEMU's users must reach the data directories below.
     */
    public static Path tempDir() {
        try {
            return Files.createTempDirectory(Path.of("/var/tmp"), PREFIX,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The mounted filesystem's root. */
    public Path root() {
        return mount;
    }

    @Override
    public void close() {
        if (!OPEN.remove(this)) {
            return;
        }
        unmountUnder(dir);
        deleteTree(dir);
    }

    /** Unmounts everything mounted under {@code dir}, deepest first. */
    public static void unmountUnder(Path dir) {
        mountTargets().filter(t -> t.startsWith(dir)).sorted(Comparator.reverseOrder())
                .forEach(t -> Sh.tryRun("umount", "-l", t.toString()));
    }

    public static void deleteTree(Path dir) {
        if (mountTargets().anyMatch(t -> t.startsWith(dir))) {
            throw new IllegalStateException("still mounted under " + dir);
        }
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void removeStaleMounts() {
        Path tmp = Path.of("/var/tmp");
        mountTargets().filter(t -> t.startsWith(tmp) && t.getNameCount() > 2
                        && t.getName(2).toString().startsWith(PREFIX))
                .map(t -> tmp.resolve(t.getName(2)))
                .distinct()
                .forEach(stale -> {
                    unmountUnder(stale);
                    deleteTree(stale);
                });
    }

    private static Stream<Path> mountTargets() {
        try {
            return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> Path.of(l.split(" ")[4]));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
