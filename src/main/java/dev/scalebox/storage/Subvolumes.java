package dev.scalebox.storage;

import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/** The btrfs subvolumes that transfers make on their way: listed where a stream left them, and deleted. */
final class Subvolumes {

    /** A stream between hosts, {@code btrfs send} or {@code receive}, may take this long. */
    static final Duration STREAM = Duration.ofHours(2);
    /** Any other btrfs step: a snapshot, a property, a delete. */
    static final Duration STEP = Duration.ofMinutes(2);
    private static final Logger log = LoggerFactory.getLogger(Subvolumes.class);
    private static final SecureRandom random = new SecureRandom();

    private final ProgramRunner runner;

    Subvolumes(ProgramRunner runner) {
        this.runner = runner;
    }

    /** A new name in {@code dir}, {@code prefix} and a random suffix, for a subvolume on its way. */
    static Path hidden(Path dir, String prefix) {
        byte[] suffix = new byte[6];
        random.nextBytes(suffix);
        return dir.resolve(prefix + HexFormat.of().formatHex(suffix));
    }

    /** The directories in {@code dir}: the subvolumes {@code btrfs receive} made there. */
    static List<Path> in(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes {@code subvolume} when it is there; one that will not go is left to the next start. */
    void delete(Path subvolume) {
        if (Files.isDirectory(subvolume, LinkOption.NOFOLLOW_LINKS)
                && !runner.run(List.of("btrfs", "subvolume", "delete", subvolume.toString()), STEP).succeeded()) {
            log.warn("Could not delete subvolume {}; the next start tries again", subvolume);
        }
    }
}
