package dev.scalebox.gateway;

import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * POOL_INSTANCES_TOTAL of 1: a second user's box takes the instance of the box idle longest,
 * which is suspended at once instead of after its idle hour; while every instance is in a
 * connected user's hands, a connection that needs one is refused with a message, and nothing of
 * the waiting box is touched. POOL_VOLUMES_TOTAL of 2: a third user is refused, and nothing is made.
 */
class BoxCapacityTest {

    private static TestGateway box;
    private static VmService vms;
    private static Path dave;
    private static Path erin;
    private static Path frank;

    @BeforeAll
    static void start() {
        box = new TestGateway("box-capacity", 18001, Duration.ofHours(1), 0, 0, Duration.ofSeconds(2), 1, 2);
        vms = box.vms;
        dave = box.addUser("dave");
        erin = box.addUser("erin");
        frank = box.addUser("frank");
    }

    @AfterAll
    static void stop() {
        box.close();
    }

    @Test
    void theIdleBoxGivesWayAndWithEveryInstanceInUseAConnectionIsRefused() throws Exception {
        assertThat(ssh(dave, "echo hello > /root/mine; cat /root/mine").out()).isEqualTo("hello\n");
        Vm daves = boxOf("dave");

        // dave's session has ended: his box idles, for an hour, on the only instance
        assertThat(ssh(erin, "echo erin").out()).isEqualTo("erin\n");
        assertThat(vms.get(daves.id()).status()).isEqualTo(VmStatus.SUSPENDED);
        Vm erins = boxOf("erin");

        Process held = start(erin, "echo up; sleep 600");
        try (BufferedReader up = new BufferedReader(new InputStreamReader(held.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(up.readLine()).isEqualTo("up");
            Result refused = ssh(dave, "cat /root/mine");
            assertThat(refused.exit()).isEqualTo(255);
            assertThat(refused.err()).contains("POOL_INSTANCES_TOTAL");
            assertThat(vms.get(daves.id()).status()).isEqualTo(VmStatus.SUSPENDED);
            assertThat(vms.get(erins.id()).status()).isEqualTo(VmStatus.RUNNING);
        } finally {
            held.destroy();
            held.waitFor(30, TimeUnit.SECONDS);
        }

        // erin's session is closed: her box is idle now, and gives way to dave's
        Waits.until("dave's box back", Waits.START, () -> ssh(dave, "cat /root/mine").out().equals("hello\n"));
        assertThat(vms.get(erins.id()).status()).isEqualTo(VmStatus.SUSPENDED);
        assertThat(box.gateway.boxes().pool().instances().inAll()).isEqualTo(1);

        // two volumes are the total here: a third user gets no box, and nothing is made for him
        Result full = ssh(frank, "true");
        assertThat(full.exit()).isEqualTo(255);
        assertThat(full.err()).contains("POOL_VOLUMES_TOTAL");
        assertThat(vms.get(daves.id()).status()).as("no instance was freed for a box that cannot be made")
                .isEqualTo(VmStatus.RUNNING);
        assertThat(vms.list()).extracting(Vm::name).filteredOn(n -> !n.startsWith("golden-"))
                .containsExactlyInAnyOrder(daves.name(), erins.name());
    }

    private static Vm boxOf(String name) {
        String id = box.users.list().stream().filter(u -> u.name().equals(name)).findFirst().orElseThrow().id();
        return vms.find("box-" + id).orElseThrow();
    }

    record Result(int exit, String out, String err) {
    }

    private static Result ssh(Path key, String command) throws Exception {
        Process p = start(key, command);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(Waits.START.toSeconds(), TimeUnit.SECONDS);
        return new Result(p.exitValue(), out, err);
    }

    private static Process start(Path key, String command) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(box.gateway.port())));
        argv.addAll(TestGateway.clientOptions(key));
        argv.addAll(List.of("box@127.0.0.1", command));
        return new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }
}
