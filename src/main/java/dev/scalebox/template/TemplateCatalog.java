package dev.scalebox.template;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/** The templates as the VM lifecycle sees them: a snapshot of a VM becomes one. */
public interface TemplateCatalog {

    boolean exists(String name);

    /** When template {@code name} was built or imported; empty when there is no such template. */
    Optional<Instant> builtAt(String name);

    /** Records an image already in place under {@code templates/}. */
    Template register(String name, Path image, String origin);
}
