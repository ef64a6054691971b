package dev.scalebox.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/** A PostgreSQL store: its JDBC URL, its user, and the file that holds its password. */
public record StoreUrl(String url, Optional<String> user, Optional<Path> passwordFile) {

    private static final Pattern POSTGRESQL =
            Pattern.compile("jdbc:postgresql://[A-Za-z0-9.\\-]+(:[0-9]{1,5})?/[A-Za-z0-9_\\-]+(\\?[\\x21-\\x7e]*)?");

    public StoreUrl {
        if (!valid(url)) {
            throw new IllegalArgumentException("not a PostgreSQL JDBC URL: " + url);
        }
    }

    static boolean valid(String url) {
        return POSTGRESQL.matcher(url).matches();
    }

    /** The password, read now (its trailing line break dropped), or empty without a file. */
    public Optional<String> password() {
        return passwordFile.map(file -> {
            try {
                return Files.readString(file, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new ConfigException("cannot read STORE_PASSWORD_FILE " + file + ": " + e.getMessage());
            }
        });
    }
}
