package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;


import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One real VM under real QEMU, taken through its whole life in order: booted, logged into, a
 * suspend that finds no space for its memory (its run directory is a small tmpfs here), killed,
 * started again with its data, adopted by a restarted service, stopped, deleted.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmLifecycleTest {

    private static TestVms env;
    private static VmService vms;
    private static String id;
    private static final List<String> suspendFailures = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void create() {
        env = new TestVms("lifecycle", 24001);
        Sh.run("mount", "-t", "tmpfs", "-o", "size=48m", "scalebox-test-run", env.layout.run().toString());
        vms = env.service();
        vms.onEvents(new VmService.Events() {
            @Override
            public void suspendFailed(String vmId, String reason) {
                suspendFailures.add(vmId);
            }
        });
        long start = System.nanoTime();
        Vm vm = vms.create(new CreateVm("debian-base", env.publicKey, "life", null, 512, 4, null));
        System.err.printf("create answered in %.0f ms%n", (System.nanoTime() - start) / 1e6);
        id = vm.id();
        assertThat(vm.status()).isEqualTo(VmStatus.STARTING);
        assertThat(vm.id()).matches("vm-[0-9a-f]{12}");
        assertThat(vm.ssh()).isEqualTo("ssh -p " + vm.sshPort() + " root@127.0.0.1");
    }

    @AfterAll
    static void cleanUp() {
        env.close();
        Sh.tryRun("umount", env.layout.run().toString());
    }

    @Test
    @Order(1)
    void bootsToSshAndHasTheDiskSizeAskedFor() {
        Vm vm = Waits.status(vms, id, VmStatus.RUNNING, Waits.START);
        assertThat(env.ssh(vm, "df -B1G --output=size / | tail -1").strip()).isEqualTo("4");
        env.ssh(vm, "echo kept > /root/marker && sync");
    }

    @Test
    @Order(2)
    void aSuspendWithNoSpaceForTheMemoryLeavesTheVmRunningAndNothingBehind() throws Exception {
        assertThatThrownBy(() -> vms.suspend(id)).isInstanceOf(ScaleboxException.InsufficientStorage.class)
                .hasMessageContaining("no space left");

        Vm vm = vms.get(id);
        assertThat(vm.status()).isEqualTo(VmStatus.RUNNING);
        assertThat(env.ssh(vm, "cat /root/marker").strip()).isEqualTo("kept");
        try (var files = Files.list(env.runDir(id))) {
            assertThat(files.map(f -> f.getFileName().toString())).noneMatch(f -> f.contains("state") || f.contains("migrate"));
        }
        assertThat(suspendFailures).containsExactly(id);
    }

    @Test
    @Order(3)
    void aKilledQemuLeavesTheVmStoppedWithItsDisk() {
        ProcessHandle.of(env.qemuPid(id)).orElseThrow().destroyForcibly();
        Vm vm = Waits.status(vms, id, VmStatus.STOPPED, Waits.STEP);
        assertThat(vm.statusReason()).contains("unexpectedly");
        assertThat(env.layout.vmImage(id)).exists();
    }

    @Test
    @Order(4)
    void startsAgainWithItsData() {
        vms.start(id);
        Vm vm = Waits.status(vms, id, VmStatus.RUNNING, Waits.START);
        assertThat(env.ssh(vm, "cat /root/marker").strip()).isEqualTo("kept");
    }

    @Test
    @Order(5)
    void aRestartedServiceAdoptsTheRunningVm() {
        Vm before = vms.get(id);
        long pid = env.qemuPid(id);
        vms.detach();

        vms = env.service();
        vms.recover();

        Vm after = vms.get(id);
        assertThat(after).isEqualTo(before);
        assertThat(env.qemuPid(id)).isEqualTo(pid);
        assertThat(env.ssh(after, "cat /root/marker").strip()).isEqualTo("kept");
    }

    @Test
    @Order(6)
    void stopPowersTheGuestOff() {
        long start = System.nanoTime();
        Vm vm = vms.stop(id);
        System.err.printf("stop took %.1f s%n", (System.nanoTime() - start) / 1e9);
        assertThat(vm.status()).isEqualTo(VmStatus.STOPPED);
        assertThat(TestVms.qemuProcessesOf(id)).isEmpty();
    }

    @Test
    @Order(7)
    void deleteLeavesNoDiskPortProcessOrRecord() {
        DataLayout layout = env.layout;
        vms.start(id);
        int port = vms.get(id).sshPort();

        vms.delete(id);

        assertThat(layout.vmImage(id)).doesNotExist();
        assertThat(layout.runDir(id)).doesNotExist();
        assertThat(TestVms.qemuProcessesOf(id)).isEmpty();
        assertThat(vms.list()).extracting(Vm::id).doesNotContain(id);
        assertThat(new dev.scalebox.hypervisor.PortAllocator(port, port, "127.0.0.1").allocate(java.util.Set.of()))
                .hasValue(port);
    }
}
