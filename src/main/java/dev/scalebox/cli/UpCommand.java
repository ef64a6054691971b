package dev.scalebox.cli;

import dev.scalebox.config.Settings;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataDirLock;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StoragePool;
import dev.scalebox.template.BuildOptions;
import dev.scalebox.template.TemplateService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code scalebox up}: everything a first run needs, then serve. Puts the data directory on a
 * btrfs pool when it cannot reflink, builds the base template when it is missing, and starts the
 * server in the foreground. Each step is skipped when already done, so it is also the everyday start.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Prepare storage and the base template when missing, then serve in the foreground.")
final class UpCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Mixin
    ServeCommand.ListenOptions listen;

    @Override
    public Integer call() throws InterruptedException {
        Settings settings = common.settings(listen.flags());
        HostPrograms.requireAll(ServeCommand.PROGRAMS);
        HostPrograms.requireAll(List.of("mkfs.btrfs", "btrfs", "losetup", "mount", "mmdebstrap"));
        ProgramRunner runner = new ProgramRunner();
        Filesystems filesystems = new Filesystems(runner);
        Path dataDir = settings.dataDir();
        if (!Files.isDirectory(dataDir) || !filesystems.supportsReflink(dataDir)) {
            System.out.println(dataDir + " cannot clone disks by reflink; putting it on a btrfs pool");
            StoragePool.InitResult result = new StoragePool(runner, filesystems).init(
                    new StoragePool.Location(settings.storageImage(), dataDir, Path.of("/etc/fstab")),
                    settings.storageSize());
            System.out.println(result.message());
        }
        try (DataDirLock owner = DataDirLock.owner(new DataLayout(dataDir), "scalebox up")) {
            Services services = Services.open(settings);
            services.templates().reconcile();
            if (!services.templates().exists(TemplateService.BASE)) {
                System.out.println("Building the base template " + TemplateService.BASE + " (about a minute)");
                BuildOptions defaults = BuildOptions.defaults();
                BuildOptions options = new BuildOptions(defaults.suite(), defaults.sizeGib(), settings.templateMirror(), false);
                try (ProgressReporter progress = ProgressReporter.forConsole("Building " + TemplateService.BASE)) {
                    services.templates().build(TemplateService.BASE, options, progress);
                }
            }
            ServeCommand.serve(services);
        }
        return 0;
    }
}
