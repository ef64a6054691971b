package dev.scalebox.cli;

import dev.scalebox.config.HostName;
import dev.scalebox.store.Database;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.ScaleboxCli;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.ThrowawayPostgres;
import dev.scalebox.testing.Waits;
import org.junit.jupiter.api.AfterEach;
import tools.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code scalebox serve} with {@code STORE_URL}: its records in a real PostgreSQL, not in the data
 * directory, kept across a restart; one server per host name; a refused login stops the start; two
 * hosts on one store see each other, and when the leader dies the other takes the lead and marks it down.
 */
class ServeOnPostgresTest {

    private static final String TOKEN = "serve-on-postgres-token-0123";
    private static final String KEY =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";
    private static final HttpClient http = HttpClient.newHttpClient();

    private final Path dir = tempDir();
    private final List<Process> serves = new ArrayList<>();

    @AfterEach
    void stopServesAndRemoveTheirData() throws Exception {
        for (Process p : serves) {
            p.destroyForcibly().waitFor(60, TimeUnit.SECONDS);
        }
        Sh.run("rm", "-rf", "--one-file-system", dir.toString());
    }

    @Test
    void theRecordsLiveInPostgresqlAcrossARestartAndASecondServerIsRefused() throws Exception {
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        Map<String, String> store = Map.of("STORE_URL", url, "STORE_USER", ThrowawayPostgres.USER,
                "STORE_PASSWORD_FILE", pg.passwordFile().toString());
        int port = Ports.free();
        Process first = serve(dir.resolve("one"), port, store);
        awaitHealth(first, port);
        HttpResponse<String> added = http.send(request(port, "/users").POST(HttpRequest.BodyPublishers.ofString(
                "{\"name\":\"ada\",\"ssh_public_key\":\"" + KEY + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        try (Database db = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()),
                HostName.ofMachine())) {
            assertThat(db.users().list()).extracting(u -> u.name()).containsExactly("ada");
        }
        assertThat(dir.resolve("one/scalebox.db")).as("no SQLite store beside PostgreSQL").doesNotExist();

        Process second = serve(dir.resolve("two"), Ports.free(), store);
        assertThat(second.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("two.log"))).contains("is served by another scalebox serve;"
                + " give each host its own HOST_NAME");

        first.destroy();
        assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Process again = serve(dir.resolve("one"), port, store);
        awaitHealth(again, port);
        HttpResponse<String> listed = http.send(request(port, "/users").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(listed.body()).contains("\"name\":\"ada\"");
    }

    @Test
    void twoHostsShareTheStorePassEachOtherActionsAndWhenTheLeaderDiesTheOtherLeadsAndMarksItDown() throws Exception {
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        String secret = "0123456789abcdef0123456789abcdef-cluster";
        Path secretFile = Files.writeString(dir.resolve("cluster-secret"), secret + "\n");
        Map<String, String> store = Map.of("STORE_URL", url, "STORE_USER", ThrowawayPostgres.USER,
                "STORE_PASSWORD_FILE", pg.passwordFile().toString(), "HOST_HEARTBEAT_INTERVAL", "1", "HOST_DEAD_AFTER", "4",
                "CLUSTER_SECRET_FILE", secretFile.toString());
        int alphaPort = Ports.free();
        int betaPort = Ports.free();
        Path tiny = dir.resolve("tiny.ext4");
        Files.createDirectories(dir.resolve("tiny/root/.ssh"));
        Sh.run("truncate", "-s", "32M", tiny.toString());
        Sh.run("mkfs.ext4", "-q", "-F", "-d", dir.resolve("tiny").toString(), tiny.toString());
        ProcessBuilder importing = ScaleboxCli.command("template", "import", tiny.toString(), "tiny", "--data-dir",
                dir.resolve("alpha").toString());
        importing.environment().putAll(with(store, "HOST_NAME", "alpha"));
        Process imported = importing.redirectErrorStream(true).redirectOutput(dir.resolve("import.log").toFile()).start();
        assertThat(imported.waitFor(Waits.STEP.toSeconds(), TimeUnit.SECONDS) && imported.exitValue() == 0)
                .as(Files.readString(dir.resolve("import.log"))).isTrue();
        Process alpha = serve(dir.resolve("alpha"), alphaPort, with(store, "HOST_NAME", "alpha"));
        awaitHealth(alpha, alphaPort);
        Process beta = serve(dir.resolve("beta"), betaPort, with(store, "HOST_NAME", "beta"));
        awaitHealth(beta, betaPort);
        try (Database db = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()),
                "alpha")) {
            assertThat(db.vms().insert(new dev.scalebox.store.VmStore.Row("vm-0000000000a1", "on-alpha", "debian-base",
                    "running", null, 2, 2048, 2, 22001, java.time.Instant.now(), false, null, "internet", 80))).isTrue();
        }

        for (int port : List.of(alphaPort, betaPort)) {
            JsonNode hosts = json(port, "/hosts");
            assertThat(hosts).extracting(h -> h.get("name").asString()).containsExactly("alpha", "beta");
            for (JsonNode h : hosts) {
                assertThat(h.get("state").asString()).isEqualTo("up");
                assertThat(h.get("cores").asInt()).isEqualTo(Runtime.getRuntime().availableProcessors());
                assertThat(h.get("mem_total_mib").asLong()).isPositive();
                assertThat(h.get("pool_free_bytes").asLong()).isPositive();
                assertThat(h.get("qemu_version").asString()).startsWith("QEMU emulator version");
                assertThat(h.get("box_pool").get("instances_total").asInt()).as("POOL_INSTANCES_TOTAL").isEqualTo(50);
            }
            assertThat(hosts.get(0).get("url").asString()).isEqualTo("http://127.0.0.1:" + alphaPort);
            assertThat(hosts.get(0).get("vms").asInt()).isEqualTo(1);
        }
        JsonNode fromBeta = json(betaPort, "/vms/on-alpha");
        assertThat(fromBeta.get("host").asString()).isEqualTo("alpha");
        assertThat(fromBeta.get("status").asString()).isEqualTo("running");
        HttpResponse<String> bounced = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + betaPort
                + "/vms/on-alpha/stop")).header("Scalebox-Cluster-Secret", secret).POST(HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(bounced.statusCode()).as("a request passed on is not passed on again").isEqualTo(409);
        assertThat(bounced.body()).contains("lives on host alpha (http://127.0.0.1:" + alphaPort + ")");
        HttpResponse<String> forged = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + alphaPort
                + "/vms/on-alpha/stop")).header("Scalebox-Cluster-Secret", secret.replace('0', 'x'))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(forged.statusCode()).as("a wrong secret and no token").isEqualTo(401);
        Waits.until("alpha to lead", Waits.STEP, () -> Files.readString(dir.resolve("alpha.log"))
                .contains("Host alpha leads the cluster"), () -> log(alpha));
        Waits.until("alpha, the leader, to keep both hosts' box pools' totals", Waits.STEP, () -> {
            JsonNode totals = json(betaPort, "/pool").get("cluster");
            return !totals.isNull() && totals.get("hosts").asInt() == 2;
        }, () -> log(alpha));
        JsonNode totals = json(betaPort, "/pool").get("cluster");
        assertThat(totals.get("kept_by").asString()).isEqualTo("alpha");
        assertThat(totals.get("pool").get("instances_total").asInt()).as("POOL_INSTANCES_TOTAL 50, twice").isEqualTo(100);

        alpha.destroyForcibly().waitFor();
        Waits.until("beta to take the lead and mark alpha down", Waits.STEP,
                () -> json(betaPort, "/hosts").get(0).get("state").asString().equals("down"), () -> log(beta));
        assertThat(Files.readString(dir.resolve("beta.log"))).contains("Host beta leads the cluster");
        Waits.until("beta, leading, to keep the totals of the hosts that are up", Waits.STEP, () -> {
            JsonNode kept = json(betaPort, "/pool").get("cluster");
            return kept.get("kept_by").asString().equals("beta") && kept.get("hosts").asInt() == 1
                    && kept.get("pool").get("instances_total").asInt() == 50;
        }, () -> log(beta));
        JsonNode unknown = json(betaPort, "/vms/on-alpha");
        assertThat(unknown.get("status").asString()).isEqualTo("unknown");
        assertThat(unknown.get("status_reason").asString()).startsWith("host alpha is down: no heartbeat for");
        assertThat(json(betaPort, "/vms")).hasSize(1);
        HttpResponse<String> toTheDead = http.send(request(betaPort, "/vms/on-alpha/start")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(toTheDead.statusCode()).isEqualTo(503);
        assertThat(toTheDead.body()).contains("host alpha is down: no heartbeat for");

        Process again = serve(dir.resolve("alpha"), alphaPort, with(store, "HOST_NAME", "alpha"));
        awaitHealth(again, alphaPort);
        Waits.until("alpha to be up again", Waits.STEP,
                () -> json(betaPort, "/hosts").get(0).get("state").asString().equals("up"), () -> log(again));
        HttpResponse<String> stopped = http.send(request(betaPort, "/vms/on-alpha/stop")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(stopped.statusCode()).as("passed on to alpha: %s", stopped.body()).isEqualTo(200);
        assertThat(dev.scalebox.api.Json.MAPPER.readTree(stopped.body()).get("status").asString()).isEqualTo("stopped");
        HttpResponse<String> deleted = http.send(request(betaPort, "/vms/on-alpha").DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
        assertThat(json(alphaPort, "/vms")).isEmpty();

        HttpResponse<String> drained = http.send(request(alphaPort, "/hosts/beta/drain")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
        assertThat(json(betaPort, "/hosts/beta").get("state").asString()).isEqualTo("draining");
        HttpResponse<String> refused = http.send(request(alphaPort, "/vms").POST(HttpRequest.BodyPublishers.ofString(
                "{\"template\":\"tiny\",\"ssh_public_key\":\"" + KEY + "\",\"host\":\"beta\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(409);
        assertThat(refused.body()).contains("host beta is draining and takes no new VMs");
        HttpResponse<String> undrained = http.send(request(betaPort, "/hosts/beta/undrain")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(dev.scalebox.api.Json.MAPPER.readTree(undrained.body()).get("state").asString()).isEqualTo("up");

        HttpResponse<String> copied = http.send(request(alphaPort, "/vms").POST(HttpRequest.BodyPublishers.ofString(
                "{\"template\":\"tiny\",\"ssh_public_key\":\"" + KEY + "\",\"name\":\"copied\",\"host\":\"beta\","
                        + "\"vcpu_count\":1,\"mem_size_mib\":256,\"disk_size_gib\":1}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(copied.statusCode()).as("made on beta with a copy of alpha's template: %s", copied.body()).isEqualTo(201);
        assertThat(dev.scalebox.api.Json.MAPPER.readTree(copied.body()).get("host").asString()).isEqualTo("beta");
        assertThat(Sh.run("cmp", dir.resolve("alpha/templates/tiny.ext4").toString(),
                dir.resolve("beta/templates/tiny.ext4").toString())).isEmpty();
        assertThat(json(betaPort, "/templates")).extracting(t -> t.get("name").asString()).contains("tiny");
        assertThat(Files.readString(dir.resolve("beta.log")))
                .contains("Template 'tiny' copied from host alpha as application/octet-stream");
        HttpResponse<String> direct = http.send(request(alphaPort, "/cluster/templates/tiny/image").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(direct.statusCode()).as("the images go to hosts only, not to a caller with the token").isEqualTo(403);
        assertThat(http.send(request(betaPort, "/vms/copied").DELETE().build(), HttpResponse.BodyHandlers.ofString())
                .statusCode()).isEqualTo(204);
        HttpResponse<String> placed = http.send(request(betaPort, "/vms").POST(HttpRequest.BodyPublishers.ofString(
                "{\"template\":\"tiny\",\"ssh_public_key\":\"" + KEY + "\",\"name\":\"placed\",\"vcpu_count\":1,"
                        + "\"mem_size_mib\":256,\"disk_size_gib\":1}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(placed.statusCode()).as("placed on the host with more free memory: %s", placed.body()).isEqualTo(201);
        JsonNode made = dev.scalebox.api.Json.MAPPER.readTree(placed.body());
        assertThat(made.get("host").asString()).isIn("alpha", "beta");
        assertThat(placed.headers().firstValue("Location")).hasValue("/vms/" + made.get("id").asString());
        assertThat(json(made.get("host").asString().equals("alpha") ? alphaPort : betaPort, "/vms"))
                .extracting(v -> v.get("name").asString()).containsExactly("placed");
        HttpResponse<String> nowhere = http.send(request(alphaPort, "/vms").POST(HttpRequest.BodyPublishers.ofString(
                "{\"template\":\"debian-base\",\"ssh_public_key\":\"" + KEY + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(nowhere.statusCode()).isEqualTo(404);
        assertThat(nowhere.body()).contains("No up host holds template 'debian-base'");
        HttpResponse<String> gone = http.send(request(betaPort, "/vms/placed").DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(gone.statusCode()).as(gone.body()).isEqualTo(204);
        assertThat(json(betaPort, "/vms")).isEmpty();
    }

    @Test
    void aRefusedLoginStopsTheStartWithTheReasonAndServesNothing() throws Exception {
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        Path wrong = Files.writeString(dir.resolve("wrong-password"), "not-the-password\n");
        int port = Ports.free();
        Process serve = serve(dir.resolve("data"), port, Map.of("STORE_URL", url, "STORE_USER", ThrowawayPostgres.USER,
                "STORE_PASSWORD_FILE", wrong.toString()));
        assertThat(serve.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(serve.exitValue()).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("data.log")))
                .contains("error: store: cannot connect to " + url)
                .contains("password authentication failed for user \"scalebox\"");
        assertThat(dir.resolve("data/scalebox.db")).doesNotExist();
    }

    private Process serve(Path dataDir, int port, Map<String, String> env) throws IOException {
        ProcessBuilder pb = ScaleboxCli.command("serve", "--data-dir", dataDir.toString(), "--port", Integer.toString(port));
        pb.environment().putAll(Map.of("API_TOKEN", TOKEN, "NETWORK", "user", "GATEWAY_PORT", Integer.toString(Ports.free()),
                "POOL_VOLUMES_MIN_FREE", "0", "POOL_VOLUMES_MAX_FREE", "0", "POOL_INSTANCES_MIN_FREE", "0",
                "POOL_INSTANCES_MAX_FREE", "0", "TEMPLATE_SNAPSHOTS_MAX", "0"));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(dir.resolve(dataDir.getFileName() + ".log").toFile());
        Process p = pb.start();
        serves.add(p);
        return p;
    }

    /** Traversable by QEMU's users like the data directories of the other tests, with no pool mounted in it. */
    private static Path tempDir() {
        try {
            return Files.createTempDirectory(Path.of("/var/tmp"), "scalebox-serve-pg-",
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x")));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, String> with(Map<String, String> env, String key, String value) {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.put(key, value);
        return all;
    }

    private static JsonNode json(int port, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request(port, path).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return dev.scalebox.api.Json.MAPPER.readTree(r.body());
    }

    private void awaitHealth(Process p, int port) throws Exception {
        Waits.until("scalebox serve to answer", Waits.STEP, () -> {
            assertThat(p.isAlive()).as("scalebox serve is running:\n%s", log(p)).isTrue();
            try {
                return http.send(request(port, "/health").build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
            } catch (IOException notYet) {
                return false;
            }
        }, () -> log(p));
    }

    private String log(Process p) {
        try (var logs = Files.list(dir)) {
            return String.join("\n", logs.filter(f -> f.toString().endsWith(".log")).map(f -> {
                try {
                    return f + ":\n" + Files.readString(f);
                } catch (IOException e) {
                    return f + ": " + e.getMessage();
                }
            }).toList());
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    private static HttpRequest.Builder request(int port, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("Authorization", "Bearer " + TOKEN);
    }
}
