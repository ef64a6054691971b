package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the storage plan reads from and does to the host, each through btrfs-progs, util-linux
 * or e2fsprogs programs with argument lists. Every call is counted, for the plan's benchmark.
 */
public class StorageHost {

    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    /** Asked, in interactive mode, whether a device that carries signatures may be wiped. */
    public interface WipeQuestion {
        boolean mayWipe(Path device, String signatures);
    }

    private final ProgramRunner runner;
    private final Filesystems filesystems;
    private final WipeQuestion question;
    private final java.util.Map<String, long[]> times = new java.util.TreeMap<>();

    public StorageHost(ProgramRunner runner) {
        this(runner, (device, signatures) -> false);
    }

    public StorageHost(ProgramRunner runner, WipeQuestion question) {
        this.runner = runner;
        this.filesystems = new Filesystems(runner);
        this.question = question;
    }

    /** How many host commands have run so far. */
    public int calls() {
        return times.values().stream().mapToInt(t -> (int) t[0]).sum();
    }

    /** Per program: how many runs so far and their wall time in nanoseconds, for the plan's benchmark. */
    public java.util.Map<String, long[]> programTimes() {
        return java.util.Collections.unmodifiableMap(times);
    }

    private ProgramResult run(String... argv) {
        return timed(List.of(argv), null);
    }

    private ProgramResult timed(List<String> argv, byte[] stdin) {
        long start = System.nanoTime();
        try {
            return stdin == null ? runner.run(argv, TIMEOUT) : runner.run(argv, TIMEOUT, stdin, null);
        } finally {
            long[] t = times.computeIfAbsent(argv.getFirst(), k -> new long[2]);
            t[0]++;
            t[1] += System.nanoTime() - start;
        }
    }

    private String check(String... argv) {
        ProgramResult r = run(argv);
        if (!r.succeeded()) {
            throw new ScaleboxException.HostFailure(r.describeFailure());
        }
        return r.stdout();
    }

    /** The filesystem type mounted exactly on {@code mount}, if any. */
    Optional<String> mountedType(Path mount) {
        try {
            return filesystems.mountAt(mount.toRealPath()).map(Filesystems.Mount::type);
        } catch (IOException e) {
            return Optional.empty();  // no mount point, nothing mounted on it
        }
    }

    /** The loop device an image is attached to, if it is. */
    Optional<Path> loopOf(Path image) {
        String out = run("losetup", "-j", image.toString()).stdout().strip();
        return out.isEmpty() ? Optional.empty() : Optional.of(Path.of(out.substring(0, out.indexOf(':'))));
    }

    /** The btrfs label on a device or image file, if it carries btrfs. */
    Optional<String> btrfsLabel(Path deviceOrImage) {
        ProgramResult r = run("blkid", "-p", "-o", "export", deviceOrImage.toString());
        if (!r.succeeded() || !r.stdout().lines().anyMatch("TYPE=btrfs"::equals)) {
            return Optional.empty();
        }
        return Optional.of(r.stdout().lines().filter(l -> l.startsWith("LABEL=")).map(l -> l.substring(6)).findFirst()
                .orElse(""));
    }

    /** The partition table and filesystem signatures on a device, as wipefs names them. */
    List<String> signatures(Path device) {
        return check("wipefs", "--no-act", "--noheadings", "--output", "TYPE", device.toString()).lines()
                .map(String::strip).filter(s -> !s.isEmpty()).distinct().toList();
    }

    /** Shows the operator what is on {@code device} and asks whether it may be wiped. */
    boolean confirmWipe(Path device) {
        return question.mayWipe(device, check("wipefs", "--no-act", device.toString()));
    }

    void wipe(Path device) {
        check("wipefs", "--all", device.toString());
    }

    void createImage(Path image, long sizeBytes) {
        try {
            Files.createDirectories(image.getParent());
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(sizeBytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path attach(Path image) {
        return Path.of(check("losetup", "--find", "--show", image.toString()).strip());
    }

    void makeFilesystem(String label, PlanFile.Profile profile, List<Path> devices) {
        List<String> argv = new ArrayList<>(List.of("mkfs.btrfs", "-q", "-L", label, "-d", profile.name(), "-m",
                profile == PlanFile.Profile.single ? "dup" : profile.name()));
        devices.forEach(d -> argv.add(d.toString()));
        check(argv.toArray(String[]::new));
    }

    void mount(List<Path> devices, Path mount, List<String> options) {
        try {
            Files.createDirectories(mount);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (devices.size() > 1) {
            List<String> scan = new ArrayList<>(List.of("btrfs", "device", "scan"));
            devices.forEach(d -> scan.add(d.toString()));
            check(scan.toArray(String[]::new));
        }
        List<String> argv = new ArrayList<>(List.of("mount", "-t", "btrfs"));
        if (!options.isEmpty()) {
            argv.addAll(List.of("-o", String.join(",", options)));
        }
        argv.addAll(List.of(devices.getFirst().toString(), mount.toString()));
        check(argv.toArray(String[]::new));
    }

    /** The data profile of a mounted pool, in the file's words. */
    Optional<String> dataProfile(Path mount) {
        return check("btrfs", "filesystem", "df", "-b", mount.toString()).lines()
                .filter(l -> l.startsWith("Data, ")).map(l -> l.substring(6, l.indexOf(':')).toLowerCase())
                .findFirst();
    }

    /** The subvolumes directly under a pool's top level, by name, with their ids. */
    java.util.Map<String, Long> subvolumes(Path mount) {
        java.util.Map<String, Long> found = new java.util.HashMap<>();
        for (String line : check("btrfs", "subvolume", "list", "-o", mount.toString()).lines().toList()) {
            String[] cols = line.strip().split("\\s+");
            // ID 256 gen 7 top level 5 path NAME
            if (cols.length >= 9 && cols[0].equals("ID") && cols[6].equals("5") && !cols[8].contains("/")) {
                found.put(cols[8], Long.parseLong(cols[1]));
            }
        }
        return found;
    }

    /** The referenced-bytes limits of a pool's subvolume qgroups by subvolume id; empty when quotas are off. */
    Optional<java.util.Map<Long, OptionalLong>> quotas(Path mount) {
        ProgramResult r = run("btrfs", "qgroup", "show", "-re", "--raw", mount.toString());
        if (!r.succeeded()) {
            return Optional.empty();
        }
        java.util.Map<Long, OptionalLong> limits = new java.util.HashMap<>();
        for (String line : r.stdout().lines().toList()) {
            String[] cols = line.strip().split("\\s+");
            if (cols.length >= 4 && cols[0].startsWith("0/")) {
                limits.put(Long.parseLong(cols[0].substring(2)),
                        cols[3].equals("none") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(cols[3])));
            }
        }
        return Optional.of(limits);
    }

    /** Which of {@code paths} have the no-copy-on-write attribute, in one lsattr. */
    java.util.Set<Path> nodatacow(List<Path> paths) {
        if (paths.isEmpty()) {
            return java.util.Set.of();
        }
        List<String> argv = new ArrayList<>(List.of("lsattr", "-d"));
        paths.forEach(p -> argv.add(p.toString()));
        java.util.Set<Path> on = new java.util.HashSet<>();
        for (String line : check(argv.toArray(String[]::new)).lines().toList()) {
            int space = line.indexOf(' ');
            if (space > 0 && line.substring(0, space).contains("C")) {
                on.add(Path.of(line.substring(space + 1).strip()));
            }
        }
        return on;
    }

    void enableQuotas(Path mount) {
        check("btrfs", "quota", "enable", mount.toString());
    }

    void createSubvolume(Path path) {
        check("btrfs", "subvolume", "create", path.toString());
    }

    /** Deletes a subvolume only while it holds nothing. */
    void deleteEmptySubvolume(Path path) {
        if (!isEmpty(path)) {
            throw new ScaleboxException.Conflict(path + " holds data; it is kept (only --mode force-destructive"
                    + " deletes a dataset with data)");
        }
        deleteSubvolume(path);
    }

    /** Deletes a subvolume and everything in it. */
    void deleteSubvolume(Path path) {
        check("btrfs", "subvolume", "delete", path.toString());
    }

    PlanFile.Compression compression(Path path) {
        String out = check("btrfs", "property", "get", path.toString(), "compression").strip();
        String value = out.startsWith("compression=") ? out.substring("compression=".length()) : "";
        return switch (value) {
            case "zstd" -> PlanFile.Compression.zstd;
            case "lzo" -> PlanFile.Compression.lzo;
            case "", "none", "no" -> PlanFile.Compression.none;
            default -> throw new ScaleboxException.HostFailure(path + " has compression '" + value
                    + "', which a storage file cannot name");
        };
    }

    void setCompression(Path path, PlanFile.Compression compression) {
        check("btrfs", "property", "set", path.toString(), "compression",
                compression == PlanFile.Compression.none ? "" : compression.name());
    }

    void setNodatacow(Path path, boolean on) {
        check("chattr", on ? "+C" : "-C", path.toString());
    }

    void setQuota(Path path, OptionalLong bytes) {
        check("btrfs", "qgroup", "limit", bytes.isPresent() ? Long.toString(bytes.getAsLong()) : "none", path.toString());
    }

    /** A file's text, or "" when it does not exist. */
    String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Replaces one entry of a file Scalebox owns, through a temporary file renamed over it, so a
     * reader never sees half a file. A Samba include is first checked with testparm.
     */
    void writeEntry(EntryFile kind, Path file, String key, Optional<String> entry) {
        String text = kind.with(read(file), key, entry);
        Path temp = file.resolveSibling("." + file.getFileName() + ".new");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(temp, text);
            if (kind == EntryFile.SHARES) {
                checkSambaConfig(temp);
            }
            Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the rename took it, or the next write replaces it
            }
        }
    }

    private void checkSambaConfig(Path file) {
        ProgramResult r = run("testparm", "-s", "--suppress-prompt", file.toString());
        Optional<String> problem = r.stderr().lines()
                .filter(l -> l.contains("Unknown parameter") || l.contains("Error") || l.contains("Invalid")).findFirst();
        if (!r.succeeded() || problem.isPresent()) {
            throw new ScaleboxException.HostFailure("testparm refused the Samba shares: "
                    + problem.orElse(r.describeFailure()));
        }
    }

    boolean installed(String program) {
        return dev.scalebox.host.HostPrograms.find(program).isPresent();
    }

    /** Makes the NFS server read the exports again, where it is installed. */
    void reloadExports() {
        if (installed("exportfs")) {
            check("exportfs", "-ra");
        }
    }

    /** Tells a running smbd to read its configuration again; one that is not running reads it when it starts. */
    void reloadSamba(Path smbConf) {
        run("smbcontrol", "-s", smbConf.toString(), "smbd", "reload-config");
    }

    boolean includes(Path smbConf, Path include) {
        return includes(read(smbConf), include);
    }

    private static boolean includes(String smbConfText, Path include) {
        String line = "include = " + include;
        return smbConfText.lines().map(l -> l.strip().replaceAll("\\s*=\\s*", " = ")).anyMatch(line::equals);
    }

    void includeInSmbConf(Path smbConf, Path include) {
        String text = read(smbConf);
        if (includes(text, include)) {
            return;
        }
        String added = (text.isEmpty() || text.endsWith("\n") ? "" : "\n")
                + "\n# The shares of 'scalebox storage apply'\ninclude = " + include + "\n";
        try {
            Files.writeString(smbConf, added, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot write " + smbConf + ": " + e.getMessage(), e);
        }
    }

    /** Samba's users and the hex NT hashes of their passwords. */
    java.util.Map<String, String> sambaUsers(Path smbConf) {
        java.util.Map<String, String> users = new java.util.HashMap<>();
        for (String line : check("pdbedit", "-s", smbConf.toString(), "-L", "-w").lines().toList()) {
            String[] cols = line.split(":");
            if (cols.length >= 4) {
                users.put(cols[0], cols[3].toLowerCase(java.util.Locale.ROOT));
            }
        }
        return users;
    }

    boolean unixUserExists(String name) {
        return run("getent", "passwd", name).succeeded();
    }

    void setSambaPassword(Path smbConf, String user, Secret password) {
        byte[] twice = (password.value() + "\n" + password.value() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ProgramResult r = timed(List.of("smbpasswd", "-c", smbConf.toString(), "-s", "-a", user), twice);
        if (!r.succeeded()) {
            throw new ScaleboxException.HostFailure("smbpasswd could not set the password of " + user + ": "
                    + r.stderr().strip());
        }
    }

    /** Where {@code link} points now: empty for a directory of its own or nothing. */
    Optional<Path> linkTarget(Path link) {
        try {
            return Files.isSymbolicLink(link) ? Optional.of(Files.readSymbolicLink(link)) : Optional.empty();
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot read " + link + ": " + e.getMessage(), e);
        }
    }

    /** Makes {@code link} point at {@code target}, replacing an earlier link or an empty directory. */
    void link(Path link, Path target) {
        try {
            replaceable(link);
            Files.createDirectories(link.getParent());
            Path temp = link.resolveSibling("." + link.getFileName() + ".link");
            Files.deleteIfExists(temp);
            Files.createSymbolicLink(temp, target);
            Files.move(temp, link, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot link " + link + " to " + target + ": " + e.getMessage(), e);
        }
    }

    /** Puts an empty directory of its own where {@code link} was. */
    void unlink(Path link) {
        try {
            Files.deleteIfExists(link);
            Files.createDirectories(link);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot replace " + link + ": " + e.getMessage(), e);
        }
    }

    private void replaceable(Path link) throws IOException {
        if (Files.isSymbolicLink(link) || !Files.exists(link)) {
            return;
        }
        if (!Files.isDirectory(link)) {
            throw new ScaleboxException.Conflict(link + " is a file; Scalebox expected its own directory or a link");
        }
        if (!isEmpty(link)) {
            throw new ScaleboxException.Conflict(link + " holds files; they stay where they are. Stop Scalebox, move"
                    + " them into the dataset (cp --reflink=always keeps them cheap on one filesystem), then apply again");
        }
        Files.delete(link);
    }

    /** Whether a directory holds nothing (or does not exist). */
    boolean isEmpty(Path dir) {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (var entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot read " + dir + ": " + e.getMessage(), e);
        }
    }
}
