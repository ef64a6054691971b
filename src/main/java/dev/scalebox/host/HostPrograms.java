package dev.scalebox.host;

import dev.scalebox.ScaleboxException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds host programs and says which Debian package provides a missing one. The search path is the
 * process's PATH plus the sbin directories, because e2fsprogs and btrfs-progs live there and a
 * service started without a login shell often lacks them.
 */
public final class HostPrograms {

    private static final Map<String, String> PACKAGES = Map.ofEntries(
            Map.entry("debugfs", "e2fsprogs"),
            Map.entry("dumpe2fs", "e2fsprogs"),
            Map.entry("e2fsck", "e2fsprogs"),
            Map.entry("mke2fs", "e2fsprogs"),
            Map.entry("resize2fs", "e2fsprogs"),
            Map.entry("mkfs.btrfs", "btrfs-progs"),
            Map.entry("btrfs", "btrfs-progs"),
            Map.entry("mmdebstrap", "mmdebstrap"),
            Map.entry("qemu-system-x86_64", "qemu-system-x86"),
            Map.entry("qemu-img", "qemu-utils"),
            Map.entry("ssh-keygen", "openssh-client"),
            Map.entry("ssh", "openssh-client"),
            Map.entry("mount", "mount"),
            Map.entry("umount", "mount"),
            Map.entry("losetup", "mount"),
            Map.entry("findmnt", "util-linux"),
            Map.entry("blkid", "util-linux"),
            Map.entry("wipefs", "util-linux"),
            Map.entry("setpriv", "util-linux"),
            Map.entry("setsid", "util-linux"),
            Map.entry("dnsmasq", "dnsmasq-base"),
            Map.entry("nft", "nftables"),
            Map.entry("ip", "iproute2"),
            Map.entry("lsattr", "e2fsprogs"),
            Map.entry("chattr", "e2fsprogs"),
            Map.entry("cp", "coreutils"),
            Map.entry("exportfs", "nfs-kernel-server"),
            Map.entry("testparm", "samba"),
            Map.entry("pdbedit", "samba"),
            Map.entry("smbpasswd", "samba"),
            Map.entry("smbcontrol", "samba"));

    private static final Map<String, Path> RESOLVED = new ConcurrentHashMap<>();

    private HostPrograms() {
    }

    /** The absolute path of {@code program}, or a {@link Missing} error naming the package to install. */
    public static Path require(String program) {
        return find(program).orElseThrow(() -> new Missing(program));
    }

    public static Optional<Path> find(String program) {
        if (program.contains("/")) {
            Path p = Path.of(program);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        Path cached = RESOLVED.get(program);
        if (cached != null) {
            return Optional.of(cached);
        }
        for (Path dir : searchPath()) {
            Path candidate = dir.resolve(program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                RESOLVED.put(program, candidate);
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Fails with the first missing program of {@code programs}, so a start stops with one clear line. */
    public static void requireAll(List<String> programs) {
        programs.forEach(HostPrograms::require);
    }

    public static String packageOf(String program) {
        return PACKAGES.getOrDefault(program, program);
    }

    private static List<Path> searchPath() {
        List<Path> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String entry : path.split(":")) {
                if (!entry.isBlank()) {
                    dirs.add(Path.of(entry));
                }
            }
        }
        for (String extra : List.of("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            Path p = Path.of(extra);
            if (!dirs.contains(p)) {
                dirs.add(p);
            }
        }
        return dirs;
    }

    /** A host program Scalebox needs is not installed. */
    public static final class Missing extends ScaleboxException.HostFailure {
        public Missing(String program) {
            super(program + " is not installed: run 'apt-get install " + packageOf(program) + "'");
        }
    }
}
