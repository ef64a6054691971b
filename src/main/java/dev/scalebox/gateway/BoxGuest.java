package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gateway's way into a box: SSH as root with its internal key, and the work done in a box
 * just resumed (see {@code after-resume.pl}): its clock and hostname, and on a copy's first
 * resume, its own SSH host key, machine id and random pool.
 */
final class BoxGuest {

    static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(5);
    private static final String SCRIPT = HexFormat.of().formatHex(resource("after-resume.pl"));

    private final SshClient client;
    private final KeyPair key;
    private final String host;
    private final Path scratch;
    private final ProgramRunner runner = new ProgramRunner();
    private final SecureRandom random = new SecureRandom();

    BoxGuest(SshClient client, KeyPair key, String host, Path scratch) {
        this.client = client;
        this.key = key;
        this.host = host;
        this.scratch = scratch;
    }

    /** An authenticated SSH session to the box, as root. */
    ClientSession connect(Vm box) throws IOException {
        ClientSession session = client.connect("root", host, box.sshPort()).verify(TIMEOUT).getClientSession();
        try {
            session.addPublicKeyIdentity(key);
            session.auth().verify(TIMEOUT);
            return session;
        } catch (IOException | RuntimeException e) {
            session.close(true);
            throw e;
        }
    }

    /** Sets the clock and hostname of a box just resumed; with {@code renew}, gives it its own secrets. */
    void afterResume(ClientSession session, String hostname, boolean renew) throws IOException {
        Map<String, byte[]> values = new LinkedHashMap<>();
        values.put("hostname", hostname.getBytes(StandardCharsets.UTF_8));
        if (renew) {
            values.put("seed", randomBytes(64));
            values.put("machine_id", HexFormat.of().formatHex(randomBytes(16)).getBytes(StandardCharsets.US_ASCII));
            HostKey hostKey = newHostKey();
            values.put("host_key", hostKey.privateKey());
            values.put("host_key_pub", hostKey.publicKey());
        }
        long now = System.currentTimeMillis();
        values.put("time", String.format("%d.%06d", now / 1000, (now % 1000) * 1000).getBytes(StandardCharsets.US_ASCII));
        StringBuilder input = new StringBuilder();
        values.forEach((k, v) -> input.append(k).append(' ').append(HexFormat.of().formatHex(v)).append('\n'));
        String command = "perl -e 'eval pack(q(H*), q(" + SCRIPT + ")); die $@ if $@'";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ClientChannel channel = session.createExecChannel(command)) {
            channel.setIn(new ByteArrayInputStream(input.toString().getBytes(StandardCharsets.US_ASCII)));
            channel.setOut(out);
            channel.setErr(err);
            channel.open().verify(TIMEOUT);
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), TIMEOUT.toMillis());
            Integer status = channel.getExitStatus();
            if (status == null || status != 0 || !out.toString(StandardCharsets.UTF_8).contains("ok")) {
                throw new ScaleboxException.HostFailure("setting up the box after its resume failed (exit " + status + "): "
                        + err.toString(StandardCharsets.UTF_8).strip());
            }
        }
    }

    private record HostKey(byte[] privateKey, byte[] publicKey) {
    }

    /** A fresh ed25519 key pair, made on the host: ssh-keygen takes 0.15 s in a guest under TCG. */
    private HostKey newHostKey() throws IOException {
        Files.createDirectories(scratch);
        Path dir = Files.createTempDirectory(scratch, "hostkey", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve("key");
        try {
            runner.check(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file.toString()),
                    Duration.ofSeconds(30));
            return new HostKey(Files.readAllBytes(file), Files.readAllBytes(dir.resolve("key.pub")));
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir.resolve("key.pub"));
            Files.deleteIfExists(dir);
        }
    }

    /** Waits until the VM's SSH answers; fails when it stops or errs on the way. */
    static Vm awaitRunning(VmService vms, String id) {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Vm vm = vms.get(id);
            if (vm.status() == VmStatus.RUNNING) {
                return vm;
            }
            if (vm.status() == VmStatus.ERROR || vm.status() == VmStatus.STOPPED) {
                throw new ScaleboxException.HostFailure("the box did not start: " + vm.statusReason());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ScaleboxException.HostFailure("interrupted while the box started");
            }
        }
        throw new ScaleboxException.HostFailure("the box did not answer within " + BOOT_TIMEOUT.toMinutes() + " minutes");
    }

    private byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] resource(String name) {
        try (InputStream in = BoxGuest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
