package dev.scalebox.host;

import dev.scalebox.ScaleboxException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Facts about the filesystems under a path: space (statvfs through {@link FileStore}), mounts (from
 * {@code /proc/self/mountinfo}) and whether a directory can reflink, which is learnt by trying it:
 * the filesystem type alone does not tell (XFS may be made without reflink).
 */
public final class Filesystems {

    private final ProgramRunner runner;
    private final Map<String, Boolean> reflinkByStore = new ConcurrentHashMap<>();

    public Filesystems(ProgramRunner runner) {
        this.runner = runner;
    }

    /** Space statistics for the filesystem holding {@code path} (the nearest existing ancestor). */
    public Space space(Path path) {
        try {
            FileStore store = Files.getFileStore(existingAncestor(path));
            return new Space(store.getTotalSpace(), store.getUsableSpace(), store.type());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The bytes of {@code file} on btrfs that no other file shares (its blocks beyond its
     * template's); empty on another filesystem or when btrfs cannot say.
     */
    public OptionalLong exclusiveBytes(Path file) {
        ProgramResult r = runner.run(List.of("btrfs", "filesystem", "du", "--raw", "-s", file.toString()),
                Duration.ofSeconds(30));
        if (r.succeeded()) {
            for (String line : r.stdout().split("\n")) {
                String[] f = line.strip().split("\\s+");
                if (f.length >= 3 && f[1].matches("\\d+")) {
                    return OptionalLong.of(Long.parseLong(f[1]));
                }
            }
        }
        return OptionalLong.empty();
    }

    /**
     * Whether a clone of a file in {@code dir} shares its blocks. The answer is cached per mounted
     * filesystem, so a pool mounted over the directory later is probed afresh.
     */
    public boolean supportsReflink(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            real = dir.toAbsolutePath().normalize();
        }
        Optional<Mount> mount = mountOf(real);
        String key = real + "|" + mount.map(Mount::source).orElse("?")
                + "|" + mount.map(Mount::target).orElse("?");
        return reflinkByStore.computeIfAbsent(key, k -> probeReflink(dir));
    }

    private boolean probeReflink(Path dir) {
        Path source = null;
        Path clone = null;
        try {
            source = Files.createTempFile(dir, ".reflink-probe-", "");
            Files.write(source, new byte[4096]);
            clone = dir.resolve(source.getFileName() + ".clone");
            ProgramResult result = runner.run(
                    List.of("cp", "--reflink=always", source.toString(), clone.toString()), Duration.ofSeconds(10));
            return result.succeeded();
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot probe reflink support in " + dir + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(source);
            deleteQuietly(clone);
        }
    }

    /** Whether two existing paths lie on the same filesystem (same device). */
    public boolean sameFilesystem(Path a, Path b) {
        try {
            if (Files.getAttribute(a, "unix:dev").equals(Files.getAttribute(b, "unix:dev"))) {
                return true;
            }
            // btrfs gives each subvolume a device number of its own, so compare the superblocks
            // that hold the two paths, after links (a role's dataset) are followed.
            List<Mount> mounts = mounts();
            Optional<Mount> ma = mountOf(a.toRealPath(), mounts);
            Optional<Mount> mb = mountOf(b.toRealPath(), mounts);
            return ma.isPresent() && mb.isPresent() && ma.get().device().equals(mb.get().device());
        } catch (IOException e) {
            return false;
        }
    }

    /** The mount whose target is exactly {@code dir}, if {@code dir} is a mount point. */
    public Optional<Mount> mountAt(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        return mounts().stream().filter(m -> Path.of(m.target()).equals(target)).reduce((a, b) -> b);
    }

    /** The mount that holds {@code path}: the one with the longest target that is its ancestor. */
    public Optional<Mount> mountOf(Path path) {
        return mountOf(path, mounts());
    }

    private static Optional<Mount> mountOf(Path path, List<Mount> mounts) {
        Path p = existingAncestor(path.toAbsolutePath().normalize());
        Mount best = null;
        for (Mount m : mounts) {
            Path target = Path.of(m.target());
            if (p.startsWith(target) && (best == null || target.getNameCount() >= Path.of(best.target()).getNameCount())) {
                best = m;
            }
        }
        return Optional.ofNullable(best);
    }

    /** The current mounts, from {@code /proc/self/mountinfo}, in mount order. */
    public List<Mount> mounts() {
        try {
            return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(Mount::parse).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path existingAncestor(Path path) {
        Path p = path.toAbsolutePath().normalize();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        return p == null ? Path.of("/") : p;
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // A leftover probe file is harmless and has a recognisable name.
            }
        }
    }

    /** Bytes in all, bytes an unprivileged writer may still use, and the filesystem type. */
    public record Space(long totalBytes, long availableBytes, String type) {
        public long usedBytes() {
            return totalBytes - availableBytes;
        }
    }

    /** A line of mountinfo; {@code device} is the major:minor of the filesystem's superblock. */
    public record Mount(String target, String source, String type, String options, String device) {
        static Mount parse(String line) {
            String[] parts = line.split(" ");
            int dash = List.of(parts).indexOf("-");
            return new Mount(unescape(parts[4]), unescape(parts[dash + 2]), parts[dash + 1], parts[5], parts[2]);
        }

        /** mountinfo writes space, tab, newline and backslash as three-digit octal escapes. */
        private static String unescape(String s) {
            if (s.indexOf('\\') < 0) {
                return s;
            }
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\' && i + 3 < s.length()) {
                    out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
    }
}
