package dev.scalebox.cli;

import dev.scalebox.config.Setting;
import dev.scalebox.config.Settings;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/** Options every command takes, before or after its subcommand: the configuration file and the data directory. */
final class CommonOptions {

    @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE", description = "YAML file of settings (lower-case names, e.g. data_dir)")
    Path config;

    @Option(names = "--data-dir", scope = ScopeType.INHERIT, paramLabel = "DIR", description = "Data directory (DATA_DIR, default /var/lib/scalebox)")
    String dataDir;

    /** Resolves the settings from these flags, the given command-specific ones, the environment and the file. */
    Settings settings(Map<Setting, String> more) {
        Map<Setting, String> flags = new EnumMap<>(Setting.class);
        if (dataDir != null) {
            flags.put(Setting.DATA_DIR, Path.of(dataDir).toAbsolutePath().normalize().toString());
        }
        flags.putAll(more);
        return Settings.load(flags, System.getenv(), Optional.ofNullable(config));
    }

    Settings settings() {
        return settings(Map.of());
    }
}
