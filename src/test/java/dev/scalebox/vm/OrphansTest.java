package dev.scalebox.vm;

import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What no record owns after a crash: a real QEMU of this data directory is killed, its run
 * directory removed, and its disk kept and reported; a warm instance is killed and its run
 * directory removed.
 */
class OrphansTest {

    private static TestVms env;

    @BeforeAll
    static void create() {
        env = new TestVms("orphans", 21001);
    }

    @AfterAll
    static void cleanUp() {
        env.close();
    }

    @Test
    void aQemuAndRunDirectoryWithoutARecordAreCleanedAndTheDiskKept() {
        VmService vms = env.service();
        String id = vms.create(new CreateVm("debian-base", env.publicKey, "lost", 1, 256, null, null)).id();
        // Launched: QEMU's daemonizing parent has exited and its QMP socket is up.
        Waits.until("QEMU of " + id + " to run", Waits.START, () -> TestVms.qemuProcessesOf(id).size() == 1
                && Files.exists(env.layout.runDir(id).resolve("qmp.sock")));
        vms.detach();
        env.store().delete(id);  // as if the record were lost while the VM ran

        VmService restarted = env.service();
        restarted.recover();

        assertThat(restarted.orphans()).anyMatch(l -> l.startsWith("killed QEMU") && l.contains(id))
                .anyMatch(l -> l.startsWith("removed run directory") && l.contains(id))
                .anyMatch(l -> l.startsWith("disk ") && l.contains(id) && l.contains("kept"));
        Waits.until("QEMU of " + id + " to be gone", Waits.STEP, () -> TestVms.qemuProcessesOf(id).isEmpty());
        assertThat(env.layout.runDir(id)).doesNotExist();
        assertThat(Files.exists(env.layout.vmImage(id))).isTrue();
    }

    @Test
    void aWarmInstanceLeftByACrashIsKilledAndItsRunDirectoryRemoved() {
        VmService crashed = env.service();
        crashed.warmUp(1, 256);
        List<Long> warm = env.warmInstances();
        assertThat(warm).hasSize(1);
        // no detach: as if Scalebox had been killed

        VmService restarted = env.service();
        restarted.recover();

        assertThat(restarted.orphans()).anyMatch(l -> l.startsWith("killed QEMU " + warm.getFirst()));
        assertThat(env.warmInstances()).isEmpty();
        try (var dirs = Files.list(env.layout.run())) {
            assertThat(dirs.map(d -> d.getFileName().toString())).noneMatch(n -> n.startsWith("instance-"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
