package dev.scalebox.network;

import dev.scalebox.ScaleboxException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Caddy's admin API on its Unix socket: one HTTP/1.1 request per connection. The JDK's HTTP
 * client speaks only TCP, and the admin endpoint is kept off TCP so that no local user can
 * reconfigure Caddy. Caddy wants an empty {@code Host} on this socket.
 */
final class CaddyAdmin {

    record Answer(int status, String body) {
        boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path socket;

    CaddyAdmin(Path socket) {
        this.socket = socket;
    }

    /** Sends the request; a connection that fails or does not answer in time is an exception. */
    Answer send(String method, String path, String json) throws IOException {
        byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: \r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        CompletableFuture<Answer> answer = CompletableFuture.supplyAsync(() -> exchange(channel, head, body),
                r -> Thread.ofVirtual().start(r));
        try {
            return answer.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("Caddy's admin API did not answer " + method + " " + path + " within "
                    + TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof UncheckedIOException u ? u.getCause() : new IOException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            channel.close();
        }
    }

    /** Sends the request and fails, with Caddy's message, unless it is done. */
    void require(String method, String path, String json) {
        try {
            Answer answer = send(method, path, json);
            if (!answer.ok()) {
                throw new ScaleboxException.HostFailure("Caddy refused " + method + " " + path + " (" + answer.status()
                        + "): " + answer.body().strip());
            }
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("Caddy's admin API at " + socket + " failed: " + e.getMessage(), e);
        }
    }

    private Answer exchange(SocketChannel channel, String head, byte[] body) {
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            channel.write(ByteBuffer.wrap(body));
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            ByteBuffer buffer = ByteBuffer.allocate(8192);
            while (channel.read(buffer) >= 0) {
                received.write(buffer.array(), 0, buffer.position());
                buffer.clear();
            }
            String response = received.toString(StandardCharsets.UTF_8);
            int bodyAt = response.indexOf("\r\n\r\n");
            String[] status = response.substring(0, Math.max(0, response.indexOf("\r\n"))).split(" ");
            if (status.length < 2) {
                throw new IOException("Caddy's admin API sent no HTTP status");
            }
            return new Answer(Integer.parseInt(status[1]), bodyAt < 0 ? "" : response.substring(bodyAt + 4));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
