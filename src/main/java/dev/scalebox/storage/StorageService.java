package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Template and VM disk images: the clone that makes a VM's root filesystem out of a template, its
 * growth, its SSH key, and the space check that comes before any of it.
 *
 * <p>A clone is written to a hidden {@code .NAME.partial} file and renamed into place once whole,
 * so a crash never leaves a half-copied image under a real name; {@link #removePartials()} clears
 * such leftovers at start-up. Every path a caller passes must lie under the data directory's
 * {@code vms/} or {@code volumes/}; templates are reached only by name.
 */
public final class StorageService {

    /** Space kept free beyond what a request needs, so the pool never fills to the last byte. */
    public static final int SPACE_BUFFER_GIB = 2;
    private static final long GIB = 1L << 30;
    private static final String PARTIAL = ".partial";
    private static final Logger log = LoggerFactory.getLogger(StorageService.class);

    private final DataLayout layout;
    private final ProgramRunner runner;
    private final Filesystems filesystems;
    private final Ext4Image ext4;
    private final AtomicBoolean warnedNoReflink = new AtomicBoolean();
    private volatile boolean boxesMove;
    private final Map<Path, ImageTraits> templateTraits = new ConcurrentHashMap<>();

    public StorageService(DataLayout layout, ProgramRunner runner, Filesystems filesystems) {
        this.layout = layout;
        this.runner = runner;
        this.filesystems = filesystems;
        this.ext4 = new Ext4Image(runner);
    }

    public DataLayout layout() {
        return layout;
    }

    /** Sends box volumes to other hosts and receives them. */
    public VolumeTransfer volumes() {
        return new VolumeTransfer(layout, runner, filesystems, boxesMove);
    }

    /**
     * Keeps the bases box volumes move against (see {@link VolumeTransfer}), on a host whose boxes
     * may move to other hosts; a host alone does without them and their copy of each golden disk.
     */
    public void letBoxesMove() {
        boxesMove = true;
    }

    /** Sends templates to other hosts and receives them. */
    public TemplateTransfer transfers() {
        return new TemplateTransfer(this, runner, filesystems);
    }

    /** Clones template {@code template} into {@code vms/{vmId}.ext4}; 404 when the template is missing. */
    public Path copyRootfs(String template, String vmId) {
        Path source = templateImage(template);
        Path target = vmTarget(vmId);
        return writeImage(target, partial -> cloneFile(source, partial));
    }

    /** Clones another disk (a suspended VM's) into {@code target}, a new disk of this layout, byte for byte. */
    public Path cloneRootfs(Path image, Path target) {
        Path source = requireDisk(image);
        return writeImage(newDisk(target), partial -> cloneFile(source, partial));
    }

    /** Clones a VM's saved memory state to be another VM's, replacing nothing. */
    public void cloneMemoryState(Path source, Path target) {
        if (!holdsStates(source) || !holdsStates(target)) {
            throw new IllegalArgumentException("not a memory state of this data directory: " + source + ", " + target);
        }
        if (Files.exists(target)) {
            throw new ScaleboxException.Conflict("memory state " + target + " already exists");
        }
        writeImage(target, partial -> cloneFile(source, partial));
    }

    /**
     * A new VM's disk and saved memory, cloned from a template's memory snapshot (its disk, state
     * and, when the state holds only the devices, memory file under {@code templates/}) to
     * {@code disk}, {@code state} and {@code memory}, replacing nothing. The state comes last: a
     * state is never without its memory. On failure the disk is not left; a memory file may be,
     * for the caller's discarding of the state.
     */
    public void cloneSnapshot(Path snapshotDisk, Path snapshotState, Optional<Path> snapshotMemory, Path disk, Path state,
                              Path memory) {
        if (!layout.contains(layout.templates(), snapshotDisk) || !layout.contains(layout.templates(), snapshotState)
                || !snapshotMemory.stream().allMatch(m -> layout.contains(layout.templates(), m))
                || !holdsStates(state) || !holdsStates(memory)) {
            throw new IllegalArgumentException("not a template snapshot of this data directory: " + snapshotDisk);
        }
        if (Files.exists(state)) {
            throw new ScaleboxException.Conflict("memory state " + state + " already exists");
        }
        writeImage(newDisk(disk), partial -> cloneFile(snapshotDisk, partial));
        try {
            Files.createDirectories(state.getParent());
            if (snapshotMemory.isPresent()) {
                writeImage(memory, partial -> cloneFile(snapshotMemory.get(), partial));
            }
            writeImage(state, partial -> cloneFile(snapshotState, partial));
        } catch (IOException e) {
            deleteRootfs(disk);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            deleteRootfs(disk);
            throw e;
        }
    }

    /** Whether template {@code name}'s image has a file (or directory) at {@code path}. */
    public boolean templateHas(String name, String path) {
        return ext4.exists(templateImage(name), path);
    }

    /** Gives the disk's guest {@code key} as its only SSH host key; false for a guest with no {@code /etc/ssh}. */
    public boolean writeHostKey(Path image, SshHostKey key) {
        return ext4.writeHostKey(requireDisk(image), key);
    }

    /**
     * Replays the journal of a disk taken from a running guest (a memory snapshot's), so that it
     * can be written offline and booted.
     */
    public void recoverJournal(Path image) {
        ext4.repair(requireDisk(image));
    }

    /**
     * A VM's whole disk in one step: clone of the template, grown to {@code sizeGib}, with
     * {@code publicKey} as root's key. Renamed into place only when every step succeeded.
     */
    public Path createRootfs(String template, String vmId, int sizeGib, String publicKey) {
        return createRootfs(template, layout.vmImage(vmId), sizeGib, publicKey);
    }

    /** As above, into {@code target}: a new disk of this layout (a VM's, or a box's volume). */
    public Path createRootfs(String template, Path target, int sizeGib, String publicKey) {
        SshPublicKey key = SshPublicKey.parse(publicKey);
        Path source = templateImage(template);
        ImageTraits traits = templateTraits.computeIfAbsent(source, s -> ImageTraits.probe(s, ext4));
        if (!traits.isOf(source)) {
            traits = ImageTraits.probe(source, ext4);
            templateTraits.put(source, traits);
        }
        ImageTraits known = traits;
        return writeImage(newDisk(target), partial -> {
            cloneFile(source, partial);
            grow(partial, sizeGib, known.growsItself());
            writeKey(partial, known.keySlot(), key.toLine());
        });
    }

    /**
     * Grows a disk to {@code sizeGib}; smaller than the disk is a 400, equal is a no-op. An image
     * whose guest grows its own root filesystem at boot gets a longer file only; any other gets
     * resize2fs too.
     */
    public void resizeRootfs(Path image, int sizeGib) {
        Path disk = requireDisk(image);
        grow(disk, sizeGib, ext4.exists(disk, ImageTraits.GROWFS_UNIT));
    }

    /** Writes {@code publicKey} as root's only authorized key, without mounting the image. */
    public void injectSshKey(Path image, String publicKey) {
        SshPublicKey key = SshPublicKey.parse(publicKey);
        Path disk = requireDisk(image);
        writeKey(disk, ext4.keySlot(disk), key.toLine());
    }

    /** Leaves root with no authorized key (an empty key slot). */
    public void clearAuthorizedKeys(Path image) {
        ext4.writeAuthorizedKeys(requireDisk(image), null);
    }

    /** Gives a new template image its empty key slot; called on every image before it becomes a template. */
    public void prepareTemplateImage(Path image) {
        ext4.writeAuthorizedKeys(image, null);
    }

    private void grow(Path disk, int sizeGib, boolean guestGrowsFilesystem) {
        if (sizeGib <= 0) {
            throw new ScaleboxException.BadRequest("Disk size must be a positive number of GiB, not " + sizeGib);
        }
        long fileBytes;
        try {
            fileBytes = Files.size(disk);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long filesystem = filesystemBytes(disk);
        long current = Math.max(fileBytes, filesystem);
        long wanted = sizeGib * GIB;
        if (wanted < current) {
            throw new ScaleboxException.BadRequest("Disk size " + sizeGib + " GiB is smaller than the disk's "
                    + describeGib(current) + "; disks can only grow");
        }
        if (guestGrowsFilesystem) {
            if (wanted > fileBytes) {
                ext4.growFile(disk, wanted);
            }
        } else if (wanted > filesystem) {
            ext4.grow(disk, wanted);
        }
    }

    private void writeKey(Path disk, Optional<KeySlot.Location> slot, String line) {
        if (slot.isEmpty() || !KeySlot.fill(disk, slot.get(), line)) {
            ext4.writeAuthorizedKeys(disk, line);
        }
    }

    private Path vmTarget(String vmId) {
        return newDisk(layout.vmImage(vmId));
    }

    private Path newDisk(Path target) {
        Path p = requireInside(target);
        if (Files.exists(p)) {
            throw new ScaleboxException.Conflict("A disk " + p.getFileName() + " already exists");
        }
        return p;
    }

    private boolean holdsStates(Path state) {
        return layout.contains(layout.run(), state) || layout.contains(layout.volumes(), state);
    }

    /** Removes a VM or volume image; a missing one is not an error. */
    public void deleteRootfs(Path image) {
        try {
            Files.deleteIfExists(requireInside(image));
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot delete " + image.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes template {@code name} out of a VM's disk: clone, repair (the source may have been
     * running, so the copy is only crash-consistent), clear authorized keys, and drop the VM's
     * identity (SSH host keys, machine id), which no two VMs made from the template may share.
     * 409 when it exists.
     * {@code cloned} runs as soon as the clone is made, before the slower repair: a paused VM can
     * go on then.
     */
    public Path copyRootfsToTemplate(Path image, String name, Runnable cloned) {
        Path source = requireDisk(image);
        Path target = layout.templateImage(name);
        if (Files.exists(target)) {
            throw new ScaleboxException.Conflict("Template '" + name + "' already exists");
        }
        return writeImage(target, partial -> {
            try {
                cloneFile(source, partial);
            } finally {
                cloned.run();
            }
            ext4.repair(partial);
            ext4.writeAuthorizedKeys(partial, null);
            ext4.forgetIdentity(partial);
        });
    }

    /** Copies an ext4 image file from outside the data directory in as template {@code name}. */
    public Path importTemplate(Path file, String name) {
        Path target = layout.templateImage(name);
        if (!Files.isRegularFile(file)) {
            throw new ScaleboxException.BadRequest(file + " is not a regular file");
        }
        if (Ext4Image.readSuperblock(file).isEmpty()) {
            throw new ScaleboxException.BadRequest(file + " is not an ext4 image");
        }
        if (Files.exists(target)) {
            throw new ScaleboxException.Conflict("Template '" + name + "' already exists");
        }
        try {
            checkAvailableSpace((int) Math.ceilDiv(Files.size(file), GIB));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return writeImage(target, partial -> {
            cloneFile(file, partial);
            ext4.check(partial);
            ext4.writeAuthorizedKeys(partial, null);
        });
    }

    /**
     * Writes an image through {@code make} into a hidden partial file beside {@code target}: renamed
     * into place when {@code make} succeeds, removed when it fails.
     */
    public Path writeImage(Path target, ImageStep make) {
        Path partial = partialOf(target);
        try {
            Files.deleteIfExists(partial);
            make.apply(partial);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot write " + target.getFileName() + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(partial);
            } catch (IOException ignored) {
                // removePartials() clears it at the next start
            }
        }
    }

    /** A step that writes an image at the given path. */
    @FunctionalInterface
    public interface ImageStep {
        void apply(Path image) throws IOException;
    }

    /** Checks an image with e2fsck without changing it. */
    public void checkImage(Path image) {
        ext4.check(image);
    }

    public Path templateImage(String name) {
        Path image = layout.templateImage(name);
        if (!Files.isRegularFile(image)) {
            throw new ScaleboxException.NotFound("Template not found");
        }
        return image;
    }

    public void deleteTemplateImage(String name) {
        try {
            Files.deleteIfExists(layout.templateImage(name));
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot delete template " + name + ": " + e.getMessage(), e);
        }
    }

    /** The size of the ext4 filesystem in an image, from its superblock. */
    public long filesystemBytes(Path image) {
        return Ext4Image.readSuperblock(image)
                .orElseThrow(() -> new ScaleboxException.BadRequest(image.getFileName() + " is not an ext4 image"))
                .bytes();
    }

    /** The filesystem that holds the VM disks: its size and what is left. */
    /** The bytes of {@code disk} that are its own, shared with no template or clone; empty off btrfs. */
    public java.util.OptionalLong ownBytes(Path disk) {
        return filesystems.exclusiveBytes(disk);
    }

    public Filesystems.Space space() {
        return filesystems.space(layout.vms());
    }

    /** Whether the VMs' directory clones by reflink (btrfs, XFS), so that a create copies nothing. */
    public boolean reflinks() {
        return filesystems.supportsReflink(layout.vms());
    }

    /** Whole GiB free for new disks in the VM directory's filesystem. */
    public long getAvailableSpaceGib() {
        return filesystems.space(layout.vms()).availableBytes() / GIB;
    }

    /** 507 unless {@code requiredGib} plus the buffer fits; call it before writing anything. */
    public void checkAvailableSpace(long requiredGib) {
        long available = getAvailableSpaceGib();
        long need = requiredGib + SPACE_BUFFER_GIB;
        if (available < need) {
            throw new ScaleboxException.InsufficientStorage(
                    "Insufficient storage: " + available + "GB available, need " + need + "GB");
        }
    }

    /** Removes the partial files a crash left in the image directories; they are ours by name. */
    public List<Path> removePartials() {
        List<Path> removed = new java.util.ArrayList<>();
        for (Path dir : List.of(layout.templates(), layout.vms(), layout.volumes())) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (var files = Files.list(dir)) {
                for (Path p : files.filter(f -> f.getFileName().toString().startsWith(".")
                        && f.getFileName().toString().endsWith(PARTIAL)).toList()) {
                    Files.deleteIfExists(p);
                    removed.add(p);
                    log.warn("Removed {} left by an interrupted operation", p);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return removed;
    }

    /** Reflink where the filesystem can, else a sparse copy and one warning that says what it costs. */
    private void cloneFile(Path source, Path target) {
        Path dir = target.getParent();
        boolean reflinks = filesystems.supportsReflink(dir);
        if (reflinks && filesystems.sameFilesystem(source, dir)) {
            // On btrfs, Files.copy's copy_file_range shares the extents like cp --reflink, in a
            // fraction of a millisecond and with no process to start.
            try {
                Files.copy(source, target);
            } catch (IOException e) {
                throw new ScaleboxException.HostFailure("cannot clone " + source.getFileName() + ": " + e.getMessage(), e);
            }
            return;
        }
        if (reflinks) {
            log.info("{} is on another filesystem than {}: copied in full (sparse)", source, dir);
        } else if (warnedNoReflink.compareAndSet(false, true)) {
            log.warn("{} is on {}, which cannot clone by reflink: disks are now copied in full (sparse), so creating"
                            + " a VM takes time in proportion to its template's size. Run 'scalebox storage init' to put"
                            + " the data directory on a btrfs pool.", dir, filesystems.space(dir).type());
        }
        runner.check(List.of("cp", "--sparse=always", source.toString(), target.toString()), Duration.ofMinutes(30));
    }

    private static Path partialOf(Path target) {
        return target.resolveSibling("." + target.getFileName() + PARTIAL);
    }

    private Path requireDisk(Path image) {
        Path p = requireInside(image);
        if (!Files.isRegularFile(p)) {
            throw new ScaleboxException.NotFound("Disk image " + p.getFileName() + " not found");
        }
        return p;
    }

    private Path requireInside(Path image) {
        Path p = image.toAbsolutePath().normalize();
        if (!layout.contains(layout.vms(), p) && !layout.contains(layout.volumes(), p)) {
            throw new IllegalArgumentException("not a VM or volume image of this data directory: " + image);
        }
        return p;
    }

    private static String describeGib(long bytes) {
        return bytes % GIB == 0 ? bytes / GIB + " GiB" : String.format("%.2f GiB", bytes / (double) GIB);
    }
}
