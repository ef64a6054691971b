package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;
import java.util.stream.Stream;

/**
 * The users QEMU runs as. Each QEMU process gets a uid (and gid) of its own from a range no
 * account uses, as systemd's dynamic users do, and the files it needs are lent to it while it
 * runs: its run directory (mode 0700) and its disk (mode 0600). A QEMU taken over by its guest
 * can then open no other VM's disk, memory or sockets, and nothing else of the data directory.
 * When the QEMU ends its files go back to root, so a uid given out again owns nothing.
 *
 * <p>One uid per process rather than one shared user: with a shared user, every running VM's disk
 * would be writable by every QEMU.
 */
public final class QemuUsers {

    public static final int FIRST_UID = 1_900_000_000;
    static final int COUNT = 65_536;
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final Logger log = LoggerFactory.getLogger(QemuUsers.class);

    /**
     * The uids given out in this process, whatever data directory they are for: a uid is the
     * host's, and two services over one directory (a restart within a process) must not give
     * out one uid while the other still takes its files back.
     */
    private static final Set<Integer> TAKEN = new HashSet<>();

    private final List<Path> lendable;

    /**
     * Users whose files are lent from the directories {@code lendable} (disks, run directories)
     * and who read the kernel in {@code kernelDir}. Those directories are made passable by any
     * user (o+x, no listing) and the kernel files readable; a directory above them that is not
     * passable is an error that says so.
     */
    public QemuUsers(Path dataDir, List<Path> lendable, Path kernelDir) {
        this.lendable = List.copyOf(lendable);
        try {
            for (Path dir : Stream.concat(lendable.stream(), Stream.of(kernelDir)).toList()) {
                makePassable(dataDir.toRealPath(), dir.toRealPath());
            }
            try (Stream<Path> files = Files.list(kernelDir)) {
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    addPermission(file, PosixFilePermission.OTHERS_READ);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dataDir + " for QEMU's users", e);
        }
    }

    /** A uid no live process and no other QEMU of ours has; {@link #reclaim} gives it back. */
    int take() {
        Set<Integer> live = liveUids();
        synchronized (TAKEN) {
            for (int uid = FIRST_UID; uid < FIRST_UID + COUNT; uid++) {
                if (!TAKEN.contains(uid) && !live.contains(uid)) {
                    TAKEN.add(uid);
                    return uid;
                }
            }
        }
        throw new ScaleboxException.HostFailure("all " + COUNT + " users for QEMU (uids from " + FIRST_UID + ") are in use");
    }

    /**
     * Counts a uid that a QEMU left running by an earlier start of the service runs as; true when
     * it is one of the range, whose files {@link #reclaim} gives back when that QEMU ends.
     */
    boolean adopt(int uid) {
        synchronized (TAKEN) {
            return inRange(uid) && TAKEN.add(uid);
        }
    }

    /**
     * Lends {@code paths} to {@code uid}: a directory with what is directly in it, or a file.
     * Symbolic links are never followed. Entries go before their directory, which so stays
     * root's until they are done.
     */
    void lend(int uid, Path... paths) {
        try {
            for (Path path : paths) {
                if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    try (DirectoryStream<Path> entries = Files.newDirectoryStream(path)) {
                        for (Path entry : entries) {
                            chown(entry, uid);
                        }
                    }
                    chown(path, uid);
                } else if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                    chown(path, uid);
                }
            }
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot hand " + List.of(paths) + " to QEMU's user " + uid + ": "
                    + e.getMessage(), e);
        }
    }

    /** Gives what {@code uid} was lent back to root, and the uid back to the range. */
    void reclaim(int uid) {
        reclaimWhere(Set.of(uid)::contains);
        synchronized (TAKEN) {
            TAKEN.remove(uid);
        }
    }

    /**
     * Gives back to root whatever a QEMU that no longer runs was lent: after a crash of the
     * service, a QEMU may have ended while no one watched.
     */
    public void reclaimIdle() {
        Set<Integer> live = liveUids();
        synchronized (TAKEN) {
            live.addAll(TAKEN);
        }
        reclaimWhere(uid -> inRange(uid) && !live.contains(uid));
    }

    private void reclaimWhere(IntPredicate lent) {
        for (Path root : lendable) {
            try (Stream<Path> paths = Files.walk(root, 2)) {
                for (Path path : paths.filter(p -> !p.equals(root)).toList()) {
                    try {
                        int owner = (int) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                        if (lent.test(owner)) {
                            Files.setAttribute(path, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
                            Files.setAttribute(path, "unix:gid", 0, LinkOption.NOFOLLOW_LINKS);
                        }
                    } catch (java.nio.file.NoSuchFileException gone) {
                        // removed meanwhile (a partial file renamed into place, a VM deleted): nothing to give back
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                log.warn("Cannot give QEMU's files in {} back to root: {}", root, e.getMessage());
            }
        }
    }

    static boolean inRange(int uid) {
        return uid >= FIRST_UID && uid < FIRST_UID + COUNT;
    }

    /** The uids in the range that some process runs as. */
    private static Set<Integer> liveUids() {
        Set<Integer> uids = new HashSet<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path proc : procs) {
                ProcessStatus.uid(proc).filter(QemuUsers::inRange).ifPresent(uids::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the processes in /proc", e);
        }
        return uids;
    }

    /** Makes {@code path} the user's alone; a symbolic link is left as it is. */
    private static void chown(Path path, int uid) throws IOException {
        if (Files.isSymbolicLink(path)) {
            return;
        }
        Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.setPosixFilePermissions(path, DIR_MODE);
        } else if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.setPosixFilePermissions(path, FILE_MODE);
        }
    }

    /** Lets any user pass through {@code dir} and the directories above it that are the data directory's. */
    private static void makePassable(Path dataDir, Path dir) throws IOException {
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                continue;
            }
            if (!p.startsWith(dataDir)) {
                throw new ScaleboxException.HostFailure("QEMU runs as a user of its own and cannot reach " + dir + ": "
                        + p + " does not let other users pass (chmod o+x " + p + ")");
            }
            addPermission(p, PosixFilePermission.OTHERS_EXECUTE);
        }
    }

    private static void addPermission(Path p, PosixFilePermission permission) throws IOException {
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(p);
        if (mode.add(permission)) {
            Files.setPosixFilePermissions(p, mode);
        }
    }
}
