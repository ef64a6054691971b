package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Keys made by the real ssh-keygen, and hostile variations of them. */
class SshPublicKeyTest {

    private static Path dir;

    @BeforeAll
    static void dir() {
        dir = LoopFs.tempDir();
    }

    @AfterAll
    static void clean() {
        LoopFs.deleteTree(dir);
    }

    private static String keygen(String... typeArgs) throws IOException {
        Path key = dir.resolve("k" + System.nanoTime());
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("ssh-keygen"));
        argv.addAll(java.util.List.of(typeArgs));
        argv.addAll(java.util.List.of("-N", "", "-q", "-C", "me@host", "-f", key.toString()));
        Sh.run(argv.toArray(String[]::new));
        return Files.readString(Path.of(key + ".pub")).strip();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ed25519", "rsa:2048", "rsa:4096", "ecdsa:256", "ecdsa:384", "ecdsa:521"})
    void acceptsKeysOfEverySupportedType(String spec) throws IOException {
        String[] parts = spec.split(":");
        String text = parts.length == 1 ? keygen("-t", parts[0]) : keygen("-t", parts[0], "-b", parts[1]);

        SshPublicKey key = SshPublicKey.parse(text + "\n");

        assertThat(key.toLine()).isEqualTo(text);
        assertThat(key.comment()).isEqualTo("me@host");
        Path pub = dir.resolve("check.pub");
        Files.writeString(pub, text + "\n");
        assertThat(Sh.run("ssh-keygen", "-lf", pub.toString())).contains(key.fingerprint());
    }

    @Test
    void refusesShortRsa() throws IOException {
        String text = keygen("-t", "rsa", "-b", "1024");
        assertThatThrownBy(() -> SshPublicKey.parse(text)).isInstanceOf(ScaleboxException.BadRequest.class)
                .hasMessageContaining("1024 bits; at least 2048");
    }

    @Test
    void refusesABlobOfAnotherTypeThanTheLabel() throws IOException {
        String ed = keygen("-t", "ed25519");
        String relabelled = ed.replaceFirst("^ssh-ed25519", "ssh-rsa");
        assertThatThrownBy(() -> SshPublicKey.parse(relabelled)).hasMessageContaining("holds a 'ssh-ed25519' key");
    }

    @Test
    void refusesOptionsSecondKeysControlCharactersAndGarbage() throws IOException {
        String ed = keygen("-t", "ed25519");
        String blob = ed.split(" ")[1];
        String[] hostile = {
                "command=\"/bin/sh\" " + ed,
                "no-pty,from=\"*\" " + ed,
                ed + "\n" + ed,
                ed + " " + ed,
                ed.replace("me@host", "me\u0007host"),
                "ssh-ed25519 " + blob + "\u0000",
                "ssh-ed25519 !!!notbase64",
                "ssh-ed25519",
                "ssh-ed25519 " + Base64.getEncoder().encodeToString(new byte[] {0, 0, 0, 11, 's'}),
                "ssh-ed25519 " + Base64.getEncoder().encodeToString(
                        concat(Base64.getDecoder().decode(blob), new byte[] {1, 2, 3})),
                "ssh-dss " + blob,
                "",
                "x".repeat(20_000),
        };
        for (String text : hostile) {
            assertThatThrownBy(() -> SshPublicKey.parse(text))
                    .as(text.length() > 80 ? text.substring(0, 80) : text)
                    .isInstanceOf(ScaleboxException.BadRequest.class)
                    .hasMessageStartingWith("Invalid SSH public key: ");
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
