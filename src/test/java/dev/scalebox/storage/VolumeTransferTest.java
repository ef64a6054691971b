package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.TestImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A box's volume between two hosts' btrfs pools: the base (the golden disk) goes once, whole;
 * then a box sends only its own blocks and its memory, and lands as the same disk and memory; a
 * stream cut short leaves nothing on the receiving side; a host that is not on btrfs says so.
 */
class VolumeTransferTest {

    private static final String GOLDEN = "vm-0000000000a0";
    private static LoopFs here;
    private static LoopFs there;

    @BeforeAll
    static void pools() {
        here = LoopFs.btrfs(4L << 30);
        there = LoopFs.btrfs(4L << 30);
        transfer(here);
        TestImages.ext4(layout(here).volumeImage(GOLDEN), 1, 100);
    }

    @AfterAll
    static void removePools() {
        for (LoopFs fs : new LoopFs[] {here, there}) {
            if (fs != null) {
                fs.close();
            }
        }
    }

    @Test
    void aBoxSendsOnlyItsOwnBlocksOnceTheOtherHostHoldsTheBase() throws Exception {
        VolumeTransfer from = transfer(here);
        VolumeTransfer to = transfer(there);
        String box = "vm-0000000000b1";
        makeBox(box, 8);

        assertThat(from.origin(box)).hasValue(GOLDEN);
        Optional<String> base = from.baseFor(box);
        assertThat(base).hasValue(GOLDEN);
        assertThat(to.hasBase(GOLDEN)).isFalse();
        ByteArrayOutputStream baseStream = new ByteArrayOutputStream();
        from.sendBase(GOLDEN, baseStream);
        to.receiveBase(GOLDEN, new ByteArrayInputStream(baseStream.toByteArray()));
        assertThat(to.hasBase(GOLDEN)).isTrue();

        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        from.send(box, base, stream);
        to.receive(box, base, new ByteArrayInputStream(stream.toByteArray()));

        long memory = Files.size(layout(here).memoryState(box, true));
        assertThat((long) stream.size()).as("8 MiB of the box's own and its memory, not the golden disk's 100 MiB")
                .isBetween(memory + (8L << 20), memory + (24L << 20));
        assertThat((long) baseStream.size()).as("the base carries the golden disk's data").isGreaterThan(100L << 20);
        assertThat(TestImages.sameContent(layout(there).volumeImage(box), layout(here).volumeImage(box))).isTrue();
        assertThat(TestImages.sameContent(layout(there).memoryState(box, true), layout(here).memoryState(box, true))).isTrue();
        assertThat(to.origin(box)).as("its next move goes against the same base").hasValue(GOLDEN);
        assertThat(hidden(here)).isEmpty();
        assertThat(hidden(there)).isEmpty();

        // Back again, against the other host's copy of the base.
        byte[] before = Files.readAllBytes(layout(here).memoryState(box, true));
        Files.delete(layout(here).volumeImage(box));
        Files.delete(layout(here).memoryState(box, true));
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        to.send(box, to.baseFor(box), back);
        from.receive(box, Optional.of(GOLDEN), new ByteArrayInputStream(back.toByteArray()));
        assertThat((long) back.size()).isLessThan(memory + (24L << 20));
        assertThat(Files.readAllBytes(layout(here).memoryState(box, true))).isEqualTo(before);
        assertThat(TestImages.sameContent(layout(here).volumeImage(box), layout(there).volumeImage(box))).isTrue();

        Files.delete(layout(there).volumeImage(box));
        Files.delete(layout(there).memoryState(box, true));
        to.pruneBases();
        assertThat(to.hasBase(GOLDEN)).as("a base no volume comes from is dropped").isFalse();
    }

    @Test
    void aStreamCutShortLeavesNothingAndAVolumeIsReplacedOnlyAsAStaleCopy() throws Exception {
        VolumeTransfer from = transfer(here);
        VolumeTransfer to = transfer(there);
        String box = "vm-0000000000b2";
        makeBox(box, 2);
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        from.send(box, Optional.empty(), stream);
        byte[] half = Arrays.copyOf(stream.toByteArray(), stream.size() / 2);

        assertThatThrownBy(() -> to.receive(box, Optional.empty(), new ByteArrayInputStream(half)))
                .isInstanceOf(ScaleboxException.HostFailure.class);
        assertThat(layout(there).volumeImage(box)).doesNotExist();
        assertThat(layout(there).memoryState(box, true)).doesNotExist();
        assertThat(hidden(there)).isEmpty();

        to.receive(box, Optional.empty(), new ByteArrayInputStream(stream.toByteArray()));
        assertThat(TestImages.sameContent(layout(there).volumeImage(box), layout(here).volumeImage(box))).isTrue();
        assertThatThrownBy(() -> to.receive(box, Optional.empty(), new ByteArrayInputStream(stream.toByteArray())))
                .isInstanceOf(ScaleboxException.Conflict.class).hasMessageContaining("has a volume of " + box + " already");

        to.dropStaleCopy(box);
        assertThat(layout(there).volumeImage(box)).as("a copy left by a move that did not finish").doesNotExist();
        to.receive(box, Optional.empty(), new ByteArrayInputStream(stream.toByteArray()));
        assertThat(TestImages.sameContent(layout(there).volumeImage(box), layout(here).volumeImage(box))).isTrue();
    }

    @Test
    void aPoolThatIsNotBtrfsMovesNoVolumes() {
        try (LoopFs ext4 = LoopFs.ext4(1L << 30)) {
            assertThat(transfer(ext4).unmovable()).hasValueSatisfying(why ->
                    assertThat(why).contains("is on ext4, and box volumes move only between btrfs pools"));
        }
        assertThat(transfer(here).unmovable()).isEmpty();
    }

    /** A box copied from the golden disk by reflink, with {@code ownMib} of its own written over it, and a memory. */
    private static void makeBox(String box, int ownMib) throws Exception {
        DataLayout layout = layout(here);
        Path disk = layout.volumeImage(box);
        Files.copy(transfer(here).baseDisk(GOLDEN).orElseThrow(), disk);
        transfer(here).setOrigin(box, GOLDEN);
        byte[] own = new byte[1 << 20];
        Random random = new Random(ownMib);
        try (RandomAccessFile file = new RandomAccessFile(disk.toFile(), "rw")) {
            for (int i = 0; i < ownMib; i++) {
                random.nextBytes(own);
                file.seek((64L + i * 3L) << 20);
                file.write(own);
            }
        }
        byte[] memory = new byte[16 << 20];
        random.nextBytes(memory);
        Files.write(layout.memoryState(box, true), memory);
    }

    private static VolumeTransfer transfer(LoopFs fs) {
        DataLayout layout = layout(fs);
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        StorageService storage = new StorageService(layout, runner, new Filesystems(runner));
        storage.letBoxesMove();
        return storage.volumes();
    }

    private static DataLayout layout(LoopFs fs) {
        return new DataLayout(fs.root());
    }

    private static List<Path> hidden(LoopFs fs) throws java.io.IOException {
        try (Stream<Path> files = Files.list(layout(fs).volumes())) {
            return files.filter(f -> f.getFileName().toString().startsWith(".")
                    && !f.getFileName().toString().equals(".bases")).toList();
        }
    }
}
