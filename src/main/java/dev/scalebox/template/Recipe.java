package dev.scalebox.template;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The guest recipe of a template, shipped as resources under {@code dev/scalebox/template/NAME/}:
 * the packages, dpkg options, the two mmdebstrap hook scripts, and which kernel files to copy out.
 * The hooks are static scripts of ours, run by mmdebstrap with the chroot directory as argument.
 */
record Recipe(List<String> packages, List<String> dpkgOptions, String kernelGlob, String initrdGlob, String cmdline) {

    static final String ESSENTIAL_HOOK = "essential-hook";
    static final String CUSTOMIZE_HOOK = "customize-hook";
    private static final String BASE = "/dev/scalebox/template/debian-base/";

    static Recipe debianBase() {
        List<String> kernel = lines("kernel.txt");
        return new Recipe(lines("packages.txt"), lines("dpkgopts.txt"), kernel.get(0),
                kernel.size() > 1 ? kernel.get(1) : "none", String.join(" ", lines("cmdline.txt")));
    }

    boolean needsInitrd() {
        return !initrdGlob.equals("none");
    }

    /** Writes the hook scripts into {@code dir}, executable, and returns the directory. */
    Path extractHooks(Path dir) {
        try {
            Files.createDirectories(dir);
            for (String hook : List.of(ESSENTIAL_HOOK, CUSTOMIZE_HOOK)) {
                Path target = dir.resolve(hook);
                Files.write(target, read(hook));
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> lines(String resource) {
        return new String(read(resource), StandardCharsets.UTF_8).lines()
                .map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .toList();
    }

    private static byte[] read(String resource) {
        try (InputStream in = Recipe.class.getResourceAsStream(BASE + resource)) {
            if (in == null) {
                throw new IllegalStateException("recipe resource missing: " + BASE + resource);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
