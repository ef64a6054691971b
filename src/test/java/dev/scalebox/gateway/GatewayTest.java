package dev.scalebox.gateway;

import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.VmService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The real gateway, the real OpenSSH client, a real box under QEMU. */
class GatewayTest {

    private static TestVms env;
    private static VmService vms;
    private static Users users;
    private static Gateway gateway;
    private static final Path keys = LoopFs.tempDir();

    @BeforeAll
    static void start() {
        env = new TestVms("gateway", 20001);
        vms = env.service();
        users = new Users(env.userStore());
        for (String who : List.of("alice", "mallory")) {
            Sh.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", keys.resolve(who).toString());
        }
        users.add("alice", read(keys.resolve("alice.pub")));
        gateway = Gateway.start(new Gateway.Options("127.0.0.1", 0, false, "debian-base",
                env.layout.root().resolve("gateway")), users, vms);
    }

    @AfterAll
    static void stop() {
        gateway.close();
        env.close();
        LoopFs.deleteTree(keys);
    }

    @Test
    void aRegisteredUserRunsCommandsInTheirOwnBox() throws Exception {
        Result first = ssh("alice", null, "cat /etc/hostname; id -u; exit 3");
        assertThat(first.exitCode()).as(first.stderr()).isEqualTo(3);
        assertThat(first.stdout()).isEqualTo("scalebox\n0\n");

        Result piped = ssh("alice", "kept in the box\n", "cat > /root/note; cat /root/note");
        assertThat(piped.exitCode()).as(piped.stderr()).isZero();
        assertThat(piped.stdout()).isEqualTo("kept in the box\n");

        assertThat(vms.list()).hasSize(1);
        assertThat(vms.list().getFirst().name()).isEqualTo("box-" + users.get("alice").id());
    }

    @Test
    void anInteractiveShellHasATerminalAndItsExitStatus() throws Exception {
        Result shell = ssh("alice", "echo term=$TERM; tty; exit 7\n", null);
        assertThat(shell.exitCode()).as(shell.stderr()).isEqualTo(7);
        assertThat(shell.stdout()).contains("term=xterm").contains("/dev/pts/");
    }

    @Test
    void anUnregisteredKeyIsRefusedAndGetsNoBox() throws Exception {
        Result refused = ssh("mallory", null, "true");
        assertThat(refused.exitCode()).isEqualTo(255);
        assertThat(refused.stderr()).contains("Permission denied");
        assertThat(vms.list()).noneMatch(v -> v.name().endsWith(Users.idOf(
                dev.scalebox.storage.SshPublicKey.parse(read(keys.resolve("mallory.pub"))))));
    }

    private record Result(int exitCode, String stdout, String stderr) {
    }

    private static Result ssh(String who, String stdin, String command) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ssh", "-i", keys.resolve(who).toString(), "-p",
                Integer.toString(gateway.port()), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "box@127.0.0.1"));
        if (command != null) {
            argv.add(command);
        } else {
            argv.add(1, "-tt");  // a shell on a terminal, though stdin is a pipe
        }
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("TERM", "xterm");
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(5, TimeUnit.MINUTES);
        return new Result(p.exitValue(), out, err);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
