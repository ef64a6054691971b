package dev.scalebox.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Small real ext4 images for tests, made with {@code mke2fs -d} like real templates. */
public final class TestImages {

    private TestImages() {
    }

    /**
     * Makes an ext4 image of {@code sizeGib} at {@code image} holding a root home (mode 700) and
     * {@code dataMib} MiB of non-zero data, so a full copy would cost real space and time.
     */
    public static Path ext4(Path image, int sizeGib, int dataMib) {
        Path tree = LoopFs.tempDir();
        try {
            Path root = Files.createDirectories(tree.resolve("root"));
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
            Files.createDirectories(tree.resolve("etc"));
            Files.writeString(tree.resolve("etc/hostname"), "testbox\n");
            if (dataMib > 0) {
                byte[] chunk = new byte[1 << 20];
                java.util.Arrays.fill(chunk, (byte) 0x5a);
                try (var out = Files.newOutputStream(tree.resolve("data.bin"))) {
                    for (int i = 0; i < dataMib; i++) {
                        out.write(chunk);
                    }
                }
            }
            Files.createDirectories(image.getParent());
            Sh.run("mke2fs", "-q", "-F", "-t", "ext4", "-d", tree.toString(), image.toString(), sizeGib + "G");
            return image;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            LoopFs.deleteTree(tree);
        }
    }

    /** Whether two files hold the same bytes (cmp streams; images are too large for memory). */
    public static boolean sameContent(Path a, Path b) {
        return Sh.tryRun("cmp", "-s", a.toString(), b.toString()).succeeded();
    }

    /** Size and modification time to the nanosecond: changes with any write to the file. */
    public static String writeStamp(Path file) {
        try {
            return Files.size(file) + "@" + Files.getLastModifiedTime(file).toInstant();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The value of one field of {@code dumpe2fs -h}, e.g. "Block count". */
    public static String superblockField(Path image, String field) {
        return Sh.run("dumpe2fs", "-h", image.toString()).lines()
                .filter(l -> l.startsWith(field + ":"))
                .map(l -> l.substring(field.length() + 1).strip())
                .findFirst().orElseThrow();
    }

    /** {@code debugfs stat} of a path in the image: mode, uid and size lines. */
    public static String stat(Path image, String path) {
        return Sh.run("debugfs", "-R", "stat " + path, image.toString());
    }

    public static String cat(Path image, String path) {
        return Sh.run("debugfs", "-R", "cat " + path, image.toString());
    }
}
