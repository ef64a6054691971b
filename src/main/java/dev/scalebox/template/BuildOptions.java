package dev.scalebox.template;

import dev.scalebox.ScaleboxException;

import java.util.Optional;
import java.util.Set;

/**
 * How to build a template.
 *
 * @param suite     the Debian suite: {@code bookworm} (Debian 12, the default) or {@code trixie}
 * @param sizeGib   the image size
 * @param mirror    a Debian mirror URL; empty for mmdebstrap's default
 * @param replace   whether an existing template of that name is replaced once the new one is whole
 */
public record BuildOptions(String suite, int sizeGib, Optional<String> mirror, boolean replace) {

    public static final Set<String> SUITES = Set.of("bookworm", "trixie");

    public BuildOptions {
        if (!SUITES.contains(suite)) {
            throw new ScaleboxException.BadRequest("Unknown suite '" + suite + "': use one of " + SUITES);
        }
        if (sizeGib < 1 || sizeGib > 1024) {
            throw new ScaleboxException.BadRequest("Template size must be 1 to 1024 GiB, not " + sizeGib);
        }
        mirror.ifPresent(m -> {
            if (!m.matches("(https?|file)://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+")) {
                throw new ScaleboxException.BadRequest("Mirror must be an http(s) or file URL, not '" + m + "'");
            }
        });
    }

    public static BuildOptions defaults() {
        return new BuildOptions("bookworm", 2, Optional.empty(), false);
    }
}
