package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cli.Main;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code storage init/grow/status} on temporary images, mount points and fstab files. */
class StoragePoolTest {

    private static final long GIB = 1L << 30;

    private final ProgramRunner runner = new ProgramRunner();
    private final Filesystems filesystems = new Filesystems(runner);
    private final StoragePool pool = new StoragePool(runner, filesystems);
    private Path dir;
    private Path image;
    private Path mount;
    private Path fstab;

    @BeforeEach
    void paths() throws IOException {
        dir = LoopFs.tempDir();
        image = dir.resolve("pool.img");
        mount = dir.resolve("data");
        fstab = dir.resolve("fstab");
        Files.writeString(fstab, "# test fstab\nUUID=1234 / ext4 defaults 0 1");
    }

    @AfterEach
    void clean() {
        LoopFs.unmountUnder(dir);
        LoopFs.deleteTree(dir);
    }

    @Test
    void initFromTheCommandLineMakesAMountedPoolAndIsIdempotent() throws IOException {
        int exit = Main.run("storage", "init", "--image", image.toString(), "--mount", mount.toString(),
                "--fstab", fstab.toString(), "--size", "3G");

        assertThat(exit).isZero();
        assertThat(image).hasSize(3 * GIB);
        assertThat(filesystems.mountAt(mount)).hasValueSatisfying(m -> assertThat(m.type()).isEqualTo("btrfs"));
        for (String sub : new String[] {"templates", "vms", "kernel", "volumes", "run"}) {
            assertThat(mount.resolve(sub)).isDirectory();
        }
        String expectedLine = image + " " + mount + " btrfs loop,nofail 0 0";
        assertThat(Files.readAllLines(fstab)).containsExactly("# test fstab", "UUID=1234 / ext4 defaults 0 1", expectedLine);
        assertThat(pool.status(mount).reflink()).isTrue();

        StoragePool.InitResult again = pool.init(location(), OptionalLong.of(5 * GIB));

        assertThat(again.changed()).isFalse();
        assertThat(again.message()).contains("already mounted");
        assertThat(image).hasSize(3 * GIB);
        assertThat(Files.readAllLines(fstab)).containsOnlyOnce(expectedLine);
    }

    @Test
    void growExtendsTheMountedPoolOnline() throws IOException {
        pool.init(location(), OptionalLong.of(3 * GIB));
        Files.writeString(mount.resolve("vms/keep.txt"), "data");
        long before = pool.status(mount).totalBytes();

        pool.grow(location(), OptionalLong.of(5 * GIB));

        assertThat(image).hasSize(5 * GIB);
        assertThat(pool.status(mount).totalBytes()).isGreaterThan(before + GIB);
        assertThat(mount.resolve("vms/keep.txt")).hasContent("data");
        assertThatThrownBy(() -> pool.grow(location(), OptionalLong.of(4 * GIB)))
                .isInstanceOf(ScaleboxException.BadRequest.class).hasMessageContaining("can only grow");
    }

    @Test
    void anExistingImageIsMountedAgainNeverFormatted() throws IOException {
        pool.init(location(), OptionalLong.of(2 * GIB));
        Files.writeString(mount.resolve("vms/precious.txt"), "user data");
        Sh.run("umount", mount.toString());  // as after a reboot without the fstab entry

        StoragePool.InitResult result = pool.init(location(), OptionalLong.empty());

        assertThat(result.message()).startsWith("Mounted existing");
        assertThat(mount.resolve("vms/precious.txt")).hasContent("user data");
        assertThat(Files.readString(fstab).lines().filter(l -> l.startsWith(image.toString()))).hasSize(1);
    }

    @Test
    void automaticSizeIsEightyPercentOfTheFreeSpace() throws IOException {
        try (LoopFs host = LoopFs.ext4(40 * GIB)) {
            Path img = host.root().resolve("scalebox.img");
            long free = filesystems.space(host.root()).availableBytes();

            pool.init(new StoragePool.Location(img, mount, fstab), OptionalLong.empty());

            assertThat(Files.size(img)).isEqualTo(free * 8 / 10);
            LoopFs.unmountUnder(mount);
        }
    }

    @Test
    void tooLittleFreeSpaceFailsWithNothingCreated() throws IOException {
        try (LoopFs host = LoopFs.ext4(10 * GIB)) {
            Path img = host.root().resolve("scalebox.img");
            String fstabBefore = Files.readString(fstab);

            assertThatThrownBy(() -> pool.init(new StoragePool.Location(img, mount, fstab), OptionalLong.empty()))
                    .isInstanceOf(ScaleboxException.InsufficientStorage.class)
                    .hasMessageMatching("Insufficient disk space\\. Need at least 25GB free, found [89]GB");

            assertThat(img).doesNotExist();
            assertThat(mount).doesNotExist();
            assertThat(fstab).hasContent(fstabBefore);
        }
    }

    @Test
    void sizeIsCappedAtFourTebibytes() {
        assertThat(StoragePool.autoSize(10_000 * GIB)).isEqualTo(4096 * GIB);
        assertThat(StoragePool.autoSize(100 * GIB)).isEqualTo(80 * GIB);
    }

    @Test
    void aNonEmptyDirectoryIsNeverMountedOver() throws IOException {
        Files.createDirectories(mount);
        Files.writeString(mount.resolve("existing.txt"), "mine");

        assertThatThrownBy(() -> pool.init(location(), OptionalLong.of(2 * GIB)))
                .isInstanceOf(ScaleboxException.Conflict.class).hasMessageContaining("is not empty");

        assertThat(image).doesNotExist();
        assertThat(mount.resolve("existing.txt")).hasContent("mine");
    }

    private StoragePool.Location location() {
        return new StoragePool.Location(image, mount, fstab);
    }
}
