package dev.scalebox.template;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/** The templates as the VM lifecycle sees them: a snapshot of a VM becomes one. */
public interface TemplateCatalog {

    boolean exists(String name);

    /** When template {@code name} was built or imported; empty when there is no such template. */
    Optional<Instant> builtAt(String name);

    /** Records an image already in place under {@code templates/}. */
    Template register(String name, Path image, String origin);

    /** The names of all templates. */
    List<String> names();

    /** Tells {@code listener} the name of each template built, imported, snapshotted or removed from now on. */
    void onChange(Consumer<String> listener);
}
