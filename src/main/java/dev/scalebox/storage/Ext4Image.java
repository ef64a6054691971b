package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Operations on an ext4 image file that never mount it: the superblock is read directly, files are
 * written with debugfs, the filesystem is grown with resize2fs and checked with e2fsck. None of
 * them needs a loop device, so they work unprivileged and cannot leave a mount behind.
 *
 * <p>debugfs exits 0 even when a command fails, so its stderr is read line by line: anything but
 * its banner and the expected "not found" of an rm is a failure.
 */
final class Ext4Image {

    private static final int SUPERBLOCK_OFFSET = 1024;
    private static final int EXT_MAGIC = 0xEF53;
    private static final int INCOMPAT_EXTENTS = 0x40;
    private static final int INCOMPAT_64BIT = 0x80;
    private static final Duration DEBUGFS_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration RESIZE_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration FSCK_TIMEOUT = Duration.ofMinutes(20);

    private static final Pattern INODE_TYPE = Pattern.compile("Type: (\\w+)");
    private static final Pattern FILE_SIZE = Pattern.compile("\\bSize: (\\d+)");
    private static final Pattern FIRST_BLOCK = Pattern.compile("EXTENTS:\\s*\\(0\\):(\\d+)\\s*$");

    private final ProgramRunner runner;

    Ext4Image(ProgramRunner runner) {
        this.runner = runner;
    }

    /** The superblock facts Scalebox needs, or empty when the file holds no ext4 filesystem. */
    record Superblock(long blockCount, int blockSize) {
        long bytes() {
            return blockCount * blockSize;
        }
    }

    static Optional<Superblock> readSuperblock(Path image) {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer sb = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
            if (ch.read(sb, SUPERBLOCK_OFFSET) < 1024) {
                return Optional.empty();
            }
            int magic = Short.toUnsignedInt(sb.getShort(0x38));
            int incompat = sb.getInt(0x60);
            if (magic != EXT_MAGIC || (incompat & INCOMPAT_EXTENTS) == 0) {
                return Optional.empty();
            }
            long blocks = Integer.toUnsignedLong(sb.getInt(0x04));
            if ((incompat & INCOMPAT_64BIT) != 0) {
                blocks |= Integer.toUnsignedLong(sb.getInt(0x150)) << 32;
            }
            return Optional.of(new Superblock(blocks, 1024 << sb.getInt(0x18)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Grows the file to {@code bytes} and the filesystem to fill it. */
    void grow(Path image, long bytes) {
        growFile(image, bytes);
        ProgramResult result = runner.run(List.of("resize2fs", image.toString()), RESIZE_TIMEOUT);
        if (!result.succeeded() && result.stderr().contains("e2fsck")) {
            // resize2fs refuses a filesystem mounted since its last check (a stopped VM's disk): check it first.
            repair(image);
            result = runner.run(List.of("resize2fs", image.toString()), RESIZE_TIMEOUT);
        }
        if (!result.succeeded()) {
            throw new ScaleboxException.HostFailure(result.describeFailure());
        }
    }

    /** Makes the file {@code bytes} long (sparse); the filesystem inside stays as it is. */
    void growFile(Path image, long bytes) {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(bytes);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot grow " + image.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes root's {@code authorized_keys} as an {@link KeySlot} holding {@code line}, or an empty
     * slot when it is null: root-owned, 600, in a 700 directory.
     */
    void writeAuthorizedKeys(Path image, String line) {
        int blockSize = readSuperblock(image).orElseThrow(() -> new ScaleboxException.BadRequest(
                image.getFileName() + " is not an ext4 image")).blockSize();
        // debugfs's mkdir of an existing directory leaks an inode and a block (e2fsck then
        // complains), so /root/.ssh is made only when it is not already a directory.
        String sshDir = switch (typeOf(image, "/root/.ssh")) {
            case "directory" -> "";
            case "" -> "mkdir /root/.ssh";
            default -> "rm /root/.ssh\nmkdir /root/.ssh";
        };
        debugfsWriting(image, KeySlot.content(line, blockSize), keyFile -> {
            List<String> commands = new ArrayList<>(List.of(sshDir, "sif /root/.ssh mode 040700", "sif /root/.ssh uid 0",
                    "sif /root/.ssh gid 0", "rm " + KeySlot.PATH));
            commands.addAll(rootFile(keyFile, KeySlot.PATH, "0100600"));
            return commands;
        });
    }

    /**
     * Makes the image's guest a new machine at its next boot, as a VM of the base template is: no
     * SSH host keys (the guest makes its own at boot) and an empty machine id (systemd makes one).
     */
    void forgetIdentity(Path image) {
        debugfsWriting(image, new byte[0], empty -> {
            List<String> commands = new ArrayList<>(removeHostKeys());
            commands.addAll(List.of("rm /var/lib/dbus/machine-id", "rm /etc/machine-id"));
            commands.addAll(rootFile(empty, "/etc/machine-id", "0100444"));
            return commands;
        });
    }

    /**
     * Gives the image's guest {@code key} as its SSH host key, the only one: the base template's
     * boot makes one only when there is none. False, with nothing written, for an image with no
     * {@code /etc/ssh} (no SSH server).
     */
    boolean writeHostKey(Path image, SshHostKey key) {
        if (!"directory".equals(typeOf(image, "/etc/ssh"))) {
            return false;
        }
        debugfsWriting(image, List.of(key.privateKey(), key.publicKeyFile()), files -> {
            List<String> commands = new ArrayList<>(removeHostKeys());
            commands.addAll(rootFile(files.get(0), "/etc/ssh/ssh_host_ed25519_key", "0100600"));
            commands.addAll(rootFile(files.get(1), "/etc/ssh/ssh_host_ed25519_key.pub", "0100644"));
            return commands;
        });
        return true;
    }

    /** The debugfs commands that remove every SSH host key an image may have, of any type. */
    private static List<String> removeHostKeys() {
        List<String> commands = new ArrayList<>();
        for (String type : List.of("ed25519", "ecdsa", "rsa", "dsa")) {
            commands.add("rm /etc/ssh/ssh_host_" + type + "_key");
            commands.add("rm /etc/ssh/ssh_host_" + type + "_key.pub");
        }
        return commands;
    }

    /** The debugfs commands that write {@code local} to {@code path} as a root file of {@code mode}. */
    private static List<String> rootFile(Path local, String path, String mode) {
        return List.of("write " + local + " " + path, "sif " + path + " mode " + mode, "sif " + path + " uid 0",
                "sif " + path + " gid 0");
    }

    /**
     * Runs the debugfs {@code commands} made for a local file holding {@code content}, which they
     * write into the image; the file is removed after.
     */
    private void debugfsWriting(Path image, byte[] content, Function<Path, List<String>> commands) {
        debugfsWriting(image, List.of(content), files -> commands.apply(files.getFirst()));
    }

    /** As above, with a local file for each of {@code contents}, in order. */
    private void debugfsWriting(Path image, List<byte[]> contents, Function<List<Path>, List<String>> commands) {
        List<Path> locals = new ArrayList<>();
        try {
            for (byte[] content : contents) {
                Path local = Files.createTempFile("scalebox-debugfs-", "");
                locals.add(local);
                Files.write(local, content);
                if (local.toString().chars().anyMatch(Character::isWhitespace)) {
                    throw new ScaleboxException.HostFailure("temporary directory path contains whitespace: " + local);
                }
            }
            debugfs(image, String.join("\n", commands.apply(locals)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (Path local : locals) {
                try {
                    Files.deleteIfExists(local);
                } catch (IOException ignored) {
                    // a stray file in the temporary directory (made 0600) is left for the system's cleaning
                }
            }
        }
    }

    /** Where the image's key slot lies: its authorized_keys is one block, in one extent. */
    Optional<KeySlot.Location> keySlot(Path image) {
        int blockSize = readSuperblock(image).map(Superblock::blockSize).orElse(0);
        ProgramResult r = runner.run(List.of("debugfs", "-R", "stat " + KeySlot.PATH, image.toString()), DEBUGFS_TIMEOUT);
        Matcher size = FILE_SIZE.matcher(r.stdout());
        Matcher extent = FIRST_BLOCK.matcher(r.stdout());
        if (blockSize == 0 || !size.find() || Long.parseLong(size.group(1)) != blockSize || !extent.find()) {
            return Optional.empty();
        }
        return Optional.of(new KeySlot.Location(Long.parseLong(extent.group(1)) * blockSize, blockSize));
    }

    boolean exists(Path image, String path) {
        return !typeOf(image, path).isEmpty();
    }

    /** The type debugfs gives for {@code path} ("directory", "regular", "symlink", ...), or "" when absent. */
    private String typeOf(Path image, String path) {
        ProgramResult r = runner.check(List.of("debugfs", "-R", "stat " + path, image.toString()), DEBUGFS_TIMEOUT);
        Matcher type = INODE_TYPE.matcher(r.stdout());
        return type.find() ? type.group(1) : "";
    }

    /** Fails unless e2fsck finds the filesystem clean; changes nothing. */
    void check(Path image) {
        ProgramResult result = runner.run(List.of("e2fsck", "-f", "-n", image.toString()), FSCK_TIMEOUT);
        if (!result.succeeded()) {
            throw new ScaleboxException.HostFailure("filesystem check failed for " + image.getFileName() + ": "
                    + result.describeFailure());
        }
    }

    /** Repairs what e2fsck can repair without asking; fails when errors remain. */
    void repair(Path image) {
        ProgramResult result = runner.run(List.of("e2fsck", "-f", "-y", image.toString()), FSCK_TIMEOUT);
        // 0: clean, 1: errors corrected, 2: corrected and the (absent) system should reboot.
        if (result.exitCode() > 2) {
            throw new ScaleboxException.HostFailure("filesystem repair failed for " + image.getFileName() + ": "
                    + result.describeFailure());
        }
    }

    private void debugfs(Path image, String commands) {
        ProgramResult result = runner.run(List.of("debugfs", "-w", "-f", "-", image.toString()), DEBUGFS_TIMEOUT,
                (commands + "\n").getBytes(StandardCharsets.UTF_8), null);
        List<String> errors = result.stderr().lines()
                .filter(l -> !l.isBlank())
                .filter(l -> !l.startsWith("debugfs "))
                .filter(l -> !l.startsWith("rm: File not found by ext2_lookup"))
                .toList();
        if (!result.succeeded() || !errors.isEmpty()) {
            throw new ScaleboxException.HostFailure("debugfs failed on " + image.getFileName() + ": "
                    + String.join(" / ", errors));
        }
    }
}
