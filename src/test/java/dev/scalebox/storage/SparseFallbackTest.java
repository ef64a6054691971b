package dev.scalebox.storage;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestImages;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Where the data directory cannot reflink (ext4), disks are sparse copies and the cost is said once. */
class SparseFallbackTest {

    @Test
    void copiesSparselyAndWarnsOnce() {
        try (LoopFs ext4 = LoopFs.ext4(4L << 30)) {
            DataLayout layout = new DataLayout(ext4.root());
            layout.createDirectories();
            ProgramRunner runner = new ProgramRunner();
            StorageService storage = new StorageService(layout, runner, new Filesystems(runner));
            TestImages.ext4(layout.templateImage("base"), 2, 50);
            ListAppender<ILoggingEvent> logs = capture();

            Path a = storage.copyRootfs("base", "vm-a");
            Path b = storage.copyRootfs("base", "vm-b");

            assertThat(TestImages.sameContent(a, layout.templateImage("base"))).isTrue();
            assertThat(TestImages.sameContent(b, layout.templateImage("base"))).isTrue();
            long allocatedKib = Long.parseLong(Sh.run("du", "-k", a.toString()).split("\\s+")[0]);
            assertThat(allocatedKib).as("a 2 GiB image with 50 MiB of data stays sparse").isLessThan(200_000);
            // other test classes log the same warning for their own directories at the same time
            assertThat(logs.list).filteredOn(e -> e.getFormattedMessage().contains("cannot clone by reflink")
                            && e.getFormattedMessage().contains(ext4.root().toString()))
                    .hasSize(1)
                    .first().satisfies(e -> assertThat(e.getFormattedMessage()).contains("ext4").contains("storage init"));
        }
    }

    private static ListAppender<ILoggingEvent> capture() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((Logger) LoggerFactory.getLogger(StorageService.class)).addAppender(appender);
        return appender;
    }
}
