package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A client of the QEMU guest agent inside a VM, over the virtio-serial channel QEMU exposes as a
 * Unix socket in the VM's run directory. The framing is QMP's, one JSON object per line, but
 * without ids: replies come in order, and a reply the guest sent to an earlier client (one that
 * gave up on a command) may still wait in the channel. So each connection first sends
 * {@code guest-sync-delimited} with a random id and drops everything up to the 0xFF byte the
 * agent puts before its answer, and then up to the answer with that id.
 *
 * <p>The channel is the host's alone, and the guest is not trusted: every command has a deadline
 * (the connection is closed when it passes, and the next connection resynchronizes), and no reply
 * is read past {@value #MAX_REPLY} bytes. Nothing in a reply names a path or a program here.
 */
public final class GuestAgent implements AutoCloseable {

    static final String SOCKET = "qga.sock";
    /** The name the guest's agent looks for among its virtio-serial ports. */
    static final String PORT_NAME = "org.qemu.guest_agent.0";
    private static final int MAX_REPLY = 4 << 20;
    private static final Logger log = LoggerFactory.getLogger(GuestAgent.class);
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("guest-agent-deadlines").daemon(true).factory());

    private final SocketChannel channel;
    private final String vmId;
    private final ByteBuffer in = ByteBuffer.allocate(64 << 10).flip();

    private GuestAgent(SocketChannel channel, String vmId) {
        this.channel = channel;
        this.vmId = vmId;
    }

    /** What a program run in the guest ended with. */
    public record Exit(int code, String out, String err) {
    }

    /**
     * Connects to the agent of the VM whose run directory is {@code runDir} and synchronizes with
     * it; fails when the agent does not answer within {@code timeout} (not running yet, or none).
     */
    public static GuestAgent connect(String vmId, Path runDir, Duration timeout) {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(UnixDomainSocketAddress.of(runDir.resolve(SOCKET)));
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot reach the guest agent of " + vmId + ": " + e.getMessage(), e);
        }
        GuestAgent agent = new GuestAgent(channel, vmId);
        try {
            agent.sync(timeout);
            return agent;
        } catch (RuntimeException e) {
            agent.close();
            throw e;
        }
    }

    /** Whether the guest's agent answers within {@code timeout}. */
    public static boolean answers(String vmId, Path runDir, Duration timeout) {
        try (GuestAgent agent = connect(vmId, runDir, timeout)) {
            agent.execute("guest-ping", Map.of(), timeout);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Waits, up to {@code within} and while {@code alive} holds, until the guest's agent answers
     * (a booting guest starts it late); fails when it does not.
     */
    public static void awaitAnswer(String vmId, Path runDir, Duration within, BooleanSupplier alive) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!answers(vmId, runDir, Duration.ofSeconds(5))) {
            Sleep.millis(500, "waiting for the guest agent of " + vmId);
            if (!alive.getAsBoolean()) {
                throw new ScaleboxException.HostFailure("the guest's QEMU ended before its agent answered");
            }
            if (System.nanoTime() > deadline) {
                throw new ScaleboxException.HostFailure("the guest agent did not answer within " + within.toMinutes()
                        + " minutes of the boot");
            }
        }
    }

    /**
     * Returns what {@code work} makes, made with the guest's filesystems frozen (flushed to the
     * disk, writes held), so that a copy of the disk taken meanwhile is consistent; when the agent
     * does not answer within {@code timeout} or cannot freeze, {@code work} runs all the same and
     * the log says its copy is only crash-consistent.
     */
    public static <T> T whileFrozen(String vmId, Path runDir, Duration timeout, Supplier<T> work) {
        GuestAgent agent;
        try {
            agent = connect(vmId, runDir, timeout);
        } catch (RuntimeException e) {
            return unfrozen(vmId, work);
        }
        try (agent) {
            try {
                agent.execute("guest-fsfreeze-freeze", Map.of(), timeout);
            } catch (RuntimeException e) {
                return unfrozen(vmId, work);
            }
            try {
                return work.get();
            } finally {
                agent.execute("guest-fsfreeze-thaw", Map.of(), timeout);
            }
        }
    }

    private static <T> T unfrozen(String vmId, Supplier<T> work) {
        log.info("VM {} has no guest agent that froze its filesystems: its snapshot is crash-consistent", vmId);
        return work.get();
    }

    private void sync(Duration timeout) {
        long id = ThreadLocalRandom.current().nextLong(1, Integer.MAX_VALUE);
        withDeadline("guest-sync-delimited", timeout, () -> {
            send("guest-sync-delimited", Map.of("id", id));
            while (readByte() != (byte) 0xFF) {
                // a stale reply, or the agent's noise from before it was ours
            }
            while (true) {
                JsonNode reply = readReply("guest-sync-delimited");
                if (reply.path("return").asLong(-1) == id) {
                    return null;
                }
            }
        });
    }

    /** Runs an agent command and returns its {@code return} value; an agent error becomes a HostFailure. */
    public JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) {
        return withDeadline(command, timeout, () -> {
            send(command, arguments);
            JsonNode reply = readReply(command);
            if (reply.has("error")) {
                throw new ScaleboxException.HostFailure("the guest agent of " + vmId + " refused " + command + ": "
                        + reply.get("error").path("desc").asString(""));
            }
            return reply.path("return");
        });
    }

    /**
     * Runs {@code argv} in the guest with {@code input} on its standard input and waits for it to
     * end, within {@code timeout}; its output is captured (the agent caps it).
     */
    public Exit run(List<String> argv, byte[] input, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, Object> arguments = new java.util.LinkedHashMap<>();
        arguments.put("path", argv.getFirst());
        arguments.put("arg", argv.subList(1, argv.size()));
        arguments.put("capture-output", true);
        if (input.length > 0) {
            arguments.put("input-data", Base64.getEncoder().encodeToString(input));
        }
        long pid = execute("guest-exec", arguments, timeout).path("pid").asLong(-1);
        while (true) {
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            if (left.isNegative()) {
                throw new ScaleboxException.HostFailure(argv.getFirst() + " did not end in " + vmId + " within "
                        + timeout.toSeconds() + " s");
            }
            JsonNode status = execute("guest-exec-status", Map.of("pid", pid), left);
            if (status.path("exited").asBoolean(false)) {
                return new Exit(status.path("exitcode").asInt(-1), decode(status.path("out-data")),
                        decode(status.path("err-data")));
            }
            Sleep.millis(20, "");
        }
    }

    /**
     * How far the host's clock is ahead of the guest's, in nanoseconds, to within half a round
     * trip of {@code guest-get-time} (no program is started in the guest). A resumed guest's clock
     * runs on at the host's pace from where it was saved, so the offset holds until it is applied.
     */
    public long clockOffsetNanos(Duration timeout) {
        long before = System.currentTimeMillis();
        long guest = execute("guest-get-time", Map.of(), timeout).asLong();
        long after = System.currentTimeMillis();
        return (before + after) / 2 * 1_000_000L - guest;
    }

    /**
     * Sets the guest's clock to the host's, now, and reads it back: a guest starved of CPU while
     * the command crossed may be set late, and is set again, up to three times. Returns how far
     * the guest's clock is from the host's in the end, in milliseconds (positive: ahead).
     */
    public long setClock(Duration timeout) {
        long offMillis = 0;
        for (int attempt = 0; attempt < 3; attempt++) {
            execute("guest-set-time", Map.of("time", System.currentTimeMillis() * 1_000_000L), timeout);
            long before = System.currentTimeMillis();
            long guest = execute("guest-get-time", Map.of(), timeout).asLong() / 1_000_000L;
            long after = System.currentTimeMillis();
            offMillis = guest < before ? guest - before : guest > after ? guest - after : 0;
            if (Math.abs(offMillis) < 500) {
                break;
            }
        }
        return offMillis;
    }

    private static String decode(JsonNode data) {
        return data.isString() ? new String(Base64.getMimeDecoder().decode(data.asString()), StandardCharsets.UTF_8) : "";
    }

    private interface Exchange<T> {
        T run() throws IOException;
    }

    /** Runs one exchange; when {@code timeout} passes first, the connection is closed, which ends it. */
    private <T> T withDeadline(String command, Duration timeout, Exchange<T> exchange) {
        ScheduledFuture<?> watchdog = DEADLINES.schedule(this::close, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return exchange.run();
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure(watchdog.isDone()
                    ? "the guest agent of " + vmId + " did not answer " + command + " within " + timeout.toSeconds() + " s"
                    : "the guest agent of " + vmId + " went away during " + command + ": " + e.getMessage(), e);
        } finally {
            watchdog.cancel(false);
        }
    }

    private void send(String command, Map<String, ?> arguments) throws IOException {
        ObjectNode message = JSON.createObjectNode().put("execute", command);
        if (!arguments.isEmpty()) {
            message.set("arguments", JSON.valueToTree(arguments));
        }
        ByteBuffer out = ByteBuffer.wrap((JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            channel.write(out);
        }
    }

    /** The next JSON object the agent sends: one line, at most {@value #MAX_REPLY} bytes. */
    private JsonNode readReply(String command) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            byte b = readByte();
            if (b == '\n' || (b == (byte) 0xFF && line.size() == 0)) {  // 0xFF: a resync marker, before a guest-sync-delimited reply
                if (line.size() > 0) {
                    break;
                }
                continue;
            }
            if (line.size() >= MAX_REPLY) {
                close();
                throw new ScaleboxException.HostFailure("the guest agent of " + vmId + " sent a reply to " + command
                        + " longer than " + MAX_REPLY + " bytes");
            }
            line.write(b);
        }
        try {
            JsonNode reply = JSON.readTree(line.toByteArray());
            if (!reply.isObject()) {
                throw new IOException("not a JSON object");
            }
            return reply;
        } catch (RuntimeException e) {
            throw new IOException("a reply that is not JSON: " + e.getMessage(), e);
        }
    }

    private byte readByte() throws IOException {
        if (!in.hasRemaining()) {
            in.clear();
            int n = channel.read(in);
            in.flip();
            if (n < 0) {
                throw new IOException("the channel closed");
            }
        }
        return in.get();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a closed channel
        }
    }
}
