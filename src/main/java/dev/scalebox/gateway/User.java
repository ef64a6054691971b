package dev.scalebox.gateway;

import java.time.Instant;

/** A gateway user: a name and one SSH key; the id is the first 16 hex digits of the key's SHA-256. */
public record User(String id, String name, String fingerprint, String sshPublicKey, Instant createdAt) {
}
