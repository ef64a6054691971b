package dev.scalebox.cli;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Properties;

/**
 * The CLI's own files, in {@code $XDG_CONFIG_HOME/scalebox} (or {@code ~/.config/scalebox}): the
 * server and token of {@code scalebox login} in {@code config} (mode 600), and the VMs' host keys.
 */
final class CliConfig {

    /** A server the user logged in to, and its token. */
    record Login(URI url, String token) {
    }

    private CliConfig() {
    }

    static Path dir() {
        String config = Optional.ofNullable(System.getenv("XDG_CONFIG_HOME")).filter(s -> !s.isBlank())
                .orElse(System.getProperty("user.home") + "/.config");
        return Path.of(config, "scalebox");
    }

    static Path file() {
        return dir().resolve("config");
    }

    static Optional<Login> login() {
        Properties p = new Properties();
        try {
            p.load(new StringReader(Files.readString(file())));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new CliException("cannot read " + file() + ": " + e.getMessage());
        }
        String url = p.getProperty("url");
        String token = p.getProperty("token");
        if (url == null || token == null) {
            throw new CliException(file() + " lacks its url or token: run 'scalebox login URL' again");
        }
        return Optional.of(new Login(URI.create(url), token));
    }

    /** Keeps {@code login}, readable by the user alone from the moment the file exists. */
    static void save(Login login) {
        Path file = file();
        try {
            Files.createDirectories(file.getParent(), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            Path partial = file.resolveSibling(".config.partial");
            Files.deleteIfExists(partial);
            Files.writeString(Files.createFile(partial, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------"))), "url=" + login.url() + "\ntoken=" + login.token() + "\n");
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Forgets the login; false when there was none. */
    static boolean forget() {
        try {
            return Files.deleteIfExists(file());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + file(), e);
        }
    }
}
