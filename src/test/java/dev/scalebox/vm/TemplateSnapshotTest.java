package dev.scalebox.vm;

import dev.scalebox.testing.RecentLog;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.template.TemplateService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * VMs that start from the base template's memory snapshot: the snapshot made in the background,
 * its memory a file of its own and no network card, two VMs resumed from it (their memory mapped)
 * and each made its own through the guest agent, one of them suspended and resumed, a VM resumed
 * from it on the user-mode network, a corrupt snapshot that falls back to a boot, and a rebuilt
 * template whose snapshots go and come back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TemplateSnapshotTest {

    private static final String TEMPLATE = TemplateService.BASE;
    private static TestVms env;
    private static VmService vms;

    @BeforeAll
    static void start() {
        env = new TestVms("tsnap", 32001).withTemplateSnapshots(2);
        vms = env.service();
        vms.recover();
    }

    @AfterAll
    static void cleanUp() {
        vms.detach();
        env.close();
    }

    @Test
    @Order(1)
    void theTemplateGetsASnapshotOfTheDefaultShape() throws Exception {
        awaitSnapshot();
        assertThat(vms.templateSnapshots(TEMPLATE)).extracting(TemplateSnapshots.Info::vcpuCount,
                TemplateSnapshots.Info::memSizeMib).containsExactly(org.assertj.core.groups.Tuple.tuple(2, 512));
        assertThat(Files.list(env.layout.vms()).toList()).as("the booted copy went into the snapshot").isEmpty();
        Path dir = env.layout.templateSnapshot(TEMPLATE, 2, 512);
        assertThat(Files.size(dir.resolve(TemplateSnapshots.MEMORY))).as("the guest's memory, in a file of its own")
                .isEqualTo(512L << 20);
        assertThat(Files.size(dir.resolve(TemplateSnapshots.STATE))).as("the state: the devices only").isLessThan(8L << 20);
    }

    @Test
    @Order(2)
    void vmsFromTheSnapshotAreEachTheirOwn() throws Exception {
        Path memory = env.layout.templateSnapshot(TEMPLATE, 2, 512).resolve(TemplateSnapshots.MEMORY);
        String memoryBefore = sha256(memory);
        long started = System.nanoTime();
        Vm a = vms.create(new CreateVm(TEMPLATE, env.publicKey, "snap-a", 2, 512, 3, null));
        Vm b = vms.create(new CreateVm(TEMPLATE, env.publicKey, "snap-b", 2, 512, null, null));
        a = Waits.status(vms, a.id(), VmStatus.RUNNING, Waits.START);
        System.err.printf("two creates from the snapshot to running: %.1f s%n", (System.nanoTime() - started) / 1e9);
        b = Waits.status(vms, b.id(), VmStatus.RUNNING, Waits.START);

        for (Vm vm : List.of(a, b)) {
            assertThat(vm.startedFrom()).isEqualTo("snapshot");
            assertThat(env.ssh(vm, "hostname").strip()).isEqualTo(vm.name());
            assertThat(env.ssh(vm, "cat /etc/ssh/ssh_host_ed25519_key.pub").strip()).isEqualTo(vm.sshHostKey());
            assertThat(env.ssh(vm, "cat /sys/class/net/eth0/address").strip()).as("its own network card")
                    .isEqualToIgnoringCase(vm.mac());
            double before = System.currentTimeMillis() / 1000.0;
            double guest = Double.parseDouble(env.ssh(vm, "date +%s.%N").strip());
            double after = System.currentTimeMillis() / 1000.0;
            Vm checked = vm;
            assertThat(guest).as(() -> "the guest's clock; its kernel says:\n"
                    + env.ssh(checked, "dmesg | grep -i -E 'tsc|clock' | tail")).isBetween(before - 1, after + 1);
        }
        assertThat(env.ssh(a, "df -B1G --output=size / | tail -1").strip()).isEqualTo("3");
        assertThat(env.ssh(b, "df -B1G --output=size / | tail -1").strip()).isEqualTo("2");
        assertThat(a.sshHostKey()).startsWith("ssh-ed25519 ").isNotEqualTo(b.sshHostKey());
        assertThat(env.ssh(a, "cat /etc/machine-id")).isNotEqualTo(env.ssh(b, "cat /etc/machine-id"));
        String random = "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'";
        assertThat(env.ssh(a, random)).hasSize(64).isNotEqualTo(env.ssh(b, random));
        assertThat(Files.exists(env.layout.personalization(a.id(), false))).isFalse();
        assertThat(Files.readString(Path.of("/proc/" + env.qemuPid(a.id()) + "/cmdline")))
                .as("its QEMU maps a copy of the snapshot's memory").contains("memory-backend-file");
        assertThat(Files.exists(env.layout.memoryFile(a.id(), false))).as("the copy is gone once mapped").isFalse();

        // Suspended, its memory is saved whole, and loads into a QEMU of the usual kind.
        env.ssh(a, "echo kept > /root/note");
        vms.suspend(a.id());
        a = Waits.status(vms, vms.start(a.id()).id(), VmStatus.RUNNING, Waits.START);
        assertThat(env.ssh(a, "cat /root/note; hostname")).isEqualTo("kept\n" + a.name() + "\n");
        assertThat(Files.readString(Path.of("/proc/" + env.qemuPid(a.id()) + "/cmdline"))).doesNotContain("memory-backend-file");

        vms.delete(a.id());
        vms.delete(b.id());
        assertThat(sha256(memory)).as("no guest's writes reached the snapshot's memory").isEqualTo(memoryBefore);
    }

    private static String sha256(Path file) throws Exception {
        java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
        try (java.io.InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(digest.digest());
    }

    @Test
    @Order(3)
    void theSnapshotHasNoNetworkCardSoAHostOnTheUserModeNetworkResumesItToo() {
        vms.detach();
        vms = env.userModeService();
        vms.recover();
        Vm vm = vms.create(new CreateVm(TEMPLATE, env.publicKey, "snap-user", 2, 512, null, null));
        vm = Waits.status(vms, vm.id(), VmStatus.RUNNING, Waits.START);
        assertThat(vm.startedFrom()).isEqualTo("snapshot");
        assertThat(vm.ip()).isNull();
        assertThat(env.ssh(vm, "hostname").strip()).isEqualTo("snap-user");
        vms.delete(vm.id());
        vms.detach();
        vms = env.service();
        vms.recover();
    }

    @Test
    @Order(4)
    void aWarmGuestBecomesTheNextVmAndIsMadeItsOwn() throws Exception {
        vms.detach();
        vms = env.withWarmGuests(1).service();
        vms.recover();
        Set<Long> warm = awaitWarmGuest();
        Vm a = vms.create(new CreateVm(TEMPLATE, env.publicKey, "warm-a", 2, 512, 3, null));
        a = Waits.status(vms, a.id(), VmStatus.RUNNING, Waits.START);
        assertThat(warm).as("its QEMU is the warm guest's").contains(env.qemuPid(a.id()));
        Set<Long> next = awaitWarmGuest();
        Vm b = vms.create(new CreateVm(TEMPLATE, env.publicKey, "warm-b", 2, 512, null, null));
        b = Waits.status(vms, b.id(), VmStatus.RUNNING, Waits.START);
        assertThat(next).as("its QEMU is the next warm guest's").contains(env.qemuPid(b.id()));

        for (Vm vm : List.of(a, b)) {
            assertThat(vm.startedFrom()).isEqualTo("snapshot");
            assertThat(env.ssh(vm, "hostname").strip()).isEqualTo(vm.name());
            assertThat(env.ssh(vm, "cat /etc/ssh/ssh_host_ed25519_key.pub").strip()).isEqualTo(vm.sshHostKey());
            assertThat(env.ssh(vm, "cat /sys/class/net/eth0/address").strip()).isEqualToIgnoringCase(vm.mac());
            assertThat(env.ssh(vm, "cat /root/.ssh/authorized_keys").strip()).as("root's only key is the user's")
                    .isEqualTo(env.publicKey.strip());
            assertThat(env.ssh(vm, "ls /sys/class/net")).as("only its own card, not the rehearsal's")
                    .isEqualTo("eth0\nlo\n");
            double before = System.currentTimeMillis() / 1000.0;
            double guest = Double.parseDouble(env.ssh(vm, "date +%s.%N").strip());
            assertThat(guest).isBetween(before - 1, System.currentTimeMillis() / 1000.0 + 1);
        }
        assertThat(env.ssh(a, "df -B1G --output=size / | tail -1").strip()).isEqualTo("3");
        assertThat(a.sshHostKey()).isNotEqualTo(b.sshHostKey());
        assertThat(env.ssh(a, "cat /etc/machine-id")).isNotEqualTo(env.ssh(b, "cat /etc/machine-id"));
        String random = "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'";
        assertThat(env.ssh(a, random)).hasSize(64).isNotEqualTo(env.ssh(b, random));

        // A restart of the service ends the warm guests, and adopts the VMs made of them as they are.
        long pid = env.qemuPid(a.id());
        awaitWarmGuest();
        vms.detach();
        vms = env.withWarmGuests(0).service();
        vms.recover();
        assertThat(env.qemuPid(a.id())).isEqualTo(pid);
        assertThat(vms.get(a.id()).status()).isEqualTo(VmStatus.RUNNING);
        assertThat(warmGuestPids()).as("no warm guest outlives its service, only those that became VMs run on")
                .containsExactlyInAnyOrder(pid, env.qemuPid(b.id()));
        assertThat(Files.list(env.layout.vms()).map(p -> p.getFileName().toString()).toList())
                .as("the warm guests' disks went with them").containsExactlyInAnyOrder(a.id() + ".ext4", b.id() + ".ext4");
        assertThat(env.ssh(a, "hostname").strip()).isEqualTo("warm-a");
        vms.delete(a.id());
        vms.delete(b.id());
    }

    /** Waits for a warm guest of the default shape; the pids of the QEMU processes started as warm guests. */
    private static Set<Long> awaitWarmGuest() {
        Waits.until("a warm guest", Waits.START, () -> vms.warmGuests(TEMPLATE, 2, 512) == 1,
                () -> "log:\n" + RecentLog.tail(40, null));
        return warmGuestPids();
    }

    private static Set<Long> warmGuestPids() {
        return ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(List::of).orElse(List.of()).stream()
                .anyMatch(a -> a.startsWith("scalebox-instance-"))).map(ProcessHandle::pid).collect(Collectors.toSet());
    }

    @Test
    @Order(5)
    void aSnapshotThatDoesNotLoadFallsBackToABoot() throws Exception {
        Path state = env.layout.templateSnapshot(TEMPLATE, 2, 512).resolve(TemplateSnapshots.STATE);
        Path saved = state.resolveSibling("saved");
        Files.move(state, saved);
        Files.write(state, new byte[4096]);
        Vm vm;
        try {
            vm = vms.create(new CreateVm(TEMPLATE, env.publicKey, "snap-corrupt", 2, 512, null, null));
        } finally {
            Files.move(saved, state, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        vm = Waits.status(vms, vm.id(), VmStatus.RUNNING, Waits.START);
        assertThat(vm.startedFrom()).isEqualTo("boot");
        assertThat(env.ssh(vm, "cat /etc/ssh/ssh_host_ed25519_key.pub").strip()).isEqualTo(vm.sshHostKey());
        assertThat(RecentLog.tail(200, null)).contains("could not be resumed");
        vms.delete(vm.id());
    }

    @Test
    @Order(6)
    void aRebuiltTemplateDropsItsSnapshotsAndGetsANewOne() {
        env.templates.register(TEMPLATE, env.layout.templateImage(TEMPLATE), "built");
        assertThat(Files.exists(env.layout.templateSnapshot(TEMPLATE, 2, 512))).isFalse();

        Vm vm = vms.create(new CreateVm(TEMPLATE, env.publicKey, "after-rebuild", 2, 512, null, null));
        Waits.until("the VM to start", Waits.START, () -> vms.get(vm.id()).startedFrom() != null);
        assertThat(vms.get(vm.id()).startedFrom()).isEqualTo("boot");
        vms.delete(vm.id());
        awaitSnapshot();
    }

    private static void awaitSnapshot() {
        Waits.until("the template's snapshot", Waits.START, () -> {
            Optional<TemplateSnapshots.Info> info = vms.templateSnapshots(TEMPLATE).stream().findFirst();
            if (info.map(i -> i.state().equals("failed")).orElse(false)) {
                throw new AssertionError("the snapshot failed: " + info.get().reason());
            }
            return info.map(i -> i.state().equals("ready")).orElse(false);
        }, () -> "snapshots: " + vms.templateSnapshots(TEMPLATE) + "\nlog:\n" + RecentLog.tail(40, null));
    }
}
