package dev.scalebox.cluster;

import dev.scalebox.api.Json;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.store.Database;
import dev.scalebox.template.TemplateService;
import dev.scalebox.testing.BaseTemplate;
import dev.scalebox.testing.GoldenSeed;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Netns;
import dev.scalebox.testing.ScaleboxCli;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.ThrowawayPostgres;
import dev.scalebox.testing.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three hosts on one machine: each a network namespace on a test bridge, with its own btrfs pool,
 * data directory and {@code scalebox serve}, and a PostgreSQL on the bridge for their store. A VM
 * created through a host that has no room lands where there is room (its template copied there by
 * {@code btrfs send}), and a delete through a third host removes it; a box used through one host's
 * gateway is suspended, moved, and resumed on another through a third gateway with its file and
 * its process, and moves on when its host drains, or when its host has no instance for it as its
 * user connects; its console is relayed through a host it does not live on; a host killed with its
 * QEMUs goes down and comes back with its VMs; when the leader dies another host leads and keeps
 * the box pools' totals.
 */
class ThreeHostsTest {

    private static final String TOKEN = "three-hosts-token-0123456789";
    private static final List<String> NAMES = List.of("alpha", "beta", "gamma");
    private static final HttpClient http = HttpClient.newHttpClient();

    private final List<LoopFs> pools = new ArrayList<>();
    private final Process[] serves = new Process[3];
    private final Path scratch = LoopFs.tempDir();
    private Netns net;
    private ThrowawayPostgres pg;
    private Map<String, String> store;

    @AfterEach
    void removeTheHosts() throws Exception {
        for (Process serve : serves) {
            if (serve != null) {
                serve.destroyForcibly().waitFor(60, TimeUnit.SECONDS);
            }
        }
        for (LoopFs pool : pools) {
            Sh.tryRun("pkill", "-9", "-f", "--", pool.root().toString());
        }
        Thread.sleep(500);
        pools.forEach(LoopFs::close);
        if (pg != null) {
            pg.close();
        }
        if (net != null) {
            net.close();
        }
        // The hosts' logs stay in target/ for a look after a failure.
        for (int i = 0; i < 3; i++) {
            if (Files.exists(logFile(i))) {
                Files.copy(logFile(i), Path.of("target", "ThreeHostsTest-" + NAMES.get(i) + ".log"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        LoopFs.deleteTree(scratch);
    }

    @Test
    void vmsGoWhereThereIsRoomBoxesMoveAndHostsThatDieComeBack() throws Exception {
        net = Netns.create(3);
        pg = ThrowawayPostgres.alsoListeningOn(net.bridgeAddress(), net.cidr());
        String database = pg.newDatabase();
        database = database.substring(database.lastIndexOf('/') + 1);
        Path secret = Files.writeString(scratch.resolve("cluster-secret"), "0123456789abcdef0123456789abcdef-three\n");
        store = Map.of("STORE_URL", pg.url(net.bridgeAddress(), database), "STORE_USER", ThrowawayPostgres.USER,
                "STORE_PASSWORD_FILE", pg.passwordFile().toString(), "CLUSTER_SECRET_FILE", secret.toString());
        // alpha holds the template and the golden state and has no room for a 4 GiB disk (and 2 to
        // spare); gamma has no room for one with a copy of the template; beta has room for both.
        for (long gib : List.of(5L, 11L, 5L)) {
            LoopFs pool = LoopFs.btrfs(gib << 30);
            pools.add(pool);
            DataLayout layout = new DataLayout(pool.root());
            layout.createDirectories();
            for (String file : List.of("vmlinuz", "initrd.img", "cmdline")) {
                Files.copy(BaseTemplate.get().layout.kernel().resolve(file), layout.kernel().resolve(file));
            }
        }
        run(ScaleboxCli.command("template", "import", BaseTemplate.get().layout.templateImage(TemplateService.BASE).toString(),
                TemplateService.BASE, "--data-dir", root(0).toString()), "import", Map.of("HOST_NAME", "alpha",
                "STORE_URL", pg.url("127.0.0.1", database)));
        try (Database db = Database.openPostgres(pg.url("127.0.0.1", database), Optional.of(ThrowawayPostgres.USER),
                Optional.of(pg.password()), "alpha")) {
            GoldenSeed.plantInto(new DataLayout(root(0)), root(0).resolve("gateway"), "alpha", 22099,
                    row -> db.vms().insert(row));
        }
        for (int i = 0; i < 3; i++) {
            serves[i] = serve(i);
            if (i == 0) {
                awaitHealth(0);
            }
        }
        awaitHealth(1);
        awaitHealth(2);
        Waits.until("three hosts up with their gateways", Waits.STEP, () -> {
            JsonNode hosts = json(2, "GET", "/hosts", null, 200);
            return hosts.size() == 3 && all(hosts, h -> h.get("state").asString().equals("up") && !h.get("gateway").isNull());
        }, this::logs);

        // A VM asked of alpha, which is full, lands on beta; gamma lists it, and a delete through gamma removes it on beta.
        JsonNode roomy = json(0, "POST", "/vms", "{\"template\":\"debian-base\",\"ssh_public_key\":\"" + userKey()
                + "\",\"name\":\"roomy\",\"vcpu_count\":1,\"mem_size_mib\":256,\"disk_size_gib\":4}", 201);
        assertThat(roomy.get("host").asString()).isEqualTo("beta");
        assertThat(log(1)).contains("Template 'debian-base' copied from host alpha as application/x-btrfs-send");
        String roomyId = roomy.get("id").asString();
        assertThat(json(2, "GET", "/vms", null, 200)).anySatisfy(v -> {
            assertThat(v.get("name").asString()).isEqualTo("roomy");
            assertThat(v.get("host").asString()).isEqualTo("beta");
        });
        Waits.until("roomy's QEMU to run on beta", Waits.STEP, () -> qemuOf(roomyId));
        assertThat(send(2, "DELETE", "/vms/roomy", null).statusCode()).isEqualTo(204);
        assertThat(new DataLayout(root(1)).vmImage(roomyId)).doesNotExist();
        Waits.until("roomy's QEMU to end", Waits.STEP, () -> !qemuOf(roomyId));
        assertThat(send(0, "GET", "/vms/roomy", null).statusCode()).isEqualTo(404);

        // A box used through alpha's gateway, suspended and moved to gamma, resumes there through beta's gateway.
        JsonNode user = json(0, "POST", "/users", "{\"name\":\"ada\",\"ssh_public_key\":\"" + userKey() + "\"}", 201);
        String box = user.get("id").asString();
        assertThat(ssh(0, "echo kept > /root/note && (setsid sleep 100000 </dev/null >/dev/null 2>&1 &) && echo ok"))
                .contains("ok");
        assertThat(json(1, "POST", "/boxes/" + box + "/suspend", null, 200).get("status").asString()).isEqualTo("suspended");
        JsonNode moved = json(1, "POST", "/boxes/" + box + "/move", "{\"host\":\"gamma\"}", 200);
        assertThat(moved.get("box").get("host").asString()).isEqualTo("gamma");
        long sent = moved.get("bytes_sent").asLong();
        long volume = moved.get("disk_bytes").asLong() + moved.get("memory_bytes").asLong();
        System.out.printf("box move: %d bytes sent (%d of a base) for a disk of %d and a memory of %d, in %.2f s%n", sent,
                moved.get("base_bytes_sent").asLong(), moved.get("disk_bytes").asLong(), moved.get("memory_bytes").asLong(),
                moved.get("seconds").asDouble());
        assertThat(sent).as("the box's own blocks and its memory, less than its volume").isLessThan(volume);
        assertThat(new DataLayout(root(0)).volumeImage(moved.get("box").get("vm_id").asString())).doesNotExist();
        String there = ssh(1, "cat /root/note; pgrep -x sleep >/dev/null && echo running");
        assertThat(there).contains("kept").contains("running");
        assertThat(json(1, "GET", "/boxes", null, 200)).as("every host's boxes, on any host").anySatisfy(b -> {
            assertThat(b.get("id").asString()).isEqualTo(box);
            assertThat(b.get("host").asString()).isEqualTo("gamma");
        });
        JsonNode resumed = json(0, "GET", "/boxes/" + box, null, 200);
        assertThat(resumed.get("host").asString()).isEqualTo("gamma");
        assertThat(resumed.get("status").asString()).isEqualTo("running");

        // Drained, gamma suspends the box and moves it away; it resumes on its new host through gamma's gateway.
        assertThat(json(0, "POST", "/hosts/gamma/drain", null, 200).get("state").asString()).isEqualTo("draining");
        Waits.until("the box to leave drained gamma", Waits.STEP,
                () -> !json(0, "GET", "/boxes/" + box, null, 200).get("host").asString().equals("gamma"), this::logs);
        assertThat(ssh(2, "cat /root/note; pgrep -x sleep >/dev/null && echo running")).contains("kept").contains("running");
        json(0, "POST", "/hosts/gamma/undrain", null, 200);

        // The box's console, asked of a host it does not live on, is relayed from its own host.
        JsonNode boxNow = json(0, "GET", "/boxes/" + box, null, 200);
        int elsewhere = NAMES.indexOf(boxNow.get("host").asString()) == 2 ? 0 : 2;
        assertThat(console(elsewhere, boxNow.get("vm_id").asString(), "hostname", "box-" + box)).contains("box-" + box);

        // alpha runs one box instance (POOL_INSTANCES_TOTAL 1). While bob's box holds it, ada's suspended box, asked for
        // through beta, moves from alpha to a host with room, and her session follows it there.
        json(0, "POST", "/users", "{\"name\":\"bob\",\"ssh_public_key\":\"" + userKey("bob") + "\"}", 201);
        json(0, "POST", "/boxes/" + box + "/suspend", null, 200);
        if (!boxNow.get("host").asString().equals("alpha")) {
            json(0, "POST", "/boxes/" + box + "/move", "{\"host\":\"alpha\"}", 200);
        }
        Process bobs = sshHeld(0, "bob");
        try {
            ProgramResult followed = new ProgramRunner().check(sshArgv(1, "ada",
                    "cat /root/note; pgrep -x sleep >/dev/null && echo running"), Waits.START);
            assertThat(followed.stdout()).contains("kept").contains("running");
            assertThat(followed.stderr()).as("the user is told why they wait")
                    .contains("this host has no room to run your box: it moves to host");
            assertThat(json(2, "GET", "/boxes/" + box, null, 200).get("host").asString()).isNotEqualTo("alpha");
            assertThat(log(0)).contains("Full: box VM " + boxNow.get("vm_id").asString() + " moved to host");
        } finally {
            bobs.destroyForcibly().waitFor();
        }

        // beta killed with its QEMUs goes down, its VM reads unknown and keeps its disk; back, it takes the VM up again.
        JsonNode keeper = json(2, "POST", "/vms", "{\"template\":\"debian-base\",\"ssh_public_key\":\"" + userKey()
                + "\",\"name\":\"keeper\",\"host\":\"beta\",\"vcpu_count\":1,\"mem_size_mib\":256,\"disk_size_gib\":2}", 201);
        String keeperId = keeper.get("id").asString();
        Waits.until("keeper's QEMU to run on beta", Waits.STEP, () -> qemuOf(keeperId));
        serves[1].destroyForcibly().waitFor();
        Sh.tryRun("pkill", "-9", "-f", "--", "scalebox-" + keeperId);
        Waits.until("beta to be marked down", Waits.STEP,
                () -> hostState(0, "beta").equals("down"), this::logs);
        JsonNode unknown = json(2, "GET", "/vms/keeper", null, 200);
        assertThat(unknown.get("status").asString()).isEqualTo("unknown");
        assertThat(unknown.get("status_reason").asString()).startsWith("host beta is down");
        assertThat(new DataLayout(root(1)).vmImage(keeperId)).exists();
        serves[1] = serve(1);
        awaitHealth(1);
        Waits.until("beta to be up again", Waits.STEP, () -> hostState(0, "beta").equals("up"), this::logs);
        // As on one host: a VM caught starting goes back in line, one caught running is stopped.
        String status = json(0, "GET", "/vms/keeper", null, 200).get("status").asString();
        if (status.equals("stopped")) {
            assertThat(log(1)).contains("QEMU was not running when Scalebox started");
        } else {
            assertThat(status).isIn("starting", "running");
            assertThat(log(1)).contains("VM " + keeperId + " was starting when Scalebox stopped; it goes back in line");
        }
        assertThat(send(0, "DELETE", "/vms/keeper", null).statusCode()).isEqualTo(204);

        // The leader dies: another host leads, and marks it down.
        assertThat(log(0)).contains("Host alpha leads the cluster");
        serves[0].destroyForcibly().waitFor();
        Waits.until("another host to lead", Waits.STEP,
                () -> log(1).contains("Host beta leads the cluster") || log(2).contains("Host gamma leads the cluster"),
                this::logs);
        Waits.until("alpha to be marked down", Waits.STEP, () -> hostState(2, "alpha").equals("down"), this::logs);
        Waits.until("the new leader to keep the box pools' totals of the hosts that are up", Waits.STEP, () -> {
            JsonNode totals = json(2, "GET", "/pool", null, 200).get("cluster");
            return !totals.get("kept_by").asString().equals("alpha") && totals.get("hosts").asInt() == 2;
        }, this::logs);
    }

    /** Types {@code command} into a VM's serial console through host {@code via} until its output shows {@code expected}. */
    private String console(int via, String vmId, String command, String expected) throws Exception {
        StringBuffer seen = new StringBuffer();
        WebSocket ws = http.newWebSocketBuilder().header("Authorization", "Bearer " + TOKEN)
                .buildAsync(URI.create("ws://" + net.address(via) + ":8080/vms/" + vmId + "/console/ws"), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                        byte[] bytes = new byte[data.remaining()];
                        data.get(bytes);
                        seen.append(new String(bytes, StandardCharsets.UTF_8));
                        w.request(1);
                        return null;
                    }
                }).get(60, TimeUnit.SECONDS);
        try {
            long deadline = System.nanoTime() + Waits.STEP.toNanos();
            while (!seen.toString().contains(expected) && System.nanoTime() < deadline) {
                ws.sendBinary(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)), true).get(30, TimeUnit.SECONDS);
                Thread.sleep(3000);
            }
            return seen.toString();
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "");
        }
    }

    private Process serve(int i) throws IOException {
        String address = net.address(i);
        ProcessBuilder pb = net.inside(i, ScaleboxCli.command("serve", "--data-dir", root(i).toString(), "--port", "8080"));
        Map<String, String> env = new HashMap<>(store);
        env.putAll(Map.of("API_TOKEN", TOKEN, "HOST_NAME", NAMES.get(i), "HOST_URL", "http://" + address + ":8080",
                "API_BIND", address, "GATEWAY_BIND", address, "NETWORK", "user", "HOST_HEARTBEAT_INTERVAL", "1",
                "HOST_DEAD_AFTER", "6", "TEMPLATE_SNAPSHOTS_MAX", "0", "BOX_MEM_MIB", "512"));
        env.putAll(Map.of("BOX_VCPUS", "2", "POOL_VOLUMES_MIN_FREE", "0", "POOL_VOLUMES_MAX_FREE", "0",
                "POOL_INSTANCES_MIN_FREE", "0", "POOL_INSTANCES_MAX_FREE", "0", "BOX_IDLE_SUSPEND", "3600",
                "POOL_INSTANCES_TOTAL", i == 0 ? "1" : "50"));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(i).toFile()));
        return pb.start();
    }

    private void run(ProcessBuilder pb, String name, Map<String, String> env) throws Exception {
        pb.environment().putAll(store);
        pb.environment().putAll(env);
        Path log = scratch.resolve(name + ".log");
        Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(Waits.STEP.toSeconds(), TimeUnit.SECONDS) && p.exitValue() == 0).as(Files.readString(log)).isTrue();
    }

    /** Runs {@code command} in ada's box through host {@code i}'s gateway. */
    private String ssh(int i, String command) throws IOException {
        return new ProgramRunner().check(sshArgv(i, "ada", command), Waits.START).stdout();
    }

    private List<String> sshArgv(int i, String user, String command) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", "2222"));
        argv.addAll(TestGateway.clientOptions(userKeyFile(user)));
        argv.addAll(List.of("box@" + net.address(i), command));
        return argv;
    }

    /** A session of {@code user} through host {@code i}'s gateway, into their box, that stays open until destroyed. */
    private Process sshHeld(int i, String user) throws Exception {
        Path out = scratch.resolve(user + "-held.log");
        Process held = new ProcessBuilder(sshArgv(i, user, "echo held-open; sleep 3600")).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        Waits.until(user + "'s session to reach their box", Waits.START, () -> {
            assertThat(held.isAlive()).as("%s's session: %s", user, Files.readString(out)).isTrue();
            return Files.readString(out).contains("held-open");
        }, this::logs);
        return held;
    }

    private Path userKeyFile(String user) throws IOException {
        Path key = scratch.resolve(user);
        if (!Files.exists(key)) {
            Sh.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user, "-f", key.toString());
        }
        return key;
    }

    private String userKey() throws IOException {
        return userKey("ada");
    }

    private String userKey(String user) throws IOException {
        userKeyFile(user);
        return Files.readString(scratch.resolve(user + ".pub")).strip();
    }

    private boolean qemuOf(String vmId) {
        return Sh.tryRun("pgrep", "-f", "--", "-name scalebox-" + vmId).succeeded();
    }

    private String hostState(int via, String name) throws Exception {
        return json(via, "GET", "/hosts/" + name, null, 200).get("state").asString();
    }

    private Path root(int i) {
        return pools.get(i).root();
    }

    private Path logFile(int i) {
        return scratch.resolve(NAMES.get(i) + ".log");
    }

    private String log(int i) throws IOException {
        return Files.readString(logFile(i));
    }

    private String logs() {
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            try {
                all.append(NAMES.get(i)).append(":\n").append(log(i)).append('\n');
            } catch (IOException e) {
                all.append(e.getMessage());
            }
        }
        return all.toString();
    }

    private void awaitHealth(int i) throws Exception {
        Waits.until(NAMES.get(i) + " to answer", Waits.STEP, () -> {
            assertThat(serves[i].isAlive()).as("%s runs:\n%s", NAMES.get(i), logs()).isTrue();
            try {
                return send(i, "GET", "/health", null).statusCode() == 200;
            } catch (IOException notYet) {
                return false;
            }
        }, this::logs);
    }

    private JsonNode json(int i, String method, String path, String body, int status) throws Exception {
        HttpResponse<String> r = send(i, method, path, body);
        assertThat(r.statusCode()).as("%s %s on %s: %s", method, path, NAMES.get(i), r.body()).isEqualTo(status);
        return Json.MAPPER.readTree(r.body());
    }

    private HttpResponse<String> send(int i, String method, String path, String body) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + net.address(i) + ":8080" + path))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static boolean all(JsonNode nodes, java.util.function.Predicate<JsonNode> test) {
        for (JsonNode n : nodes) {
            if (!test.test(n)) {
                return false;
            }
        }
        return true;
    }
}
