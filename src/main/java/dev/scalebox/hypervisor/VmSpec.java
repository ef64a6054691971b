package dev.scalebox.hypervisor;

import java.nio.file.Path;

/**
 * What QEMU needs to run one VM.
 *
 * @param vmId        the VM's id (or a blank instance's name), also QEMU's process name
 *                    ({@code scalebox-ID}), which is how a process is recognised as ours
 * @param runDir      where the pid file, QMP socket and serial log live
 * @param bindAddress the host address the guest's SSH is forwarded on, under QEMU's user-mode network
 * @param tap         the TAP device of the guest's NIC on the bridge, or null for the user-mode network
 * @param mac         the guest NIC's MAC (with a TAP device)
 */
public record VmSpec(String vmId, int vcpus, int memMib, Path disk, Path runDir, String bindAddress, int sshPort,
                     Path kernel, Path initrd, String cmdline, String tap, String mac) {

    /**
     * A blank QEMU named {@code name} for VMs of {@code vcpus} and {@code memMib}: no disk, port or
     * console of its own until {@link Hypervisor#resumeIn} gives it a VM's.
     */
    public static VmSpec blank(String name, int vcpus, int memMib, Path runDir, Path kernel, Path initrd, String cmdline) {
        return new VmSpec(name, vcpus, memMib, null, runDir, null, 0, kernel, initrd, cmdline, null, null);
    }

    public boolean isBlank() { return disk == null; }
    public boolean bridged() { return tap != null; }
    public Path pidFile() { return runDir.resolve("qemu.pid"); }
    public Path qmpSocket() { return runDir.resolve("qmp.sock"); }
    public Path serialLog() { return runDir.resolve("serial.log"); }
}
