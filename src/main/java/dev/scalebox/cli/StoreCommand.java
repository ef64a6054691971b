package dev.scalebox.cli;

import dev.scalebox.config.Setting;
import dev.scalebox.config.Settings;
import dev.scalebox.config.StoreUrl;
import dev.scalebox.storage.DataDirLock;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.store.Database;
import dev.scalebox.store.StoreCopy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code scalebox store}: the store's own upkeep. */
@Command(name = "store", mixinStandardHelpOptions = true, description = "Manage the store of records.",
        subcommands = StoreCommand.Migrate.class)
final class StoreCommand {

    /** {@code store migrate --to URL}: a single host's SQLite records into an empty PostgreSQL database. */
    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = "Copy this host's SQLite store (templates, users, VMs) into an empty PostgreSQL database."
                    + " Scalebox must be stopped; the SQLite file is kept. Then set STORE_URL and start it again.")
    static final class Migrate implements Callable<Integer> {

        @Mixin
        CommonOptions common;

        @Option(names = "--to", required = true, paramLabel = "URL", description = "jdbc:postgresql://HOST[:PORT]/DATABASE")
        String to;

        @Option(names = "--user", paramLabel = "USER", description = "the PostgreSQL user (STORE_USER)")
        String user;

        @Option(names = "--password-file", paramLabel = "FILE", description = "a file holding the password (STORE_PASSWORD_FILE)")
        String passwordFile;

        @Override
        public Integer call() {
            Map<Setting, String> flags = new java.util.EnumMap<>(Setting.class);
            flags.put(Setting.STORE_URL, to);
            if (user != null) {
                flags.put(Setting.STORE_USER, user);
            }
            if (passwordFile != null) {
                flags.put(Setting.STORE_PASSWORD_FILE, java.nio.file.Path.of(passwordFile).toAbsolutePath().toString());
            }
            Settings settings = common.settings(flags);
            DataLayout layout = new DataLayout(settings.dataDir());
            if (!Files.isRegularFile(layout.database())) {
                throw new CliException("there is no SQLite store at " + layout.database() + " to migrate");
            }
            StoreUrl target = settings.store().orElseThrow();
            try (DataDirLock owner = DataDirLock.owner(layout, "scalebox store migrate");
                 Database from = Database.openSqlite(layout.database(), settings.hostName());
                 Database into = Database.openPostgres(target.url(), target.user(), target.password(), settings.hostName())) {
                StoreCopy.Counts copied = StoreCopy.copy(from, into);
                System.out.println("Copied " + copied.templates() + " templates, " + copied.users() + " users and "
                        + copied.vms() + " VMs from " + from.description() + " to " + into.description() + ".");
                System.out.println("Start Scalebox with STORE_URL=" + target.url() + " to use it; "
                        + layout.database().getFileName() + " is kept as it was.");
            }
            return 0;
        }
    }
}
