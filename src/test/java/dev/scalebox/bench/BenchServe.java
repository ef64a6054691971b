package dev.scalebox.bench;

import dev.scalebox.testing.Ports;
import dev.scalebox.testing.ScaleboxCli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code scalebox serve} for a benchmark: on the user-mode network, with no pools, no
 * snapshots and a fixed token, logging beside its data directory; closing it stops it.
 */
final class BenchServe implements AutoCloseable {

    static final String TOKEN = "scalebox-bench-token-0123456789";
    private static final HttpClient http = HttpClient.newHttpClient();

    final int port;
    private final Process process;

    private BenchServe(int port, Process process) {
        this.port = port;
        this.process = process;
    }

    /** Starts one on {@code dataDir} with {@code env} on top, and waits until it answers. */
    static BenchServe start(Path dataDir, Map<String, String> env) throws IOException, InterruptedException {
        int port = Ports.free();
        ProcessBuilder pb = ScaleboxCli.command("serve", "--data-dir", dataDir.toString(), "--port", Integer.toString(port));
        pb.environment().putAll(Map.of("API_TOKEN", TOKEN, "NETWORK", "user",
                "GATEWAY_PORT", Integer.toString(Ports.free()), "POOL_VOLUMES_MIN_FREE", "0", "POOL_VOLUMES_MAX_FREE", "0",
                "POOL_INSTANCES_MIN_FREE", "0", "POOL_INSTANCES_MAX_FREE", "0", "TEMPLATE_SNAPSHOTS_MAX", "0"));
        pb.environment().putAll(env);
        Path log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
        BenchServe serve = new BenchServe(port, pb.redirectErrorStream(true).redirectOutput(log.toFile()).start());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!serve.healthy()) {
            if (!serve.process.isAlive() || System.nanoTime() > deadline) {
                serve.close();
                throw new IllegalStateException("scalebox serve did not start:\n" + Files.readString(log));
            }
            Thread.sleep(200);
        }
        return serve;
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("Authorization", "Bearer " + TOKEN);
    }

    HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private boolean healthy() throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException notYet) {
            return false;
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
