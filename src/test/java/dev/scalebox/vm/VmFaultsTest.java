package dev.scalebox.vm;

import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.TestImages;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A guest that can never come up (its disk has no init: its kernel panics) is found stuck by what
 * it shows, not by a clock: booted once more, then given up with its QEMU ended, so no live guest
 * hides behind {@code error}. Its disk is kept.
 */
class VmFaultsTest {

    private static TestVms env;
    private static VmService vms;
    private static final List<String> stuck = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void create() {
        env = new TestVms("faults", 26001);
        Path scratch = LoopFs.tempDir();
        try {
            env.templates.importImage(TestImages.ext4(scratch.resolve("no-init.ext4"), 1, 0), "no-init");
        } finally {
            LoopFs.deleteTree(scratch);
        }
        vms = env.service();
        vms.onEvents(new VmService.Events() {
            @Override
            public void stuck(String vmId, String reason, boolean again) {
                stuck.add(vmId + (again ? " again: " : " error: ") + reason);
            }
        });
    }

    @AfterAll
    static void cleanUp() {
        env.close();
    }

    @Test
    void aGuestThatPanicsIsBootedOnceMoreThenErrsWithNoQemuLeft() {
        String id = vms.create(new CreateVm("no-init", env.publicKey, "no-init", 1, 256, 1, null)).id();

        Vm vm = Waits.status(vms, id, VmStatus.ERROR, Waits.START);

        assertThat(vm.statusReason()).contains("no progress").contains("kernel panicked");
        assertThat(stuck).hasSize(2);
        assertThat(stuck.get(0)).startsWith(id + " again: ");
        assertThat(stuck.get(1)).startsWith(id + " error: ");
        assertThat(TestVms.qemuProcessesOf(id)).isEmpty();
        assertThat(vms.console(id, 64 * 1024)).contains("Kernel panic");
        assertThat(env.layout.vmImage(id)).exists();
        vms.delete(id);
    }
}
