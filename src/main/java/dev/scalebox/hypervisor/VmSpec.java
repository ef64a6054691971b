package dev.scalebox.hypervisor;

import java.nio.file.Path;

/**
 * What QEMU needs to run one VM.
 *
 * @param vmId        the VM's id (or a blank instance's name), also QEMU's process name
 *                    ({@code scalebox-ID}), which is how a process is recognised as ours
 * @param runDir      where the pid file, QMP socket, serial console socket and serial log live
 * @param bindAddress the host address the guest's SSH is forwarded on, under QEMU's user-mode network
 * @param sshPort     the host port forwarded to the guest's SSH; 0 for none, with the guest cut
 *                    off from everything (a TAP device on no bridge, or a restricted user-mode network)
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
    /** A guest cut off from everything: no port forwarded, and a network card that leads nowhere. */
    public boolean isolated() { return sshPort == 0 && !isBlank(); }
    public Path pidFile() { return runDir.resolve("qemu.pid"); }
    public Path qmpSocket() { return runDir.resolve("qmp.sock"); }
    public Path serialLog() { return runDir.resolve("serial.log"); }
    /** The guest's serial port: QEMU listens here for one client at a time, and logs to {@link #serialLog} either way. */
    public Path serialSocket() { return runDir.resolve(SerialConsole.SOCKET); }
}
