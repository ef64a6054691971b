package dev.scalebox.cluster;

import dev.scalebox.config.ConfigException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * The secret the hosts of a store share (CLUSTER_SECRET_FILE): a host sends it with a request it
 * passes on, and the host that receives it lets the request in by it. It is never a user's token,
 * and a user's token is never passed on.
 */
public final class ClusterSecret {

    /** The header that carries it. */
    public static final String HEADER = "Scalebox-Cluster-Secret";

    private final String value;

    private ClusterSecret(String value) {
        this.value = value;
    }

    /** Reads the secret from {@code file}: its first line, at least 32 printable characters. */
    public static ClusterSecret read(Path file) {
        String secret;
        try {
            secret = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
        } catch (IOException e) {
            throw new ConfigException("CLUSTER_SECRET_FILE " + file + " cannot be read: " + e.getMessage());
        }
        if (secret.length() < 32 || !secret.matches("[\\x21-\\x7e]+")) {
            throw new ConfigException("CLUSTER_SECRET_FILE " + file + " must hold a secret of 32 or more printable"
                    + " characters without spaces (for example: openssl rand -hex 32)");
        }
        return new ClusterSecret(secret);
    }

    /** Whether {@code offered} is this secret, compared in constant time. */
    public boolean matches(String offered) {
        return offered != null && MessageDigest.isEqual(value.getBytes(StandardCharsets.UTF_8),
                offered.getBytes(StandardCharsets.UTF_8));
    }

    public String value() {
        return value;
    }
}
