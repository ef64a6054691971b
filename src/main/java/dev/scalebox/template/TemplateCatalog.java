package dev.scalebox.template;

import java.nio.file.Path;

/** The templates as the VM lifecycle sees them: a snapshot of a VM becomes one. */
public interface TemplateCatalog {

    boolean exists(String name);

    /** Records an image already in place under {@code templates/}. */
    Template register(String name, Path image, String origin);
}
