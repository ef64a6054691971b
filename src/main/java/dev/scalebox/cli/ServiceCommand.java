package dev.scalebox.cli;

import dev.scalebox.config.Setting;
import dev.scalebox.config.Settings;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code scalebox service install|uninstall}: Scalebox as the systemd unit {@code scalebox.service},
 * started at boot with the settings of {@code /etc/scalebox/scalebox.yaml}. The unit stops the
 * service alone, with SIGTERM ({@code KillMode=process}): running VMs stay up and the next start
 * adopts them, as after any restart.
 */
@Command(name = "service", mixinStandardHelpOptions = true, description = "Run Scalebox as a systemd service.")
final class ServiceCommand {

    static final String UNIT = "scalebox.service";
    /** The unit of the original Scalebox: two services on one data directory and one port must not both run. */
    private static final String ORIGINAL_UNIT = "scaleboxd.service";
    private static final String SETTINGS = "etc/scalebox/scalebox.yaml";
    private static final Duration SYSTEMCTL_TIMEOUT = Duration.ofMinutes(2);

    @Mixin
    CommonOptions common;

    private final ProgramRunner runner = new ProgramRunner();

    @Command(name = "install", mixinStandardHelpOptions = true,
            description = "Write scalebox.service and /etc/scalebox/scalebox.yaml (kept when it exists), enable and start it.")
    int install(@Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "Install into this root directory instead, enabled but not started (default /)") Path root) {
        root = root.toAbsolutePath().normalize();
        Settings settings = common.settings();
        Path launcher = launcher();
        for (Path path : List.of(launcher, settings.dataDir())) {
            if (!path.toString().matches("[A-Za-z0-9/._+-]+")) {
                throw new CliException(path + " has characters a unit's command line would take apart (spaces, quotes, %):"
                        + " move it to a plain path");
            }
        }
        Path unit = unitFile(root);
        for (Path original : List.of(root.resolve("etc/systemd/system").resolve(ORIGINAL_UNIT),
                root.resolve("lib/systemd/system").resolve(ORIGINAL_UNIT))) {
            if (Files.exists(original)) {
                throw new CliException("the original Scalebox's " + ORIGINAL_UNIT + " is installed (" + original
                        + "); both would serve the same data directory and ports: 'systemctl disable --now "
                        + ORIGINAL_UNIT + "' and remove it first");
            }
        }
        boolean live = isLive(root);
        Path settingsFile = root.resolve(SETTINGS);
        boolean newSettings = !Files.exists(settingsFile);
        try {
            if (newSettings) {
                write(settingsFile, settingsYaml(settings), "rw-------");
            }
            write(unit, unitText(launcher, settings.dataDir()), "rw-r--r--");
            if (live) {
                systemctl("daemon-reload");
                systemctl("enable", "--now", UNIT);
            } else {
                systemctl("--root=" + root, "enable", UNIT);
            }
        } catch (RuntimeException e) {
            deleteQuietly(unit);
            if (newSettings) {
                deleteQuietly(settingsFile);
            }
            if (live) {
                runner.run(List.of("systemctl", "daemon-reload"), SYSTEMCTL_TIMEOUT);
            }
            throw e;
        }
        System.out.println("Installed " + unit + (newSettings ? ", with the settings in " : ", with the settings kept in ")
                + settingsFile);
        System.out.println(live ? "Enabled and started: 'systemctl status scalebox', 'journalctl -u scalebox'"
                : "Enabled in " + root + "; it starts with that system");
        return 0;
    }

    @Command(name = "uninstall", mixinStandardHelpOptions = true,
            description = "Stop and disable scalebox.service and remove it; running VMs stay up, the settings file stays.")
    int uninstall(@Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "Uninstall from this root directory instead (default /)") Path root) {
        root = root.toAbsolutePath().normalize();
        Path unit = unitFile(root);
        if (!Files.exists(unit)) {
            System.out.println(UNIT + " is not installed (no " + unit + "); nothing to do");
            return 0;
        }
        boolean live = isLive(root);
        if (live) {
            systemctl("disable", "--now", UNIT);
        } else {
            systemctl("--root=" + root, "disable", UNIT);
        }
        deleteQuietly(unit);
        if (live) {
            systemctl("daemon-reload");
        }
        System.out.println("Removed " + unit + "; running VMs stay up, and " + root.resolve(SETTINGS) + " stays");
        return 0;
    }

    /** The unit: the launcher's {@code serve} with the settings file, after the data directory's mount. */
    static String unitText(Path launcher, Path dataDir) {
        return """
                [Unit]
                Description=Scalebox: Linux VMs on this host
                Documentation=file://%s
                After=network-online.target local-fs.target
                Wants=network-online.target
                RequiresMountsFor=%s

                [Service]
                Type=exec
                ExecStart=%s serve --config /%s
                # A stop ends the service alone: its VMs (QEMU in sessions of their own) run on, and
                # the next start adopts them.
                KillMode=process
                KillSignal=SIGTERM
                TimeoutStopSec=60
                Restart=on-failure
                RestartSec=5

                [Install]
                WantedBy=multi-user.target
                """.formatted(launcher.resolveSibling("README.md"), dataDir, launcher, SETTINGS);
    }

    /** The settings chosen for this install (flags, environment, --config), with the data directory always. */
    private static String settingsYaml(Settings settings) {
        Map<String, String> chosen = new LinkedHashMap<>();
        chosen.put(Setting.DATA_DIR.name().toLowerCase(Locale.ROOT), settings.dataDir().toString());
        settings.chosen().forEach((s, v) -> chosen.put(s.name().toLowerCase(Locale.ROOT), v));
        return "# Settings of scalebox.service (README: Settings); lower-case names. Restart the service after a change.\n"
                + new YAMLMapper().writeValueAsString(chosen).replaceFirst("^---\\n", "");
    }

    /** The {@code scalebox} script that started this command: the unit runs the same one. */
    private static Path launcher() {
        String launcher = System.getProperty("scalebox.launcher");
        if (launcher == null || !Files.isExecutable(Path.of(launcher))) {
            throw new CliException("run this through the scalebox script (./scalebox service install): the unit starts it");
        }
        return Path.of(launcher).toAbsolutePath().normalize();
    }

    private static Path unitFile(Path root) {
        return root.resolve("etc/systemd/system").resolve(UNIT);
    }

    /** Whether the unit is for the running system, whose systemd must then be there to take it. */
    private static boolean isLive(Path root) {
        if (!root.equals(Path.of("/"))) {
            return false;
        }
        if (!Files.isDirectory(Path.of("/run/systemd/system"))) {
            throw new CliException("systemd does not run this host (no /run/systemd/system): run 'scalebox serve'"
                    + " under the host's own service manager, or write the unit into another root with --root DIR");
        }
        return true;
    }

    private void systemctl(String... args) {
        List<String> argv = new ArrayList<>(List.of("systemctl"));
        argv.addAll(List.of(args));
        ProgramResult result = runner.run(argv, SYSTEMCTL_TIMEOUT);
        if (!result.succeeded()) {
            throw new CliException(String.join(" ", argv) + " failed: " + result.describeFailure());
        }
    }

    private static void write(Path file, String text, String mode) {
        try {
            Files.createDirectories(file.getParent());
            Path partial = file.resolveSibling("." + file.getFileName() + ".partial");
            Files.deleteIfExists(partial);
            Files.writeString(Files.createFile(partial, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString(mode))), text);
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // what could not be removed is named by the error that led here
        }
    }
}
