package dev.scalebox.cli;

import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.Resources;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code scalebox service install|uninstall} into a root of its own, with the real systemctl, and
 * the unit checked by the real {@code systemd-analyze verify} (these machines run no systemd).
 */
@ResourceLock(Resources.SYSTEM_ERR)
class ServiceCommandTest {

    private Path root;
    private Path launcher;

    @BeforeEach
    void aRootWithSystemdsUnits() throws Exception {
        root = LoopFs.tempDir();
        Sh.run("cp", "-a", "/usr/lib/systemd/system", Files.createDirectories(root.resolve("usr/lib/systemd")).toString());
        launcher = Path.of("scalebox").toAbsolutePath();
        Path inRoot = root.resolve(launcher.toString().substring(1));
        Files.createDirectories(inRoot.getParent());
        Files.copy(launcher, inRoot, StandardCopyOption.COPY_ATTRIBUTES);
        System.setProperty("scalebox.launcher", launcher.toString());
    }

    @AfterEach
    void removeRoot() {
        Sh.run("rm", "-rf", root.toString());
    }

    @Test
    void theUnitPassesSystemdAnalyzeStopsTheServiceAloneAndUninstallUndoesIt() throws Exception {
        assertThat(Main.run("service", "install", "--data-dir", "/srv/scalebox-test", "--root", root.toString())).isZero();

        Path unit = root.resolve("etc/systemd/system/scalebox.service");
        String text = Files.readString(unit);
        assertThat(text).contains("ExecStart=" + launcher + " serve --config /etc/scalebox/scalebox.yaml")
                .contains("KillMode=process").contains("KillSignal=SIGTERM").contains("RequiresMountsFor=/srv/scalebox-test");
        Process verify = new ProcessBuilder("systemd-analyze", "verify", "--root=" + root, "scalebox.service")
                .directory(root.toFile()).start();
        String err = new String(verify.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        verify.waitFor(60, TimeUnit.SECONDS);
        assertThat(verify.exitValue()).as(err).isZero();
        assertThat(err).as("systemd-analyze's complaints").isBlank();
        assertThat(root.resolve("etc/systemd/system/multi-user.target.wants/scalebox.service")).isSymbolicLink();
        Path settings = root.resolve("etc/scalebox/scalebox.yaml");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(settings))).isEqualTo("rw-------");
        assertThat(Files.readString(settings)).contains("data_dir: \"/srv/scalebox-test\"");

        Files.writeString(settings, "data_dir: /srv/edited\n");
        assertThat(Main.run("service", "install", "--root", root.toString())).isZero();
        assertThat(Files.readString(settings)).as("an existing settings file is kept").isEqualTo("data_dir: /srv/edited\n");

        assertThat(Main.run("service", "uninstall", "--root", root.toString())).isZero();
        assertThat(unit).doesNotExist();
        assertThat(root.resolve("etc/systemd/system/multi-user.target.wants/scalebox.service")).doesNotExist();
        assertThat(settings).as("the settings stay").exists();
        assertThat(Main.run("service", "uninstall", "--root", root.toString())).as("nothing left to undo").isZero();
    }

    @Test
    void besideTheOriginalScaleboxdServiceNothingIsWritten() throws Exception {
        Path original = Files.createDirectories(root.resolve("etc/systemd/system")).resolve("scaleboxd.service");
        Files.writeString(original, "[Service]\nExecStart=/usr/bin/scaleboxd\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream before = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = Main.run("service", "install", "--root", root.toString());
        } finally {
            System.setErr(before);
        }
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("scaleboxd.service").contains("systemctl disable --now");
        assertThat(root.resolve("etc/systemd/system/scalebox.service")).doesNotExist();
        assertThat(root.resolve("etc/scalebox")).doesNotExist();
    }
}
