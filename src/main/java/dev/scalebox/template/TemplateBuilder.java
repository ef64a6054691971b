package dev.scalebox.template;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * Builds a template from Debian's packages: mmdebstrap into a directory under {@code run/}, the
 * kernel and initrd copied to {@code kernel/}, then {@code mke2fs -d} turns the directory into an
 * ext4 image without mounting anything, and e2fsck checks it.
 *
 * <p>Hazard: while mmdebstrap runs, the build directory holds bind mounts of the host's
 * {@code /dev}, {@code /proc} and {@code /sys}. If mmdebstrap dies they may stay, and a recursive
 * delete would then reach into the host. The cleanup unmounts whatever is under the build
 * directory first, and refuses to delete while anything is still mounted there.
 */
final class TemplateBuilder {

    private static final Duration BOOTSTRAP_TIMEOUT = Duration.ofMinutes(20);
    private static final Duration IMAGE_TIMEOUT = Duration.ofMinutes(10);
    private static final int STEPS = 4;
    private static final Logger log = LoggerFactory.getLogger(TemplateBuilder.class);

    private final StorageService storage;
    private final ProgramRunner runner;
    private final Filesystems filesystems;

    TemplateBuilder(StorageService storage, ProgramRunner runner, Filesystems filesystems) {
        this.storage = storage;
        this.runner = runner;
        this.filesystems = filesystems;
    }

    /** Builds template {@code name} and returns the size of its image in bytes. */
    long build(String name, BuildOptions options, BuildProgress progress) {
        DataLayout layout = storage.layout();
        Path target = layout.templateImage(name);
        Recipe recipe = Recipe.debianBase();
        // The image, plus about as much again for the unpacked tree it is made from.
        storage.checkAvailableSpace(options.sizeGib() + 2L);
        Path work = layout.run().resolve("build-" + name + "-" + UUID.randomUUID().toString().substring(0, 8));
        try {
            Path rootfs = work.resolve("rootfs");
            Path hooks = recipe.extractHooks(work.resolve("hooks"));
            Files.createDirectories(rootfs);

            progress.step(1, STEPS, "Bootstrapping Debian " + options.suite() + " with mmdebstrap");
            runner.check(mmdebstrap(recipe, options, hooks, rootfs), BOOTSTRAP_TIMEOUT, null, progress::output);

            progress.step(2, STEPS, "Copying the kernel to " + layout.kernel());
            copyKernel(recipe, rootfs.resolve("boot"), layout.kernel());

            progress.step(3, STEPS, "Making the " + options.sizeGib() + " GiB ext4 image");
            storage.writeImage(target, partial -> {
                runner.check(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-L", "rootfs", "-d", rootfs.toString(),
                        partial.toString(), options.sizeGib() + "G"), IMAGE_TIMEOUT, null, progress::output);
                storage.prepareTemplateImage(partial);
                progress.step(4, STEPS, "Checking the image with e2fsck");
                storage.checkImage(partial);
            });
            return Files.size(target);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("template build failed: " + e.getMessage(), e);
        } finally {
            removeWorkDir(work);
        }
    }

    private static List<String> mmdebstrap(Recipe recipe, BuildOptions options, Path hooks, Path rootfs) {
        List<String> argv = new ArrayList<>(List.of("mmdebstrap", "--mode=root", "--variant=minbase",
                "--include=" + String.join(",", recipe.packages()),
                "--essential-hook=" + hooks.resolve(Recipe.ESSENTIAL_HOOK),
                "--customize-hook=" + hooks.resolve(Recipe.CUSTOMIZE_HOOK)));
        for (String opt : recipe.dpkgOptions()) {
            argv.add("--dpkgopt=" + opt);
        }
        argv.add(options.suite());
        argv.add(rootfs.toString());
        options.mirror().ifPresent(argv::add);
        return argv;
    }

    private static void copyKernel(Recipe recipe, Path boot, Path kernelDir) throws IOException {
        Files.createDirectories(kernelDir);
        install(single(boot, recipe.kernelGlob()), kernelDir.resolve("vmlinuz"));
        if (recipe.needsInitrd()) {
            install(single(boot, recipe.initrdGlob()), kernelDir.resolve("initrd.img"));
        } else {
            Files.deleteIfExists(kernelDir.resolve("initrd.img"));
        }
        Path cmdline = kernelDir.resolve(".cmdline.partial");
        Files.writeString(cmdline, recipe.cmdline() + "\n");
        Files.move(cmdline, kernelDir.resolve("cmdline"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Copies beside the target, then renames, so a running VM never reads a half-written kernel. */
    private static void install(Path source, Path target) throws IOException {
        Path partial = target.resolveSibling("." + target.getFileName() + ".partial");
        Files.copy(source, partial, StandardCopyOption.REPLACE_EXISTING);
        // QEMU reads the kernel as a user of its own (some distributions keep /boot's kernel 0600).
        Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rw-r--r--"));
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static Path single(Path dir, String glob) throws IOException {
        List<Path> matches = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
            files.forEach(matches::add);
        }
        if (matches.size() != 1) {
            throw new ScaleboxException.HostFailure("expected one " + glob + " in the built system's /boot, found "
                    + matches.size());
        }
        return matches.getFirst();
    }

    /** Removes build directories a crashed build left in {@code run/}. */
    void removeLeftovers() {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(storage.layout().run(), "build-*")) {
            for (Path dir : dirs) {
                log.warn("Removing {} left by an interrupted template build", dir);
                removeWorkDir(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void removeWorkDir(Path work) {
        try {
            deleteTree(work);
        } catch (RuntimeException e) {
            log.error("Could not remove the build directory {}: {}", work, e.getMessage());
        }
    }

    private void deleteTree(Path work) {
        if (!Files.exists(work)) {
            return;
        }
        List<String> mounted = filesystems.mounts().stream()
                .map(Filesystems.Mount::target)
                .filter(t -> Path.of(t).startsWith(work))
                .sorted(Comparator.reverseOrder())
                .toList();
        for (String target : mounted) {
            runner.run(List.of("umount", "--lazy", target), Duration.ofSeconds(30));
        }
        if (filesystems.mounts().stream().anyMatch(m -> Path.of(m.target()).startsWith(work))) {
            throw new ScaleboxException.HostFailure("left " + work + " in place: something is still mounted under it");
        }
        try {
            Files.walkFileTree(work, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the build directory " + work, e);
        }
    }
}
