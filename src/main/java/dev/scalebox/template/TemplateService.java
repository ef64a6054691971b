package dev.scalebox.template;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.Names;
import dev.scalebox.storage.StorageService;
import dev.scalebox.storage.TemplateTransfer;
import dev.scalebox.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The template registry: images in {@code templates/} and their records in the store, kept in
 * step. The base template ({@value #BASE}) is protected: it can be rebuilt but not removed.
 *
 * <p>Crash rules: an image is published (renamed into place) before its record is written, and
 * unpublished (renamed to a hidden partial name) before its record is deleted, so after a crash
 * {@link #reconcile()} can always tell what happened: an image without a record is registered, a
 * record without an image is dropped.
 */
public final class TemplateService implements TemplateCatalog {

    public static final String BASE = "debian-base";
    private static final Logger log = LoggerFactory.getLogger(TemplateService.class);

    private final StorageService storage;
    private final TemplateStore store;
    private final TemplateBuilder builder;
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

    public TemplateService(StorageService storage, TemplateStore store, ProgramRunner runner, Filesystems filesystems) {
        this.storage = storage;
        this.store = store;
        this.builder = new TemplateBuilder(storage, runner, filesystems);
    }

    public List<Template> list() {
        return store.list().stream().map(TemplateService::toTemplate).toList();
    }

    public Optional<Template> find(String name) {
        return store.find(Names.require("template name", name)).map(TemplateService::toTemplate);
    }

    @Override
    public List<String> names() {
        return store.list().stream().map(TemplateStore.Row::name).toList();
    }

    @Override
    public void onChange(Consumer<String> listener) {
        listeners.add(listener);
    }

    private void changed(String name) {
        for (Consumer<String> listener : listeners) {
            try {
                listener.accept(name);
            } catch (RuntimeException e) {
                log.warn("A listener of template {} failed: {}", name, e.getMessage());
            }
        }
    }

    @Override
    public Optional<Instant> builtAt(String name) {
        return find(name).map(Template::createdAt);
    }

    @Override
    public boolean exists(String name) {
        return find(name).isPresent() && Files.isRegularFile(storage.layout().templateImage(name));
    }

    /** Removes a template: 400 for a bad name, 403 for the base template, 404 when missing. */
    public void remove(String name) {
        Names.require("template name", name);
        if (isProtected(name)) {
            throw new ScaleboxException.Forbidden("Template '" + name + "' is protected and cannot be removed");
        }
        Path image = storage.layout().templateImage(name);
        if (store.find(name).isEmpty() && !Files.exists(image)) {
            throw new ScaleboxException.NotFound("Template not found");
        }
        Path hidden = image.resolveSibling("." + image.getFileName() + ".partial");
        try {
            if (Files.exists(image)) {
                Files.move(image, hidden, StandardCopyOption.ATOMIC_MOVE);
            }
            store.delete(name);
            Files.deleteIfExists(hidden);
            changed(name);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot remove template " + name + ": " + e.getMessage(), e);
        }
    }

    /** Copies an ext4 image file in as a new template. */
    public Template importImage(Path file, String name) {
        Names.require("template name", name);
        Path image = storage.importTemplate(file, name);
        return register(name, image, "imported");
    }

    /**
     * Takes template {@code name}'s image from another host, sent in {@code format}: its record
     * stays as it was made, and this host is now one that holds it. 404 when the store has no such
     * template.
     */
    public Template receive(String name, TemplateTransfer.Format format, InputStream in) {
        Names.require("template name", name);
        TemplateStore.Row row = store.findAny(name).orElseThrow(() -> new ScaleboxException.NotFound(
                "No template named '" + name + "' on any host"));
        storage.transfers().receive(name, format, row.sizeBytes(), in);
        store.addCopy(name);
        changed(name);
        return toTemplate(row);
    }

    /** Sends this host's templates to other hosts and receives theirs. */
    public TemplateTransfer transfers() {
        return storage.transfers();
    }

    /** Builds {@code name} from Debian packages; 409 when it exists unless {@code options.replace()}. */
    public Template build(String name, BuildOptions options, BuildProgress progress) {
        Names.require("template name", name);
        if (!options.replace() && Files.exists(storage.layout().templateImage(name))) {
            throw new ScaleboxException.Conflict("Template '" + name + "' already exists; pass --replace to rebuild it");
        }
        builder.build(name, options, progress);
        return register(name, storage.layout().templateImage(name), "built");
    }

    /** Records an image that is already in place under {@code templates/}. */
    @Override
    public Template register(String name, Path image, String origin) {
        try {
            TemplateStore.Row row = new TemplateStore.Row(name, Files.size(image), Instant.now(), isProtected(name), origin);
            store.put(row);
            changed(name);
            return toTemplate(row);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Brings records and images back in step after a crash, and clears interrupted builds. */
    public void reconcile() {
        storage.removePartials();
        storage.transfers().removeLeftovers();
        builder.removeLeftovers();
        Path dir = storage.layout().templates();
        for (TemplateStore.Row row : store.list()) {
            if (!Files.isRegularFile(storage.layout().templateImage(row.name()))) {
                log.warn("Template '{}' has a record but no image; dropping the record", row.name());
                store.delete(row.name());
            }
        }
        try (DirectoryStream<Path> images = Files.newDirectoryStream(dir, "*.ext4")) {
            for (Path image : images) {
                String name = image.getFileName().toString().replaceFirst("\\.ext4$", "");
                if (Names.isValid(name) && store.find(name).isEmpty()) {
                    log.warn("Template image {} has no record; registering it", image);
                    register(name, image, "imported");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isProtected(String name) {
        return BASE.equals(name);
    }

    private static Template toTemplate(TemplateStore.Row row) {
        return new Template(row.name(), row.sizeBytes(), row.createdAt(), row.isProtected(), row.origin());
    }
}
