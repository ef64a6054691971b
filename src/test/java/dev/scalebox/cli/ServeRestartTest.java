package dev.scalebox.cli;

import dev.scalebox.api.Json;
import dev.scalebox.host.FaultPoint;
import dev.scalebox.network.HttpsConfig;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.ScaleboxCli;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.Vm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real thing from outside: {@code scalebox serve} as its own process, VMs made with the real
 * CLI, users at the real gateway, and the service killed: by SIGKILL while a VM runs, and halted
 * as a SIGKILL would ({@code SCALEBOX_CRASH_AT}) in the middle of a suspend, a create, a
 * golden-state build and the join of a warm instance. Each time the next service reconciles every
 * VM to a true state: nothing lost, nothing half-written resumed, no QEMU orphaned. A second
 * service on the same data directory is refused.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServeRestartTest {

    private static final String TOKEN = "serve-restart-test-token-0123";
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static TestVms env;
    private static int apiPort;
    private static int gatewayPort;
    private static int httpsPort;
    private static final String DOMAIN = "serve.scalebox.test";
    private static Process serve;
    private static int serves;
    private static String survivor;
    private static Vm sshTarget;
    private static String aliceId;

    @BeforeAll
    static void startService() throws Exception {
        apiPort = Ports.free();
        gatewayPort = Ports.free();
        httpsPort = Ports.free();
        env = new TestVms("serve", 27001, layout -> new HttpsConfig(DOMAIN, "127.0.0.1", httpsPort, null,
                layout.root().resolve("caddy"), "127.0.0.1:" + apiPort));
        serve = startServe(Map.of());
    }

    @AfterAll
    static void stopService() {
        if (serve != null) {
            serve.destroyForcibly();
        }
        env.close();
    }

    @Test
    @Order(1)
    void aVmOutlivesAKilledServiceAndIsAdoptedUnchanged() throws Exception {
        Path key = Path.of(env.privateKey + ".pub");
        CliResult created = cli("vm", "create", "--key", key.toString(), "--name", "survivor", "--mem", "512", "--wait", "--json");
        assertThat(created.exitCode()).as(created.stderr()).isZero();
        JsonNode vm = Json.MAPPER.readTree(created.stdout());
        survivor = vm.get("id").asString();
        assertThat(vm.get("status").asString()).isEqualTo("running");
        sshTarget = new Vm(survivor, "survivor", "debian-base", null, null, 2, 512, 2, "127.0.0.1",
                vm.get("ssh_port").asInt(), "root", Instant.now(), null, null, null, 80, null, null, null, null);
        env.ssh(sshTarget, "echo alive > /root/marker && sync");
        env.serveHttp(sshTarget);
        String recordBefore = api("/vms/" + survivor).body();

        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        assertThat(env.ssh(sshTarget, "cat /root/marker").strip()).isEqualTo("alive");

        serve = startServe(Map.of());
        assertThat(api("/vms/" + survivor).body()).isEqualTo(recordBefore);
        assertThat(env.ssh(sshTarget, "cat /root/marker").strip()).isEqualTo("alive");
        CliResult listed = cli("vm", "ls");
        assertThat(listed.stdout()).contains(survivor).contains("survivor").contains("running");

        CliResult added = cli("box", "user", "add", "alice", "--key", key.toString());
        assertThat(added.exitCode()).as(added.stderr()).isZero();
        aliceId = Json.MAPPER.readTree(api("/users/alice").body()).get("id").asString();
        assertThat(cli("box", "user", "ls").stdout()).contains("alice").contains("SHA256:");
        assertThat(cli("box", "user", "add", "alice", "--key", key.toString()).stderr()).contains("(HTTP 409)");

        CliResult missing = cli("vm", "show", "nobody");
        assertThat(missing.exitCode()).isNotZero();
        assertThat(missing.stderr()).contains("VM not found (HTTP 404)");

        // Its HTTPS address, through the Caddy the first service started and the second adopted.
        CliResult url = cli("vm", "url", "survivor");
        assertThat(url.stdout()).as(url.stderr()).isEqualTo("https://survivor." + DOMAIN + ":" + httpsPort + "/\n");
        String page = Sh.run("curl", "-sS", "--resolve", "survivor." + DOMAIN + ":" + httpsPort + ":127.0.0.1", "--cacert",
                env.network.https().orElseThrow().rootCertificate().toString(), url.stdout().strip());
        assertThat(page).isEqualTo("hello from web\n");
    }

    @Test
    @Order(2)
    void aSecondServiceOnTheSameDataDirectoryIsRefusedAndChangesNothing() throws Exception {
        String recordBefore = api("/vms/" + survivor).body();
        long qemu = env.qemuPid(survivor);
        ProcessBuilder pb = ScaleboxCli.command("serve", "--data-dir", env.layout.root().toString(), "--port", Integer.toString(Ports.free()));
        pb.environment().putAll(Map.of("API_TOKEN", TOKEN, "PORT_MIN", "27001", "PORT_MAX", "27100",
                "GATEWAY_PORT", Integer.toString(Ports.free())));
        pb.environment().putAll(networkSettings());
        Process second = pb.start();
        second.getOutputStream().close();
        String err = new String(second.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(second.waitFor(2, TimeUnit.MINUTES)).isTrue();

        assertThat(second.exitValue()).isEqualTo(1);
        assertThat(err).contains("in use by scalebox serve (pid " + serve.pid() + ")");
        assertThat(api("/vms/" + survivor).body()).isEqualTo(recordBefore);
        assertThat(env.qemuPid(survivor)).isEqualTo(qemu);
        assertThat(ProcessHandle.of(qemu)).isPresent();
        assertThat(api("/health").statusCode()).isEqualTo(200);
    }

    @Test
    @Order(3)
    void aSuspendCutShortByACrashLeavesTheVmRunningWithNoStateHalfWritten() throws Exception {
        crash("suspend.saving", Map.of(), () -> post("/vms/" + survivor + "/suspend"));
        Path runDir = env.runDir(survivor);
        assertThat(Files.exists(runDir.resolve(".memory.state.partial"))).as("the half-written state is there").isTrue();

        serve = startServe(Map.of());
        assertThat(Json.MAPPER.readTree(api("/vms/" + survivor).body()).get("status").asString()).isEqualTo("running");
        assertThat(env.ssh(sshTarget, "cat /root/marker").strip()).isEqualTo("alive");
        assertThat(files(runDir)).noneMatch(f -> f.contains("memory.state"));
    }

    @Test
    @Order(4)
    void aCreateCutShortByACrashIsUndone() throws Exception {
        String body = "{\"template\":\"debian-base\",\"ssh_public_key\":\"" + env.publicKey + "\",\"name\":\"cut-short\"}";
        crash("create.disk-made", Map.of(), () -> post("/vms", body));
        assertThat(files(env.layout.vms())).anyMatch(f -> !f.startsWith(survivor));

        serve = startServe(Map.of());
        assertThat(Json.MAPPER.readTree(api("/vms").body()).findValuesAsString("name")).containsExactly("survivor");
        assertThat(files(env.layout.vms())).containsExactly(survivor + ".ext4");
    }

    @Test
    @Order(5)
    void aGoldenStateCutShortIsSetRightAndABoxWithoutOneIsStillMadeUnique() throws Exception {
        crash("golden.settled", Map.of(), () -> gateway("true"));
        List<Long> goldenQemu = qemus().stream().filter(pid -> pid != env.qemuPid(survivor)).toList();
        assertThat(goldenQemu).as("the golden VM, booted, left by the crash").hasSize(1);

        // The next service adopts the golden VM, finds it not suspended, ends it and makes it again;
        // that fails (SCALEBOX_FAIL_AT), so alice's box boots from the template, and is made hers all the same.
        serve = startServe(Map.of("SCALEBOX_FAIL_AT", "golden.making"));
        Result box = gateway("hostname; cat /etc/machine-id; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub");
        assertThat(box.exit()).as(box.err()).isZero();
        List<String> lines = box.out().lines().toList();
        assertThat(lines.getFirst()).isEqualTo("box-" + aliceId);
        assertThat(lines.get(1)).matches("[0-9a-f]{32}");
        assertThat(env.ssh(sshTarget, "cat /etc/machine-id").strip()).isNotEqualTo(lines.get(1));
        assertThat(lines.get(2)).isNotEqualTo(env.ssh(sshTarget, "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub").strip());

        assertThat(Json.MAPPER.readTree(api("/vms").body()).findValuesAsString("name"))
                .containsExactlyInAnyOrder("survivor", "box-" + aliceId);
        assertThat(ProcessHandle.of(goldenQemu.getFirst()).filter(ProcessHandle::isAlive)).isEmpty();
        assertThat(qemus()).hasSize(2);
    }

    @Test
    @Order(6)
    void aJoinCutShortLeavesTheBoxSuspendedWithItsMemory() throws Exception {
        assertThat(gateway("echo kept > /root/file; sync; setsid sleep 4321 </dev/null >/dev/null 2>&1 &").exit()).isZero();
        String boxVm = Json.MAPPER.readTree(api("/boxes/" + aliceId).body()).get("vm_id").asString();
        assertThat(post("/boxes/" + aliceId + "/suspend").statusCode()).isEqualTo(200);
        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

        Map<String, String> warm = Map.of("POOL_INSTANCES_MIN_FREE", "1", "POOL_INSTANCES_MAX_FREE", "1",
                "SCALEBOX_CRASH_AT", "join.plugged");
        serve = startServe(warm);
        Waits.until("a warm instance", Waits.STEP, () -> Json.MAPPER.readTree(api("/pool").body())
                .get("instances").get("warm").asInt() == 1, ServeRestartTest::serveLog);
        gateway("true");
        assertThat(serve.waitFor(Waits.STEP.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(serve.exitValue()).isEqualTo(FaultPoint.CRASH_STATUS);
        assertThat(Files.readString(env.runDir(boxVm).resolve("qemu.name"))).as("the warm instance was handed the box")
                .startsWith("scalebox-instance-");

        serve = startServe(Map.of());
        JsonNode box = Json.MAPPER.readTree(api("/boxes/" + aliceId).body());
        assertThat(box.get("status").asString()).isEqualTo("suspended");
        assertThat(env.layout.memoryState(boxVm, true)).exists();
        assertThat(qemus()).as("only the survivor runs: the half-joined instance is gone").hasSize(1);

        Result back = gateway("cat /root/file; pgrep -x sleep >/dev/null && echo still-running");
        assertThat(back.exit()).as(back.err()).isZero();
        assertThat(back.out()).isEqualTo("kept\nstill-running\n");
    }

    @Test
    @Order(7)
    void vmsFromTheTemplateSnapshotOnOnePortOneAfterTheOtherAreEachCheckedByTheirOwnHostKey() throws Exception {
        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        serve = startServe(Map.of("TEMPLATE_SNAPSHOTS_MAX", "1", "DEFAULT_MEM_SIZE_MIB", "512"));
        Waits.until("the base template's snapshot", Waits.START, () -> Json.MAPPER.readTree(api("/templates").body())
                .get(0).get("snapshots").toString().contains("\"state\":\"ready\""), ServeRestartTest::serveLog);
        Path home = LoopFs.tempDir();
        Path userKnownHosts = Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");
        String userKnownBefore = Files.exists(userKnownHosts) ? Files.readString(userKnownHosts) : null;
        Path key = Path.of(env.privateKey + ".pub");
        List<Integer> ports = new ArrayList<>();
        for (String name : List.of("known-1", "known-2")) {
            CliResult created = cli(home, "vm", "create", "--key", key.toString(), "--name", name, "--mem", "512", "--wait",
                    "--json");
            assertThat(created.exitCode()).as(created.stderr()).isZero();
            JsonNode vm = Json.MAPPER.readTree(created.stdout());
            assertThat(vm.get("started_from").asString()).isEqualTo("snapshot");
            ports.add(vm.get("ssh_port").asInt());
            CliResult waited = cli(home, "vm", "wait", name, "--ssh");
            assertThat(waited.exitCode()).as(waited.stderr()).isZero();
            CliResult ssh = cli(home, "vm", "ssh", name, "-i", env.privateKey.toString(), "hostname");
            assertThat(ssh.exitCode()).as(ssh.stderr()).isZero();
            assertThat(ssh.stdout().strip()).isEqualTo(name);
            Screen stays = null;
            if (name.equals("known-1")) {
                statsFollowABusyLoop(home, vm.get("id").asString(), name);
            } else {
                stays = consoleIsLiveBothWays(home, vm.get("id").asString(), name);
            }
            assertThat(cli(home, "vm", "rm", name).exitCode()).isZero();
            if (stays != null) {
                assertThat(stays.closed.get(Waits.STEP.toSeconds(), TimeUnit.SECONDS)).isEqualTo("the VM stopped");
            }
        }
        assertThat(ports.get(1)).as("the second VM took the first one's port").isEqualTo(ports.get(0));
        assertThat(Files.exists(userKnownHosts) ? Files.readString(userKnownHosts) : null).as("the user's own known_hosts")
                .isEqualTo(userKnownBefore);
        assertThat(Files.readAllLines(home.resolve(".config/scalebox/known_hosts"))).hasSize(2);
    }

    @Test
    @Order(8)
    void loginKeepsTheServerAndTokenForLaterCommandsInAFileOfMode600AndLogoutForgetsThem() throws Exception {
        Path home = LoopFs.tempDir();
        Path config = home.resolve(".config/scalebox/config");
        String url = "http://127.0.0.1:" + apiPort;
        CliResult refused = loggedIn(home, "wrong-token-0123\n", "login", url, "--token-stdin");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.stderr()).contains("nothing was kept").contains("401");
        assertThat(config).doesNotExist();
        CliResult before = loggedIn(home, "", "vm", "ls");
        assertThat(before.exitCode()).isEqualTo(1);
        assertThat(before.stderr()).as("without a login, the local server's token is wanted").contains("scalebox login URL");

        CliResult login = loggedIn(home, TOKEN + "\n", "login", url + "/", "--token-stdin");
        assertThat(login.exitCode()).as(login.stderr()).isZero();
        assertThat(Files.getPosixFilePermissions(config)).containsExactlyInAnyOrder(
                java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        assertThat(Files.readString(config)).contains("url=" + url + "\n").contains("token=" + TOKEN);
        CliResult ls = loggedIn(home, "", "vm", "ls", "--json");
        assertThat(ls.exitCode()).as(ls.stderr()).isZero();
        assertThat(Json.MAPPER.readTree(ls.stdout()).isArray()).isTrue();

        CliResult logout = loggedIn(home, "", "logout");
        assertThat(logout.exitCode()).as(logout.stderr()).isZero();
        assertThat(config).doesNotExist();
        assertThat(loggedIn(home, "", "logout").stdout()).contains("Not logged in");
    }

    /**
     * {@code GET /vms/{id}/stats}: the QEMU's CPU time rises by far more across a window in which
     * every vCPU hashes 256 MiB than across an idle window of the same length. The work is fixed
     * rather than timed, so a starved host stretches both windows alike instead of shrinking the
     * busy one's share; each window is one SSH session, so their overheads match. 16 MiB written
     * count as the disk's own; the other figures are read too, and /metrics has them.
     */
    private static void statsFollowABusyLoop(Path home, String id, String name) throws Exception {
        Waits.until("two samples of " + id, Waits.STEP, () -> samples(id).size() >= 2, ServeRestartTest::serveLog);
        double idle = cpuSecondsAcross(home, id, name, "sleep 10");
        double busy = cpuSecondsAcross(home, id, name, "for i in $(seq $(nproc)); do head -c 256M /dev/zero | md5sum"
                + " >/dev/null & done; sleep 10; wait; dd if=/dev/urandom of=/root/own bs=1M count=16 conv=fsync status=none");
        assertThat(busy).as("CPU seconds while hashing, against %.2f idle", idle).isGreaterThan(idle + 1.0);
        JsonNode last = samples(id).getLast();
        assertThat(last.get("rss_bytes").asLong()).isPositive();
        assertThat(last.get("guest_memory_bytes").asLong()).as(last.toString()).isBetween(10L << 20, 512L << 20);
        Waits.until("the 16 MiB written to count as the disk's own", Waits.STEP,
                () -> samples(id).getLast().get("disk_own_bytes").asLong() >= 16 << 20, ServeRestartTest::serveLog);
        assertThat(last.get("net_rx_bytes").asLong()).as(last.toString()).isPositive();
        assertThat(last.get("net_tx_bytes").asLong()).as(last.toString()).isPositive();
        assertThat(api("/metrics").body()).contains("scalebox_vm_cpu_seconds_total{vm=\"" + id + "\"}")
                .contains("scalebox_vm_guest_memory_used_bytes{vm=\"" + id + "\"}");
        assertThat(api("/vms/nobody/stats").statusCode()).isEqualTo(404);
    }

    /** The QEMU's CPU seconds from the last sample before {@code command} runs over SSH to the first after. */
    private static double cpuSecondsAcross(Path home, String id, String name, String command) throws Exception {
        double before = samples(id).getLast().get("cpu_seconds").asDouble();
        CliResult run = cli(home, "vm", "ssh", name, "-i", env.privateKey.toString(), command);
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        Instant done = Instant.now();
        Waits.until("a sample after '" + command + "'", Waits.STEP,
                () -> Instant.parse(samples(id).getLast().get("at").asString()).isAfter(done), ServeRestartTest::serveLog);
        return samples(id).getLast().get("cpu_seconds").asDouble() - before;
    }

    /** A viewer of a VM's console over the real WebSocket: what it was shown, and why it was closed. */
    private static final class Screen implements java.net.http.WebSocket.Listener {
        private final java.io.ByteArrayOutputStream shown = new java.io.ByteArrayOutputStream();
        final java.util.concurrent.CompletableFuture<String> closed = new java.util.concurrent.CompletableFuture<>();
        java.net.http.WebSocket socket;

        static Screen open(String id, Map<String, String> headers) {
            Screen screen = new Screen();
            var builder = HttpClient.newHttpClient().newWebSocketBuilder();
            headers.forEach(builder::header);
            screen.socket = builder.buildAsync(URI.create("ws://127.0.0.1:" + apiPort + "/vms/" + id + "/console/ws"), screen).join();
            return screen;
        }

        @Override
        public java.util.concurrent.CompletionStage<?> onBinary(java.net.http.WebSocket ws, java.nio.ByteBuffer data, boolean last) {
            synchronized (shown) {
                while (data.hasRemaining()) {
                    shown.write(data.get());
                }
            }
            ws.request(1);
            return null;
        }

        @Override
        public java.util.concurrent.CompletionStage<?> onClose(java.net.http.WebSocket ws, int status, String reason) {
            closed.complete(reason);
            return null;
        }

        String text() {
            synchronized (shown) {
                return shown.toString(StandardCharsets.UTF_8);
            }
        }

        /** Whether a line of the terminal, its escape sequences (bash's bracketed paste) and carriage returns left out, is {@code line}. */
        boolean showsLine(String line) {
            return text().replaceAll("\u001b\\[[0-9;?]*[A-Za-z]", "").replace("\r", "").lines().anyMatch(line::equals);
        }

        /** Types {@code command} and Enter until a line {@code expected} shows, for a getty that is still starting. */
        void typeUntilShown(String command, String expected) throws Exception {
            Waits.until("a line '" + expected + "' on the console", Waits.STEP, () -> {
                if (!showsLine(expected)) {
                    socket.sendBinary(java.nio.ByteBuffer.wrap((command + "\r").getBytes(StandardCharsets.UTF_8)), true).join();
                    Thread.sleep(3000);
                }
                return showsLine(expected);
            }, this::text);
        }
    }

    /**
     * Two viewers of the serial console over the WebSocket both see what the guest writes, and
     * the keys of each reach its root shell; {@code vm console --attach} is the same terminal and
     * leaves with Ctrl-]. A WebSocket from another origin, or without the token, is refused.
     * Returns a viewer that stays, to be told when the VM goes.
     */
    private static Screen consoleIsLiveBothWays(Path home, String id, String name) throws Exception {
        Map<String, String> token = Map.of("Authorization", "Bearer " + TOKEN);
        Screen a = Screen.open(id, token);
        Screen b = Screen.open(id, token);
        a.typeUntilShown("hostname", name);
        Waits.until("the other viewer to see it too", Waits.STEP, () -> b.showsLine(name), b::text);
        b.typeUntilShown("echo from-b-$((40+2))", "from-b-42");
        Waits.until("the first viewer to see the second's command", Waits.STEP, () -> a.showsLine("from-b-42"), a::text);

        ProcessBuilder attachCli = ScaleboxCli.command(withHome(home, "vm", "console", name, "--attach"));
        attachCli.environment().putAll(Map.of("SCALEBOX_URL", "http://127.0.0.1:" + apiPort, "SCALEBOX_TOKEN", TOKEN));
        Process attach = attachCli.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        attach.getOutputStream().write("echo attached-$((40+2))\r".getBytes(StandardCharsets.UTF_8));
        attach.getOutputStream().flush();
        Waits.until("the attached CLI's command echoed", Waits.STEP, () -> a.text().contains("attached-42"), a::text);
        attach.getOutputStream().write(0x1d);
        attach.getOutputStream().close();
        assertThat(attach.waitFor(Waits.STEP.toSeconds(), TimeUnit.SECONDS)).isTrue();
        String attachOut = new String(attach.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(attach.exitValue()).as(attachOut).isZero();
        assertThat(attachOut).contains("attached-42");

        var foreign = java.util.concurrent.CompletableFuture.supplyAsync(() -> Screen.open(id,
                Map.of("Authorization", "Bearer " + TOKEN, "Origin", "http://evil.example")));
        assertThat(foreign).failsWithin(java.time.Duration.ofSeconds(30));
        HttpResponse<String> foreignGet = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/vms/"
                + id + "/console/ws")).header("Authorization", "Bearer " + TOKEN).header("Origin", "http://evil.example")
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(foreignGet.statusCode()).as(foreignGet.body()).isEqualTo(403);
        assertThat(java.util.concurrent.CompletableFuture.supplyAsync(() -> Screen.open(id, Map.of())))
                .failsWithin(java.time.Duration.ofSeconds(30));
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/vms/" + id + "/console/ws"))
                .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        b.socket.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "done").join();
        return a;
    }

    private static List<JsonNode> samples(String id) throws Exception {
        HttpResponse<String> r = api("/vms/" + id + "/stats");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<JsonNode> samples = new ArrayList<>();
        Json.MAPPER.readTree(r.body()).get("samples").forEach(samples::add);
        return samples;
    }

    /**
     * The web console in Debian's chromium, driven by playwright-core (web/test/browser.mjs): a
     * wrong token is refused; signed in, a VM made from the form reaches running without a
     * reload, its console answers {@code hostname} with its name, and it is stopped, deleted and
     * gone. The VM page's screenshot is left in target/.
     */
    @Test
    @Order(9)
    void theWebConsoleMakesAVmWatchesItRunTypesIntoItsConsoleAndDeletesIt() throws Exception {
        Path output = env.layout.root().resolve("browser.log");
        Path screenshot = Path.of("target", "web-console-vm.png").toAbsolutePath();
        ProcessBuilder pb = new ProcessBuilder("node", "web/test/browser.mjs").redirectErrorStream(true)
                .redirectOutput(output.toFile());
        pb.environment().putAll(Map.of("SCALEBOX_URL", "http://127.0.0.1:" + apiPort, "SCALEBOX_TOKEN", TOKEN,
                "VM_NAME", "from-the-page", "SSH_KEY", Files.readString(Path.of(env.privateKey + ".pub")).strip(),
                "TEMPLATE", "debian-base", "SCREENSHOT", screenshot.toString()));
        Process browser = pb.start();
        boolean done = browser.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        if (!done) {
            browser.destroyForcibly().waitFor();
        }
        String said = Files.readString(output);
        assertThat(done && browser.exitValue() == 0).as("the browser test:\n%s\nserve:\n%s", said, serveLog()).isTrue();
        assertThat(screenshot).isNotEmptyFile();
        assertThat(api("/vms/from-the-page").statusCode()).isEqualTo(404);
    }

    /** The CLI as a user with {@code home} and no SCALEBOX_URL or SCALEBOX_TOKEN, {@code input} on its stdin. */
    private static CliResult loggedIn(Path home, String input, String... args) throws Exception {
        ProcessBuilder pb = ScaleboxCli.command(withHome(home, args));
        pb.environment().keySet().removeAll(List.of("SCALEBOX_URL", "SCALEBOX_TOKEN", "XDG_CONFIG_HOME", "API_TOKEN"));
        pb.environment().put("DATA_DIR", home.resolve("no-data-dir").toString());
        Process p = pb.start();
        p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private interface Action {
        void run() throws Exception;
    }

    /** Starts the service set to halt at {@code point}, does what reaches it, and waits for the halt. */
    private static void crash(String point, Map<String, String> more, Action action) throws Exception {
        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        Map<String, String> extra = new HashMap<>(more);
        extra.put("SCALEBOX_CRASH_AT", point);
        serve = startServe(extra);
        try {
            action.run();
        } catch (IOException cutOff) {
            // the service died under the request
        }
        assertThat(serve.waitFor(Waits.STEP.toSeconds(), TimeUnit.SECONDS)).as(serveLog()).isTrue();
        assertThat(serve.exitValue()).as(serveLog()).isEqualTo(FaultPoint.CRASH_STATUS);
    }

    /** The bridge of the test's own directory, which its teardown removes. */
    private static Map<String, String> networkSettings() {
        return Map.of("NETWORK_BRIDGE", env.network.config().bridge(),
                "NETWORK_CIDR", env.network.config().subnet().toString(),
                "HTTP_DOMAIN", DOMAIN, "HTTPS_PORT", Integer.toString(httpsPort));
    }

    private static Process startServe(Map<String, String> extra) throws Exception {
        serves++;
        ProcessBuilder pb = ScaleboxCli.command("serve", "--data-dir", env.layout.root().toString(), "--port", Integer.toString(apiPort));
        pb.environment().putAll(Map.of("API_TOKEN", TOKEN, "PORT_MIN", "27001", "PORT_MAX", "27100",
                "GATEWAY_PORT", Integer.toString(gatewayPort), "POOL_VOLUMES_MIN_FREE", "0", "POOL_VOLUMES_MAX_FREE", "0",
                "POOL_INSTANCES_MIN_FREE", "0", "POOL_INSTANCES_MAX_FREE", "0", "BOX_MEM_MIB", "512",
                "TEMPLATE_SNAPSHOTS_MAX", "0"));
        pb.environment().putAll(networkSettings());
        pb.environment().putAll(extra);
        pb.redirectErrorStream(true).redirectOutput(log().toFile());
        Process p = pb.start();
        Waits.until("scalebox serve to answer", Waits.STEP, () -> {
            if (!p.isAlive()) {
                throw new AssertionError("scalebox serve exited with " + p.exitValue() + ":\n" + serveLog());
            }
            try {
                return api("/health").statusCode() == 200;
            } catch (IOException notYet) {
                return false;
            }
        }, ServeRestartTest::serveLog);
        return p;
    }

    private static Path log() {
        return env.layout.root().resolve("serve-" + serves + ".log");
    }

    private static String serveLog() {
        try {
            List<String> lines = Files.readAllLines(log());
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** The QEMU processes of this data directory. */
    private static List<Long> qemus() {
        String root = env.layout.root().toString();
        return ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(List::of)
                        .map(a -> a.contains("-name") && a.stream().anyMatch(x -> x.contains(root))).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private record Result(int exit, String out, String err) {
    }

    /** A command in alice's box through the real gateway, with the real OpenSSH client. */
    private static Result gateway(String command) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(gatewayPort)));
        argv.addAll(TestGateway.clientOptions(env.privateKey));
        argv.addAll(List.of("box@127.0.0.1", command));
        Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        return new Result(p.exitValue(), out, err);
    }

    private record CliResult(int exitCode, String stdout, String stderr) {
    }

    private static CliResult cli(String... args) throws Exception {
        return cli(null, args);
    }

    /** The CLI, with {@code home} as its user's home directory (where it keeps its own files) when not null. */
    private static CliResult cli(Path home, String... args) throws Exception {
        ProcessBuilder pb = ScaleboxCli.command(home == null ? args : withHome(home, args));
        pb.environment().putAll(Map.of("SCALEBOX_URL", "http://127.0.0.1:" + apiPort, "SCALEBOX_TOKEN", TOKEN));
        if (home != null) {
            pb.environment().remove("XDG_CONFIG_HOME");
        }
        Process p = pb.start();
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private static String[] withHome(Path home, String... args) {
        List<String> all = new ArrayList<>(List.of("-Duser.home=" + home));
        all.addAll(List.of(args));
        return all.toArray(String[]::new);
    }


    private static HttpResponse<String> api(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return post(path, "");
    }

    private static HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
