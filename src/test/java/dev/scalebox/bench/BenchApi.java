package dev.scalebox.bench;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.VmService;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The real API server over a bench's VMs, and the calls the benches make to it over HTTP. */
final class BenchApi implements AutoCloseable {

    private static final String TOKEN = "bench-token-0123456789abcdef";
    private static final Pattern ID = Pattern.compile("\"id\":\"(vm-[0-9a-f]{12})\"");
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private final ApiServer server;
    private final String base;

    BenchApi(TestVms env, VmService vms) {
        server = ApiServer.start("127.0.0.1", 0, ApiToken.resolve(Optional.of(TOKEN), Path.of("/nonexistent")),
                new ApiServer.Services(env.templates, vms, env.storage, "tcg", null, null));
        base = "http://127.0.0.1:" + server.port();
    }

    /** {@code POST /vms} with {@code body}; the new VM's id. */
    String create(String body) throws Exception {
        HttpResponse<String> r = http.send(request("/vms").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher id = ID.matcher(r.body());
        if (r.statusCode() != 201 || !id.find()) {
            throw new IllegalStateException("create failed: " + r.statusCode() + " " + r.body());
        }
        return id.group(1);
    }

    void delete(String id) throws Exception {
        HttpResponse<String> r = http.send(request("/vms/" + id).DELETE().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 204) {
            throw new IllegalStateException("delete failed: " + r.statusCode() + " " + r.body());
        }
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json");
    }

    @Override
    public void close() {
        server.close();
    }
}
