package dev.scalebox.gateway;

import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.Waits;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pools (one ready box and one warm instance kept here) with real QEMU and the real OpenSSH
 * client: a new user gets the ready box, resumed in the warm instance; a returning user's
 * suspended box resumes in the next warm instance; the pools refill; and a restart of Scalebox
 * in the middle of a session loses no box and rebuilds nothing.
 */
class BoxPoolTest {

    private static TestGateway box;
    private static Path dave;

    @BeforeAll
    static void start() {
        box = new TestGateway("box-pool", 17001, Duration.ofHours(1), 1, 1, Duration.ofSeconds(2));
        dave = box.addUser("dave");
    }

    @AfterAll
    static void stop() {
        box.close();
    }

    @Test
    void boxesResumeInWarmInstancesAndARestartDuringASessionLosesNothing() throws Exception {
        Waits.until("a ready box and a warm instance", Waits.START, () -> box.gateway.boxes().pool().instances().warm() == 1
                && box.gateway.boxes().pool().volumes().ready() == 1);
        Vm ready = box.vms.list().stream().filter(v -> v.name().startsWith("ready-")).findFirst().orElseThrow();
        assertThat(ready.status()).isEqualTo(VmStatus.SUSPENDED);
        assertThat(TestVms.qemuProcessesOf(ready.id())).isEmpty();
        List<Long> warm = box.env.warmInstances();
        assertThat(warm).hasSize(1);

        // A new user: the ready volume and its memory join the warm instance.
        long started = System.nanoTime();
        assertThat(ssh("hostname; echo kept > /root/file; sync")).isEqualTo("box-" + box.users.get("dave").id() + "\n");
        System.err.printf("new user from the pool, connect to first command: %.2f s%n", (System.nanoTime() - started) / 1e9);
        Vm daves = box.vms.get("box-" + box.users.get("dave").id());
        assertThat(daves.id()).isEqualTo(ready.id());
        assertThat(box.env.qemuPid(daves.id())).isEqualTo(warm.getFirst());
        Waits.until("a ready box and a warm instance", Waits.START, () -> box.gateway.boxes().pool().instances().warm() == 1
                && box.gateway.boxes().pool().volumes().ready() == 1);

        // A returning user: the suspended box resumes in the next warm instance, where it was.
        sshProcess("sleep 600");
        Waits.until("the sleep to run", Waits.STEP, () -> ssh("pgrep -x sleep >/dev/null && echo on || echo off").equals("on\n"));
        box.vms.suspend(daves.id());
        List<Long> nextWarm = box.env.warmInstances();
        assertThat(nextWarm).hasSize(1);
        assertThat(ssh("cat /root/file; pgrep -x sleep >/dev/null && echo still-running")).isEqualTo("kept\nstill-running\n");
        long qemu = box.env.qemuPid(daves.id());
        assertThat(qemu).isEqualTo(nextWarm.getFirst());
        Waits.until("a warm instance", Waits.START, () -> box.gateway.boxes().pool().instances().warm() == 1);
        Vm next = box.vms.list().stream().filter(v -> v.name().startsWith("ready-")).findFirst().orElseThrow();

        // A session is open when Scalebox stops; the next Scalebox adopts the running box as it is.
        Process session = sshProcess("sleep 700");
        Waits.until("the sleep to run", Waits.STEP, () -> ssh("pgrep -x -f 'sleep 700' >/dev/null && echo on || echo off").equals("on\n"));
        List<Long> warmBefore = box.env.warmInstances();
        box.restart();
        assertThat(ssh("cat /root/file; pgrep -f 'sleep 700' >/dev/null && echo still-running")).isEqualTo("kept\nstill-running\n");
        assertThat(box.env.qemuPid(daves.id())).isEqualTo(qemu);
        assertThat(ProcessHandle.of(qemu)).isPresent();
        assertThat(box.vms.get(daves.id()).status()).isEqualTo(VmStatus.RUNNING);
        assertThat(box.vms.get(next.id()).status()).isEqualTo(VmStatus.SUSPENDED);
        // the warm instance of the last Scalebox ended with it; the new one starts its own
        Waits.until("a new warm instance", Waits.START, () -> box.env.warmInstances().size() == 1
                && !box.env.warmInstances().equals(warmBefore));
        assertThat(box.vms.list()).extracting(Vm::name).filteredOn(n -> !n.startsWith("golden-"))
                .containsExactlyInAnyOrder(daves.name(), next.name());
        session.destroy();
    }

    private static ProcessBuilder ssh(List<String> command) {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(box.gateway.port())));
        argv.addAll(TestGateway.clientOptions(dave));
        argv.add("box@127.0.0.1");
        argv.addAll(command);
        return new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }

    /** A session left running in the background. */
    private static Process sshProcess(String command) throws Exception {
        return ssh(List.of(command)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static String ssh(String command) throws Exception {
        Process p = ssh(List.of(command)).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        assertThat(p.exitValue()).as(err).isZero();
        return out;
    }
}
