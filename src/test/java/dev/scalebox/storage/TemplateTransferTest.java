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

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A template's image between two hosts' pools: as a {@code btrfs send} stream between btrfs
 * pools, carrying the image's data and not its holes; as plain bytes written sparse otherwise;
 * and a stream that breaks off leaves nothing behind on either side.
 */
class TemplateTransferTest {

    private static LoopFs sender;
    private static LoopFs receiver;
    private static LoopFs plain;

    @BeforeAll
    static void pools() {
        sender = LoopFs.btrfs(4L << 30);
        receiver = LoopFs.btrfs(4L << 30);
        plain = LoopFs.ext4(4L << 30);
    }

    @AfterAll
    static void removePools() {
        for (LoopFs fs : new LoopFs[] {sender, receiver, plain}) {
            if (fs != null) {
                fs.close();
            }
        }
    }

    @Test
    void betweenBtrfsPoolsTheStreamCarriesTheDataNotTheHoles() throws Exception {
        TemplateTransfer from = transfer(sender);
        TemplateTransfer to = transfer(receiver);
        Path image = TestImages.ext4(layout(sender).templateImage("app"), 1, 40);
        assertThat(to.accepts()).isEqualTo(TemplateTransfer.Format.BTRFS);
        assertThat(from.offers(to.accepts())).isEqualTo(TemplateTransfer.Format.BTRFS);

        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        from.send("app", TemplateTransfer.Format.BTRFS, stream);
        Path copy = to.receive("app", TemplateTransfer.Format.BTRFS, Files.size(image),
                new ByteArrayInputStream(stream.toByteArray()));

        assertThat(copy).isEqualTo(layout(receiver).templateImage("app"));
        assertThat(TestImages.sameContent(copy, image)).isTrue();
        assertThat((long) stream.size()).as("a 1 GiB image with 40 MiB of files travels in well under 1 GiB")
                .isLessThan(200L << 20);
        assertThat(hidden(sender)).as("the sender's subvolume is gone").isEmpty();
        assertThat(hidden(receiver)).as("the received subvolume is gone").isEmpty();
    }

    @Test
    void toAPoolThatIsNotBtrfsTheImageTravelsAsItsBytesAndLandsSparse() throws Exception {
        TemplateTransfer from = transfer(sender);
        TemplateTransfer to = transfer(plain);
        Path image = TestImages.ext4(layout(sender).templateImage("web"), 1, 20);
        assertThat(to.accepts()).isEqualTo(TemplateTransfer.Format.PLAIN);
        assertThat(from.offers(to.accepts())).isEqualTo(TemplateTransfer.Format.PLAIN);
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        from.send("web", TemplateTransfer.Format.PLAIN, stream);

        Path copy = to.receive("web", TemplateTransfer.Format.PLAIN, Files.size(image),
                new ByteArrayInputStream(stream.toByteArray()));

        assertThat(TestImages.sameContent(copy, image)).isTrue();
        long allocatedKib = Long.parseLong(Sh.run("du", "-k", copy.toString()).split("\\s+")[0]);
        assertThat(allocatedKib).as("a 1 GiB image with 20 MiB of files stays sparse").isLessThan(150_000);
    }

    @Test
    void aStreamThatBreaksOffLeavesNoTemplateAndNothingHidden() throws Exception {
        TemplateTransfer from = transfer(sender);
        TemplateTransfer to = transfer(receiver);
        Path image = TestImages.ext4(layout(sender).templateImage("cut"), 1, 10);
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        from.send("cut", TemplateTransfer.Format.BTRFS, stream);
        byte[] half = Arrays.copyOf(stream.toByteArray(), stream.size() / 2);

        assertThatThrownBy(() -> to.receive("cut", TemplateTransfer.Format.BTRFS, Files.size(image),
                new ByteArrayInputStream(half))).isInstanceOf(ScaleboxException.HostFailure.class);
        assertThatThrownBy(() -> transfer(plain).receive("cut", TemplateTransfer.Format.PLAIN, Files.size(image),
                new ByteArrayInputStream(new byte[1 << 20]))).isInstanceOf(ScaleboxException.HostFailure.class)
                .hasMessageContaining("the transfer broke off");

        assertThat(layout(receiver).templateImage("cut")).doesNotExist();
        assertThat(layout(plain).templateImage("cut")).doesNotExist();
        assertThat(hidden(receiver)).isEmpty();
        assertThat(hidden(plain)).isEmpty();
    }

    private static TemplateTransfer transfer(LoopFs fs) {
        DataLayout layout = layout(fs);
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        return new StorageService(layout, runner, new Filesystems(runner)).transfers();
    }

    private static DataLayout layout(LoopFs fs) {
        return new DataLayout(fs.root());
    }

    private static java.util.List<Path> hidden(LoopFs fs) throws java.io.IOException {
        try (Stream<Path> files = Files.list(layout(fs).templates())) {
            return files.filter(f -> f.getFileName().toString().startsWith(".")).toList();
        }
    }
}
