package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where everything lives under the data directory. Every path that holds a name is built here from
 * a validated name, so no input can point outside the data directory.
 */
public record DataLayout(Path root) {

    public static final String IMAGE_SUFFIX = ".ext4";

    public DataLayout {
        root = root.toAbsolutePath().normalize();
    }

    public Path templates() { return root.resolve("templates"); }
    public Path vms() { return root.resolve("vms"); }
    public Path kernel() { return root.resolve("kernel"); }
    public Path volumes() { return root.resolve("volumes"); }
    public Path run() { return root.resolve("run"); }
    public Path database() { return root.resolve("scalebox.db"); }
    public Path apiToken() { return root.resolve("api-token"); }
    /** For short-lived files of the host's own, such as a key pair being made; never lent to a guest's QEMU. */
    public Path scratch() { return root.resolve("tmp"); }

    public Path templateImage(String name) {
        return inside(templates(), Names.require("template name", name) + IMAGE_SUFFIX);
    }

    /**
     * Where template {@code name}'s memory snapshots live, one directory per VM shape
     * ({@code VCPUSxMEMMIB}) holding a disk and the memory saved with it; they go with the template.
     */
    public Path templateSnapshots(String name) {
        return inside(templates(), Names.require("template name", name) + ".snapshots");
    }

    public Path templateSnapshot(String name, int vcpus, int memMib) {
        return templateSnapshots(name).resolve(vcpus + "x" + memMib);
    }

    /**
     * What a VM made from a memory snapshot is given once it resumes (root's authorized key):
     * beside its disk, where its QEMU cannot write, until its guest has it.
     */
    public Path personalization(String vmId, boolean box) {
        return (box ? volumes() : vms()).resolve(Names.require("VM id", vmId) + ".personalize");
    }

    public Path vmImage(String vmId) {
        return inside(vms(), Names.require("VM id", vmId) + IMAGE_SUFFIX);
    }

    /** A box's disk: a volume, beside the others, so the volumes can have a dataset of their own. */
    public Path volumeImage(String vmId) {
        return inside(volumes(), Names.require("VM id", vmId) + IMAGE_SUFFIX);
    }

    /**
     * Where a suspended VM's memory waits: beside the volume for a box, whose memory is part of
     * its lasting state, else in the VM's run directory.
     */
    public Path memoryState(String vmId, boolean box) {
        return box ? inside(volumes(), Names.require("VM id", vmId) + ".state") : runDir(vmId).resolve("memory.state");
    }

    /**
     * The guest memory saved with a VM's state when the state holds only its devices (a VM made
     * from a template's memory snapshot, until its first resume): beside the state.
     */
    public Path memoryFile(String vmId, boolean box) {
        return box ? inside(volumes(), Names.require("VM id", vmId) + ".ram") : runDir(vmId).resolve("memory.ram");
    }

    /** The disk of VM {@code vmId}: in {@code volumes/} for a box, else in {@code vms/}. */
    public Path disk(String vmId, boolean box) {
        return box ? volumeImage(vmId) : vmImage(vmId);
    }

    public Path runDir(String vmId) {
        return inside(run(), Names.require("VM id", vmId));
    }

    /** Where the files a QEMU may be lent while it runs are: disks and run directories. */
    public List<Path> lentToQemu() {
        return List.of(vms(), volumes(), run());
    }

    /** The directories the service needs; made when missing. */
    public List<Path> directories() {
        return List.of(templates(), vms(), kernel(), volumes(), run());
    }

    public void createDirectories() {
        try {
            for (Path dir : directories()) {
                if (Files.isSymbolicLink(dir) && !Files.exists(dir)) {
                    throw new ScaleboxException.HostFailure(dir + " links to " + Files.readSymbolicLink(dir)
                            + ", which is missing: is its pool mounted? 'scalebox storage apply FILE' attaches and mounts"
                            + " the pools of the storage file");
                }
            }
            for (Path dir : directories()) {
                Files.createDirectories(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory layout under " + root, e);
        }
    }

    /** Whether {@code path}, once normalized, lies under {@code dir} of this layout. */
    public boolean contains(Path dir, Path path) {
        Path p = path.toAbsolutePath().normalize();
        return p.startsWith(dir) && !p.equals(dir);
    }

    private static Path inside(Path dir, String fileName) {
        Path p = dir.resolve(fileName).normalize();
        if (!p.getParent().equals(dir)) {
            throw new IllegalArgumentException("path escapes " + dir + ": " + fileName);
        }
        return p;
    }
}
