package dev.scalebox.vm;

import dev.scalebox.template.Template;
import dev.scalebox.testing.RecentLog;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;


import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A running VM snapshotted into a template, a new VM booted from that template with the file
 * written before the snapshot, then restarted with a larger disk and fewer vCPUs.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmSnapshotTest {

    private static TestVms env;
    private static VmService vms;
    private static String source;
    private static String copy;
    private static String sourceIdentity;
    private static final String IDENTITY = "cat /etc/ssh/ssh_host_ed25519_key.pub /etc/machine-id";

    @BeforeAll
    static void create() {
        env = new TestVms("snapshot", 23001);
        vms = env.service();
        source = vms.create(new CreateVm("debian-base", env.publicKey, "source", 2, 512, null, null)).id();
    }

    @AfterAll
    static void cleanUp() {
        env.close();
    }

    @Test
    @Order(1)
    void aRunningVmIsSnapshottedAndGoesOn() {
        Vm vm = Waits.status(vms, source, VmStatus.RUNNING, Waits.START);
        env.ssh(vm, "echo before-snapshot > /root/marker && sync");
        sourceIdentity = env.ssh(vm, IDENTITY);
        assertThat(vm.startedFrom()).isEqualTo("boot");
        assertThat(sourceIdentity.lines().findFirst()).as("the host key made on the host before its first boot")
                .hasValue(vm.sshHostKey());
        // A writer that never stops: the snapshot is taken in the middle of its writes.
        env.ssh(vm, "setsid nohup sh -c 'i=0; while :; do i=$((i+1)); echo \"line $i of the writer\" >> /root/log; done'"
                + " >/dev/null 2>&1 < /dev/null & sleep 1");

        long start = System.nanoTime();
        Snapshot snapshot = vms.snapshot(source, "snap-1");
        System.err.printf("snapshot of a running VM took %.0f ms%n", (System.nanoTime() - start) / 1e6);

        assertThat(snapshot.template()).isEqualTo("snap-1");
        assertThat(snapshot.sourceVm()).isEqualTo(source);
        assertThat(snapshot.sizeBytes()).isEqualTo(2L << 30);
        assertThat(env.templates.find("snap-1")).map(Template::origin).hasValue("snapshot");
        assertThat(Sh.tryRun("e2fsck", "-f", "-n", env.layout.templateImage("snap-1").toString()).exitCode())
                .as("the template's filesystem is clean").isZero();
        assertThat(RecentLog.tail(200, null)).doesNotContain("crash-consistent");
        assertThat(vms.get(source).status()).isEqualTo(VmStatus.RUNNING);
        assertThat(env.ssh(vm, "cat /root/marker").strip()).isEqualTo("before-snapshot");
    }

    @Test
    @Order(2)
    void aVmFromTheSnapshotHasTheFileAndOnlyItsOwnKey() {
        copy = vms.create(new CreateVm("snap-1", env.publicKey, "copy", 2, 512, 3, null)).id();
        vms.delete(source);

        Vm vm = Waits.status(vms, copy, VmStatus.RUNNING, Waits.START);
        assertThat(env.ssh(vm, "cat /root/marker").strip()).isEqualTo("before-snapshot");
        // Checked in the guest: the file is megabytes by now.
        List<String> check = env.ssh(vm, "awk '$0 != \"line \" NR \" of the writer\" { print \"bad line \" NR; exit }"
                + " END { print NR }' /root/log; tail -c 1 /root/log | od -An -tx1").lines().map(String::strip).toList();
        assertThat(check).as("the writer's file, whole: only full lines, in order, the last one ended").hasSize(2);
        assertThat(Integer.parseInt(check.get(0))).isPositive();
        assertThat(check.get(1)).isEqualTo("0a");
        assertThat(env.ssh(vm, "grep -c '^ssh-' /root/.ssh/authorized_keys").strip()).isEqualTo("1");
        List<String> source = sourceIdentity.lines().toList();
        List<String> own = env.ssh(vm, IDENTITY).lines().toList();
        assertThat(own).hasSize(2);
        assertThat(own.get(0)).as("its own SSH host key").startsWith("ssh-ed25519 ").isNotEqualTo(source.get(0));
        assertThat(own.get(1)).as("its own machine id").matches("[0-9a-f]{32}").isNotEqualTo(source.get(1));
        assertThat(env.ssh(vm, "df -B1G --output=size / | tail -1").strip()).isEqualTo("3");
    }

    @Test
    @Order(3)
    void aRestartTakesALargerDiskAndFewerVcpus() {
        Vm restarted = vms.restart(copy, new Resize(1, 384, 4), null);
        assertThat(restarted.diskSizeGib()).isEqualTo(4);
        assertThat(restarted.vcpuCount()).isEqualTo(1);

        Vm vm = Waits.status(vms, copy, VmStatus.RUNNING, Waits.START);
        assertThat(env.ssh(vm, "df -B1G --output=size / | tail -1").strip()).isEqualTo("4");
        assertThat(env.ssh(vm, "nproc").strip()).isEqualTo("1");
        long memMib = Long.parseLong(env.ssh(vm, "awk '/MemTotal/ {print $2}' /proc/meminfo").strip()) / 1024;
        assertThat(memMib).isBetween(300L, 384L);
        assertThat(env.ssh(vm, "cat /root/marker").strip()).isEqualTo("before-snapshot");

        vms.snapshot(copy, "snap-4");
        Vm fromLarger = vms.create(new CreateVm("snap-4", env.publicKey, "from-larger", 1, 384, null, null));
        assertThat(fromLarger.diskSizeGib()).as("no size asked: the template's 4 GiB, not the default 2").isEqualTo(4);
        vms.delete(fromLarger.id());
        vms.delete(copy);
        env.templates.remove("snap-1");
        env.templates.remove("snap-4");
    }
}
