package dev.scalebox.testing;

import dev.scalebox.gateway.Gateway;
import dev.scalebox.gateway.Users;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.VmService;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real SSH gateway on an ephemeral loopback port over a {@link TestVms} data directory, boxes
 * made from debian-base, with users whose OpenSSH key pairs live in a temporary directory.
 */
public final class TestGateway implements AutoCloseable {

    public final TestVms env;
    public final Users users;
    public VmService vms;
    public Gateway gateway;
    private final Path keys = LoopFs.tempDir();
    private final Duration idleSuspend;
    private final int readyBoxes;
    private final int warmInstances;
    private final Duration checkInterval;
    private final int instancesTotal;
    private final int volumesTotal;
    private final Admission line;

    /** A gateway whose pool keeps no ready boxes: each new user's box is made from the golden state. */
    public TestGateway(String name, int portMin, Duration idleSuspend) {
        this(name, portMin, idleSuspend, 0, 0, Duration.ofSeconds(2));
    }

    /** As above; without {@code seeded} it makes its own golden state on first need (see {@link GoldenSeed}). */
    TestGateway(String name, int portMin, Duration idleSuspend, boolean seeded) {
        this(name, portMin, idleSuspend, 0, 0, Duration.ofSeconds(2), 50, 50, TestVms.STARTS, seeded);
    }

    /**
     * Boxes of 2 vCPUs and 512 MiB; the pool keeps {@code readyBoxes} ready boxes and {@code warmInstances}
     * warm instances (blank QEMUs), and checks its levels every {@code checkInterval} and after each resume.
     */
    public TestGateway(String name, int portMin, Duration idleSuspend, int readyBoxes, int warmInstances,
                       Duration checkInterval) {
        this(name, portMin, idleSuspend, readyBoxes, warmInstances, checkInterval, 50, 50);
    }

    /** As above, with at most {@code instancesTotal} box QEMUs running at once and {@code volumesTotal} box volumes. */
    public TestGateway(String name, int portMin, Duration idleSuspend, int readyBoxes, int warmInstances,
                       Duration checkInterval, int instancesTotal, int volumesTotal) {
        this(name, portMin, idleSuspend, readyBoxes, warmInstances, checkInterval, instancesTotal, volumesTotal,
                TestVms.STARTS);
    }

    /** As above, its starts waiting in {@code line} instead of the host's shared one. */
    public TestGateway(String name, int portMin, Duration idleSuspend, int readyBoxes, int warmInstances,
                       Duration checkInterval, int instancesTotal, int volumesTotal, Admission line) {
        this(name, portMin, idleSuspend, readyBoxes, warmInstances, checkInterval, instancesTotal, volumesTotal, line, true);
    }

    private TestGateway(String name, int portMin, Duration idleSuspend, int readyBoxes, int warmInstances,
                        Duration checkInterval, int instancesTotal, int volumesTotal, Admission line, boolean seeded) {
        this.line = line;
        this.instancesTotal = instancesTotal;
        this.volumesTotal = volumesTotal;
        env = new TestVms(name, portMin);
        if (seeded) {
            GoldenSeed.plant(env, env.layout.root().resolve("gateway"));
        }
        users = new Users(env.userStore());
        this.idleSuspend = idleSuspend;
        this.readyBoxes = readyBoxes;
        this.warmInstances = warmInstances;
        this.checkInterval = checkInterval;
        start(0);
    }

    private void start(int port) {
        vms = env.service(line);
        vms.recover();
        gateway = Gateway.start(new Gateway.Options("127.0.0.1", port, false, env.layout.root().resolve("gateway"),
                idleSuspend, "debian-base", 2, 512, readyBoxes, readyBoxes, volumesTotal, warmInstances, warmInstances, instancesTotal, 50,
                checkInterval, Duration.ofMinutes(2)), users, vms, env.templates);
    }

    /** Stops the gateway and lets go of the VMs as a stop of Scalebox does, then starts both again on the same port. */
    public void restart() {
        int port = gateway.port();
        gateway.close();
        vms.detach();
        start(port);
    }

    /** Makes a key pair for {@code name} and registers it; returns the private key. */
    public Path addUser(String name) {
        Path key = key(name);
        users.add(name, publicKey(name));
        return key;
    }

    /** Makes a key pair for {@code name} without registering it; returns the private key. */
    public Path key(String name) {
        Path key = keys.resolve(name);
        Sh.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
        return key;
    }

    public String publicKey(String name) {
        try {
            return Files.readString(keys.resolve(name + ".pub")).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A scratch directory for the test's own files. */
    public Path scratch() {
        return keys;
    }

    /** The OpenSSH client options every test connection uses: this key only, no host key checks, no prompts. */
    public static List<String> clientOptions(Path key) {
        return List.of("-i", key.toString(), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes");
    }

    @Override
    public void close() {
        gateway.close();
        env.close();
        LoopFs.deleteTree(keys);
    }
}
