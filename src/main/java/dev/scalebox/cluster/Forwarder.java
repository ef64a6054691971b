package dev.scalebox.cluster;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Passes a request about a VM to the VM's own host, with the cluster secret and without the
 * caller's token, and hands back that host's answer as it is: the caller sees one answer. A
 * request that arrived passed on is never passed on again, so two hosts that disagree about where
 * a VM lives cannot bounce it between them.
 */
public final class Forwarder {

    /** The longest an action may take on the other host: a stop's ACPI wait, a suspend's save. */
    private static final Duration ACTION = Duration.ofMinutes(10);

    /** The other host's answer: its status, body and the headers that describe the body (null when absent). */
    public record Answer(int status, String contentType, String location, byte[] body) {
    }

    private final ClusterSecret secret;
    private final HostStore hosts;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    public Forwarder(ClusterSecret secret, HostStore hosts) {
        this.secret = secret;
        this.hosts = hosts;
    }

    /** Whether a request came from another host of the store. */
    public boolean passedOn(String offeredSecret) {
        return secret.matches(offeredSecret);
    }

    /**
     * Sends {@code method pathAndQuery} with {@code body} to host {@code name}. A host that is down
     * or does not answer is a 503 that says so; nothing is retried, since the action may have
     * been carried out before the answer was lost.
     */
    public Answer forward(String name, String method, String pathAndQuery, String contentType, byte[] body) {
        HostStore.Row host = reachable(name);
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(host.url() + pathAndQuery))
                .timeout(ACTION)
                .header(ClusterSecret.HEADER, secret.value())
                .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<byte[]> answer = send(host, request.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Answer(answer.statusCode(), answer.headers().firstValue("Content-Type").orElse(null),
                answer.headers().firstValue("Location").orElse(null), answer.body());
    }

    /**
     * Asks host {@code name} for {@code path} (a stream between hosts, such as a template's image),
     * taking {@code accept}; the answer's body is read as it arrives.
     */
    public HttpResponse<InputStream> fetch(String name, String path, String accept) {
        HostStore.Row host = reachable(name);
        return send(host, HttpRequest.newBuilder(URI.create(host.url() + path)).timeout(ACTION)
                .header(ClusterSecret.HEADER, secret.value()).header("Accept", accept).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    /**
     * Sends {@code method path} to host {@code name} with the body {@code body} writes, as it
     * writes it (a stream between hosts, such as a box's volume); a failure of {@code body} fails
     * the call with its own reason.
     */
    public Answer upload(String name, String method, String path, String contentType, Consumer<OutputStream> body) {
        HostStore.Row host = reachable(name);
        PipedInputStream in = new PipedInputStream(1 << 20);
        AtomicReference<RuntimeException> failed = new AtomicReference<>();
        try {
            PipedOutputStream out = new PipedOutputStream(in);
            Thread writer = Thread.ofVirtual().start(() -> {
                try (out) {
                    body.accept(out);
                } catch (IOException | RuntimeException e) {
                    failed.set(e instanceof RuntimeException r ? r : new java.io.UncheckedIOException((IOException) e));
                }
            });
            HttpResponse<byte[]> answer;
            try {
                answer = send(host, HttpRequest.newBuilder(URI.create(host.url() + path)).timeout(ACTION.multipliedBy(12))
                        .header(ClusterSecret.HEADER, secret.value()).header("Content-Type", contentType)
                        .method(method, HttpRequest.BodyPublishers.ofInputStream(() -> in)).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
            } finally {
                in.close();
                writer.join();
            }
            // A host that refused the stream stopped reading it: its answer says why, not the broken pipe.
            if (failed.get() != null && answer.statusCode() / 100 == 2) {
                throw failed.get();
            }
            return new Answer(answer.statusCode(), answer.headers().firstValue("Content-Type").orElse(null),
                    answer.headers().firstValue("Location").orElse(null), answer.body());
        } catch (IOException e) {
            throw new ScaleboxException.Unavailable("sending to host " + name + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.Unavailable("interrupted while sending to host " + name);
        }
    }

    /**
     * Opens the WebSocket at {@code path} on host {@code name}, with the cluster secret, for
     * {@code listener}; waits at most 30 s for it to open.
     */
    public WebSocket webSocket(String name, String path, WebSocket.Listener listener) {
        HostStore.Row host = reachable(name);
        try {
            return http.newWebSocketBuilder().header(ClusterSecret.HEADER, secret.value())
                    .connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create(host.url().replaceFirst("^http", "ws") + path), listener)
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new ScaleboxException.Unavailable("host " + name + " (" + host.url() + ") did not open " + path + ": "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.Unavailable("interrupted while opening " + path + " on host " + name);
        }
    }

    private HostStore.Row reachable(String name) {
        HostStore.Row host = hosts.find(name).orElseThrow(() -> new ScaleboxException.Unavailable(
                "host " + name + " is not known to the store; it has not started yet"));
        if (host.state().equals("down")) {
            throw new ScaleboxException.Unavailable("host " + name + " is down: " + host.stateReason());
        }
        return host;
    }

    private <T> HttpResponse<T> send(HostStore.Row host, HttpRequest request, HttpResponse.BodyHandler<T> body) {
        try {
            return http.send(request, body);
        } catch (IOException e) {
            throw new ScaleboxException.Unavailable("host " + host.name() + " (" + host.url() + ") did not answer: "
                    + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.Unavailable("interrupted while waiting for host " + host.name());
        }
    }
}
