package dev.scalebox.testing;

import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.Database;
import dev.scalebox.template.BuildOptions;
import dev.scalebox.template.BuildProgress;
import dev.scalebox.template.Template;
import dev.scalebox.template.TemplateService;

/**
 * The real {@code debian-base} template, built once per test run on a btrfs pool and shared by
 * every test that needs it (building takes about a minute; booting tests clone it by reflink).
 * The pool goes away with the JVM.
 */
public final class BaseTemplate {

    private static BaseTemplate instance;

    public final LoopFs pool;
    public final DataLayout layout;
    public final StorageService storage;
    public final TemplateService templates;
    public final Template template;
    public final double buildSeconds;

    private BaseTemplate() {
        pool = LoopFs.btrfs(48L << 30);
        layout = new DataLayout(pool.root());
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        Filesystems filesystems = new Filesystems(runner);
        storage = new StorageService(layout, runner, filesystems);
        templates = new TemplateService(storage, Database.openSqlite(layout.database()).templates(), runner, filesystems);
        long start = System.nanoTime();
        template = templates.build(TemplateService.BASE, BuildOptions.defaults(), new BuildProgress() {
            @Override
            public void step(int index, int total, String description) {
                System.err.println("[debian-base " + index + "/" + total + "] " + description);
            }

            @Override
            public void output(String line) {
            }
        });
        buildSeconds = (System.nanoTime() - start) / 1e9;
    }

    public static synchronized BaseTemplate get() {
        if (instance == null) {
            instance = new BaseTemplate();
        }
        return instance;
    }
}
