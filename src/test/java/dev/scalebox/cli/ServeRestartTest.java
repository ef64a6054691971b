package dev.scalebox.cli;

import dev.scalebox.api.Json;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.Vm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real thing from outside: {@code scalebox serve} as its own process, VMs made with the real
 * CLI, and the service killed with SIGKILL while a VM runs. The VM goes on running, and the next
 * service adopts it with its record unchanged.
 */
class ServeRestartTest {

    private static final String TOKEN = "serve-restart-test-token-0123";
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static TestVms env;
    private static int apiPort;
    private static int gatewayPort;
    private static Process serve;

    @BeforeAll
    static void startService() throws Exception {
        env = new TestVms("serve", 27001);
        try (ServerSocket a = new ServerSocket(0); ServerSocket g = new ServerSocket(0)) {
            apiPort = a.getLocalPort();
            gatewayPort = g.getLocalPort();
        }
        serve = startServe();
    }

    @AfterAll
    static void stopService() {
        if (serve != null) {
            serve.destroyForcibly();
        }
        env.close();
    }

    @Test
    void aVmOutlivesAKilledServiceAndIsAdoptedUnchanged() throws Exception {
        Path key = Path.of(env.privateKey + ".pub");
        CliResult created = cli("vm", "create", "--key", key.toString(), "--name", "survivor", "--mem", "512", "--wait", "--json");
        assertThat(created.exitCode()).as(created.stderr()).isZero();
        JsonNode vm = Json.MAPPER.readTree(created.stdout());
        String id = vm.get("id").asString();
        assertThat(vm.get("status").asString()).isEqualTo("running");
        Vm sshTarget = new Vm(id, "survivor", "debian-base", null, null, 2, 512, 2, "127.0.0.1",
                vm.get("ssh_port").asInt(), "root", Instant.now());
        env.ssh(sshTarget, "echo alive > /root/marker && sync");
        String recordBefore = api("/vms/" + id).body();

        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        assertThat(env.ssh(sshTarget, "cat /root/marker").strip()).isEqualTo("alive");

        serve = startServe();
        assertThat(api("/vms/" + id).body()).isEqualTo(recordBefore);
        assertThat(env.ssh(sshTarget, "cat /root/marker").strip()).isEqualTo("alive");
        CliResult listed = cli("vm", "ls");
        assertThat(listed.stdout()).contains(id).contains("survivor").contains("running");

        CliResult added = cli("box", "user", "add", "alice", "--key", key.toString());
        assertThat(added.exitCode()).as(added.stderr()).isZero();
        assertThat(cli("box", "user", "ls").stdout()).contains("alice").contains("SHA256:");
        assertThat(cli("box", "user", "add", "alice", "--key", key.toString()).stderr()).contains("(HTTP 409)");

        CliResult removed = cli("vm", "rm", "survivor");
        assertThat(removed.exitCode()).as(removed.stderr()).isZero();
        assertThat(TestVms.qemuProcessesOf(id)).isEmpty();
        assertThat(env.layout.vmImage(id)).doesNotExist();
        CliResult missing = cli("vm", "show", "survivor");
        assertThat(missing.exitCode()).isNotZero();
        assertThat(missing.stderr()).contains("VM not found (HTTP 404)");
    }

    private static Process startServe() throws Exception {
        ProcessBuilder pb = java("serve", "--data-dir", env.layout.root().toString(), "--port", Integer.toString(apiPort));
        pb.environment().putAll(Map.of("API_TOKEN", TOKEN, "PORT_MIN", "27001", "PORT_MAX", "27100",
                "GATEWAY_PORT", Integer.toString(gatewayPort), "POOL_VOLUMES_MIN_FREE", "0", "POOL_VOLUMES_MAX_FREE", "0",
                "POOL_INSTANCES_MIN_FREE", "0", "POOL_INSTANCES_MAX_FREE", "0"));
        pb.redirectErrorStream(true).redirectOutput(env.layout.root().resolve("serve.log").toFile());
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try {
                if (api("/health").statusCode() == 200) {
                    return p;
                }
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("scalebox serve did not come up:\n"
                + Files.readString(env.layout.root().resolve("serve.log")));
    }

    private record CliResult(int exitCode, String stdout, String stderr) {
    }

    private static CliResult cli(String... args) throws Exception {
        ProcessBuilder pb = java(args);
        pb.environment().putAll(Map.of("SCALEBOX_URL", "http://127.0.0.1:" + apiPort, "SCALEBOX_TOKEN", TOKEN));
        Process p = pb.start();
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        p.waitFor(5, TimeUnit.MINUTES);
        return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    /** This JVM's java and classpath running the Scalebox CLI. */
    private static ProcessBuilder java(String... args) {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv);
    }

    private static HttpResponse<String> api(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    }
}
