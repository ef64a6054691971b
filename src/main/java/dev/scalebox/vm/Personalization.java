package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.GuestAgent;
import dev.scalebox.storage.SshHostKey;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What makes a guest resumed from a shared memory state (a template's snapshot, the boxes' golden
 * state) its own, and a resumed guest current: its hostname, and for a new copy its own SSH host
 * key, machine id, random pool, root's key and filesystem size. {@code personalize.pl} does it in
 * the guest in one process, from "KEY HEX" lines on its standard input; it is run through the
 * guest agent, or over SSH by the gateway.
 */
public final class Personalization {

    /** For the whole of it in a guest that runs: the script, the clock. */
    public static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String SCRIPT = HexFormat.of().formatHex(resource("personalize.pl"));
    private static final String PERL_CODE = "eval pack(q(H*), q(" + SCRIPT + ")); die $@ if $@";

    private final Map<String, byte[]> values = new LinkedHashMap<>();

    private Personalization(String hostname) {
        values.put("hostname", hostname.getBytes(StandardCharsets.UTF_8));
    }

    /** Sets the hostname only, for a guest that was made its own before. */
    public static Personalization hostname(String hostname) {
        return new Personalization(hostname);
    }

    /** Also gives a new copy what no two guests may share: {@code hostKey}, a machine id, a random seed. */
    public Personalization renew(SshHostKey hostKey, SecureRandom random) {
        values.put("seed", bytes(random, 64));
        values.put("machine_id", HexFormat.of().formatHex(bytes(random, 16)).getBytes(StandardCharsets.US_ASCII));
        values.put("host_key", hostKey.privateKey());
        values.put("host_key_pub", hostKey.publicKeyFile());
        return this;
    }

    /** Also makes {@code line} root's only authorized key. */
    public Personalization authorizedKey(String line) {
        values.put("authorized_key", (line.strip() + "\n").getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    /** Also grows the root filesystem once the guest sees its disk at {@code bytes}. */
    public Personalization growTo(long bytes) {
        values.put("disk_bytes", Long.toString(bytes).getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    /** The script's standard input; with {@code clock} it then asks for the time ("time?") and says "ok". */
    public byte[] input(boolean clock) {
        StringBuilder in = new StringBuilder();
        values.forEach((k, v) -> in.append(k).append(' ').append(HexFormat.of().formatHex(v)).append('\n'));
        if (clock) {
            in.append("clock\n");
        }
        return in.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** The script as one shell command, for SSH. */
    public static String shellCommand() {
        return "perl -e '" + PERL_CODE + "'";
    }

    /**
     * Runs it in the guest of VM {@code vmId} (run directory {@code runDir}) through its agent,
     * then sets the guest's clock to the host's; fails when the agent does not answer.
     */
    void applyTo(String vmId, Path runDir) {
        try (GuestAgent agent = GuestAgent.connect(vmId, runDir, TIMEOUT)) {
            applyThrough(agent);
        }
    }

    /**
     * The script moves the clock by the offset measured just before, in the same process as the
     * rest: the agent's {@code guest-set-time} runs {@code hwclock -w}, which waits for the
     * real-time clock's next second and so costs up to a second under TCG. It is used only when
     * the clock read back is still off.
     */
    private void applyThrough(GuestAgent agent) {
        values.put("clock_offset_ns", Long.toString(agent.clockOffsetNanos(TIMEOUT)).getBytes(StandardCharsets.US_ASCII));
        GuestAgent.Exit exit = agent.run(List.of("/usr/bin/perl", "-e", PERL_CODE), input(false), TIMEOUT);
        if (exit.code() != 0) {
            throw new ScaleboxException.HostFailure("personalizing the guest failed (exit " + exit.code() + "): "
                    + exit.err().strip());
        }
        long off = -agent.clockOffsetNanos(TIMEOUT) / 1_000_000;
        if (Math.abs(off) >= 500) {
            off = agent.setClock(TIMEOUT);
        }
        if (Math.abs(off) >= 500) {
            LoggerFactory.getLogger(Personalization.class).warn("The clock of a guest set through its agent stays {} ms off", off);
        }
    }

    private static byte[] bytes(SecureRandom random, int count) {
        byte[] bytes = new byte[count];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] resource(String name) {
        try (InputStream in = Personalization.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
