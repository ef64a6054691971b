package dev.scalebox.cli;

import dev.scalebox.config.ByteSize;
import dev.scalebox.config.Settings;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.storage.DataDirLock;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.template.BuildOptions;
import dev.scalebox.template.Template;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code scalebox template build|ls|rm|import}. {@code ls} and {@code rm} go through the API;
 * {@code build} and {@code import} run in process, as root, on the host's data directory.
 */
@Command(name = "template", mixinStandardHelpOptions = true, description = "Manage templates.")
final class TemplateCommand {

    @Mixin
    CommonOptions common;

    @Command(name = "build", mixinStandardHelpOptions = true, description = "Build a template from Debian's packages with mmdebstrap.")
    int build(@Parameters(paramLabel = "NAME", defaultValue = "debian-base", description = "Template name (default ${DEFAULT-VALUE})") String name,
              @Option(names = "--suite", defaultValue = "bookworm", description = "Debian suite: bookworm or trixie (default ${DEFAULT-VALUE})") String suite,
              @Option(names = "--size", defaultValue = "2G", description = "Image size (default ${DEFAULT-VALUE})") String size,
              @Option(names = "--mirror", description = "Debian mirror URL (TEMPLATE_MIRROR)") String mirror,
              @Option(names = "--replace", description = "Rebuild a template that exists") boolean replace) {
        HostPrograms.requireAll(List.of("mmdebstrap", "mke2fs", "e2fsck"));
        Settings settings = common.settings();
        long bytes = parseSize(size);
        if (bytes % (1L << 30) != 0) {
            throw new CliException("--size must be whole GiB, e.g. 2G");
        }
        BuildOptions options = new BuildOptions(suite, (int) (bytes >> 30),
                mirror != null ? java.util.Optional.of(mirror) : settings.templateMirror(), replace);
        long started = System.nanoTime();
        Template t;
        try (DataDirLock building = DataDirLock.builder(new DataLayout(settings.dataDir()));
             ProgressReporter progress = ProgressReporter.forConsole("Building " + name)) {
            t = Services.open(settings).templates().build(name, options, progress);
        }
        System.out.printf("Built template %s (%s) in %.0f s%n", t.name(), Table.gib(t.sizeBytes()),
                (System.nanoTime() - started) / 1e9);
        return 0;
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List templates.")
    int ls(@Option(names = "--json", description = "Print JSON") boolean json) {
        Table.listing(ApiClient.from(common.settings()).get("/templates"), json,
                List.of("NAME", "SIZE", "CREATED", "PROTECTED", "ORIGIN"),
                t -> List.of(t.get("name").asString(), Table.gib(t.get("size_bytes").asLong()), t.get("created_at").asString(),
                        t.get("protected").asBoolean() ? "yes" : "no", t.get("origin").asString()));
        return 0;
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a template (not the protected base).")
    int rm(@Parameters(paramLabel = "NAME") String name) {
        ApiClient.from(common.settings()).delete("/templates/" + java.net.URLEncoder.encode(name,
                java.nio.charset.StandardCharsets.UTF_8));
        System.out.println("Removed template " + name);
        return 0;
    }

    @Command(name = "import", mixinStandardHelpOptions = true, description = "Import an ext4 image file as a template.")
    int importImage(@Parameters(paramLabel = "FILE") Path file, @Parameters(paramLabel = "NAME") String name) {
        HostPrograms.requireAll(List.of("cp", "e2fsck", "debugfs"));
        Settings settings = common.settings();
        Template t;
        try (DataDirLock importing = DataDirLock.builder(new DataLayout(settings.dataDir()))) {
            t = Services.open(settings).templates().importImage(file.toAbsolutePath(), name);
        }
        System.out.println("Imported template " + t.name() + " (" + Table.gib(t.sizeBytes()) + ")");
        return 0;
    }

    private static long parseSize(String size) {
        try {
            return ByteSize.parse(size);
        } catch (IllegalArgumentException e) {
            throw new CliException("--size: " + e.getMessage());
        }
    }
}
