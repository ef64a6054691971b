package dev.scalebox.hypervisor;

import dev.scalebox.testing.LoopFs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/** The serial log stays bounded, and its tail reads the same across a cut. */
class ConsoleLogTest {

    private final Path run = LoopFs.tempDir();

    @AfterEach
    void cleanUp() {
        LoopFs.deleteTree(run);
    }

    @Test
    void aLogOverTheLimitIsCutAndItsTailKept() throws IOException {
        Path log = run.resolve("serial.log");
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < ConsoleLog.LIMIT + 100_000; i++) {
            text.append("line ").append(i).append('\n');
        }
        Files.writeString(log, text);
        String tailBefore = ConsoleLog.tail(run, 4096);

        ConsoleLog.trim(run);

        assertThat(Files.size(log)).isZero();
        assertThat(Files.size(run.resolve("serial.log.1"))).isEqualTo(ConsoleLog.KEEP);
        assertThat(ConsoleLog.tail(run, 4096)).isEqualTo(tailBefore);

        Files.writeString(log, "after the cut\n", StandardOpenOption.APPEND);
        String tail = ConsoleLog.tail(run, 4096);
        assertThat(tail).endsWith(tailBefore.substring(14) + "after the cut\n");
        assertThat(tail.getBytes(StandardCharsets.UTF_8)).hasSize(4096);
    }

    @Test
    void aSmallLogIsLeftAlone() throws IOException {
        Files.writeString(run.resolve("serial.log"), "booting\n");
        ConsoleLog.trim(run);
        assertThat(ConsoleLog.tail(run, 4096)).isEqualTo("booting\n");
        assertThat(run.resolve("serial.log.1")).doesNotExist();
    }

    @Test
    void noLogYetIsAnEmptyConsole() {
        ConsoleLog.trim(run);
        assertThat(ConsoleLog.tail(run, 4096)).isEmpty();
        assertThat(ConsoleLog.since(run, 0)).isEmpty();
    }

    @Test
    void whatCameSinceAnOffsetIsReadAndAllOfItAfterACut() throws IOException {
        Path log = run.resolve("serial.log");
        Files.writeString(log, "an earlier boot: Kernel panic\n");
        long offset = Files.size(log);
        Files.writeString(log, "this boot\n", StandardOpenOption.APPEND);
        assertThat(ConsoleLog.since(run, offset)).isEqualTo("this boot\n");

        Files.writeString(log, "cut\n");
        assertThat(ConsoleLog.since(run, offset)).as("shorter than the offset: cut since").isEqualTo("cut\n");
    }
}
