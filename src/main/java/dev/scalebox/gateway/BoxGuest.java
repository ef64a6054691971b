package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The gateway's way into a box: SSH as root with its internal key, and the work done in a box
 * just resumed (see {@code after-resume.pl}): its clock and hostname, and on a copy's first
 * resume, its own SSH host key, machine id and random pool.
 */
final class BoxGuest {

    /** For one step inside a box that runs: a login, a command. Not for a start, which waits its turn. */
    static final Duration TIMEOUT = Duration.ofSeconds(60);
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

    /**
     * Sets the hostname and clock of a box just resumed or booted; with {@code renew}, gives it its
     * own secrets. The clock is sent last, when the guest asks for it, so it is the host's time at
     * the moment it is set, not at the moment the work began.
     */
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
        StringBuilder input = new StringBuilder();
        values.forEach((k, v) -> input.append(k).append(' ').append(HexFormat.of().formatHex(v)).append('\n'));
        input.append("clock\n");
        String command = "perl -e 'eval pack(q(H*), q(" + SCRIPT + ")); die $@ if $@'";
        try (ClientChannel channel = session.createExecChannel(command)) {
            channel.open().verify(TIMEOUT);
            // The exchange below reads the guest's answers; a guest that stops answering is cut off.
            var watchdog = CompletableFuture.runAsync(() -> channel.close(true),
                    CompletableFuture.delayedExecutor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            try {
                exchange(channel, input.toString());
            } finally {
                watchdog.cancel(false);
            }
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), TIMEOUT.toMillis());
            Integer status = channel.getExitStatus();
            if (status == null || status != 0) {
                throw new ScaleboxException.HostFailure("setting up the box failed (exit " + status + "): "
                        + errors(channel));
            }
        }
    }

    /** Sends the values, answers the guest's "time?" with the time now, and waits for its "ok". */
    private static void exchange(ClientChannel channel, String input) throws IOException {
        OutputStream in = channel.getInvertedIn();
        BufferedReader out = new BufferedReader(new InputStreamReader(channel.getInvertedOut(), StandardCharsets.US_ASCII));
        in.write(input.getBytes(StandardCharsets.US_ASCII));
        in.flush();
        expect(out, "time?", channel);
        long now = System.currentTimeMillis();
        in.write(String.format("%d.%06d\n", now / 1000, (now % 1000) * 1000).getBytes(StandardCharsets.US_ASCII));
        in.flush();
        expect(out, "ok", channel);
        in.close();
    }

    private static void expect(BufferedReader out, String line, ClientChannel channel) throws IOException {
        String got = out.readLine();
        if (!line.equals(got)) {
            throw new ScaleboxException.HostFailure("setting up the box failed (it said " + got + " where " + line
                    + " was due): " + errors(channel));
        }
    }

    private static String errors(ClientChannel channel) {
        try {
            InputStream err = channel.getInvertedErr();
            return new String(err.readNBytes(Math.min(err.available(), 4096)), StandardCharsets.UTF_8).strip();
        } catch (IOException | RuntimeException e) {
            return "";
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

    /**
     * Waits until the VM's SSH answers, however long its turn in the host's line of starts takes;
     * fails when its start ends any other way. While it waits in line, {@code progress} is told
     * once how many starts go first.
     */
    static Vm awaitRunning(VmService vms, String id, Consumer<String> progress) {
        vms.ahead(id).ifPresent(ahead -> progress.accept("waiting for a free slot: " + ahead + " ahead"));
        try {
            return vms.untilRunning(id).get();
        } catch (ExecutionException e) {
            throw new ScaleboxException.HostFailure("the box did not start: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.HostFailure("interrupted while the box started");
        }
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
