package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.SshHostKey;
import dev.scalebox.vm.Personalization;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The gateway's way into a box: SSH as root with its internal key, and the work done in a box
 * just resumed (see {@link Personalization}): its clock and hostname, and on a copy's first
 * resume, its own SSH host key, machine id and random pool.
 */
final class BoxGuest {

    /** For one step inside a box that runs: a login, a command. Not for a start, which waits its turn. */
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final SshClient client;
    private final KeyPair key;
    private final String host;
    private final Path scratch;
    private final ProgramRunner runner = new ProgramRunner();
    private final SecureRandom random = new SecureRandom();
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BoxGuest.class);

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
     * As {@link #afterResume}, through the box's guest agent instead of a login: false, with
     * nothing done, when the box has no agent that answers (a box of a template without one).
     */
    boolean afterResumeByAgent(VmService vms, Vm box, String hostname, boolean renew) {
        // This host's key, not the one the box was made with: a box moved here from another host
        // still lets this gateway in.
        Personalization setup = Personalization.hostname(hostname)
                .authorizedKey(org.apache.sshd.common.config.keys.PublicKeyEntry.toString(key.getPublic()) + " scalebox-gateway");
        if (renew) {
            setup.renew(SshHostKey.generate(runner, scratch), random);
        }
        try {
            vms.personalize(box.id(), setup);
            return true;
        } catch (ScaleboxException.HostFailure e) {
            log.info("Box {} is set up over SSH: {}", box.name(), e.getMessage());
            return false;
        }
    }

    /**
     * Sets the hostname and clock of a box just resumed or booted; with {@code renew}, gives it its
     * own secrets. The clock is sent last, when the guest asks for it, so it is the host's time at
     * the moment it is set, not at the moment the work began.
     */
    void afterResume(ClientSession session, String hostname, boolean renew) throws IOException {
        Personalization setup = Personalization.hostname(hostname);
        if (renew) {
            setup.renew(SshHostKey.generate(runner, scratch), random);
        }
        try (ClientChannel channel = session.createExecChannel(Personalization.shellCommand())) {
            channel.open().verify(TIMEOUT);
            // The exchange below reads the guest's answers; a guest that stops answering is cut off.
            var watchdog = CompletableFuture.runAsync(() -> channel.close(true),
                    CompletableFuture.delayedExecutor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            try {
                exchange(channel, setup.input(true));
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
    private static void exchange(ClientChannel channel, byte[] input) throws IOException {
        OutputStream in = channel.getInvertedIn();
        BufferedReader out = new BufferedReader(new InputStreamReader(channel.getInvertedOut(), StandardCharsets.US_ASCII));
        in.write(input);
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

}
