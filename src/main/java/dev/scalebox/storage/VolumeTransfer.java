package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import static dev.scalebox.storage.Subvolumes.STEP;
import static dev.scalebox.storage.Subvolumes.STREAM;

/**
 * A box's volume (its disk and saved memory) sent to another host with {@code btrfs send}, and
 * received from one, so that only the box's own blocks travel.
 * <p>
 * A box is a copy (by reflink) of a golden state's disk, and its disk file says which in an
 * extended attribute ({@code user.scalebox.origin}). Each host keeps a <em>base</em> of a golden
 * state: a read-only subvolume {@code volumes/.bases/GOLDEN} holding its disk as
 * {@code disk.ext4}, and boxes are copied from the base's disk, so they share its blocks. Every
 * host's base is a received subvolume, the first one too (sent from a subvolume of the golden
 * disk and received on its own host): {@code btrfs receive} finds the clone sources a stream
 * names by their received UUID only, so all copies must carry the same one. The box travels as a
 * writable snapshot of the base into which its disk is cloned over {@code disk.ext4} (the same
 * inode, so the blocks it shares with the golden state are the base's own), its memory beside
 * it, made read-only and sent with {@code send -p BASE}: the stream carries only the blocks the
 * box changed, and its memory. The receiving host needs the same base first: it is sent whole,
 * once, and kept while a volume there comes from it ({@code btrfs receive} finds it by the UUID
 * the stream names). With no base (a box booted without a golden state, or one whose golden
 * state is gone) the whole volume is sent.
 * <p>
 * Subvolumes on the way are hidden in {@code volumes/} ({@code .sending-…}, {@code .arriving-…})
 * and removed when the transfer ends, or by {@link #removeLeftovers} after a crash. A base is
 * used only once it is read-only, which {@code btrfs receive} and {@link #keepBase} make it last.
 */
public final class VolumeTransfer {

    public static final String MEDIA_TYPE = "application/x-btrfs-send";
    private static final String ORIGIN = "scalebox.origin";
    private static final String DISK = "disk.ext4";
    private static final String MEMORY = "memory.state";
    private static final Logger log = LoggerFactory.getLogger(VolumeTransfer.class);

    /** A volume's files: its disk's size (as the guest sees it) and its saved memory's. */
    public record Sizes(long disk, long memory) {
    }

    private final DataLayout layout;
    private final ProgramRunner runner;
    private final Filesystems filesystems;
    private final Subvolumes subvolumes;
    private final boolean keepsBases;

    VolumeTransfer(DataLayout layout, ProgramRunner runner, Filesystems filesystems, boolean keepsBases) {
        this.layout = layout;
        this.runner = runner;
        this.subvolumes = new Subvolumes(runner);
        this.filesystems = filesystems;
        this.keepsBases = keepsBases;
    }

    /** Why volumes cannot move to or from this host, if they cannot: they must be on btrfs. */
    public Optional<String> unmovable() {
        String type = filesystems.space(layout.volumes()).type();
        return type.equals("btrfs") ? Optional.empty()
                : Optional.of(layout.volumes() + " is on " + type + ", and box volumes move only between btrfs pools");
    }

    public Sizes sizes(String vmId) {
        try {
            return new Sizes(Files.size(layout.volumeImage(vmId)), Files.size(layout.memoryState(vmId, true)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The golden state VM {@code vmId}'s disk was copied from, as its disk says. */
    public Optional<String> origin(String vmId) {
        Path disk = layout.volumeImage(vmId);
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(disk, UserDefinedFileAttributeView.class);
            if (view == null || !Files.exists(disk) || !view.list().contains(ORIGIN)) {
                return Optional.empty();
            }
            ByteBuffer value = ByteBuffer.allocate(view.size(ORIGIN));
            view.read(ORIGIN, value);
            String origin = new String(value.array(), 0, value.position(), StandardCharsets.US_ASCII);
            return Names.isValid(origin) ? Optional.of(origin) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Notes on VM {@code vmId}'s disk that it was copied from golden state {@code goldenId}. */
    public void setOrigin(String vmId, String goldenId) {
        Names.require("VM id", goldenId);
        try {
            Files.getFileAttributeView(layout.volumeImage(vmId), UserDefinedFileAttributeView.class)
                    .write(ORIGIN, ByteBuffer.wrap(goldenId.getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("Cannot note the origin of {}: {}", vmId, e.getMessage());
        }
    }

    /** The base VM {@code vmId} is sent against: its origin's, when this host holds it. */
    public Optional<String> baseFor(String vmId) {
        return origin(vmId).filter(this::hasBase);
    }

    /**
     * The disk to copy a box from instead of golden state {@code goldenId}'s own: its base's, which
     * holds the same bytes, made now when missing (empty on a host whose boxes do not move, on a
     * pool that is not btrfs, or when the base cannot be made). Boxes copied from it share its
     * blocks, so that they move against it.
     */
    public Optional<Path> baseDisk(String goldenId) {
        if (!keepsBases || unmovable().isPresent()) {
            return Optional.empty();
        }
        try {
            if (!hasBase(goldenId)) {
                keepBase(goldenId);
            }
            return Optional.of(base(goldenId).resolve(DISK));
        } catch (RuntimeException e) {
            log.warn("Boxes of {} are copied from its own disk, and move whole: {}", goldenId, e.getMessage());
            return Optional.empty();
        }
    }

    /** Whether base {@code goldenId} is here, whole. */
    public boolean hasBase(String goldenId) {
        Path base = base(goldenId);
        return Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)
                && runner.run(List.of("btrfs", "property", "get", "-ts", base.toString(), "ro"), STEP).stdout()
                .strip().equals("ro=true");
    }

    /** Writes base {@code goldenId} whole to {@code out}, for a host that lacks it. */
    public void sendBase(String goldenId, OutputStream out) {
        if (!hasBase(goldenId)) {
            throw new ScaleboxException.NotFound("This host keeps no base " + goldenId);
        }
        runner.pipe(List.of("btrfs", "send", "-q", base(goldenId).toString()), STREAM, null, out);
    }

    /** Takes base {@code goldenId} from another host. */
    public void receiveBase(String goldenId, InputStream in) {
        Path base = base(goldenId);
        if (hasBase(goldenId)) {
            return;
        }
        subvolumes.delete(base);
        try {
            Files.createDirectories(base.getParent());
            runner.pipe(List.of("btrfs", "receive", base.getParent().toString()), STREAM, in, null);
        } catch (IOException | RuntimeException e) {
            subvolumes.delete(base);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        if (!hasBase(goldenId)) {
            subvolumes.delete(base);
            throw new ScaleboxException.HostFailure("the stream for base " + goldenId + " held no such subvolume");
        }
    }

    /**
     * Writes suspended VM {@code vmId}'s disk and memory to {@code out} as a {@code btrfs send}
     * stream, against {@code base} when given (which the receiver must hold).
     */
    public void send(String vmId, Optional<String> base, OutputStream out) {
        Path dir = Subvolumes.hidden(layout.volumes(), ".sending-");
        Path volume = dir.resolve(Names.require("VM id", vmId));
        try {
            Files.createDirectory(dir);
            if (base.isPresent()) {
                runner.check(List.of("btrfs", "subvolume", "snapshot", base(base.get()).toString(), volume.toString()), STEP);
                // cp writes into the existing file, keeping its inode: send then compares its extents with the base's
                runner.check(List.of("cp", "--reflink=always", layout.volumeImage(vmId).toString(),
                        volume.resolve(DISK).toString()), STEP);
            } else {
                runner.check(List.of("btrfs", "subvolume", "create", volume.toString()), STEP);
                Files.copy(layout.volumeImage(vmId), volume.resolve(DISK));
            }
            Files.copy(layout.memoryState(vmId, true), volume.resolve(MEMORY));
            runner.check(List.of("btrfs", "property", "set", "-ts", volume.toString(), "ro", "true"), STEP);
            List<String> argv = new ArrayList<>(List.of("btrfs", "send", "-q"));
            base.ifPresent(b -> argv.addAll(List.of("-p", base(b).toString())));
            argv.add(volume.toString());
            runner.pipe(argv, STREAM, null, out);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot prepare the volume of " + vmId + " to send: " + e.getMessage(), e);
        } finally {
            subvolumes.delete(volume);
            deleteQuietly(dir);
        }
    }

    /**
     * Removes a copy of VM {@code vmId}'s volume left here by a move that a crash cut short (before
     * or after the store named the new host). The caller has checked that the store names another
     * host as the VM's: that host's copy is the one that counts.
     */
    public void dropStaleCopy(String vmId) {
        for (Path file : List.of(layout.volumeImage(vmId), layout.memoryState(vmId, true))) {
            try {
                if (Files.deleteIfExists(file)) {
                    log.warn("Removed {}, left by a move of {} that did not finish; the VM lives on another host", file, vmId);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Takes VM {@code vmId}'s disk and memory from {@code in}, sent against {@code base} when given,
     * as its volume here; nothing is left of it when the stream breaks off. Refused when this host
     * has a disk of that VM already.
     */
    public void receive(String vmId, Optional<String> base, InputStream in) {
        Path disk = layout.volumeImage(vmId);
        Path memory = layout.memoryState(vmId, true);
        if (Files.exists(disk) || Files.exists(memory)) {
            throw new ScaleboxException.Conflict("This host has a volume of " + vmId + " already");
        }
        Path dir = Subvolumes.hidden(layout.volumes(), ".arriving-");
        try {
            Files.createDirectory(dir);
            runner.pipe(List.of("btrfs", "receive", dir.toString()), STREAM, in, null);
            Path volume = dir.resolve(Names.require("VM id", vmId));
            for (Path file : List.of(volume.resolve(DISK), volume.resolve(MEMORY))) {
                if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                    throw new ScaleboxException.HostFailure("the stream for " + vmId + " held no " + file.getFileName());
                }
            }
            place(volume.resolve(MEMORY), memory);
            try {
                place(volume.resolve(DISK), disk);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(memory);
                throw e;
            }
            base.ifPresent(b -> setOrigin(vmId, b));
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot receive the volume of " + vmId + ": " + e.getMessage(), e);
        } finally {
            Subvolumes.in(dir).forEach(subvolumes::delete);
            deleteQuietly(dir);
        }
    }

    /**
     * Removes the bases no volume here comes from any more and whose golden state is gone: they
     * would keep a golden disk's blocks for nothing.
     */
    public void pruneBases() {
        Path bases = layout.volumes().resolve(".bases");
        if (!Files.isDirectory(bases)) {
            return;
        }
        Set<String> used = new HashSet<>();
        try (Stream<Path> files = Files.list(layout.volumes())) {
            files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(DataLayout.IMAGE_SUFFIX))
                    .map(n -> n.substring(0, n.length() - DataLayout.IMAGE_SUFFIX.length())).filter(Names::isValid)
                    .forEach(id -> {
                        used.add(id);
                        origin(id).ifPresent(used::add);
                    });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path base : Subvolumes.in(bases)) {
            if (!used.contains(base.getFileName().toString())) {
                log.info("Removing base {}: no volume here comes from it", base.getFileName());
                subvolumes.delete(base);
            }
        }
    }

    /** Removes what a transfer cut short by a crash left in {@code volumes/}. */
    public void removeLeftovers() {
        if (!Files.isDirectory(layout.volumes())) {
            return;
        }
        try (Stream<Path> files = Files.list(layout.volumes())) {
            for (Path dir : files.filter(f -> f.getFileName().toString().startsWith(".sending-")
                    || f.getFileName().toString().startsWith(".arriving-")).toList()) {
                log.warn("Removing {}, left by a box move cut short", dir);
                Subvolumes.in(dir).forEach(subvolumes::delete);
                deleteQuietly(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Clones {@code received} into place at {@code target} through a partial name, so a crash leaves no half file under it. */
    private static void place(Path received, Path target) throws IOException {
        Path partial = target.resolveSibling("." + target.getFileName() + ".partial");
        Files.deleteIfExists(partial);
        Files.copy(received, partial);
        Files.move(partial, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private Path base(String goldenId) {
        return layout.volumes().resolve(".bases").resolve(Names.require("VM id", goldenId));
    }

    /**
     * Makes base {@code goldenId} from the golden state's disk on this host: a subvolume holding a
     * reflink of it, sent and received here, so that this host's base is a received copy like
     * every other host's. {@code btrfs receive} finds the clone sources a stream names by their
     * received UUID only, so a stream sent against another host's copy of the base would not find
     * the original here.
     */
    private void keepBase(String goldenId) {
        Path base = base(goldenId);
        subvolumes.delete(base);
        Path dir = Subvolumes.hidden(layout.volumes(), ".sending-");
        Path original = dir.resolve(goldenId);
        try {
            Files.createDirectories(base.getParent());
            Files.createDirectory(dir);
            runner.check(List.of("btrfs", "subvolume", "create", original.toString()), STEP);
            Files.copy(layout.volumeImage(goldenId), original.resolve(DISK));
            runner.check(List.of("btrfs", "property", "set", "-ts", original.toString(), "ro", "true"), STEP);
            PipedInputStream in = new PipedInputStream(1 << 20);
            PipedOutputStream out = new PipedOutputStream(in);
            Thread sender = Thread.ofVirtual().start(() -> {
                try (out) {
                    runner.pipe(List.of("btrfs", "send", "-q", original.toString()), STREAM, null, out);
                } catch (IOException | RuntimeException e) {
                    log.warn("Sending base {} to this host broke off: {}", goldenId, e.getMessage());
                }
            });
            try (in) {
                runner.pipe(List.of("btrfs", "receive", base.getParent().toString()), STREAM, in, null);
            } finally {
                sender.join();
            }
            if (!hasBase(goldenId)) {
                throw new ScaleboxException.HostFailure("the base was not received whole");
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            subvolumes.delete(base);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new ScaleboxException.HostFailure("cannot keep base " + goldenId + ": " + e.getMessage(), e);
        } finally {
            subvolumes.delete(original);
            deleteQuietly(dir);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            log.warn("Could not remove {}: {}", dir, e.getMessage());
        }
    }
}
