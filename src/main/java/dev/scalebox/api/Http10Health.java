package dev.scalebox.api;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Semaphore;

/**
 * HTTP/1.0 requests, which Helidon's server (HTTP/1.1 only) answers with 505. Load balancers' and
 * monitors' health checks often speak HTTP/1.0, so {@code GET /health} (and {@code HEAD}) is
 * answered here as over HTTP/1.1; any other HTTP/1.0 request gets a 505 that says to use HTTP/1.1.
 * One request per connection, then the connection closes, as HTTP/1.0 has it.
 */
final class Http10Health implements ServerConnectionSelector {

    private static final int MAX_HEADER_LINES = 100;

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    @Override
    public Support supports(BufferData data) {
        int newline = data.indexOf((byte) '\n');
        if (newline < 0) {
            return data.available() > 8192 ? Support.UNSUPPORTED : Support.UNKNOWN;
        }
        return data.readString(newline).endsWith(" HTTP/1.0\r") ? Support.SUPPORTED : Support.UNSUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return Set.of("http/1.0");
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        return new ServerConnection() {
            @Override
            public void handle(Semaphore requestSemaphore) {
                answer(ctx);
            }

            @Override
            public Duration idleTime() {
                return Duration.ZERO;
            }

            @Override
            public void close(boolean interrupt) {
                // one request, answered in handle
            }
        };
    }

    private static void answer(ConnectionContext ctx) {
        DataReader in = ctx.dataReader();
        String requestLine = in.readLine();
        for (int i = 0; i < MAX_HEADER_LINES && !in.readLine().isEmpty(); i++) {
            // the headers say nothing that changes the answer
        }
        String[] parts = requestLine.split(" ");
        boolean health = parts.length == 3 && parts[1].equals("/health")
                && (parts[0].equals("GET") || parts[0].equals("HEAD"));
        String status = health ? "200 OK" : "505 HTTP Version Not Supported";
        String body = health ? "{\"status\":\"ok\"}"
                : "{\"error\":\"HTTP/1.0 is answered for GET /health only; use HTTP/1.1\"}";
        String head = "HTTP/1.0 " + status + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length() + "\r\nConnection: close\r\n\r\n";
        String response = parts[0].equals("HEAD") ? head : head + body;
        ctx.dataWriter().writeNow(BufferData.create(response.getBytes(StandardCharsets.US_ASCII)));
    }
}
