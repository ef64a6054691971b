package dev.scalebox.storage;

import dev.scalebox.host.ProgramRunner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/**
 * A guest's SSH host key, made on the host so that Scalebox knows it before anyone connects (and
 * because ssh-keygen takes 0.15 s in a guest under TCG). Only ed25519, the one type the base
 * template's sshd offers.
 *
 * @param privateKey the OpenSSH private key file's content
 * @param publicKey  the public key line, {@code ssh-ed25519 AAAA…}, without a comment
 */
public record SshHostKey(byte[] privateKey, String publicKey) {

    /** A new key pair, made in a private directory under {@code scratch} that is removed after. */
    public static SshHostKey generate(ProgramRunner runner, Path scratch) {
        try {
            Files.createDirectories(scratch);
            Path dir = Files.createTempDirectory(scratch, "hostkey", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            Path file = dir.resolve("key");
            try {
                runner.check(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file.toString()),
                        Duration.ofSeconds(30));
                return new SshHostKey(Files.readAllBytes(file),
                        Files.readString(dir.resolve("key.pub"), StandardCharsets.US_ASCII).strip());
            } finally {
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir.resolve("key.pub"));
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make an SSH host key under " + scratch, e);
        }
    }

    public byte[] publicKeyFile() {
        return (publicKey + "\n").getBytes(StandardCharsets.US_ASCII);
    }
}
