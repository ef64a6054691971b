package dev.scalebox.cli;

import dev.scalebox.api.Json;
import dev.scalebox.config.Settings;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The CLI's way to a Scalebox server: {@code SCALEBOX_URL} (default the local server on API_PORT)
 * with the token from {@code SCALEBOX_TOKEN}, else API_TOKEN, else the data directory's token file.
 */
final class ApiClient {

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;
    private final String token;

    private ApiClient(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    /**
     * {@code SCALEBOX_URL} and {@code SCALEBOX_TOKEN} when set; else the server and token of
     * {@code scalebox login}; else the local server with API_TOKEN or the data directory's token.
     */
    static ApiClient from(Settings settings) {
        Optional<String> url = env("SCALEBOX_URL");
        Optional<CliConfig.Login> login = CliConfig.login()
                .filter(l -> url.isEmpty() || l.url().equals(URI.create(url.get())));
        URI base = url.map(URI::create).or(() -> login.map(CliConfig.Login::url))
                .orElseGet(() -> URI.create("http://127.0.0.1:" + settings.apiPort()));
        String token = env("SCALEBOX_TOKEN").or(() -> login.map(CliConfig.Login::token))
                .orElseGet(() -> settings.apiToken().orElseGet(() -> readToken(settings.dataDir().resolve("api-token"))));
        return new ApiClient(base, token);
    }

    /** A client of the server at {@code base} with {@code token}, as {@code scalebox login} checks it. */
    static ApiClient of(URI base, String token) {
        return new ApiClient(base, token);
    }

    private static Optional<String> env(String name) {
        return Optional.ofNullable(System.getenv(name)).filter(v -> !v.isBlank());
    }

    JsonNode get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    JsonNode delete(String path) {
        return send(HttpRequest.newBuilder(uri(path)).DELETE());
    }

    JsonNode post(String path, Object body) {
        String json = body == null ? "" : Json.MAPPER.writeValueAsString(body);
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    /**
     * Subscribes to the server's events; returns once the server says the subscription holds, so
     * that a state read after this cannot miss a change.
     */
    EventSubscription events() {
        HttpRequest request = HttpRequest.newBuilder(uri("/events")).header("Authorization", "Bearer " + token)
                .header("Accept", "text/event-stream").build();
        HttpResponse<Stream<String>> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        } catch (IOException e) {
            throw new CliException("cannot follow the events of " + base + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
        if (response.statusCode() != 200) {
            response.body().close();
            throw new CliException("the events of " + base + " answered HTTP " + response.statusCode());
        }
        return EventSubscription.of(response.body());
    }

    /**
     * Opens the WebSocket at {@code path} with the token. A refused upgrade becomes the server's
     * own words, read from a plain GET of the same path.
     */
    java.net.http.WebSocket webSocket(String path, java.net.http.WebSocket.Listener listener) {
        URI http = uri(path);
        URI ws = URI.create(http.toString().replaceFirst("^http", "ws"));
        try {
            return this.http.newWebSocketBuilder().header("Authorization", "Bearer " + token)
                    .connectTimeout(Duration.ofSeconds(10)).buildAsync(ws, listener).join();
        } catch (java.util.concurrent.CompletionException e) {
            getText(path);  // throws with the server's reason
            throw new CliException("cannot open " + ws + ": " + e.getCause().getMessage());
        }
    }

    String getText(String path) {
        return exchange(HttpRequest.newBuilder(uri(path)).GET()).body();
    }

    private URI uri(String path) {
        return base.resolve(path);
    }

    private JsonNode send(HttpRequest.Builder request) {
        String body = exchange(request).body();
        return body.isEmpty() ? null : Json.MAPPER.readTree(body);
    }

    /** Sends with the token; a refused request becomes the server's error message. */
    private HttpResponse<String> exchange(HttpRequest.Builder request) {
        request.header("Authorization", "Bearer " + token).timeout(Duration.ofMinutes(5));
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new CliException("cannot reach Scalebox at " + base + ": is 'scalebox serve' running? (for another"
                    + " server: 'scalebox login URL', or set SCALEBOX_URL)");
        } catch (IOException e) {
            throw new CliException("request to " + base + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
        if (response.statusCode() >= 400) {
            String message = response.body();
            try {
                message = Json.MAPPER.readTree(response.body()).path("error").asString(message);
            } catch (RuntimeException notJson) {
                // keep the raw body
            }
            throw new CliException(message + " (HTTP " + response.statusCode() + ")");
        }
        return response;
    }

    private static String readToken(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            throw new CliException("no API token: run 'scalebox login URL', set SCALEBOX_TOKEN, or run as a user who can read "
                    + file);
        }
    }
}
