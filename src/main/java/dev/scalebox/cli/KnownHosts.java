package dev.scalebox.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The known-hosts file Scalebox keeps for the OpenSSH client, apart from the user's own: each VM's
 * host key under the VM's id ({@code HostKeyAlias}), as the service made it. A new VM on a port an
 * old one used is never taken for it, and the user's known_hosts is never touched.
 */
final class KnownHosts {

    private final Path file;

    KnownHosts(Path file) {
        this.file = file;
    }

    /** {@code $XDG_CONFIG_HOME/scalebox/known_hosts}, or under {@code ~/.config}. */
    static KnownHosts ofUser() {
        return new KnownHosts(CliConfig.dir().resolve("known_hosts"));
    }

    Path file() {
        return file;
    }

    /** Records {@code hostKey} ({@code ssh-ed25519 AAAA…}) as the key of VM {@code vmId}, replacing any other. */
    void put(String vmId, String hostKey) {
        try {
            Files.createDirectories(file.getParent());
            List<String> lines = new ArrayList<>(Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of());
            String line = vmId + " " + hostKey.strip();
            if (lines.contains(line)) {
                return;
            }
            lines.removeIf(l -> l.startsWith(vmId + " "));
            lines.add(line);
            Path partial = file.resolveSibling(".known_hosts.partial");
            Files.write(partial, lines, StandardCharsets.UTF_8);
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The OpenSSH client options that check VM {@code vmId} against this file alone. */
    List<String> sshOptions(String vmId) {
        return List.of("-o", "HostKeyAlias=" + vmId, "-o", "UserKnownHostsFile=" + file,
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes");
    }
}
