package dev.scalebox.cli;

import dev.scalebox.config.Settings;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.Database;
import dev.scalebox.template.TemplateService;

/**
 * The in-process services over one data directory, wired once. Opening creates the data directory
 * layout and migrates the store, so call it only once the data directory is where it should be
 * (after {@code storage init} when a pool is wanted).
 */
record Services(Settings settings, DataLayout layout, ProgramRunner runner, Filesystems filesystems,
                StorageService storage, TemplateService templates) {

    static Services open(Settings settings) {
        DataLayout layout = new DataLayout(settings.dataDir());
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        Filesystems filesystems = new Filesystems(runner);
        Database db = Database.openSqlite(layout.database());
        StorageService storage = new StorageService(layout, runner, filesystems);
        TemplateService templates = new TemplateService(storage, db.templates(), runner, filesystems);
        return new Services(settings, layout, runner, filesystems, storage, templates);
    }
}
