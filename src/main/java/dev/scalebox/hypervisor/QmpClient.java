package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A QMP client over QEMU's Unix socket. One reader thread per connection reads the newline-framed
 * JSON messages: replies complete the command with the same {@code id}, events go to the
 * listeners. QEMU may send an event before the reply to the command that caused it, which is why
 * replies are matched by id rather than by order. Writes are serialized.
 */
final class QmpClient implements AutoCloseable {

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final SocketChannel channel;
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<Consumer<JsonNode>> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong ids = new AtomicLong();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    private QmpClient(SocketChannel channel) {
        this.channel = channel;
    }

    /** Connects, reads the greeting and negotiates capabilities. */
    static QmpClient connect(Path socket, Duration timeout) {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot connect to QMP at " + socket + ": " + e.getMessage(), e);
        }
        QmpClient client = new QmpClient(channel);
        CompletableFuture<JsonNode> greeting = new CompletableFuture<>();
        Thread.ofVirtual().name("qmp-" + socket.getParent().getFileName()).start(() -> client.read(greeting));
        try {
            greeting.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            client.execute("qmp_capabilities", Map.of(), timeout);
            return client;
        } catch (InterruptedException | ExecutionException | TimeoutException | RuntimeException e) {
            client.close();
            throw new ScaleboxException.HostFailure("QMP handshake with " + socket + " failed: " + e, e);
        }
    }

    /** Adds a listener for QMP events (e.g. SHUTDOWN, STOP); called on the reader thread. */
    void onEvent(Consumer<JsonNode> listener) {
        listeners.add(listener);
    }

    void removeListener(Consumer<JsonNode> listener) {
        listeners.remove(listener);
    }

    /** Completes when the connection is closed, by either side. */
    CompletableFuture<Void> closedFuture() {
        return closed;
    }

    /** Runs a command and returns its {@code return} value; a QMP error becomes a HostFailure. */
    JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) {
        long id = ids.incrementAndGet();
        ObjectNode message = JSON.createObjectNode().put("execute", command).put("id", id);
        if (!arguments.isEmpty()) {
            message.set("arguments", JSON.valueToTree(arguments));
        }
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        try {
            write(JSON.writeValueAsString(message) + "\n");
            JsonNode response = reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (response.has("error")) {
                throw new ScaleboxException.HostFailure("QMP " + command + " failed: "
                        + response.get("error").path("desc").asString());
            }
            return response.path("return");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.HostFailure("QMP " + command + " interrupted", e);
        } catch (ExecutionException e) {
            throw new ScaleboxException.HostFailure("QMP " + command + " failed: " + e.getCause().getMessage(), e);
        } catch (TimeoutException e) {
            throw new ScaleboxException.HostFailure("QMP " + command + " got no reply within " + timeout.toSeconds() + " s");
        } finally {
            pending.remove(id);
        }
    }

    private synchronized void write(String line) {
        ByteBuffer buffer = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("QMP write failed: " + e.getMessage(), e);
        }
    }

    private void read(CompletableFuture<JsonNode> greeting) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode message = JSON.readTree(line);
                if (message.has("QMP")) {
                    greeting.complete(message);
                } else if (message.has("event")) {
                    listeners.forEach(l -> l.accept(message));
                } else if (message.has("id")) {
                    CompletableFuture<JsonNode> reply = pending.get(message.get("id").asLong());
                    if (reply != null) {
                        reply.complete(message);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // the socket closed: QEMU exited, or close() was called
        } finally {
            IOException gone = new IOException("QMP connection closed");
            greeting.completeExceptionally(gone);
            pending.values().forEach(f -> f.completeExceptionally(gone));
            closed.complete(null);
        }
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
