package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The storage context on a real btrfs pool on a loop device. */
class StorageServiceTest {

    private static final long GIB = 1L << 30;
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@laptop";

    private static LoopFs pool;
    private static StorageService storage;
    private static DataLayout layout;

    @BeforeAll
    static void pool() {
        pool = LoopFs.btrfs(8 * GIB);
        layout = new DataLayout(pool.root());
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        storage = new StorageService(layout, runner, new Filesystems(runner));
        TestImages.ext4(layout.templateImage("base"), 1, 200);
    }

    @AfterAll
    static void removePool() {
        pool.close();
    }

    @Test
    void cloneSharesEveryBlockWithTheTemplate() {
        Path disk = storage.copyRootfs("base", "vm-shared");

        assertThat(disk).isEqualTo(layout.vmImage("vm-shared"));
        assertThat(TestImages.sameContent(disk, layout.templateImage("base"))).isTrue();
        // btrfs counts, for the clone, no bytes that are not shared with another file.
        String du = Sh.run("btrfs", "filesystem", "du", "--raw", disk.toString());
        long exclusive = Long.parseLong(du.lines().skip(1).findFirst().orElseThrow().trim().split("\\s+")[1]);
        assertThat(exclusive).isZero();
        storage.deleteRootfs(disk);
    }

    @Test
    void resizeGrowsTheImageAndItsFilesystem() {
        Path disk = storage.copyRootfs("base", "vm-grow");

        storage.resizeRootfs(disk, 3);

        assertThat(disk.toFile().length()).isEqualTo(3 * GIB);
        long blocks = Long.parseLong(TestImages.superblockField(disk, "Block count"));
        long blockSize = Long.parseLong(TestImages.superblockField(disk, "Block size"));
        assertThat(blocks * blockSize).isEqualTo(3 * GIB);
        Sh.run("e2fsck", "-fn", disk.toString());
        storage.deleteRootfs(disk);
    }

    @Test
    void shrinkingIsRefusedAndChangesNothing() throws IOException {
        Path disk = storage.copyRootfs("base", "vm-shrink");
        storage.resizeRootfs(disk, 2);
        String before = TestImages.writeStamp(disk);

        assertThatThrownBy(() -> storage.resizeRootfs(disk, 1))
                .isInstanceOf(ScaleboxException.BadRequest.class)
                .hasMessageContaining("smaller than the disk's 2 GiB");
        assertThat(TestImages.writeStamp(disk)).isEqualTo(before);
        storage.deleteRootfs(disk);
    }

    @Test
    void injectedKeyIsRootsOnlyKeyWithStrictModes() {
        Path disk = storage.copyRootfs("base", "vm-key");

        storage.injectSshKey(disk, KEY);
        storage.injectSshKey(disk, KEY);  // again: replaces, does not append or fail

        assertThat(keysIn(disk)).containsExactly(KEY);
        String file = TestImages.stat(disk, "/root/.ssh/authorized_keys");
        assertThat(file).contains("Type: regular").contains("Mode:  0600").containsPattern("User:\\s+0\\s+Group:\\s+0");
        String dir = TestImages.stat(disk, "/root/.ssh");
        assertThat(dir).contains("Type: directory").contains("Mode:  0700").containsPattern("User:\\s+0\\s+Group:\\s+0");
        Sh.run("e2fsck", "-fn", disk.toString());

        storage.clearAuthorizedKeys(disk);
        assertThat(keysIn(disk)).isEmpty();
        storage.deleteRootfs(disk);
    }

    @Test
    void snapshotIntoTemplateClearsKeysAndRefusesAnExistingName() {
        Path disk = storage.copyRootfs("base", "vm-snap");
        storage.injectSshKey(disk, KEY);

        Path template = storage.copyRootfsToTemplate(disk, "snap-1", () -> { });

        assertThat(template).isEqualTo(layout.templateImage("snap-1"));
        assertThat(keysIn(template)).isEmpty();
        assertThatThrownBy(() -> storage.copyRootfsToTemplate(disk, "snap-1", () -> { }))
                .isInstanceOf(ScaleboxException.Conflict.class);
        storage.deleteRootfs(disk);
        storage.deleteTemplateImage("snap-1");
    }

    @Test
    void createWritesTheKeyInPlaceIntoTheTemplatesSlot() {
        Path template = layout.templateImage("slotted");
        TestImages.ext4(template, 1, 50);
        storage.prepareTemplateImage(template);
        String slotBlock = blocksOf(template);

        Path disk = storage.createRootfs("slotted", "vm-slot", 2, KEY);

        assertThat(keysIn(disk)).containsExactly(KEY);
        assertThat(blocksOf(disk)).isEqualTo(slotBlock);  // same block: written in place, no debugfs
        assertThat(keysIn(template)).isEmpty();
        assertThat(disk.toFile().length()).isEqualTo(2 * GIB);
        assertThat(Long.parseLong(TestImages.superblockField(disk, "Block count"))
                * Long.parseLong(TestImages.superblockField(disk, "Block size"))).isEqualTo(2 * GIB);
        Sh.run("e2fsck", "-fn", disk.toString());
        storage.deleteRootfs(disk);
        storage.deleteTemplateImage("slotted");
    }

    @Test
    void createFromATemplateWithoutASlotWritesTheKeyWithDebugfs() {
        Path disk = storage.createRootfs("base", "vm-noslot", 1, KEY);

        assertThat(keysIn(disk)).containsExactly(KEY);
        Sh.run("e2fsck", "-fn", disk.toString());
        storage.deleteRootfs(disk);
    }

    @Test
    void aGuestThatGrowsItsOwnFilesystemGetsALongerFileOnly() {
        Path template = layout.templateImage("growing");
        TestImages.ext4(template, 1, 50);
        Sh.run("debugfs", "-w", "-R", "mkdir /etc/systemd", template.toString());
        Sh.run("debugfs", "-w", "-R", "mkdir /etc/systemd/system", template.toString());
        Sh.run("debugfs", "-w", "-R", "write /dev/null /etc/systemd/system/scalebox-growfs.service", template.toString());

        Path disk = storage.createRootfs("growing", "vm-growing", 3, KEY);

        assertThat(disk.toFile().length()).isEqualTo(3 * GIB);
        assertThat(Long.parseLong(TestImages.superblockField(disk, "Block count"))
                * Long.parseLong(TestImages.superblockField(disk, "Block size"))).isEqualTo(GIB);
        assertThatThrownBy(() -> storage.resizeRootfs(disk, 2)).isInstanceOf(ScaleboxException.BadRequest.class)
                .hasMessageContaining("smaller than the disk's 3 GiB");
        storage.deleteRootfs(disk);
        storage.deleteTemplateImage("growing");
    }

    @Test
    void missingTemplateIs404AndWritesNothing() throws IOException {
        List<Path> before = listVms();
        assertThatThrownBy(() -> storage.copyRootfs("nope", "vm-x"))
                .isInstanceOf(ScaleboxException.NotFound.class).hasMessage("Template not found");
        assertThat(listVms()).isEqualTo(before);
    }

    @Test
    void hostileNamesAndKeysAreRefusedWithNothingWritten() throws IOException {
        List<Path> before = listVms();
        for (String name : List.of("../etc/passwd", "..", "a/b", "A", "", "-x", "x..y", "a".repeat(64), "vm\n1")) {
            assertThatThrownBy(() -> storage.copyRootfs("base", name)).isInstanceOf(ScaleboxException.BadRequest.class);
            assertThatThrownBy(() -> storage.copyRootfs(name, "vm-ok")).isInstanceOf(ScaleboxException.BadRequest.class);
        }
        assertThat(listVms()).isEqualTo(before);

        Path disk = storage.copyRootfs("base", "vm-hostile-key");
        String image = TestImages.writeStamp(disk);
        for (String key : List.of("command=\"rm -rf /\" " + KEY, KEY + "\n" + KEY, "ssh-ed25519 AAAA\u0001", "not a key")) {
            assertThatThrownBy(() -> storage.injectSshKey(disk, key)).isInstanceOf(ScaleboxException.BadRequest.class);
        }
        assertThat(TestImages.writeStamp(disk)).isEqualTo(image);
        assertThatThrownBy(() -> storage.deleteRootfs(Path.of("/etc/passwd"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.resizeRootfs(layout.vms().resolve("../templates/base.ext4"), 4))
                .isInstanceOf(IllegalArgumentException.class);
        storage.deleteRootfs(disk);
    }

    @Test
    void deleteIsIdempotent() {
        Path disk = storage.copyRootfs("base", "vm-del");
        storage.deleteRootfs(disk);
        storage.deleteRootfs(disk);
        assertThat(disk).doesNotExist();
    }

    @Test
    void shortSpaceIs507BeforeAnythingIsWritten() throws IOException {
        long available = storage.getAvailableSpaceGib();
        assertThat(available).isBetween(4L, 8L);
        List<Path> before = listVms();

        assertThatThrownBy(() -> storage.checkAvailableSpace(available))
                .isInstanceOf(ScaleboxException.InsufficientStorage.class)
                .hasMessage("Insufficient storage: " + available + "GB available, need " + (available + 2) + "GB");
        storage.checkAvailableSpace(available - 2);
        assertThat(listVms()).isEqualTo(before);
    }

    @Test
    void importRefusesWhatIsNotExt4() throws IOException {
        Path junk = Files.createTempFile("junk", ".img");
        Files.write(junk, new byte[1 << 20]);
        assertThatThrownBy(() -> storage.importTemplate(junk, "junk"))
                .isInstanceOf(ScaleboxException.BadRequest.class).hasMessageContaining("is not an ext4 image");
        assertThat(layout.templateImage("junk")).doesNotExist();
        Files.delete(junk);
    }

    /** The key lines of root's authorized_keys: neither blank nor comments. */
    private static List<String> keysIn(Path image) {
        return TestImages.cat(image, "/root/.ssh/authorized_keys").lines()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
    }

    private static String blocksOf(Path image) {
        return Sh.run("debugfs", "-R", "blocks /root/.ssh/authorized_keys", image.toString()).trim();
    }

    private static List<Path> listVms() throws IOException {
        try (Stream<Path> files = Files.list(layout.vms())) {
            return files.sorted().toList();
        }
    }
}
