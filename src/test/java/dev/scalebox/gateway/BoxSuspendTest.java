package dev.scalebox.gateway;

import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.Waits;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A box left idle is suspended and comes back where it was, programs included; a box whose
 * instance is killed comes back from its disk with its files.
 */
class BoxSuspendTest {

    private static TestGateway box;
    private static TestVms env;
    private static VmService vms;
    private static Path carol;

    @BeforeAll
    static void start() {
        box = new TestGateway("box-suspend", 19001, Duration.ofSeconds(2));
        env = box.env;
        vms = box.vms;
        carol = box.addUser("carol");
    }

    @AfterAll
    static void stop() {
        box.close();
    }

    @Test
    void anIdleBoxIsSuspendedAndResumedWhereItWasThenSurvivesTheLossOfItsInstance() throws Exception {
        // Only the sleep goes to the background, with none of the session's pipes: the session ends at once.
        assertThat(ssh("echo data > /root/file; sync; setsid sleep 12345 </dev/null >/dev/null 2>&1 &")).isEmpty();
        Vm carols = vms.get("box-" + box.users.list().getFirst().id());
        assertThat(env.layout.volumeImage(carols.id())).as("a box's disk is a volume").exists();
        assertThat(env.layout.vmImage(carols.id())).doesNotExist();

        Waits.status(vms, carols.id(), VmStatus.SUSPENDED, Waits.STEP);
        assertThat(TestVms.qemuProcessesOf(carols.id())).isEmpty();
        assertThat(Hypervisor.savedState(env.layout.memoryState(carols.id(), true))).as("saved beside the volume").isPresent();

        long start = System.nanoTime();
        double before = System.currentTimeMillis() / 1000.0;
        String after = ssh("cat /root/file; pgrep -x sleep >/dev/null && echo still-running; date +%s.%N");
        double returned = System.currentTimeMillis() / 1000.0;
        System.err.printf("resume to first command: %.2f s%n", (System.nanoTime() - start) / 1e9);
        List<String> lines = after.lines().toList();
        assertThat(lines.subList(0, 2)).containsExactly("data", "still-running");
        assertThat(Double.parseDouble(lines.get(2))).as("the box's clock, set at its resume, within 1 s of the host's")
                .isBetween(before - 1, returned + 1);
        assertThat(Hypervisor.savedState(env.layout.memoryState(carols.id(), true))).isEmpty();

        ProcessHandle.of(env.qemuPid(carols.id())).orElseThrow().destroyForcibly();
        Waits.status(vms, carols.id(), VmStatus.STOPPED, Waits.STEP);
        assertThat(ssh("cat /root/file; pgrep -x sleep || echo gone")).isEqualTo("data\ngone\n");
        assertThat(vms.list()).filteredOn(v -> v.name().startsWith("box-")).hasSize(1);
    }

    private static String ssh(String command) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("ssh", "-p", Integer.toString(box.gateway.port())));
        argv.addAll(TestGateway.clientOptions(carol));
        argv.addAll(List.of("box@127.0.0.1", command));
        Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        assertThat(p.exitValue()).as(err).isZero();
        return out;
    }
}
