package dev.scalebox.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The API's bearer token: the configured one, else the one in {@code DATA_DIR/api-token}, else a
 * new random one written there with mode 600 (created with that mode, never widened later).
 */
public final class ApiToken {

    private final byte[] tokenDigest;

    private ApiToken(String token) {
        this.tokenDigest = sha256(token);
    }

    public static ApiToken resolve(Optional<String> configured, Path tokenFile) {
        if (configured.isPresent()) {
            return new ApiToken(configured.get());
        }
        try {
            if (!Files.exists(tokenFile)) {
                byte[] random = new byte[32];
                new SecureRandom().nextBytes(random);
                try {
                    Files.createFile(tokenFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(tokenFile, HexFormat.of().formatHex(random) + "\n");
                } catch (FileAlreadyExistsException raced) {
                    // another process made it first; use theirs
                }
            }
            return new ApiToken(Files.readString(tokenFile).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the API token " + tokenFile, e);
        }
    }

    /** Checks an {@code Authorization} header value in time independent of where it differs. */
    public boolean accepts(String authorizationHeader) {
        if (authorizationHeader == null || !authorizationHeader.startsWith("Bearer ")) {
            return false;
        }
        // Comparing digests keeps the comparison constant-time whatever the lengths.
        return MessageDigest.isEqual(sha256(authorizationHeader.substring("Bearer ".length()).strip()), tokenDigest);
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
