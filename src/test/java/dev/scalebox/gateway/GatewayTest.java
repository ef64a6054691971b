package dev.scalebox.gateway;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.api.Json;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.Sh;
import dev.scalebox.vm.Vm;
import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.Waits;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.VmService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The real gateway, the real OpenSSH client, a real box under QEMU. */
class GatewayTest {

    private static final String TOKEN = "gateway-test-token-0123456789";
    private static TestGateway box;
    private static TestVms env;
    private static VmService vms;
    private static Users users;
    private static Gateway gateway;
    private static Path keys;

    @BeforeAll
    static void start() {
        box = new TestGateway("gateway", 20001, Duration.ofHours(1));
        env = box.env;
        vms = box.vms;
        users = box.users;
        gateway = box.gateway;
        keys = box.scratch();
        box.addUser("alice");
        box.addUser("bob");
        box.key("mallory");
    }

    @AfterAll
    static void stop() {
        box.close();
    }

    @Test
    void aRegisteredUserRunsCommandsInTheirOwnBox() throws Exception {
        Result first = ssh("alice", null, "cat /etc/hostname; id -u; exit 3");
        assertThat(first.exitCode()).as(first.stderr()).isEqualTo(3);
        assertThat(first.stdout()).isEqualTo("box-" + users.get("alice").id() + "\n0\n");

        Result env = run(List.of("ssh", "-p", Integer.toString(gateway.port()), "-o", "SendEnv=LC_SCALEBOX"), "alice",
                "box@127.0.0.1", null, "echo $LC_SCALEBOX");
        assertThat(env.stdout()).isEqualTo("sent along\n");

        Result piped = ssh("alice", "kept in the box\n", "cat > /root/note; cat /root/note");
        assertThat(piped.exitCode()).as(piped.stderr()).isZero();
        assertThat(piped.stdout()).isEqualTo("kept in the box\n");

        assertThat(vms.list()).filteredOn(v -> v.name().equals("box-" + users.get("alice").id())).hasSize(1);
    }

    @Test
    void anInteractiveShellHasATerminalAndItsExitStatus() throws Exception {
        Result shell = ssh("alice", "echo term=$TERM; tty; exit 7\n", null);
        assertThat(shell.exitCode()).as(shell.stderr()).isEqualTo(7);
        assertThat(shell.stdout()).contains("term=xterm").contains("/dev/pts/");
    }

    @Test
    void filesGoInAndOutWithSftpAndScp() throws Exception {
        Path local = keys.resolve("payload.txt");
        Files.writeString(local, "payload " + System.nanoTime() + "\n");
        Path batch = keys.resolve("batch");
        Files.writeString(batch, "put " + local + " /root/sftp.txt\nget /root/sftp.txt " + keys.resolve("back.txt") + "\n");
        Result sftp = run(List.of("sftp", "-b", batch.toString(), "-P", Integer.toString(gateway.port())), "alice",
                "box@127.0.0.1");
        assertThat(sftp.exitCode()).as(sftp.stderr()).isZero();
        assertThat(Files.readString(keys.resolve("back.txt"))).isEqualTo(Files.readString(local));

        Result scp = run(List.of("scp", "-O", "-P", Integer.toString(gateway.port())), "alice", local.toString(), null,
                "box@127.0.0.1:/root/scp.txt");
        assertThat(scp.exitCode()).as(scp.stderr()).isZero();
        assertThat(ssh("alice", null, "cat /root/scp.txt").stdout()).isEqualTo(Files.readString(local));
    }

    @Test
    void twoSessionsOfOneUserShareOneBox() throws Exception {
        var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> call(() -> ssh("alice", null, "echo one")));
        Result second = ssh("alice", null, "echo two");
        assertThat(second.stdout()).isEqualTo("two\n");
        Result one = first.get();
        assertThat(one.stdout()).as(one.stderr()).isEqualTo("one\n");
        assertThat(vms.list()).filteredOn(v -> v.name().equals("box-" + users.get("alice").id())).hasSize(1);
    }

    @Test
    void portsOfTheOwnBoxAreForwardedAndNothingElse() throws Exception {
        String hostKey = ssh("alice", null, "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub").stdout().strip();
        int local = Ports.free();
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(gateway.port()), "-N",
                "-o", "ExitOnForwardFailure=yes", "-L", local + ":localhost:22"));
        argv.addAll(TestGateway.clientOptions(keys.resolve("alice")));
        argv.add("box@127.0.0.1");
        Process tunnel = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try {
            // the box's own sshd answers through the tunnel, with the box's own host key
            String scan = "";
            for (int i = 0; i < 50 && !scan.contains(hostKey); i++) {
                Thread.sleep(200);
                scan = Sh.tryRun("ssh-keyscan", "-t", "ed25519", "-p", Integer.toString(local), "127.0.0.1").stdout();
            }
            assertThat(scan).contains(hostKey);
        } finally {
            tunnel.destroy();
        }

        // ssh -W opens the same direct-tcpip channel that -L opens for each connection.
        Result own = run(List.of("ssh", "-p", Integer.toString(gateway.port()), "-W", "localhost:22"), "alice",
                "box@127.0.0.1");
        assertThat(own.stdout()).startsWith("SSH-2.0-OpenSSH");
        for (String elsewhere : List.of("10.0.2.2:22", "127.0.0.2:22", "example.com:80")) {
            Result refused = run(List.of("ssh", "-p", Integer.toString(gateway.port()), "-W", elsewhere), "alice",
                    "box@127.0.0.1");
            assertThat(refused.exitCode()).as(elsewhere).isEqualTo(255);
            assertThat(refused.stderr()).as(elsewhere).contains("forwarding failed");
        }
    }


    private static Result call(java.util.concurrent.Callable<Result> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void boxesAreListedAndRemovedOnlyWithConfirmation() throws Exception {
        ssh("alice", null, "true");
        String id = users.get("alice").id();
        try (ApiServer api = ApiServer.start("127.0.0.1", 0, ApiToken.resolve(Optional.of(TOKEN), Path.of("/nonexistent")),
                new ApiServer.Services(env.templates, vms, env.storage, "tcg", users, gateway.boxes()))) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String base = "http://127.0.0.1:" + api.port();
            JsonNode boxes = Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/boxes"))
                    .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString()).body());
            JsonNode alices = null;
            for (JsonNode b : boxes) {
                if (b.get("id").asString().equals(id)) {
                    alices = b;
                }
            }
            assertThat(alices).isNotNull();
            assertThat(alices.get("user").asString()).isEqualTo("alice");
            assertThat(alices.get("status").asString()).isEqualTo("running");
            for (String path : List.of("/boxes/" + id, "/boxes/0000000000000000?confirm=true", "/boxes/..?confirm=true")) {
                int status = http.send(HttpRequest.newBuilder(URI.create(base + path)).DELETE()
                        .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
                assertThat(status).as(path).isIn(400, 404);
            }
            assertThat(vms.list()).anyMatch(v -> v.name().equals("box-" + id));
        }
    }

    @Test
    void twoUsersGetTwoBoxesAndNeitherSeesTheOthersFiles() throws Exception {
        assertThat(ssh("alice", null, "echo alice-only > /root/mine").exitCode()).isZero();
        Result bob = ssh("bob", null, "cat /root/mine 2>&1; echo bob > /root/mine; hostname");
        assertThat(bob.stdout()).contains("No such file");
        assertThat(ssh("alice", null, "cat /root/mine").stdout()).isEqualTo("alice-only\n");
        assertThat(vms.list()).extracting(v -> v.name()).contains("box-" + users.get("alice").id(),
                "box-" + users.get("bob").id());
    }

    @Test
    void fromInsideABoxNeitherTheHostNorAnotherBoxAnswersButTheInternetDoes() throws Exception {
        assertThat(ssh("bob", null, "true").exitCode()).isZero();
        Vm bobBox = vms.get("box-" + users.get("bob").id());
        String hostAddress = Sh.run("ip", "-4", "-o", "route", "get", "1.1.1.1").replaceAll(".* src (\\S+).*", "$1").strip();
        String gatewayPort = Integer.toString(gateway.port());
        List<String> targets = List.of("203.0.113.80:80", "GW:" + gatewayPort, hostAddress + ":" + gatewayPort,
                "10.0.2.2:" + gatewayPort, "GW:" + bobBox.sshPort(), bobBox.ip() + ":22");
        StringBuilder probe = new StringBuilder("GW=$(ip -4 route show default | awk '{print $3}')\n");
        for (String target : targets) {
            String[] hp = target.replace("GW", "$GW").split(":");
            probe.append("if timeout 4 bash -c 'exec 3<>/dev/tcp/'").append(hp[0]).append("'/").append(hp[1])
                    .append("' 2>/dev/null; then echo '").append(target).append(" open'; else echo '").append(target)
                    .append(" closed'; fi\n");
        }
        Result reached = ssh("alice", null, probe.toString());
        assertThat(reached.stdout().lines().toList()).as(reached.stderr()).containsExactlyElementsOf(targets.stream()
                .map(t -> t + (t.startsWith("203.0.113.80") ? " open" : " closed")).toList());
    }

    @Test
    void boxesCopiedFromOneGoldenStateShareNoSecretsAndKeepTime() throws Exception {
        String secrets = "cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub; date +%s.%N;"
                + " cat /sys/class/net/eth0/address; ip -4 -o addr show dev eth0 | awk '{print $4}'";
        double before = System.currentTimeMillis() / 1000.0;
        List<String> alice = ssh("alice", null, secrets).stdout().lines().toList();
        List<String> bob = ssh("bob", null, secrets).stdout().lines().toList();
        double returned = System.currentTimeMillis() / 1000.0;
        assertThat(alice).hasSize(5);
        assertThat(bob).hasSize(5);
        assertThat(alice.get(0)).matches("[0-9a-f]{32}").isNotEqualTo(bob.get(0));
        assertThat(alice.get(1)).startsWith("ssh-ed25519 ").isNotEqualTo(bob.get(1));
        for (List<String> box : List.of(alice, bob)) {
            assertThat(Double.parseDouble(box.get(2))).as("the box's clock, within 1 s of the host's")
                    .isBetween(before - 1, returned + 1);
        }
        // each has the MAC and address of its own record, not the golden state's
        Vm aliceBox = vms.get("box-" + users.get("alice").id());
        Vm bobBox = vms.get("box-" + users.get("bob").id());
        assertThat(aliceBox.mac()).isNotEqualTo(bobBox.mac());
        assertThat(aliceBox.ip()).isNotEqualTo(bobBox.ip());
        assertThat(alice.subList(3, 5)).containsExactly(aliceBox.mac(), aliceBox.ip() + "/24");
        assertThat(bob.subList(3, 5)).containsExactly(bobBox.mac(), bobBox.ip() + "/24");
        // the box's sshd serves the renewed key, not the golden state's
        int port = vms.get("box-" + users.get("alice").id()).sshPort();
        String scan = Sh.run("ssh-keyscan", "-t", "ed25519", "-p", Integer.toString(port), "127.0.0.1");
        assertThat(scan).contains(alice.get(1).split(" ")[1]);
    }

    /**
     * With the host's line of starts full (a test holds every slot), a new user's connection waits
     * its turn: they are told their place once on stderr, and get their box when the slot comes.
     */
    @Test
    void aUserWhoWaitsForASlotIsToldTheirPlaceAndGetsTheBox() throws Exception {
        box.addUser("carl");
        Path stderr = keys.resolve("carl.err");
        Process carl;
        try (Admission.Ticket hog = TestVms.STARTS.request(Admission.Priority.PERSON, "a test holding every slot",
                TestVms.STARTS.limit())) {
            hog.admitted().get(Waits.START.toSeconds(), TimeUnit.SECONDS);
            List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(gateway.port())));
            argv.addAll(TestGateway.clientOptions(keys.resolve("carl")));
            argv.addAll(List.of("box@127.0.0.1", "hostname"));
            carl = new ProcessBuilder(argv).redirectError(stderr.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                    new java.io.File("/dev/null"))).start();
            Waits.until("carl to be told his place", Waits.STEP, () -> Files.exists(stderr)
                    && Files.readString(stderr).matches("(?s).*scalebox: waiting for a free slot: \\d+ ahead.*"));
            assertThat(carl.isAlive()).isTrue();
        }
        String out = new String(carl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(carl.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(carl.exitValue()).as(Files.readString(stderr)).isZero();
        assertThat(out).isEqualTo("box-" + users.get("carl").id() + "\n");
        assertThat(Files.readString(stderr).lines().filter(l -> l.contains("waiting for a free slot"))).hasSize(1);
    }

    @Test
    void anUnregisteredKeyIsRefusedAndGetsNoBox() throws Exception {
        Result refused = ssh("mallory", null, "true");
        assertThat(refused.exitCode()).isEqualTo(255);
        assertThat(refused.stderr()).contains("Permission denied");
        assertThat(vms.list()).noneMatch(v -> v.name().endsWith(Users.idOf(
                dev.scalebox.storage.SshPublicKey.parse(box.publicKey("mallory")))));
    }

    private record Result(int exitCode, String stdout, String stderr) {
    }

    private static Result ssh(String who, String stdin, String command) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(gateway.port())));
        if (command == null) {
            argv.add("-tt");  // a shell on a terminal, though stdin is a pipe
        }
        return command == null ? run(argv, who, "box@127.0.0.1", stdin) : run(argv, who, "box@127.0.0.1", stdin, command);
    }

    private static Result run(List<String> program, String who, String target) throws Exception {
        return run(program, who, target, null);
    }

    /** Runs an OpenSSH program ({@code ssh}, {@code sftp}, {@code scp}) as {@code who}, then its arguments. */
    private static Result run(List<String> program, String who, String target, String stdin, String... more) throws Exception {
        List<String> argv = new ArrayList<>(program);
        argv.addAll(TestGateway.clientOptions(keys.resolve(who)));
        if (target != null) {
            argv.add(target);
        }
        argv.addAll(List.of(more));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("TERM", "xterm");
        pb.environment().put("LC_SCALEBOX", "sent along");
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        return new Result(p.exitValue(), out, err);
    }
}
